"""Polling transports: ``xhr`` and ``jsonp`` (one frame per response), and the two
send endpoints every HTTP transport posts its messages to."""

from __future__ import annotations

from tornado.http1connection import HTTP1ServerConnection

from ..core.envelopes import JSONP_SENT_PAGE, jsonp_body, xhr_chunk
from ..core.frames import SessionId
from ..core.session import Session
from ..core.states import SessionState
from ..exceptions import PeerError
from .base import (
    APPLICATION_JAVASCRIPT,
    TEXT_HTML,
    TEXT_PLAIN,
    BaseHandler,
    ReceivingHandler,
    asks_send_signal,
    jsonp_send_payload,
)
from .directpoll import PROXY_HEADERS, DirectPolls, Handoff, take_stream

SESSION_NOT_FOUND = "Session not found."


class PollingHandler(ReceivingHandler):
    """A poll that, once accepted, may leave Tornado with its connection
    (`fallback.transports.directpoll`)."""

    def poll_directly(self, callback: str, cors: list[tuple[str, str]]) -> bool:
        """Hand the attached session and the connection over to a `DirectPolls`, which
        answers this poll and the connection's next ones; False to stay with Tornado."""
        session = self._session
        request = self.request
        server_connection = request.server_connection
        loop = self.direct_loop()
        if (
            loop is None
            or session is None
            or not isinstance(server_connection, HTTP1ServerConnection)
            or self.service.settings.jsessionid
            or request.headers.get("Connection", "").lower() == "close"
            or any(name.lower() in PROXY_HEADERS for name in request.headers)
        ):
            return False
        sock, buffered = take_stream(self.detach())
        if sock is None:  # the client is gone already
            self._client_gone = True
            self.release(interrupted=True)
            return True
        handoff = Handoff(self.application, server_connection.params, server_connection.context)
        polls = DirectPolls(
            sock,
            loop,
            self.service,
            handoff,
            path=request.path,
            transport=self.transport_name,
            remote_ip=request.remote_ip,
            buffered=buffered,
        )
        self._session = None
        self.service.responding.discard(self)
        polls.first(request.method or "", request.uri or "", request.request_time())
        if session.hand_over(self, polls):
            polls.poll(session, callback, cors)
        else:  # cannot be: the session was attached to us a moment ago
            polls.close()
        return True


class XhrPollingHandler(PollingHandler):
    """``POST .../xhr``: answers with the next frame, waiting for one if need be."""

    allowed_methods = ("OPTIONS", "POST")
    transport_name = "xhr"

    async def post(self, server_id: str, session_id: str) -> None:
        self.set_header("Content-Type", APPLICATION_JAVASCRIPT)
        self.set_no_cache()
        self.set_cors_headers()
        self.set_session_cookie()
        if self.open_receiver(session_id) is None:
            self.finish(xhr_chunk(self.refusal_frame))
            return
        if self.poll_directly("", self.cors_headers()):
            return
        frame = await self.next_frame()
        if frame is None:
            return
        self.release()
        await self.end_response(xhr_chunk(frame))


class JsonpPollingHandler(PollingHandler):
    """``GET .../jsonp?c=callback``: one frame wrapped in a call of a checked callback."""

    transport_name = "jsonp"

    async def get(self, server_id: str, session_id: str) -> None:
        callback = self.callback_argument()
        if callback is None:
            return
        self.set_header("Content-Type", APPLICATION_JAVASCRIPT)
        self.set_no_cache()
        self.set_session_cookie()
        if self.open_receiver(session_id) is None:
            self.finish(jsonp_body(callback, self.refusal_frame))
            return
        if self.poll_directly(callback, []):
            return
        frame = await self.next_frame()
        if frame is None:
            return
        self.release()
        await self.end_response(jsonp_body(callback, frame))


class _SendHandler(BaseHandler):
    """Shared by the send endpoints: find the session, hand it the messages."""

    keeps_body = True

    def body_limit(self) -> int:
        settings = self.service.settings
        session = self.service.find(SessionId(self.path_args[-1])) if self.path_args else None
        if session is not None and session.binary:
            return settings.max_body_size
        return settings.max_message_size

    def open_session(self, session_id: str) -> Session | None:
        session = self.service.find(SessionId(session_id))
        if session is None or session.state is SessionState.CLOSED or not self.same_ip_as(session):
            self.refuse(404, "unknown_session", SESSION_NOT_FOUND)
            return None
        return session

    def deliver(self, session: Session, payload: bytes) -> bool:
        try:
            session.receive_send_payload(payload)
        except PeerError as error:
            self.answer_peer_error(error)
            return False
        return True


class XhrSendHandler(_SendHandler):
    """``POST .../xhr_send``: a JSON array of messages; 204 with ``text/plain``."""

    allowed_methods = ("OPTIONS", "POST")

    def post(self, server_id: str, session_id: str) -> None:
        self.set_no_cache()
        self.set_cors_headers()
        self.set_session_cookie()
        session = self.open_session(session_id)
        if session is None or not self.deliver(session, self.body):
            return
        self.set_status(204)
        self.set_header("Content-Type", TEXT_PLAIN)
        self.finish_keeping_content_type()


class JsonpSendHandler(_SendHandler):
    """``POST .../jsonp_send``: the array in form field ``d`` or as the raw body; ``ok``
    (as a page that signals its parent frame when asked: `JSONP_SENT_PAGE`)."""

    allowed_methods = ("POST",)

    def post(self, server_id: str, session_id: str) -> None:
        self.set_no_cache()
        self.set_session_cookie()
        session = self.open_session(session_id)
        if session is None:
            return
        payload = jsonp_send_payload(self.request.headers.get("Content-Type", ""), self.body)
        if not self.deliver(session, payload):
            return
        if asks_send_signal(self.request.query_arguments):
            self.set_header("Content-Type", TEXT_HTML)
            self.finish(JSONP_SENT_PAGE)
            return
        self.set_header("Content-Type", TEXT_PLAIN)
        self.finish("ok")
