"""WebSocket endpoints: ``<prefix>/<server>/<session>/websocket`` and ``<prefix>/websocket``.

``GET <prefix>/<server>/<session>/websocket`` carries SockJS frames as text messages;
``GET <prefix>/websocket`` carries one application message per text message. Both accept
every handshake `fallback.wsengine.handshake` knows (RFC 6455, hybi-07/08, hixie-76).

The handler only validates the handshake: then it takes the raw stream with the public
`RequestHandler.detach` and hands it to a link (`fallback.transports.links`), dropping
the request; `fallback.transports.session_links` has the links that carry sessions.
"""

from __future__ import annotations

import functools
from typing import Any

from tornado.web import HTTPError, RequestHandler

from ..app.service import Service
from ..core.binary import BINARY_PARAMETER, requested
from ..core.logsafe import get_logger
from ..core.origins import origin_allowed
from ..core.resume import RESUME_PARAMETER
from ..exceptions import ServiceBusy
from ..wsengine import HandshakeError, Protocol, State, accept
from ..wsengine.deflate import DeflateOptions
from ..wsengine.protocol import HybiProtocol
from .base import TEXT_PLAIN, connection_info, error_reason
from .links import WebSocketLink
from .session_links import BusyLink, RawLink, SessionLink, SockJSLink

log = get_logger("fallback.transports.websocket")

_OPEN = State.OPEN


class WebSocketEndpoint(RequestHandler):
    """Accepts a WebSocket handshake of any version and hands the stream to a link.

    Refusals are plain HTTP answers: 405 with ``Allow: GET`` for other methods, 400 with
    a message for requests that are not valid upgrades, 426 for unknown versions, 403 for
    origins that `allow_origin` refuses.
    """

    max_message_size = 1 << 20
    #: permessage-deflate on these terms when the client offers it; None: never.
    compression: DeflateOptions | None = None

    def check_xsrf_cookie(self) -> None:
        return None

    def prepare(self) -> None:
        if self.request.method != "GET":
            raise HTTPError(405)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if status_code == 405:
            self.clear_header("Content-Type")
            self.set_header("Allow", "GET")
            self.finish()
            return
        self.set_header("Content-Type", TEXT_PLAIN)
        self.finish(error_reason(status_code, kwargs))

    def allow_origin(self, origin: str | None) -> bool:
        return True

    def handshake_refused(self, error: HandshakeError) -> None:
        """A handshake is about to be answered with `error` (for statistics)."""

    def create_link(self, protocol: Protocol) -> WebSocketLink:
        raise NotImplementedError

    def get(self, *args: str) -> None:
        request = self.request
        try:
            if request.version != "HTTP/1.1":
                raise HandshakeError(400, "WebSocket needs HTTP/1.1.")
            handshake = accept(
                "GET",
                request.uri or request.path,
                request.headers,
                secure=request.protocol == "https",
                origin_allowed=self.allow_origin,
                compression=self.compression,
            )
        except HandshakeError as error:
            log.debug("WebSocket handshake refused: %s %s", error.status, error.message)
            self.handshake_refused(error)
            for name, value in error.headers.items():
                self.set_header(name, value)
            self.set_status(error.status)
            self.set_header("Content-Type", TEXT_PLAIN)
            self.finish(error.message)
            return
        protocol = Protocol.for_handshake(handshake, max_message_size=self.max_message_size)
        link = self.create_link(protocol)
        link.start(self.detach(), handshake.response)


class _SessionEndpoint(WebSocketEndpoint):
    transport_name = ""
    link_class: type[SessionLink] = SockJSLink
    framed = True

    def initialize(self, service: Service) -> None:
        self.service = service
        settings = service.settings
        self.max_message_size = settings.max_message_size
        if settings.websocket_compression:
            self.compression = DeflateOptions(threshold=settings.compression_threshold)

    def allow_origin(self, origin: str | None) -> bool:
        request = self.request
        return origin_allowed(
            origin,
            self.service.settings.allowed_origins,
            request.host,
            request.protocol,
            fetch_site=request.headers.get("Sec-Fetch-Site"),
        )

    def handshake_refused(self, error: HandshakeError) -> None:
        self.service.count_refusal("origin" if error.status == 403 else "bad_handshake")

    def wants_binary(self, protocol: Protocol) -> bool:
        """Whether this socket's session carries binary messages: a SockJS WebSocket
        when its client asks (``fb_binary=1``); the raw endpoint's override says when."""
        return requested(self.get_query_argument(BINARY_PARAMETER, None))

    def create_link(self, protocol: Protocol) -> WebSocketLink:
        open_session = functools.partial(
            self.service.open_session,
            None,
            connection_info(self.request),
            self.transport_name,
            framed=self.framed,
            resume_request=self.get_query_argument(RESUME_PARAMETER, None),
            binary=self.wants_binary(protocol),
        )
        if protocol.state is not _OPEN:
            # hixie-76: the session waits until the third key has arrived.
            return self.link_class(protocol, self.service, None, open_session)
        try:
            session = open_session()
        except ServiceBusy:
            return BusyLink(protocol, framed=self.framed)
        return self.link_class(protocol, self.service, session)


class SockJSWebSocketHandler(_SessionEndpoint):
    """``GET <prefix>/<server>/<session>/websocket``: SockJS frames as text messages."""

    transport_name = "websocket"
    link_class = SockJSLink


class RawWebSocketHandler(_SessionEndpoint):
    """``GET <prefix>/websocket``: plain WebSocket, one message per text frame."""

    transport_name = "rawwebsocket"
    link_class = RawLink
    framed = False

    def wants_binary(self, protocol: Protocol) -> bool:
        """WebSocket has binary messages of its own (hixie-76 has none)."""
        return isinstance(protocol, HybiProtocol)


__all__ = [
    "RawWebSocketHandler",
    "SockJSWebSocketHandler",
    "WebSocketEndpoint",
]
