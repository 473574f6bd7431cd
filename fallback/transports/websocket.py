"""WebSocket transports: SockJS-framed (``.../websocket``) and raw (``<prefix>/websocket``).

For now both ride on Tornado's `WebSocketHandler`; their whole contact with the session
is `attach`, `wake`/`take_*`, `receive_*` and `detach`, so the engine underneath can be
swapped without touching sessions.

A WebSocket session lives exactly as long as its socket: it is not addressable by id
(the protocol lets two share one) and closes when the socket does.
"""

from __future__ import annotations

import logging
from typing import Any

from tornado.concurrent import Future
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..exceptions import PeerError
from ..origins import origin_allowed
from ..protocol import CloseCode, is_close_frame
from ..service import Service
from ..session import MessageTooBig, Session, SessionState
from .base import connection_info

log = logging.getLogger("fallback.transports.websocket")


class _WebSocketTransport(WebSocketHandler):
    transport_name = ""
    framed = True

    def initialize(self, service: Service) -> None:
        self.service = service
        self._session: Session | None = None
        self._write_in_flight: Future[None] | None = None
        self._closing = False

    def check_origin(self, origin: str) -> bool:
        return origin_allowed(origin, self.service.settings.allowed_origins)

    def check_xsrf_cookie(self) -> None:
        return None

    def get_compression_options(self) -> dict[str, Any] | None:
        return None  # permessage-deflate costs ~300 KB per socket; not offered

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if status_code == 405:
            self.clear_header("Content-Type")
            self.set_header("Allow", "GET")
            self.finish()
            return
        super().write_error(status_code, **kwargs)

    def open(self, *args: str, **kwargs: str) -> None:
        self.set_nodelay(True)
        session = self.service.create_session(
            None, connection_info(self.request), self.transport_name, framed=self.framed
        )
        self._session = session
        session.attach(self)
        self.wake()

    def on_close(self) -> None:
        session = self._session
        if session is None:
            return
        self._session = None
        # The client ended the socket: its close code if it sent one, else interrupted.
        if self.close_code is not None and session.state is not SessionState.CLOSED:
            session.close(self.close_code, self.close_reason or "")
        session.detach(self, interrupted=True)
        self.service.forget(session)

    def wake(self) -> None:
        if self._write_in_flight is None and not self._closing:
            self._flush()

    def _flush(self) -> None:
        raise NotImplementedError

    def _after_write(self, future: Future[None]) -> None:
        self._write_in_flight = None
        try:
            future.result()
        except WebSocketClosedError:
            return
        self.wake()

    def _send(self, text: str) -> None:
        try:
            future = self.write_message(text)
        except WebSocketClosedError:
            return
        self._write_in_flight = future
        future.add_done_callback(self._after_write)

    def _finish_close(self, code: int, reason: str) -> None:
        self._closing = True
        session = self._session
        if session is not None:
            self._session = None
            session.detach(self)
            self.service.forget(session)
        self.close(code, reason)

    def _refuse(self, error: PeerError) -> None:
        """Bad input ends this socket and its session only, abruptly: no SockJS close
        frame, just a WebSocket close with the reason (as the protocol suite expects)."""
        session = self._session
        code = CloseCode.MESSAGE_TOO_BIG if isinstance(error, MessageTooBig) else 1007
        self._closing = True
        if session is not None:
            session.close(code, error.message)
        self._finish_close(code, error.message)


class SockJSWebSocketHandler(_WebSocketTransport):
    """``GET <prefix>/<server>/<session>/websocket``: SockJS frames as text messages."""

    transport_name = "websocket"

    def on_message(self, message: str | bytes) -> None:
        session = self._session
        if session is None:
            return
        try:
            session.receive_websocket_payload(message)
        except PeerError as error:
            self._refuse(error)

    def _flush(self) -> None:
        session = self._session
        if session is None:
            return
        frame = session.take_frame()
        if frame is None:
            return
        self._send(frame)
        if is_close_frame(frame):
            self._finish_close(session.close_code or CloseCode.GO_AWAY, session.close_reason or "")


class RawWebSocketHandler(_WebSocketTransport):
    """``GET <prefix>/websocket``: plain WebSocket, one message per text frame."""

    transport_name = "rawwebsocket"
    framed = False

    def on_message(self, message: str | bytes) -> None:
        session = self._session
        if session is None:
            return
        if isinstance(message, bytes):
            session.close(1003, "Text messages only.")
            self._finish_close(1003, "Text messages only.")
            return
        if len(message) > self.service.settings.max_message_size:
            self._refuse(MessageTooBig("Message too big."))
            return
        session.receive([message])

    def _flush(self) -> None:
        session = self._session
        if session is None:
            return
        messages = session.take_messages()
        for message in messages[:-1]:
            try:
                self.write_message(message.text)
            except WebSocketClosedError:
                return
        if messages:
            self._send(messages[-1].text)
        if session.state is SessionState.CLOSED:
            self._finish_close(session.close_code or CloseCode.GO_AWAY, session.close_reason or "")
