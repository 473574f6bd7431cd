"""fallback: one connection API for every browser, over every SockJS transport.

from fallback import Connection, Router

class Echo(Connection):
    def on_message(self, text):
        self.send(text)

app = tornado.web.Application(Router(Echo, "/echo").urls)
"""

from .app.connection import Connection, broadcast
from .codes import CloseCode
from .core.connection_info import ConnectionInfo
from .core.settings import Settings
from .exceptions import (
    CallbackError,
    ConfigurationError,
    FallbackError,
    PayloadError,
    PeerError,
)
from .server.router import Router

__version__ = "0.1.0"

__all__ = [
    "CallbackError",
    "CloseCode",
    "ConfigurationError",
    "Connection",
    "ConnectionInfo",
    "FallbackError",
    "PayloadError",
    "PeerError",
    "Router",
    "Settings",
    "__version__",
    "broadcast",
]
