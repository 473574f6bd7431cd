"""sockjs-tornado's ``transports.rawwebsocket`` module.

fallback serves every transport with its own handlers, so the classes exist for
imports only and raise `fallback.exceptions.UnsupportedError` when instantiated.
"""

from __future__ import annotations

from .._gone import TRANSPORT_INSTEAD as INSTEAD
from .._gone import placeholder

__all__ = ["RawSession", "RawWebSocketTransport"]

RawSession = placeholder(
    "transports.rawwebsocket",
    "RawSession",
    "the raw <prefix>/websocket endpoint runs on fallback's own session; its "
    "connections get a session.Session like every other",
)
RawWebSocketTransport = placeholder("transports.rawwebsocket", "RawWebSocketTransport", INSTEAD)
