"""What the unit tests share: one fake clock, one listener, one receiver, one session maker.

No network, no loop: the core is driven by plain calls and this clock.
"""

from __future__ import annotations

import os

from fallback.core.connection_info import EMPTY_INFO
from fallback.core.frames import SessionId
from fallback.core.session import Session
from fallback.core.settings import Settings

#: The repository.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class FakeClock:
    """A clock that moves only when the test moves it (``clock.now += 5``)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Listener:
    """A session's application side that records what it was told (`events`) and does
    what it is asked: reject (``accept=False``), close in ``on_open``, close on the
    message ``"close"``, raise where `raise_on` says."""

    def __init__(self, accept: bool = True, close_in_open: bool = False) -> None:
        self.accept = accept
        self.close_in_open = close_in_open
        self.session: Session | None = None
        self.events: list[tuple[str, object]] = []
        self.raise_on: str | None = None

    def session_opened(self) -> bool:
        self.events.append(("open", None))
        if self.raise_on == "open":
            raise RuntimeError("boom")
        if self.close_in_open and self.session is not None:
            self.session.close(4001, "no")
        return self.accept

    def session_message(self, text: str) -> None:
        self.events.append(("message", text))
        if self.raise_on == "message":
            raise RuntimeError("boom")
        if text == "close" and self.session is not None:
            self.session.close()

    def session_closed(self, opened: bool) -> None:
        if not opened:
            return
        self.events.append(("close", None))
        if self.raise_on == "close":
            raise RuntimeError("boom")


class Receiver:
    """A receiver that counts how often the session woke it."""

    def __init__(self) -> None:
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1


def make_session(listener: Listener | None = None, clock: FakeClock | None = None, **settings):
    listener = listener or Listener()
    session = Session(
        SessionId("s1"),
        listener,
        EMPTY_INFO,
        Settings(**settings),
        "xhr",
        clock=clock or FakeClock(),
    )
    listener.session = session
    return session, listener


def drain(session: Session) -> list[str]:
    """Every frame the session has for its receiver now, up to a close frame."""
    frames = []
    while (frame := session.take_frame()) is not None:
        frames.append(frame)
        if frame.startswith("c"):
            break
    return frames
