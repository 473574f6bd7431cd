"""What a session talks to: the receiver that carries its frames, the application side
that hears its messages, and the clock it reads its deadlines from.

They are protocols, not base classes: a transport's handler or link is a `Receiver` by
having ``wake``, and `fallback.Connection` is a `SessionListener` by having the three
``session_*`` methods, so the core names no class above it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from .payloads import Message

#: Seconds, from any monotonic source: ``time.monotonic`` in service, a fake in tests.
Clock = Callable[[], float]


class Receiver(Protocol):
    """A transport endpoint that can carry frames to the client right now."""

    def wake(self) -> None:
        """The session has something to send; pull it when no write is in flight."""


class SessionListener(Protocol):
    """The application side of a session (`fallback.Connection` implements it)."""

    def session_opened(self) -> bool:
        """Run ``on_open``; False rejects the connection."""

    def session_message(self, message: Message) -> None:
        """A message from the client: `str`, or `bytes` for a binary message."""

    def session_closed(self, opened: bool) -> None:
        """The session closed; `opened` says whether ``on_open`` had accepted it."""


__all__ = ["Clock", "Receiver", "SessionListener"]
