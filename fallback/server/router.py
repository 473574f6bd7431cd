"""`Router`: a connection class at a URL prefix, as Tornado URL rules."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from tornado.routing import Rule
from tornado.web import url

from ..app.connection import Connection, broadcast
from ..app.service import ConnectionFactory, Service
from ..core.logsafe import get_logger
from ..core.origins import opens_everything
from ..core.registry import SessionRegistry
from ..core.settings import Settings
from ..exceptions import ConfigurationError
from ..transports.pages import GreetingHandler, IframeHandler, InfoHandler
from ..transports.polling import (
    JsonpPollingHandler,
    JsonpSendHandler,
    XhrPollingHandler,
    XhrSendHandler,
)
from ..transports.streaming import EventSourceHandler, HtmlFileHandler, XhrStreamingHandler
from ..transports.websocket import RawWebSocketHandler, SockJSWebSocketHandler
from .shimfile import ShimHandler

log = get_logger("fallback.router")

#: Longest server or session id in a session URL. The protocol sets no limit (clients
#: use 3 digits and 8 random characters); ids past this are refused with 404 like any
#: other id the protocol does not allow (empty, or with a dot).
MAX_ID_LENGTH = 128

_SESSION = rf"/([^/.]{{1,{MAX_ID_LENGTH}}})/([^/.]{{1,{MAX_ID_LENGTH}}})"

#: Transports that post their messages to ``xhr_send``.
_XHR_SEND_USERS = ("xhr", "xhr_streaming", "eventsource", "htmlfile")


def normalize_prefix(prefix: str) -> str:
    """``"echo"``, ``"/echo"`` and ``"/echo/"`` all mean ``/echo``; ``""`` is the root."""
    if not isinstance(prefix, str):
        raise ConfigurationError("prefix must be a string such as '/echo'")
    prefix = prefix.strip()
    if prefix in ("", "/"):
        return ""
    if not prefix.startswith("/"):
        prefix = "/" + prefix
    prefix = prefix.rstrip("/")
    if "//" in prefix or any(c in prefix for c in "?#"):
        raise ConfigurationError(f"prefix {prefix!r} is not a plain URL path")
    return prefix


class Router:
    """Serve `connection_class` over every enabled SockJS transport under `prefix`.

    ``Router(ChatConnection, "/chat", heartbeat_delay=10).urls`` goes into
    ``tornado.web.Application``; settings are those of `fallback.settings.Settings`.
    """

    def __init__(
        self, connection_class: ConnectionFactory, prefix: str = "", **settings: Any
    ) -> None:
        self.prefix = normalize_prefix(prefix)
        self.settings = Settings.from_kwargs(settings)
        self.service = Service(connection_class, self.prefix, self.settings)
        self.urls: list[Rule] = self._rules()
        if opens_everything(self.settings.allowed_origins):
            log.warning(
                "router %s: allowed_origins '*' lets pages of every site connect as their "
                "visitors: browsers send those visitors' cookies with WebSocket handshakes "
                "and with the CORS requests it answers with credentials. Use it only for "
                "a service that does not authenticate by cookie (or list the sites)",
                self.prefix or "/",
            )

    @property
    def sessions(self) -> SessionRegistry:
        return self.service.registry

    def connections(self) -> list[Connection]:
        """Every open connection of this router (a snapshot)."""
        result = []
        for session in self.service.registry:
            listener = session.listener
            if isinstance(listener, Connection) and not listener.is_closed:
                result.append(listener)
        return result

    def broadcast(self, connections: Iterable[Connection], text: str) -> int:
        return broadcast(connections, text)

    def _rules(self) -> list[Rule]:
        p = re.escape(self.prefix)
        s = self.settings
        service = {"service": self.service}
        rules: list[Rule] = [
            url(p + r"/?", GreetingHandler, service),
            url(p + r"/info", InfoHandler, service),
            url(p + r"/iframe[0-9A-Za-z_.\-]*\.html", IframeHandler, service),
            url(p + r"/fallback\.js", ShimHandler),
        ]
        if s.websocket_enabled:
            if s.raw_websocket:
                rules.append(url(p + r"/websocket", RawWebSocketHandler, service))
            rules.append(url(p + _SESSION + r"/websocket", SockJSWebSocketHandler, service))
        transports = [
            ("xhr", XhrPollingHandler),
            ("xhr_streaming", XhrStreamingHandler),
            ("eventsource", EventSourceHandler),
            ("htmlfile", HtmlFileHandler),
            ("jsonp", JsonpPollingHandler),
        ]
        for name, handler in transports:
            if s.enabled(name):
                rules.append(url(p + _SESSION + "/" + name, handler, service))
        if any(s.enabled(name) for name in _XHR_SEND_USERS):
            rules.append(url(p + _SESSION + r"/xhr_send", XhrSendHandler, service))
        if s.enabled("jsonp"):
            rules.append(url(p + _SESSION + r"/jsonp_send", JsonpSendHandler, service))
        return rules
