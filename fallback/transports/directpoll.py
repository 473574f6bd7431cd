"""Long polls answered on a socket taken over from Tornado, request after request.

A polling client (``xhr``, ``jsonp``) sends one request per batch of messages, and its
sends, on one kept-alive connection. Through Tornado each of those requests costs a new
``HTTP1Connection``, header parsing into `HTTPHeaders`, routing through a score of regular
expressions, a `RequestHandler` and its futures: about 230 µs a poll, where sockjs-node
spends 50 (fan-out over xhr ran at 0.45x sockjs-node). So, once the normal handler has
accepted a poll (origin, session, IP and resume checks, attach: `fallback.transports.polling`),
it ``detach()``-es, as the streaming transports do (`fallback.transports.direct`), and a
`DirectPolls` answers that poll on the socket and serves the connection's next requests
itself, as long as each one is a plain poll or send of the same session over the same
transport: ``xhr``/``xhr_send`` or ``jsonp``/``jsonp_send``.

Each request's head is read with ``MSG_PEEK`` and decided on before a byte of it is
consumed: anything else -- another URL or session, another method (an OPTIONS
preflight), a chunked or too large body, a body not there yet, a foreign origin, a
session that is gone, taken or from another IP, proxy headers, ``Connection:
close``, HTTP/1.0, a head over `HEAD_LIMIT` or anything odd -- goes back to Tornado
untouched, on a new `HTTP1ServerConnection` with the first request's parameters, and the
normal handler answers it (and counts and logs a refusal) exactly as before. The answers
given here are those of the handlers, header for header (`answer_head`). A resumable
session's polls (fallback.js asks for resume by default) carry ``fb_resume``: each is
resynced as the handler does it (`Session.resync_request`), a stale one refused with the
same ``c[2010]``.

A held poll is woken by its session; the answer is written one loop iteration later
(``call_soon``), so that everything queued in that iteration goes out in it. The poll is
in ``service.responding`` while an answer is owed (a shutdown waits for it); a client
that closes while its poll is held detaches it ``interrupted``, as with Tornado.

The bytes Tornado had read past the first request (a pipelining client's next requests)
are served from memory; when one of them must go back to Tornado, they all do, read
again by the new stream before its socket (`ReplayStream`). Requests answered here are
access-logged as Tornado's are (`fallback.transports.base.log_access`).

Limits: an application's own ``log_function`` is not called for these requests, and
any poll that would create a session (or resume one on a new session) goes through
Tornado. An idle connection closes after
the server's ``idle_connection_timeout`` (Tornado's ``header_timeout``). TLS, HTTP/1.0,
``jsessionid`` and servers behind a proxy keep Tornado's path.
"""

from __future__ import annotations

import socket
import time
from asyncio import AbstractEventLoop, Future, TimerHandle
from dataclasses import dataclass
from http.client import responses
from typing import cast

import tornado
from tornado.escape import parse_qs_bytes
from tornado.http1connection import HTTP1ConnectionParameters, HTTP1ServerConnection
from tornado.httputil import HTTPServerConnectionDelegate, format_timestamp
from tornado.iostream import IOStream, StreamClosedError

from ..app.service import Service
from ..core.envelopes import JSONP_SENT_PAGE, jsonp_body, xhr_chunk
from ..core.frames import ANOTHER_CONNECTION_FRAME, Frame, SessionId
from ..core.logsafe import get_logger
from ..core.resume import RESUME_PARAMETER
from ..core.session import Session
from ..core.states import SessionState
from ..exceptions import PeerError
from .base import (
    APPLICATION_JAVASCRIPT,
    NO_CACHE,
    TEXT_HTML,
    TEXT_PLAIN,
    asks_send_signal,
    cors_headers,
    jsonp_callback,
    jsonp_send_payload,
    log_access,
    query_argument,
    refusal_detail,
    refusal_reason,
    refused_origin,
    resynced,
)
from .sockio import READ_CHUNK, SocketIO

log = get_logger("fallback.transports")

#: The longest request head served here; a longer one goes to Tornado.
HEAD_LIMIT = 8192
#: Headers that only a proxy sets: whether the server trusts them (``xheaders``) is
#: Tornado's to know.
PROXY_HEADERS = frozenset({"x-forwarded-for", "x-real-ip", "x-scheme", "x-forwarded-proto"})
#: The method of each endpoint served here.
METHODS = {"xhr": "POST", "xhr_send": "POST", "jsonp": "GET", "jsonp_send": "POST"}
KINDS = {"xhr": ("xhr", "xhr_send"), "jsonp": ("jsonp", "jsonp_send")}

SERVER = f"TornadoServer/{tornado.version}"
JSONP_SENT_BODY = JSONP_SENT_PAGE.encode("utf-8")
_dates: list[tuple[int, str]] = [(0, "")]


def _date() -> str:
    now = time.time()
    second = int(now)
    cached = _dates[0]
    if cached[0] != second:
        cached = _dates[0] = (second, format_timestamp(now))
    return cached[1]


def answer_head(
    status: int,
    content_type: str,
    headers: list[tuple[str, str]],
    length: int | None,
) -> bytes:
    """The head of an answer as the handlers' Tornado writes it: its default headers,
    then ``Cache-Control`` and `headers` (CORS) in the order the handlers set them."""
    lines = [
        f"HTTP/1.1 {status} {responses.get(status, 'Unknown')}",
        "Server: " + SERVER,
        "Content-Type: " + content_type,
        "Date: " + _date(),
        "Cache-Control: " + NO_CACHE,
    ]
    lines.extend(f"{name}: {value}" for name, value in headers)
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("latin-1")


@dataclass(frozen=True, slots=True)
class Handoff:
    """How to give the connection back to Tornado: the first request's server
    connection's parameters and context, and the application that routes requests."""

    application: HTTPServerConnectionDelegate
    params: HTTP1ConnectionParameters
    context: object | None

    def serve(self, sock: socket.socket, replay: bytes = b"") -> None:
        """Serve the connection with Tornado again; `replay`: what was read of it
        already, read again first."""
        stream = ReplayStream(sock, replay) if replay else IOStream(sock)
        HTTP1ServerConnection(stream, self.params, self.context).start_serving(self.application)


class ReplayStream(IOStream):
    """An `IOStream` that reads `replay` before its socket: the bytes read from it
    already go back to Tornado as if they had not been (``read_from_fd``, the method
    stream classes implement reading with, is tried before every wait)."""

    def __init__(self, sock: socket.socket, replay: bytes) -> None:
        self.replay = replay
        super().__init__(sock)

    def read_from_fd(self, buf: bytearray | memoryview) -> int | None:
        replay = self.replay
        if not replay:
            return super().read_from_fd(buf)
        size = min(len(buf), len(replay))
        buf[:size] = replay[:size]
        self.replay = replay[size:]
        return size


@dataclass(slots=True)
class Request:
    """A request head decided on (nothing of it is consumed yet)."""

    kind: str
    method: str
    target: str
    path: str
    size: int  #: head and body
    headers: dict[str, str]
    query: str
    body: bytes


def take_stream(stream: IOStream) -> tuple[socket.socket | None, bytes]:
    """A detached `stream`'s socket, now ours, and what Tornado had read past the request
    (a pipelining client's next requests); no socket if the client is already gone."""
    try:
        read = cast("Future[bytes]", stream.read_bytes(READ_CHUNK, partial=True))
    except StreamClosedError:
        return None, b""
    buffered = b""
    if read.done():
        if read.exception() is not None:
            return None, b""
        buffered = read.result()
    else:  # nothing buffered, nothing on the socket: the read ends with the stream
        read.add_done_callback(_seen)
    if stream.closed():
        return None, b""
    try:
        sock = stream.socket.dup()
    except OSError:
        stream.close()
        return None, b""
    stream.close()
    return sock, buffered


def _seen(future: Future[bytes]) -> None:
    if not future.cancelled():
        future.exception()


class DirectPolls:
    """The polls and sends of one session over one kept-alive connection.

    Created for a poll that the handler has accepted; `poll` answers it. A receiver of
    its session (``wake``, ``abandon``) while a poll is held.
    """

    __slots__ = (
        "_buffer",
        "_callback",
        "_cors",
        "_handoff",
        "_holding",
        "_idle",
        "_idle_timeout",
        "_io",
        "_ip",
        "_loop",
        "_method",
        "_paths",
        "_reading",
        "_resume_argument",
        "_scheduled",
        "_service",
        "_session",
        "_session_id",
        "_sock",
        "_started",
        "_transport",
        "_uri",
        "_writing",
    )

    def __init__(
        self,
        sock: socket.socket,
        loop: AbstractEventLoop,
        service: Service,
        handoff: Handoff,
        *,
        path: str,
        transport: str,
        remote_ip: str | None,
        buffered: bytes = b"",
    ) -> None:
        self._io: SocketIO | None = SocketIO(self, sock, loop)
        self._sock = sock
        self._loop = loop
        self._service = service
        self._handoff = handoff
        stem, _, _ = path.rpartition("/")
        self._paths = {f"{stem}/{kind}": kind for kind in KINDS[transport]}
        self._session_id = SessionId(stem.rpartition("/")[2])
        self._transport = transport
        self._ip = remote_ip
        self._buffer = buffered
        self._session: Session | None = None
        self._callback = ""
        #: The ``fb_resume`` argument of the poll being served (a resumable session's).
        self._resume_argument: str | None = None
        self._cors: list[tuple[str, str]] = []
        self._holding = False
        self._scheduled = False
        self._reading = False
        self._writing = False
        self._idle: TimerHandle | None = None
        #: The request being answered, for the access log.
        self._method = ""
        self._uri = ""
        self._started = 0.0
        self._idle_timeout = handoff.params.header_timeout or 3600.0
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def __repr__(self) -> str:
        return f"<DirectPolls {self._transport} {self._session_id}>"

    # -- the session's receiver -----------------------------------------------------------

    def first(self, method: str, uri: str, elapsed: float) -> None:
        """The request the handler accepted, `elapsed` seconds ago (for the access log)."""
        self._method = method
        self._uri = uri
        self._started = time.monotonic() - elapsed

    def poll(self, session: Session, callback: str, cors: list[tuple[str, str]]) -> None:
        """Answer a poll of `session`, which is attached to us, as soon as it has a frame."""
        self._session = session
        self._callback = callback
        self._cors = cors
        self._holding = True
        self._service.responding.add(self)
        self._watch()
        self._answer()

    def wake(self) -> None:
        if self._holding and not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._woken)

    def abandon(self) -> None:
        """The session went on with another receiver: this poll ends with 2010."""
        self._session = None
        self.wake()

    def _woken(self) -> None:
        self._scheduled = False
        self._answer()

    def _answer(self) -> None:
        if not self._holding:
            return
        session = self._session
        frame: Frame | None
        if session is None:
            frame = ANOTHER_CONNECTION_FRAME
        else:
            frame = session.take_frame()
            if frame is None:
                return
            self._session = None
            session.detach(self)
        self._holding = False
        if self._transport == "xhr":
            body = xhr_chunk(frame).encode("utf-8")
        else:
            body = jsonp_body(self._callback, frame).encode("utf-8")
        head = answer_head(200, APPLICATION_JAVASCRIPT, self._cors, len(body))
        self._write(head + body, 200)

    # -- writing --------------------------------------------------------------------------

    def _write(self, data: bytes, status: int, *, refused: bool = False) -> None:
        io = self._io
        if io is None:
            return
        seconds = time.monotonic() - self._started
        log_access(status, self._method, self._uri, self._ip, seconds, refused)
        if io.write(data):
            self._written()
        else:  # no reading until it has left (the socket stays watched otherwise: a
            # watch given up and taken again per answer was a third of the time)
            self._writing = True
            self._stop_reading()

    def _written(self) -> None:
        self._writing = False
        self._service.responding.discard(self)
        if self._io is not None:
            self._watch()

    def resume_writing(self) -> None:
        self._written()

    def data_received(self, data: bytes) -> None:
        """Not called: the socket's reading is ours (`_readable`)."""

    def connection_lost(self) -> None:
        """The socket closed (either side): a held poll was interrupted."""
        self._io = None
        self._reading = False
        self._cancel_idle()
        self._service.responding.discard(self)
        session, self._session = self._session, None
        if self._holding:
            self._holding = False
            if session is not None:
                session.detach(self, interrupted=True)

    def close(self) -> None:
        if self._io is not None:
            self._io.close()

    # -- reading --------------------------------------------------------------------------

    def _watch(self) -> None:
        """Watch the socket: for the next request, or for the client leaving."""
        if self._io is None or self._writing:
            return
        if not self._reading:
            self._reading = True
            self._loop.add_reader(self._sock.fileno(), self._readable)
        if not self._holding:
            self._cancel_idle()
            self._idle = self._loop.call_later(self._idle_timeout, self.close)
            if self._buffer:  # a pipelined request already read: no readiness to wait for
                self._loop.call_soon(self._readable)

    def _stop_reading(self) -> None:
        if self._reading:
            self._reading = False
            self._loop.remove_reader(self._sock.fileno())

    def _cancel_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def _readable(self) -> None:
        if self._io is None or self._writing or not self._reading:
            return
        if self._holding:
            try:
                peeked = self._sock.recv(1, socket.MSG_PEEK)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                peeked = b""
            if not peeked:
                self.close()  # the client left mid-poll
            else:
                self._stop_reading()  # a pipelined request: after this answer
            return
        try:
            self._next_request()
        except Exception:  # a request we cannot make sense of must not break the loop
            log.exception("%r: reading a request failed; closing the connection", self)
            self.close()

    def _next_request(self) -> None:
        sock = self._sock
        buffered = self._buffer
        if buffered:
            # What Tornado had read already is ours to parse: a request that must go
            # back to Tornado closes the connection instead.
            try:
                more = sock.recv(READ_CHUNK)
                eof = not more
            except (BlockingIOError, InterruptedError):
                more, eof = b"", False
            except OSError:
                more, eof = b"", True
            data = self._buffer = buffered + more
            request = self._parse(data)
            if isinstance(request, int):
                if eof:  # the rest of it will never come
                    self.close()
                return  # the rest of it is on its way
            session = None if request is None else self._accept(request)
            if request is None or session is None:
                self._hand_back()
                return
            self._buffer = data[request.size :]
            self._serve(request, session)
            return
        try:
            data = sock.recv(HEAD_LIMIT, socket.MSG_PEEK)
            request = self._parse(data)
            if isinstance(request, int) and request > len(data):  # the body is longer
                data = sock.recv(request, socket.MSG_PEEK)
                request = self._parse(data)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data, request = b"", None
        if not data:
            self.close()  # the client closed its idle connection
            return
        session = self._accept(request) if isinstance(request, Request) else None
        if not isinstance(request, Request) or session is None:
            self._hand_back()
            return
        if not self._consume(request.size):
            self.close()
            return
        self._serve(request, session)

    def _consume(self, size: int) -> bool:
        sock = self._sock
        while size > 0:
            try:
                size -= len(sock.recv(size))
            except OSError:
                return False
        return True

    def _hand_back(self) -> None:
        io, self._io = self._io, None
        self._reading = False
        self._cancel_idle()
        sock = io.release() if io is not None else None
        if sock is None:
            return
        replay, self._buffer = self._buffer, b""
        try:
            self._handoff.serve(sock, replay)
        except Exception:
            log.exception("%r: giving the connection back to Tornado failed", self)
            sock.close()

    def _parse(self, data: bytes) -> Request | int | None:
        """The request at the start of `data` if it is one to serve here, complete with
        its body; None if it is not one; else how many bytes it takes (0: the head is not
        complete yet)."""
        end = data.find(b"\r\n\r\n", 0, HEAD_LIMIT)
        if end < 0:
            return 0 if len(data) < HEAD_LIMIT else None
        lines = data[:end].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or parts[2] != "HTTP/1.1":
            return None
        method, target, _ = parts
        path, _, query = target.partition("?")
        kind = self._paths.get(path)
        if kind is None or METHODS[kind] != method:
            return None
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip() or name.lower() in headers:
                return None
            headers[name.lower()] = value.strip(" \t")
        if not PROXY_HEADERS.isdisjoint(headers) or "transfer-encoding" in headers:
            return None
        if "expect" in headers or "host" not in headers:
            return None
        if headers.get("connection", "keep-alive").lower() != "keep-alive":
            return None
        declared = headers.get("content-length", "0")
        if not declared.isdigit() or not declared.isascii():
            return None
        length = int(declared)
        if kind in ("xhr", "jsonp") and length:
            return None
        size = end + 4 + length
        if len(data) < size:
            settings = self._service.settings
            bound = HEAD_LIMIT + max(settings.max_body_size, settings.max_message_size)
            return size if size <= bound else None
        return Request(kind, method, target, path, size, headers, query, data[end + 4 : size])

    def _accept(self, request: Request) -> Session | None:
        """The session `request` is for, if it is served here: the checks of its handler
        that would refuse it, or do more than serve it, all pass; else None."""
        service = self._service
        settings = service.settings
        headers = request.headers
        header = lambda name: headers.get(name.lower())  # noqa: E731
        if refused_origin(settings, header, headers["host"], "http") is not None:
            return None
        session = service.find(self._session_id)
        if session is None:
            return None
        if settings.verify_ip and (self._ip or "") != session.info.ip:
            return None
        if request.kind in ("xhr", "jsonp"):
            if session.has_receiver:
                return None
            self._resume_argument = None
            if request.query:
                try:
                    arguments = parse_qs_bytes(request.query, keep_blank_values=True)
                    resume = query_argument(arguments, RESUME_PARAMETER)
                    # (stripped, as Tornado's get_query_argument reads it for the handler)
                    self._resume_argument = None if resume is None else resume.strip()
                    if request.kind == "jsonp":
                        self._callback = jsonp_callback(
                            lambda name: query_argument(arguments, name)
                        )
                except (PeerError, UnicodeDecodeError):
                    return None
            elif request.kind == "jsonp":
                return None  # no callback: the handler answers that
            return session
        if session.state is SessionState.CLOSED:
            return None
        limit = settings.max_body_size if session.binary else settings.max_message_size
        return session if len(request.body) <= limit else None

    def _serve(self, request: Request, session: Session) -> None:
        self._cancel_idle()
        self._method = request.method
        self._uri = request.target
        self._started = time.monotonic()
        service = self._service
        headers = request.headers
        cors = (
            cors_headers(headers.get("origin"), headers.get("access-control-request-headers"))
            if request.kind.startswith("xhr")
            else []
        )
        if request.kind in ("xhr", "jsonp"):
            # A resumable session's poll says how much arrived (``fb_resume``), as the
            # handler's does (`ReceivingHandler.open_receiver`): a stale one is refused.
            if not resynced(service, session, self._session_id, self._resume_argument):
                return self._write_frame_refusal(cors)
            if not session.attach(self, self._transport):
                return self._write_frame_refusal(cors)
            self.poll(session, self._callback, cors)
            return
        if request.kind == "xhr_send":
            payload = request.body
        else:
            payload = jsonp_send_payload(headers.get("content-type", ""), request.body)
        try:
            session.receive_send_payload(payload)
        except PeerError as error:
            service.count_refusal(
                refusal_reason(error),
                refusal_detail(error.status, request.method, request.path, self._ip, error.message),
            )
            body = error.message.encode("utf-8")
            head = answer_head(error.status, TEXT_PLAIN, cors, len(body))
            self._write(head + body, error.status, refused=True)
            return
        if request.kind == "xhr_send":
            self._write(answer_head(204, TEXT_PLAIN, cors, None), 204)
        elif asks_send_signal(parse_qs_bytes(request.query, keep_blank_values=True)):
            body = JSONP_SENT_BODY
            self._write(answer_head(200, TEXT_HTML, cors, len(body)) + body, 200)
        else:
            self._write(answer_head(200, TEXT_PLAIN, cors, 2) + b"ok", 200)

    def _write_frame_refusal(self, cors: list[tuple[str, str]]) -> None:
        self._holding = True
        self._session = None  # answered with 2010, as the handler does
        self._cors = cors
        self._service.responding.add(self)
        self._answer()
