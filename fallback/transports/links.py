"""The life cycle of one WebSocket connection after its handshake: `WebSocketLink`.

A link is the I/O half of a connection and nothing more: bytes read go into the sans-I/O
`wsengine.Protocol`, events come out to the subclass's hooks, and the bytes the protocol
wants sent go to the socket through `fallback.transports.sockio`.

How a link writes (what makes it fast):

* One write in flight per connection. Whatever is queued while a write is in flight
  leaves in the next write, as one buffer.
* `wake` (from the session) never writes: it marks the link dirty and puts it on the
  loop's `Flusher`, which flushes every dirty link in one callback. A broadcast to N
  sessions therefore builds one frame: the flusher keeps the last text it serialized, and
  every link that takes the same frame in that round writes the same bytes.
* The link that just read a message flushes at the end of that read, so an echo goes
  out in the same loop iteration.
* No task and no timer per connection: a plain TCP link takes the socket over from the
  retired stream (`SocketIO`); a timer exists only while a handshake or a close is under
  way. TLS links keep the stream and its futures (`StreamIO`).
"""

from __future__ import annotations

from asyncio import Future
from typing import cast

from tornado.ioloop import IOLoop
from tornado.iostream import IOStream, SSLIOStream, StreamClosedError

from ..codes import WebSocketCloseCode
from ..core.logsafe import get_logger
from ..wsengine import Event, Protocol, State, TextMessage
from .sockio import READ_CHUNK, SocketIO, StreamIO, flusher, reader_loop, take_socket

log = get_logger("fallback.transports.websocket")

_OPEN = State.OPEN

#: After our close frame, how long the peer has to answer and hang up before we do.
CLOSE_TIMEOUT = 5.0
#: How long a handshake that is not complete when the response goes out (hixie-76,
#: whose 8-byte key follows the headers) may take to complete, unless told otherwise.
HANDSHAKE_TIMEOUT = 10.0


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
        "_flusher",
        "_half_closed",
        "_heard",
        "_in_read",
        "_io",
        "_writing",
        "dirty",
        "handshake_timeout",
        "protocol",
    )

    def __init__(self, protocol: Protocol, *, handshake_timeout: float = HANDSHAKE_TIMEOUT) -> None:
        self.protocol = protocol
        self.handshake_timeout = handshake_timeout
        self._io: SocketIO | StreamIO | None = None
        self._flusher = flusher()
        self.dirty = False
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

    def handle_text(self, text: str) -> None:
        """A read that was one small text message (the usual case): its text. The same
        as `handle_events` with its `TextMessage`, which is what it does unless a link
        has a shorter way."""
        self.handle_events([TextMessage(text)])

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
        loop = None if isinstance(stream, SSLIOStream) else reader_loop()
        if loop is None:
            self._io = StreamIO(self, stream)
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
            self._io = SocketIO(self, sock, loop)
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
            self.data_received(early)

    def wake(self) -> None:
        """The application has something to send: flush in this loop iteration.

        During this link's own read callback the flush at its end takes care of it.
        """
        if not self.dirty:
            self.dirty = True
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

    # -- called by the I/O object (`fallback.transports.sockio.Owner`) -------------------

    def data_received(self, data: bytes) -> None:
        protocol = self.protocol
        # Most reads are one small text message: its text without the general parse.
        text = None if self._connecting else protocol.receive_small_text(data)
        self._heard = True
        self._in_read = True
        try:
            if text is not None:
                self.handle_text(text)
            else:
                protocol.receive_data(data)
                if self._connecting and protocol.state is not State.CONNECTING:
                    self._handshake_done()
                events = protocol.events_received()
                if events:
                    self.handle_events(events)
        except Exception:
            log.exception("%r: handling a message failed; closing it", self)
            protocol.fail(WebSocketCloseCode.INTERNAL_ERROR, "Internal server error")
        finally:
            self._in_read = False
        self.dirty = False
        try:
            self.flush()
        except Exception:
            log.exception("%r: writing failed; closing it", self)
            self.abort()

    def resume_writing(self) -> None:
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
            log.exception("%r: completing the handshake failed; closing it", self)
            self.abort()

    def _handshake_timed_out(self) -> None:
        self._close_timer = None
        if not self._connecting or self._closed:
            return
        try:
            self.handshake_expired()
        finally:
            self.abort()

    def connection_lost(self) -> None:
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
            log.exception("%r: cleaning up after the close failed", self)

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
