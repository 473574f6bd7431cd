"""sockjs-tornado's ``websocket`` module: its `tornado.websocket` handler base.

fallback runs the WebSocket transports on its own engine, so the class exists for
imports only and raises `fallback.exceptions.UnsupportedError` when instantiated.
"""

from __future__ import annotations

from ._gone import placeholder

__all__ = ["SockJSWebSocketHandler"]

SockJSWebSocketHandler = placeholder(
    "websocket",
    "SockJSWebSocketHandler",
    "fallback's router serves <prefix>/<server>/<session>/websocket and the raw "
    "<prefix>/websocket itself; for a plain WebSocket of your own, subclass "
    "tornado.websocket.WebSocketHandler",
)
