"""What every SockJS HTTP endpoint shares: CORS, caching headers, cookies, error answers.

The protocol suite checks these byte for byte, so they are decided here once:

* CORS: the request's ``Origin`` is echoed with credentials allowed (``null`` stays
  ``null``); without an ``Origin`` the answer is ``*`` without credentials;
  ``Access-Control-Request-Headers`` is echoed when non-empty.
* Dynamic answers are never cached (``no-store, no-cache, no-transform, ...``); OPTIONS
  answers and ``iframe.html`` are cached for a year.
* Errors are ``text/plain`` with the protocol's message; 405 carries ``Allow`` and
  nothing else.
* Request bodies are streamed (`stream_request_body`) and count against the router's
  ``max_message_size`` as they arrive (a binary session's send requests against
  ``max_body_size``, which leaves room for base64): a declared ``Content-Length`` past
  it is answered 413 before a byte of the body is read, and a chunked body that grows
  past it is refused as soon as it does. Only send endpoints keep what they read.

Every refusal goes through `BaseHandler.refuse`: the status and the protocol's message,
one WARNING line and a count under a reason label (`Service.count_refusal`).
"""

from __future__ import annotations

import datetime
import email.utils
import logging
import re
from asyncio import AbstractEventLoop
from collections.abc import Callable, Mapping
from http.client import responses
from http.cookies import SimpleCookie
from typing import Any

from tornado.concurrent import Future
from tornado.http1connection import HTTP1Connection
from tornado.httputil import HTTPInputError, HTTPServerRequest, parse_body_arguments
from tornado.iostream import SSLIOStream, StreamClosedError
from tornado.web import HTTPError, RequestHandler, stream_request_body

from ..app.service import Service
from ..codes import DEFAULT_REASONS
from ..core.binary import BINARY_PARAMETER, requested
from ..core.connection_info import ConnectionInfo
from ..core.envelopes import SEND_SIGNAL_PARAMETER, check_callback
from ..core.frames import (
    ANOTHER_CONNECTION_FRAME,
    DIFFERENT_IP_FRAME,
    Frame,
    SessionId,
    close_frame,
)
from ..core.logsafe import get_logger
from ..core.origins import origin_allowed, request_origin
from ..core.resume import RESUME_PARAMETER, redact_uri
from ..core.session import Session
from ..core.settings import Settings
from ..exceptions import CallbackError, PayloadError, PeerError, ServiceBusy
from .sockio import reader_loop

log = get_logger("fallback.transports")

NO_CACHE = "no-store, no-cache, no-transform, must-revalidate, max-age=0"
ONE_YEAR = 365 * 24 * 60 * 60

TEXT_PLAIN = "text/plain; charset=UTF-8"
APPLICATION_JAVASCRIPT = "application/javascript; charset=UTF-8"
TEXT_HTML = "text/html; charset=UTF-8"

#: How far past ``max_message_size`` Tornado may read a chunked body before it gives up
#: on its own (400): room for our 413 to be decided first, on the data that arrived.
BODY_SLACK = 64 * 1024

FORM = "application/x-www-form-urlencoded"


def connection_info(request: HTTPServerRequest) -> ConnectionInfo:
    headers = {
        name.lower(): value for name, value in request.headers.get_all() if name.lower() != "cookie"
    }
    cookies: dict[str, str] = {}
    raw_cookie = request.headers.get("Cookie")
    if raw_cookie:
        try:
            parsed: SimpleCookie = SimpleCookie()
            parsed.load(raw_cookie)
            cookies = {name: morsel.value for name, morsel in parsed.items()}
        except Exception:  # a malformed Cookie header is the client's problem, not ours
            cookies = {}
    # The resume id is fallback's capability, not the application's: it stays out of
    # what `on_open` sees (and so out of whatever the application logs).
    arguments = {
        name: [value.decode("utf-8", "replace") for value in values]
        for name, values in request.query_arguments.items()
        if name != RESUME_PARAMETER
    }
    return ConnectionInfo(
        ip=request.remote_ip or "",
        headers=headers,
        cookies=cookies,
        arguments=arguments,
        path=request.path,
    )


#: RFC 9112's reason-phrase: what Tornado lets through to the status line.
_REASON_PHRASE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")


def error_reason(status_code: int, kwargs: Mapping[str, Any]) -> str:
    """The reason phrase of an error being written (``write_error``'s arguments), read
    from public API as Tornado chose it: the `HTTPError`'s own reason, else one given
    to ``send_error``, else the standard phrase of the status."""
    reason = kwargs.get("reason")
    exc_info = kwargs.get("exc_info")
    if exc_info is not None:
        error = exc_info[1]
        if isinstance(error, HTTPError) and error.reason:
            reason = error.reason
    if reason is None:
        return responses.get(status_code, "Unknown")
    if "<" in reason or not _REASON_PHRASE.fullmatch(reason):
        return "Unknown"  # what Tornado's set_status puts on the status line instead
    return str(reason)


def _content_length(value: str | None) -> int | None:
    """A plain decimal Content-Length, else None (Tornado answers malformed ones 400)."""
    if value is None or not value.isdigit() or not value.isascii():
        return None
    return int(value)


def cors_headers(origin: str | None, requested_headers: str | None) -> list[tuple[str, str]]:
    """The CORS headers of an answer to a request with these ``Origin`` and
    ``Access-Control-Request-Headers`` (module docstring), in the order they are sent."""
    headers = (
        [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true")]
        if origin
        else [("Access-Control-Allow-Origin", "*")]
    )
    headers.append(("Vary", "Origin"))
    if requested_headers:
        headers.append(("Access-Control-Allow-Headers", requested_headers))
    return headers


def refused_origin(
    settings: Settings,
    header: Callable[[str], str | None],
    host: str,
    protocol: str,
) -> str | None:
    """None if the page that sent a request (headers read with `header`) may connect
    (`fallback.core.origins`); else how to name it in the refusal's log line."""
    origin = request_origin(header("Origin"), header("Referer"))
    fetch_site = header("Sec-Fetch-Site")
    if origin_allowed(origin, settings.allowed_origins, host, protocol, fetch_site=fetch_site):
        return None
    return origin if origin is not None else "unnamed, Sec-Fetch-Site " + (fetch_site or "")


def refusal_detail(status: int, method: str, path: str, remote_ip: str | None, detail: str) -> str:
    """The log line of a refusal: the answer, the request, and what was wrong with it."""
    return f"{status} {method} {path} from {remote_ip}" + (f" ({detail})" if detail else "")


def jsonp_send_payload(content_type: str, body: bytes) -> bytes:
    """The messages of a ``jsonp_send`` body: form field ``d``, or the raw body."""
    if content_type.split(";")[0].strip().lower() != FORM:
        return body
    # The body was streamed in (`BaseHandler`), so Tornado did not parse it.
    fields: dict[str, list[bytes]] = {}
    try:
        parse_body_arguments(FORM, body, fields, {})
    except HTTPInputError:
        fields = {}  # answered as a missing payload
    values = fields.get("d")
    return values[-1] if values else b""


#: What Tornado's ``get_argument`` turns into spaces.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f]")


def query_argument(arguments: Mapping[str, list[bytes]], name: str) -> str | None:
    """A query argument as ``RequestHandler.get_query_argument(name, None, strip=False)``
    reads it: the last value, decoded (`UnicodeDecodeError` where Tornado answers 400)."""
    values = arguments.get(name)
    if not values:
        return None
    return _CONTROL_CHARS.sub(" ", values[-1].decode("utf-8"))


def asks_send_signal(arguments: Mapping[str, list[bytes]]) -> bool:
    """Whether a ``jsonp_send`` asks for the answer that signals its frame
    (``fb_signal=1``: `fallback.core.envelopes.JSONP_SENT_PAGE`)."""
    values = arguments.get(SEND_SIGNAL_PARAMETER)
    return values is not None and values[-1:] == [b"1"]


def resynced(service: Service, session: Session, sid: str, resume: str | None) -> bool:
    """`Session.resync_request` for a receiving request's ``fb_resume`` argument; a stale
    request (False: it gets ``c[2010]``) is counted as a refusal."""
    if session.resync_request(resume):
        return True
    service.count_refusal("resume", f"stale request for session {sid}")
    return False


def jsonp_callback(argument: Callable[[str], str | None]) -> str:
    """The checked ``c`` (or ``callback``) argument, read with `argument`; `PeerError`
    when it is missing or unsafe."""
    return check_callback(argument("c") or argument("callback"))


_access_log = get_logger("tornado.access")


def log_access(
    status: int, method: str, uri: str, remote_ip: str | None, seconds: float, refused: bool
) -> None:
    """One access-log line: INFO, WARNING for an error answer that is not a refusal
    fallback logged already (`fallback.server.application`, Tornado's ``log_function``).
    The URL goes without its resume capability (``fb_resume=[redacted]``)."""
    _access_log.log(
        logging.WARNING if status >= 400 and not refused else logging.INFO,
        "%d %s %s (%s) %.2fms",
        status,
        method,
        redact_uri(uri),
        remote_ip,
        1000.0 * seconds,
    )


def refusal_reason(error: PeerError) -> str:
    """The statistics label of a refusal: ``bad_payload``, ``too_big``, ``bad_callback``..."""
    if isinstance(error, CallbackError):
        return "bad_callback"
    if error.status == 413:
        return "too_big"
    if isinstance(error, PayloadError):
        return "bad_payload"
    return f"status_{error.status}"


@stream_request_body
class BaseHandler(RequestHandler):
    """Base of every SockJS HTTP handler. Subclasses set `allowed_methods`."""

    allowed_methods: tuple[str, ...] = ("GET",)
    #: Keep the request body (send endpoints); the others only count it.
    keeps_body = False
    service: Service
    #: This request was answered with a refusal (already logged and counted).
    refused = False

    def initialize(self, service: Service) -> None:
        self.service = service
        self._body_parts: list[bytes] = []
        self._body_size = 0
        self._body_limit = service.settings.max_message_size

    @property
    def body(self) -> bytes:
        """The request body (only kept for handlers with `keeps_body`)."""
        return b"".join(self._body_parts)

    # Cross-site XHR from sockjs-client cannot carry Tornado's XSRF token.
    def check_xsrf_cookie(self) -> None:
        return None

    # Dynamic answers must not get Tornado's automatic ETag (and a 304 with it).
    def compute_etag(self) -> str | None:
        return None

    def prepare(self) -> None:
        if self.request.method not in self.allowed_methods:
            raise HTTPError(405)
        if not self.origin_allowed():
            return
        self._limit_body()

    def origin_allowed(self) -> bool:
        """Refuse (403) a page that may not connect: another site's, unless
        ``allowed_origins`` lets it (`fallback.origins`)."""
        request = self.request
        origin = refused_origin(
            self.service.settings, request.headers.get, request.host, request.protocol
        )
        if origin is None:
            return True
        self.refuse(403, "origin", "Origin not allowed.", f"origin {origin}")
        return False

    def body_limit(self) -> int:
        """The largest body this request may have (`max_body_size` for the sessions
        that take binary messages, whose bound is on each decoded message)."""
        return self.service.settings.max_message_size

    def _limit_body(self) -> None:
        """Refuse a body declared too big now, before it is read; bound chunked ones."""
        limit = self._body_limit = self.body_limit()
        connection = self.request.connection
        declared = _content_length(self.request.headers.get("Content-Length"))
        if declared is not None and declared > limit:
            # Tornado reads no further once we have answered: it closes the connection
            # after the 413 instead (raising its own limit keeps it from answering 400
            # on top of ours in the meantime).
            if isinstance(connection, HTTP1Connection):
                connection.set_max_body_size(declared)
            self.refuse(413, "too_big", "Message too big.", f"Content-Length {declared}")
            return
        if isinstance(connection, HTTP1Connection):
            connection.set_max_body_size(limit + BODY_SLACK)

    def data_received(self, chunk: bytes) -> None:
        if self.refused:
            return
        self._body_size += len(chunk)
        if self._body_size > self._body_limit:
            self._body_parts = []
            self.refuse(413, "too_big", "Message too big.", f"body over {self._body_size} bytes")
            return
        if self.keeps_body:
            self._body_parts.append(chunk)

    def refuse(self, status: int, reason: str, message: str, detail: str = "") -> None:
        """Answer a client error: count it under `reason`, log it once, send `message`."""
        self.refused = True
        request = self.request
        self.service.count_refusal(
            reason,
            refusal_detail(status, request.method or "", request.path, request.remote_ip, detail),
        )
        self.answer_error(status, message)

    # -- answers ----------------------------------------------------------------------

    def answer_error(self, status: int, message: str) -> None:
        """Finish with a plain-text error the protocol defines (never a traceback).

        Headers already set (CORS, cookies) stay, so a browser can read the answer.
        """
        self.set_status(status)
        self.set_header("Content-Type", TEXT_PLAIN)
        self.set_no_cache()
        self.finish(message)

    def answer_peer_error(self, error: PeerError) -> None:
        self.refuse(error.status, refusal_reason(error), error.message, error.message)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if status_code == 405:
            self.clear_header("Content-Type")
            self.set_header("Allow", ", ".join(self.allowed_methods))
            self.finish()
            return
        self.set_header("Content-Type", TEXT_PLAIN)
        self.finish(
            error_reason(status_code, kwargs)
            if status_code != 500
            else "500 - Internal Server Error"
        )

    def options(self, *args: str) -> None:
        """A CORS preflight: cacheable for a year, listing the methods this URL takes."""
        self.set_status(204)
        self.set_cache_forever()
        self.set_header("Access-Control-Allow-Methods", ", ".join(self.allowed_methods))
        self.set_header("Access-Control-Max-Age", str(ONE_YEAR))
        self.set_cors_headers()
        self.set_session_cookie()
        self.finish()

    # -- headers ----------------------------------------------------------------------

    def set_cors_headers(self) -> None:
        for name, value in self.cors_headers():
            self.set_header(name, value)

    def cors_headers(self) -> list[tuple[str, str]]:
        headers = self.request.headers
        return cors_headers(headers.get("Origin"), headers.get("Access-Control-Request-Headers"))

    def same_ip_as(self, session: Session) -> bool:
        """False when ``verify_ip`` is on and this request is not from the session's IP."""
        if not self.service.settings.verify_ip:
            return True
        return (self.request.remote_ip or "") == session.info.ip

    def set_no_cache(self) -> None:
        self.set_header("Cache-Control", NO_CACHE)

    def set_cache_forever(self) -> None:
        self.set_header("Cache-Control", f"public, max-age={ONE_YEAR}")
        expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=ONE_YEAR)
        self.set_header("Expires", email.utils.format_datetime(expires, usegmt=True))

    def set_session_cookie(self) -> None:
        """``JSESSIONID`` for load balancers that only stick on it (setting ``jsessionid``)."""
        if self.service.settings.jsessionid:
            value = self.get_cookie("JSESSIONID") or "dummy"
            self.set_cookie("JSESSIONID", value, path="/")

    def finish_keeping_content_type(self) -> None:
        """Finish a bodiless (204) answer without Tornado dropping its Content-Type.

        Tornado removes representation headers from a 204 in ``finish()``, but the
        protocol wants ``text/plain`` on xhr_send's 204 (Firefox otherwise parses the
        empty body as XML); flushing the headers first keeps them.
        """
        self.flush()
        self.finish()


class ReceivingHandler(BaseHandler):
    """A request that carries frames to the client: a `Receiver` for its session.

    It holds no queue: it attaches to the session, pulls frames with `next_frame`, and
    sleeps on one future between them. When the client goes away mid-request the session
    hears of it (`Session.detach` with ``interrupted``).
    """

    transport_name: str = ""
    _session: Session | None = None
    _waiter: Future[None] | None = None
    _client_gone = False
    _replaced = False

    #: When `open_receiver` refuses: the close frame to answer with instead.
    refusal_frame: Frame = ANOTHER_CONNECTION_FRAME

    def callback_argument(self) -> str | None:
        """The checked ``c`` (or ``callback``) argument of a JSONP or htmlfile request;
        None when it is missing or unsafe, and the request is answered already."""
        try:
            return jsonp_callback(lambda name: self.get_query_argument(name, None, strip=False))
        except PeerError as error:
            self.answer_peer_error(error)
            return None

    def open_receiver(self, session_id: str) -> Session | None:
        """Find or create the session and attach; None (see `refusal_frame`) when
        another receiver holds it or the request comes from a foreign IP."""
        sid = SessionId(session_id)
        session = self.service.find(sid)
        if session is None:
            try:
                session = self.service.open_session(
                    sid,
                    connection_info(self.request),
                    self.transport_name,
                    resume_request=self.get_query_argument(RESUME_PARAMETER, None),
                    binary=requested(self.get_query_argument(BINARY_PARAMETER, None)),
                )
            except ServiceBusy as error:
                self.refusal_frame = close_frame(
                    error.code, DEFAULT_REASONS.get(error.code, error.message)
                )
                return None
        elif not self.same_ip_as(session):
            self.service.count_refusal(
                "different_ip", f"session {sid} from {self.request.remote_ip}"
            )
            self.refusal_frame = DIFFERENT_IP_FRAME
            return None
        elif not resynced(
            self.service, session, sid, self.get_query_argument(RESUME_PARAMETER, None)
        ):
            return None
        if not session.attach(self, self.transport_name):
            return None
        self._session = session
        self.service.responding.add(self)
        if self.client_left_already():
            self.on_connection_close()
        return session

    def direct_loop(self) -> AbstractEventLoop | None:
        """The loop to serve this connection on directly, on its own socket
        (`fallback.transports.direct`, `fallback.transports.directpoll`), or None to
        stay with Tornado: HTTP/1.1 over plain TCP, on a loop that watches sockets."""
        connection = self.request.connection
        if self.request.version != "HTTP/1.1" or not isinstance(connection, HTTP1Connection):
            return None
        if isinstance(connection.stream, SSLIOStream):
            return None
        return reader_loop()

    def client_left_already(self) -> bool:
        """Whether the client's connection closed before this request reached us.

        Tornado reports a client leaving (`on_connection_close`) only when the
        connection closes after the request was dispatched. When the close comes with
        the request -- the next poll sent on a kept-alive connection by a client that
        quits at once, as sockjs-client does when the page closes it while it re-polls
        -- the stream is closed before the handler runs and no callback follows: the
        poll would hold its session open, and delay its ``on_close``, until the next
        heartbeat found the connection gone.
        """
        connection = self.request.connection
        return isinstance(connection, HTTP1Connection) and connection.stream.closed()

    async def end_response(self, chunk: str | bytes | None = None) -> bool:
        """Finish the response and wait until it has left (a shutdown waits for this);
        False if the client was gone."""
        try:
            await self.finish(chunk)
        except StreamClosedError:
            return False
        finally:
            self.service.responding.discard(self)
        return True

    async def next_frame(self) -> Frame | None:
        """The next frame to write, waiting for one; None once the client is gone.

        A receiver replaced by a resumed connection's new request gets the 2010 close
        frame and ends.
        """
        while not self._client_gone and self._session is not None:
            frame = self._session.take_frame()
            if frame is not None:
                return frame
            self._waiter = Future()
            await self._waiter
            self._waiter = None
        if self._replaced and not self._client_gone:
            return ANOTHER_CONNECTION_FRAME
        return None

    def abandon(self) -> None:
        """The session now uses another receiver (a resumed connection): end this one."""
        self._session = None
        self._replaced = True
        self.wake()

    def wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def release(self, *, interrupted: bool = False) -> None:
        """Detach from the session (the response is complete, or the client vanished)."""
        if interrupted:  # no response to end: nothing left to wait for
            self.service.responding.discard(self)
        session = self._session
        if session is not None:
            self._session = None
            session.detach(self, interrupted=interrupted)

    def on_connection_close(self) -> None:
        self._client_gone = True
        self.service.responding.discard(self)
        self.release(interrupted=True)
        self.wake()
        # Ends a request body that was still streaming in (stream_request_body).
        super().on_connection_close()

    def end_http10_response(self) -> None:
        """Close the socket after a body with no length on HTTP/1.0.

        Tornado keeps an HTTP/1.0 ``Connection: keep-alive`` socket open after a response
        without Content-Length, so the client would wait forever for the end of the body.
        """
        connection = self.request.connection
        if self.request.version == "HTTP/1.0" and isinstance(connection, HTTP1Connection):
            connection.close()
