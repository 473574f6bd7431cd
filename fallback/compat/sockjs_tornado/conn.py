"""sockjs-tornado's ``conn`` module: `SockJSConnection`, the class applications write.

The same class as sockjs-tornado's, attribute for attribute: it holds its ``session``
and does everything through it, so ``self.session`` (and any attribute an application
adds, such as ``self.info`` or ``self.transport``) can be assigned, and a connection can
run on any session object -- the `session.Session` the router gives it over fallback,
or an application's own `session.BaseSession` subclass (one per channel of a
multiplexed connection). What fallback adds lives on the session, never here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["SockJSConnection"]


class SockJSConnection:
    """One client. Override ``on_open``, ``on_message`` and ``on_close``.

    ``on_open(info)`` gets a `session.ConnectionInfo`; returning False (or raising
    `tornado.web.HTTPError`) rejects the client, which gets close code 3001. Messages
    arrive in order in ``on_message``. ``on_close`` follows every ``on_open``, also when
    ``on_open`` closed or rejected the connection, so clean-up code runs.
    """

    def __init__(self, session: Any) -> None:
        self.session = session

    # -- to override -------------------------------------------------------------------

    def on_open(self, request: Any) -> bool | None:
        """The client connected; `request` is its `session.ConnectionInfo`. Return
        False to reject it."""
        return None

    def on_message(self, message: str) -> None:
        """The client sent `message`. Must be overridden."""
        raise NotImplementedError(f"{type(self).__name__}.on_message must be overridden")

    def on_close(self) -> None:
        """The connection closed, by either side or by a timeout."""

    # -- to call -----------------------------------------------------------------------

    def send(self, message: Any, binary: bool = False) -> None:
        """Queue `message` (str, bytes as UTF-8, or any JSON value) unless closed."""
        if not self.is_closed:
            self.session.send_message(message, binary=binary)

    def broadcast(self, clients: Iterable[Any], message: Any) -> None:
        """Send `message` to every open connection in `clients`, encoded once."""
        self.session.broadcast(clients, message)

    def close(self) -> None:
        """Close with 3000 "Go away!" (``self.session.close(code, reason)`` for others)."""
        self.session.close()

    @property
    def is_closed(self) -> bool:
        closed: bool = self.session.is_closed
        return closed
