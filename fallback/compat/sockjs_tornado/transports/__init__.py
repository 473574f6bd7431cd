"""sockjs-tornado's ``transports`` package.

`base.BaseTransportMixin` works as it did (applications subclass it for handlers of
their own). The transport handlers themselves are fallback's (``router.urls``); their
sockjs-tornado classes exist for imports only and raise
`fallback.exceptions.UnsupportedError` when instantiated.
"""

from __future__ import annotations

from . import base, pollingbase, streamingbase
from .eventsource import EventSourceTransport
from .htmlfile import HtmlFileTransport
from .jsonp import JSONPSendHandler, JSONPTransport
from .rawwebsocket import RawWebSocketTransport
from .websocket import WebSocketTransport
from .xhr import XhrPollingTransport, XhrSendHandler
from .xhrstreaming import XhrStreamingTransport

__all__ = [
    "EventSourceTransport",
    "HtmlFileTransport",
    "JSONPSendHandler",
    "JSONPTransport",
    "RawWebSocketTransport",
    "WebSocketTransport",
    "XhrPollingTransport",
    "XhrSendHandler",
    "XhrStreamingTransport",
    "base",
    "pollingbase",
    "streamingbase",
]
