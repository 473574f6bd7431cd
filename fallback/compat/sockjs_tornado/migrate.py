"""sockjs-tornado's ``migrate`` module: `WebsocketHandler`, for applications written as
`tornado.websocket.WebSocketHandler` subclasses (``open`` / ``on_message`` /
``write_message``) that moved to SockJS with few changes."""

from __future__ import annotations

from typing import Any

from .conn import SockJSConnection
from .session import ConnectionInfo

__all__ = ["WebsocketHandler"]


class WebsocketHandler(SockJSConnection):
    """A `SockJSConnection` with `tornado.websocket.WebSocketHandler`'s names.

    ``self.request`` is the `session.ConnectionInfo` (``ip``, ``cookies``,
    ``arguments``, ``headers``, ``path``), not Tornado's request, and ``self.ip`` its
    address.
    """

    def open(self) -> None:
        """The client connected (override)."""

    def on_open(self, info: ConnectionInfo) -> None:
        self.ip = info.ip
        self.request = info
        self.open()

    def write_message(self, msg: Any) -> None:
        self.send(msg)
