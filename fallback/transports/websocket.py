"""WebSocket transports on fallback's own engine: SockJS-framed and raw.

``GET <prefix>/<server>/<session>/websocket`` carries SockJS frames as text messages;
``GET <prefix>/websocket`` carries one application message per text message. Both accept
every handshake `fallback.wsengine.handshake` knows (RFC 6455, hybi-07/08, hixie-76).

The handler only validates the handshake: then it takes the raw stream with the public
`RequestHandler.detach` and hands it to a `WebSocketLink`, dropping the request. A link is
the I/O half of a connection and nothing more: bytes read go into the sans-I/O
`wsengine.Protocol`, events come out, and the bytes it wants sent go to the socket.

How the link writes (what makes it fast):

* One write in flight per connection. Whatever is queued while a write is in flight
  leaves in the next write, as one buffer.
* `wake` (from the session) never writes: it marks the link dirty and puts it on the
  loop's `_Flusher`, which flushes every dirty link in one callback. A broadcast to N
  sessions therefore builds one frame: the flusher keeps the last text it serialized, and
  every link that takes the same frame in that round writes the same bytes.
* The link that just read a message flushes at the end of that read, so an echo goes
  out in the same loop iteration.
* No task and no timer per connection: a plain TCP link takes the socket over from the
  retired stream and watches it with the event loop (one callback per readiness event,
  one ``recv``, one ``send``); a timer exists only while a close handshake is under way.
  TLS links keep the stream and its futures.

A SockJS WebSocket session is not addressable by id (the protocol lets two share one) and
closes when its socket does -- unless it is resumable (`fallback.resume`), in which case
it waits for the client to come back on a new transport.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import time
import weakref
from asyncio import AbstractEventLoop, Future
from collections.abc import Callable
from typing import Any, cast
from typing import Protocol as Interface

from tornado.ioloop import IOLoop
from tornado.iostream import IOStream, SSLIOStream, StreamClosedError
from tornado.web import HTTPError, RequestHandler

from ..app.service import Service
from ..codes import DEFAULT_REASONS
from ..codes import CloseCode as SockJSCloseCode
from ..core.frames import ANOTHER_CONNECTION_FRAME, close_frame
from ..core.logsafe import get_logger
from ..core.origins import origin_allowed
from ..core.resume import RESUME_PARAMETER
from ..core.session import Session, SessionState
from ..exceptions import MessageTooBig, PeerError, ServiceBusy
from ..wsengine import (
    BinaryMessage,
    CloseCode,
    CloseReceived,
    ConnectionFailed,
    Event,
    HandshakeError,
    Protocol,
    State,
    TextMessage,
    accept,
    is_valid_close_code,
)
from ..wsengine.frames import text_frame
from ..wsengine.protocol import HybiProtocol
from .base import TEXT_PLAIN, connection_info, refusal_reason

log = get_logger("fallback.transports.websocket")

_OPEN = State.OPEN

#: How much one read takes from the socket at most.
READ_CHUNK = 65536
#: After our close frame, how long the peer has to answer and hang up before we do.
CLOSE_TIMEOUT = 5.0
#: How long a handshake that is not complete when the response goes out (hixie-76,
#: whose 8-byte key follows the headers) may take to complete, unless told otherwise.
HANDSHAKE_TIMEOUT = 10.0


class Flushable(Interface):
    """What `_Flusher` drives: a WebSocket link, or a direct streaming response."""

    _dirty: bool

    def flush(self) -> None: ...

    def abort(self) -> None: ...


class _Flusher:
    """The links of one IOLoop that were woken since the last flush.

    It also remembers the last text frame it serialized for RFC 6455 links, so that a
    round of flushes after a broadcast serializes that frame once.
    """

    __slots__ = ("_frame", "_loop", "_pending", "_scheduled", "_text")

    def __init__(self, loop: IOLoop) -> None:
        # Weak: the flusher is the value of a weak-keyed mapping from this very loop.
        self._loop = weakref.ref(loop)
        self._pending: list[Flushable] = []
        self._scheduled = False
        self._text: str | None = None
        self._frame = b""

    def add(self, link: Flushable) -> None:
        self._pending.append(link)
        if not self._scheduled:
            loop = self._loop()
            if loop is not None:
                self._scheduled = True
                loop.add_callback(self._run)

    def _run(self) -> None:
        pending = self._pending
        self._pending = []
        self._scheduled = False
        for link in pending:
            if link._dirty:
                link._dirty = False
                try:
                    link.flush()
                except Exception:  # one broken connection must not stall the others
                    log.exception("writing failed; closing that connection")
                    link.abort()
        self._text = None  # do not keep the last frame alive between rounds
        self._frame = b""

    def hybi_text_frame(self, text: str) -> bytes:
        """The RFC 6455 text frame of `text`, shared with every link asking for the same."""
        if text is self._text or text == self._text:
            return self._frame
        frame = text_frame(_utf8(text))
        self._text = text
        self._frame = frame
        return frame


def _utf8(text: str) -> bytes:
    """UTF-8 for a text frame. A lone surrogate (which Python strings may hold and UTF-8
    cannot) becomes ``?``: the frame must stay valid UTF-8 or the client fails it."""
    return text.encode("utf-8", "replace")


_flushers: weakref.WeakKeyDictionary[IOLoop, _Flusher] = weakref.WeakKeyDictionary()


def _flusher() -> _Flusher:
    loop = IOLoop.current()
    flusher = _flushers.get(loop)
    if flusher is None:
        flusher = _flushers[loop] = _Flusher(loop)
    return flusher


def wire_close_code(code: int | None) -> int:
    """A close code that may travel in a WebSocket close frame.

    SockJS codes such as 2010 are not valid on the wire (RFC 6455 reserves 1004-2999);
    the application's 3000-4999 codes and the standard ones pass through.
    """
    if code is not None and is_valid_close_code(code):
        return code
    return CloseCode.NORMAL


class _SocketIO:
    """Plain TCP: the link owns the socket and watches it with the asyncio loop.

    Taken over from the detached stream (see `WebSocketLink.start`), a socket costs one
    ``recv`` per readiness event, one ``send`` per flush, and no future, buffer object or
    extra loop hop: on a machine where the stream's bookkeeping costs more than the
    message, this is what makes the engine fast.
    """

    __slots__ = ("_fd", "_link", "_loop", "_pending", "_sock")

    def __init__(self, link: WebSocketLink, sock: socket.socket, loop: AbstractEventLoop) -> None:
        self._link = link
        self._sock = sock
        self._fd = sock.fileno()
        self._loop = loop
        self._pending = b""  # bytes the socket did not take yet

    def start(self) -> None:
        self._loop.add_reader(self._fd, self._on_readable)

    def write(self, data: bytes) -> bool:
        """Send `data`; False when part of it waits for the socket (a write in flight)."""
        try:
            sent = self._sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self.close()
            return True
        if sent == len(data):
            return True
        self._pending = data[sent:]
        self._loop.add_writer(self._fd, self._on_writable)
        return False

    def half_close(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError:
            self.close()

    def close(self) -> None:
        if self._fd < 0:
            return
        self._loop.remove_reader(self._fd)
        if self._pending:
            self._loop.remove_writer(self._fd)
            self._pending = b""
        self._fd = -1
        self._sock.close()
        self._link._connection_lost()

    def _on_writable(self) -> None:
        data = self._pending
        try:
            sent = self._sock.send(data)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        self._pending = data[sent:]
        if not self._pending:
            self._loop.remove_writer(self._fd)
            self._link._write_done()

    def _on_readable(self) -> None:
        try:
            data = self._sock.recv(READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        if not data:
            self.close()
            return
        self._link._data_received(data)


def take_socket(stream: IOStream) -> socket.socket | None:
    """A detached `stream`'s socket, now ours (the stream is closed); None if the client
    is already gone."""
    sock = None
    try:
        if not stream.closed():
            sock = stream.socket.dup()
    except OSError:
        sock = None
    stream.close()
    return sock


def _reader_loop() -> AbstractEventLoop | None:
    """The running asyncio loop if it can watch sockets itself (not Windows' proactor)."""
    loop = asyncio.get_running_loop()
    if loop not in _reader_loops:
        try:
            loop.remove_reader(-1)  # a harmless probe: only "not implemented" matters
        except NotImplementedError:
            _reader_loops[loop] = False
        except (ValueError, OSError, KeyError):
            _reader_loops[loop] = True
        else:
            _reader_loops[loop] = True
    return loop if _reader_loops[loop] else None


_reader_loops: weakref.WeakKeyDictionary[AbstractEventLoop, bool] = weakref.WeakKeyDictionary()


class _StreamIO:
    """TLS: the bytes keep going through the (SSL) IOStream, with its public futures."""

    __slots__ = ("_link", "_stream")

    def __init__(self, link: WebSocketLink, stream: IOStream) -> None:
        self._link = link
        self._stream: IOStream | None = stream
        stream.set_close_callback(self._on_close)

    def start(self) -> None:
        self._read()

    def write(self, data: bytes) -> bool:
        stream = self._stream
        if stream is None:
            return True
        try:
            future = stream.write(data)
        except StreamClosedError:
            return True
        if not stream.writing():
            return True
        future.add_done_callback(self._on_written)
        return False

    def half_close(self) -> None:
        # A TLS stream cannot be half-closed under the TLS layer; the peer's close frame
        # has been answered, so ending the connection loses nothing.
        self.close()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()

    def _read(self) -> None:
        stream = self._stream
        if stream is None:
            return
        try:
            future = cast("Future[bytes]", stream.read_bytes(READ_CHUNK, partial=True))
        except StreamClosedError:
            return  # the close callback follows
        future.add_done_callback(self._on_read)

    def _on_read(self, future: Future[bytes]) -> None:
        try:
            data = future.result()
        except StreamClosedError:
            return
        self._link._data_received(data)
        self._read()

    def _on_written(self, future: Future[None]) -> None:
        if future.exception() is None:
            self._link._write_done()

    def _on_close(self) -> None:
        self._stream = None
        self._link._connection_lost()


class WebSocketLink:
    """One accepted WebSocket connection (the I/O half), after the handshake.

    Subclasses fill in four hooks: `opened` (the handshake response is about to go
    out), `handle_events` (what the peer sent), `pull` (move what the application queued
    into the protocol, called only when no write is in flight) and `closed` (the TCP
    connection is gone).
    """

    __slots__ = (
        "_close_timer",
        "_closed",
        "_connecting",
        "_dirty",
        "_flusher",
        "_half_closed",
        "_heard",
        "_in_read",
        "_io",
        "_writing",
        "handshake_timeout",
        "protocol",
    )

    def __init__(self, protocol: Protocol, *, handshake_timeout: float = HANDSHAKE_TIMEOUT) -> None:
        self.protocol = protocol
        self.handshake_timeout = handshake_timeout
        self._io: _SocketIO | _StreamIO | None = None
        self._flusher = _flusher()
        self._dirty = False
        self._writing = False
        self._closed = False
        self._half_closed = False
        self._in_read = False
        #: The handshake is not complete yet (hixie-76 waits for its third key).
        self._connecting = protocol.state is State.CONNECTING
        #: Bytes arrived from the peer since the last liveness check (`SessionLink`).
        self._heard = False
        #: The one timer a link may have: the handshake's deadline, then the close's.
        self._close_timer: object | None = None

    # -- hooks ------------------------------------------------------------------------

    def opened(self) -> None:
        """The connection is accepted; what `pull` finds now follows the handshake."""

    def handle_events(self, events: list[Event]) -> None:
        """Events from the peer, in order."""

    def pull(self) -> None:
        """Queue what the application has for the peer into `protocol` (called only
        while it is OPEN and no write is in flight)."""

    def closed(self) -> None:
        """The TCP connection ended (either side); called once."""

    def handshake_completed(self) -> None:
        """A handshake that was still under way when the link started (hixie-76's third
        key) is complete; the protocol is OPEN, or CLOSED if the key came with a close."""

    def handshake_expired(self) -> None:
        """The handshake did not complete within `handshake_timeout`; the socket closes."""

    # -- life cycle -------------------------------------------------------------------

    def start(self, stream: IOStream, response: bytes) -> None:
        """Take over `stream` after an accepted handshake whose `response` is not sent.

        A plain TCP stream is retired: whatever it had already read past the request
        headers (hixie-76's third key, frames sent right behind the handshake) is taken
        from it, its socket is duplicated for the link, and the stream is closed. TLS
        streams stay in charge of their socket.
        """
        stream.set_nodelay(True)
        early = b""
        loop = None if isinstance(stream, SSLIOStream) else _reader_loop()
        if loop is None:
            self._io = _StreamIO(self, stream)
        else:
            try:
                future = cast("Future[bytes]", stream.read_bytes(READ_CHUNK, partial=True))
                if future.done():
                    early = future.result()
            except StreamClosedError:
                stream.close()
            sock = take_socket(stream)
            if sock is None:
                # The client left during the handshake: nothing to take over.
                self._closed = True
                return
            sock.setblocking(False)
            self._io = _SocketIO(self, sock, loop)
        self.opened()
        if self.protocol.state is _OPEN:
            self.pull()
        # The handshake response and the first frames leave in one write. A hixie-76
        # connection waits for its third key before anything is pulled from the
        # application (whose queue limit then still applies), but its response headers
        # go out now, before that key, as HAProxy needs.
        self._write(response + self.protocol.data_to_send())
        if self._closed:
            return
        if self._connecting:
            # No socket waits forever for the rest of its handshake.
            self._close_timer = IOLoop.current().call_later(
                self.handshake_timeout, self._handshake_timed_out
            )
        self._io.start()
        if early:
            self._data_received(early)

    def wake(self) -> None:
        """The application has something to send: flush in this loop iteration.

        During this link's own read callback the flush at its end takes care of it.
        """
        if not self._dirty:
            self._dirty = True
            if not self._in_read:
                self._flusher.add(self)

    def flush(self) -> None:
        """Write what is queued, unless a write is in flight (it flushes when done)."""
        if self._writing or self._closed:
            return
        protocol = self.protocol
        if protocol.state is _OPEN:
            self.pull()
        data = protocol.data_to_send()
        if data:
            self._write(data)
        if protocol.close_expected() and not self._writing:
            self._finish()

    def abort(self) -> None:
        """Close the TCP connection now."""
        if self._io is not None and not self._closed:
            self._io.close()

    def start_closing(self) -> None:
        """Our close frame is queued: give the peer `CLOSE_TIMEOUT` to answer."""
        if self._close_timer is None and not self._closed:
            self._close_timer = IOLoop.current().call_later(CLOSE_TIMEOUT, self.abort)

    # -- called by the I/O object -------------------------------------------------------

    def _data_received(self, data: bytes) -> None:
        protocol = self.protocol
        protocol.receive_data(data)
        self._heard = True
        if self._connecting and protocol.state is not State.CONNECTING:
            self._handshake_done()
        events = protocol.events_received()
        if events:
            self._in_read = True
            try:
                self.handle_events(events)
            except Exception:
                log.exception("WebSocket: handling a message failed; closing the connection")
                protocol.fail(CloseCode.INTERNAL_ERROR, "Internal server error")
            finally:
                self._in_read = False
        self._dirty = False
        try:
            self.flush()
        except Exception:
            log.exception("WebSocket: writing failed; closing the connection")
            self.abort()

    def _write_done(self) -> None:
        self._writing = False
        self.flush()

    def _handshake_done(self) -> None:
        self._connecting = False
        if self._close_timer is not None:
            IOLoop.current().remove_timeout(self._close_timer)
            self._close_timer = None
        try:
            self.handshake_completed()
        except Exception:
            log.exception("WebSocket: completing the handshake failed; closing the connection")
            self.abort()

    def _handshake_timed_out(self) -> None:
        self._close_timer = None
        if not self._connecting or self._closed:
            return
        try:
            self.handshake_expired()
        finally:
            self.abort()

    def _connection_lost(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._close_timer is not None:
            IOLoop.current().remove_timeout(self._close_timer)
            self._close_timer = None
        if self.protocol.state is not State.CLOSED:
            self.protocol.receive_eof()
        try:
            self.closed()
        except Exception:
            log.exception("WebSocket: cleaning up a closed connection failed")

    # -- internals --------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        io = self._io
        if io is None or self._closed:
            return
        if not io.write(data):
            self._writing = True

    def _finish(self) -> None:
        """Everything is written and the protocol is done: end our side of TCP.

        Half-closing and reading on until the peer's EOF (or the timeout) avoids the
        reset a close with unread data would cause, which could destroy the close frame
        before the peer reads it.
        """
        if self._half_closed or self._io is None or self._closed:
            return
        self._half_closed = True
        self._io.half_close()
        if self._close_timer is None and not self._closed:
            self._close_timer = IOLoop.current().call_later(CLOSE_TIMEOUT, self.abort)


class SessionLink(WebSocketLink):
    """A link that is the `Receiver` of one fallback session.

    A handshake still under way when the link starts (hixie-76 sends its 8-byte key after
    the headers) holds no session: `open_session` makes it once the key is in, so a
    client that never sends it costs a socket until ``handshake_timeout`` and never a
    session slot (``max_sessions``).

    Liveness: at every heartbeat of its session (``heartbeat_delay`` without anything
    sent), an RFC 6455 / hybi peer is pinged, and one that has answered nothing -- the
    ping nor anything else -- by the next heartbeat is gone (a frozen proxy, a machine
    that vanished). hixie-76 has no ping: a peer that has sent no byte for two heartbeat
    periods (checked at heartbeats, so within three) counts as gone; its client, if it is
    fallback.js, resumes. Either way the socket closes, which ends the session or leaves a
    resumable one waiting for its client. The session's heartbeat tick drives this, so an
    idle connection has no timer of its own.
    """

    __slots__ = ("_hybi", "_open_session", "_ping_at", "_quiet_since", "_service", "_session")

    #: Whether the session's frames are SockJS frames (``o``, ``a[...]``, ``c[...]``).
    framed = True

    def __init__(
        self,
        protocol: Protocol,
        service: Service,
        session: Session | None,
        open_session: Callable[[], Session] | None = None,
    ) -> None:
        super().__init__(protocol, handshake_timeout=service.settings.handshake_timeout)
        self._service = service
        self._session: Session | None = session
        #: Makes the session once the handshake is complete (when `session` is None).
        self._open_session = open_session
        self._hybi = isinstance(protocol, HybiProtocol)
        #: When the unanswered ping went out (0: none outstanding).
        self._ping_at = 0.0
        #: hixie-76: when the peer was last known to be there (it had sent something).
        self._quiet_since = time.monotonic()

    def opened(self) -> None:
        session = self._session
        if session is not None:
            session.attach(self)

    def handshake_completed(self) -> None:
        open_session = self._open_session
        self._open_session = None
        if open_session is None or self.protocol.state is not _OPEN:
            return
        try:
            session = open_session()
        except ServiceBusy as error:
            self._say_busy(error.code)
            return
        self._session = session
        self._quiet_since = time.monotonic()
        session.attach(self)

    def handshake_expired(self) -> None:
        self._service.count_refusal(
            "handshake_timeout",
            f"WebSocket handshake incomplete after {self.handshake_timeout:g} s",
        )

    def _say_busy(self, code: int) -> None:
        """No session for this socket (``max_sessions``, or shutting down): say so."""
        reason = DEFAULT_REASONS.get(code, DEFAULT_REASONS[SockJSCloseCode.TRY_AGAIN_LATER])
        if self.framed:
            self.protocol.send_text(close_frame(code, reason))
        self.protocol.send_close(wire_close_code(code), reason)
        self.start_closing()

    def _heartbeat_unanswered(self) -> bool:
        """At a heartbeat: close if the peer showed no sign of life since the last one
        (hybi: the ping went unanswered; hixie-76: nothing at all came), else ping."""
        now = time.monotonic()
        heartbeat = self._service.settings.heartbeat_delay
        if self._hybi:
            dead = bool(self._ping_at) and now - self._ping_at >= heartbeat / 2
        else:
            if self._heard:
                self._quiet_since = now
            dead = now - self._quiet_since >= 2 * heartbeat
        self._heard = False
        if dead:
            log.info("WebSocket peer showed no sign of life; closing its socket")
            self._service.count_refusal("dead_peer")
            self.abort()
            return True
        if not self._ping_at and self._hybi and self.protocol.can_send:
            self.protocol.send_ping(b"")
            self._ping_at = now
        return False

    def closed(self) -> None:
        self._release(None, "")

    def _frame(self, text: str) -> bytes:
        if self._hybi:
            return self._flusher.hybi_text_frame(text)
        return self.protocol.text_frame(_utf8(text))

    def _release(self, code: int | None, reason: str) -> Session | None:
        """Detach from the session; with a code, the client closed with it.

        A close frame with a code is a goodbye, resumable connection or not (fallback.js
        closes with the application's code); a socket that just ends -- or a close frame
        without a code -- leaves a resumable connection waiting for the client.
        """
        session = self._session
        if session is None:
            return None
        self._session = None
        if code is not None and code != CloseCode.NO_STATUS:
            session.close(code, reason)
        session.detach(self, interrupted=True)
        if session.resume is None or session.state is SessionState.CLOSED:
            # A resumable connection stays registered: the client may come back for it.
            self._service.forget(session)
        return session

    def abandon(self) -> None:
        """A resumed connection took the session over: end this socket without it."""
        self._session = None
        protocol = self.protocol
        if protocol.can_send:
            if self.framed:
                protocol.send_text(ANOTHER_CONNECTION_FRAME)
            protocol.send_close(CloseCode.NORMAL, "")
            self.start_closing()
        self.wake()

    def _close_socket(self, code: int | None, reason: str) -> None:
        """The session is over: send the WebSocket close frame and detach."""
        session = self._session
        self._session = None
        if session is not None:
            session.detach(self)
            self._service.forget(session)
        if self.protocol.can_send:
            self.protocol.send_close(wire_close_code(code), reason)
            self.start_closing()

    def _refuse(self, error: PeerError) -> None:
        """Bad input ends this socket and its session only, abruptly: no SockJS close
        frame, just a WebSocket close with the reason (as the protocol suite expects)."""
        too_big = isinstance(error, MessageTooBig)
        code = CloseCode.MESSAGE_TOO_BIG if too_big else CloseCode.INVALID_DATA
        self._service.count_refusal(refusal_reason(error))
        session = self._session
        self._session = None
        if session is not None:
            session.close(code, error.message)
            session.detach(self)
            self._service.forget(session)
        self.protocol.fail(code, error.message)

    def _peer_closed(self, event: CloseReceived | ConnectionFailed) -> None:
        if isinstance(event, ConnectionFailed):
            too_big = event.code == CloseCode.MESSAGE_TOO_BIG
            self._service.count_refusal("too_big" if too_big else "bad_frame")
        self._release(event.code, event.reason)


class SockJSLink(SessionLink):
    """SockJS frames (``o``, ``h``, ``a[...]``, ``c[...]``) as WebSocket text messages;
    every heartbeat frame is also a liveness check (`SessionLink`)."""

    __slots__ = ()

    def handle_events(self, events: list[Event]) -> None:
        self._ping_at = 0.0  # anything from the peer proves it is there
        session = self._session
        if session is not None and session.resume is not None:
            session.client_heard()  # a pong too: after a resume, the old id is void
        for event in events:
            kind = type(event)
            if kind is TextMessage or kind is BinaryMessage:
                session = self._session
                if session is None:
                    continue  # closing: what still arrives is not for the application
                payload = event.text if kind is TextMessage else event.data  # type: ignore[union-attr]
                try:
                    session.receive_websocket_payload(payload)
                except PeerError as error:
                    self._refuse(error)
                    return
            elif kind is CloseReceived or kind is ConnectionFailed:
                self._peer_closed(event)  # type: ignore[arg-type]

    def pull(self) -> None:
        session = self._session
        if session is None:
            return
        send = self.protocol.send_frame
        while True:
            frame = session.take_frame()
            if frame is None:
                return
            send(self._frame(frame))
            kind = frame[0]
            heartbeat = kind == "h" or (kind == "r" and frame.startswith('r{"ack"'))
            if heartbeat and self._heartbeat_unanswered():
                return
            if kind == "c":
                self._close_socket(session.close_code, session.close_reason or "")
                return
            # An array frame carries everything queued, and a heartbeat goes out only
            # when nothing is: after either, only a close frame can follow. The open
            # frame and resume control frames (``r``) may be followed by anything.
            if kind != "o" and kind != "r" and session.state is not SessionState.CLOSED:
                return



class RawLink(SessionLink):
    """One application message per WebSocket text message, no SockJS framing."""

    __slots__ = ()

    framed = False

    def handle_events(self, events: list[Event]) -> None:
        self._ping_at = 0.0  # anything from the peer proves it is there
        for event in events:
            kind = type(event)
            if kind is TextMessage:
                session = self._session
                if session is not None:
                    session.receive([event.text])  # type: ignore[union-attr]
            elif kind is BinaryMessage:
                session = self._session
                if session is not None:
                    session.close(CloseCode.UNSUPPORTED_DATA, "Text messages only.")
            elif kind is CloseReceived or kind is ConnectionFailed:
                self._peer_closed(event)  # type: ignore[arg-type]

    def pull(self) -> None:
        session = self._session
        if session is None:
            return
        # No heartbeat frames without SockJS framing, but the same liveness checks.
        if session.take_heartbeat() and self._heartbeat_unanswered():
            return
        messages = session.take_messages()
        if messages:
            send = self.protocol.send_frame
            for message in messages:
                send(self._frame(message.text))
        if session.state is SessionState.CLOSED:
            self._close_socket(session.close_code, session.close_reason or "")


class BusyLink(WebSocketLink):
    """``max_sessions`` is reached: the socket only says so (close code 1013)."""

    __slots__ = ("_framed", "_said")

    def __init__(self, protocol: Protocol, *, framed: bool) -> None:
        super().__init__(protocol)
        self._framed = framed
        self._said = False

    def pull(self) -> None:
        if self._said:
            return
        self._said = True
        reason = DEFAULT_REASONS[SockJSCloseCode.TRY_AGAIN_LATER]
        if self._framed:
            self.protocol.send_text(close_frame(SockJSCloseCode.TRY_AGAIN_LATER, reason))
        self.protocol.send_close(CloseCode.TRY_AGAIN_LATER, reason)
        self.start_closing()


class WebSocketEndpoint(RequestHandler):
    """Accepts a WebSocket handshake of any version and hands the stream to a link.

    Refusals are plain HTTP answers: 405 with ``Allow: GET`` for other methods, 400 with
    a message for requests that are not valid upgrades, 426 for unknown versions, 403 for
    origins that `allow_origin` refuses.
    """

    max_message_size = 1 << 20

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
        self.finish(self._reason)

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
        self.max_message_size = service.settings.max_message_size

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

    def create_link(self, protocol: Protocol) -> WebSocketLink:
        open_session = functools.partial(
            self.service.open_session,
            None,
            connection_info(self.request),
            self.transport_name,
            framed=self.framed,
            resume_request=self.get_query_argument(RESUME_PARAMETER, None),
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


__all__ = [
    "CLOSE_TIMEOUT",
    "BusyLink",
    "RawLink",
    "RawWebSocketHandler",
    "SessionLink",
    "SockJSLink",
    "SockJSWebSocketHandler",
    "WebSocketEndpoint",
    "WebSocketLink",
    "wire_close_code",
]
