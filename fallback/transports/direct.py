"""Streaming responses written straight to the socket.

A streaming receiver (xhr_streaming, eventsource, htmlfile) sends one small chunk per frame
for as long as the response lasts. Through Tornado's ``RequestHandler.flush`` each chunk
costs several futures and two event-loop turns; in a broadcast to a thousand receivers that
was most of the time (fan-out over xhr_streaming ran at 0.3x sockjs-node). So, as the
WebSocket transport does after its handshake, the handler sends the headers and prelude
through Tornado, then ``detach()``-es and owns the socket (`fallback.transports.sockio`,
the WebSocket links' own I/O layer): frames are taken from the session and written as
HTTP chunks (one per frame) when the session wakes it, everything queued meanwhile in
one ``send``, one write in flight.

Tornado chunks an HTTP/1.1 response without Content-Length, prelude included; the chunks
written here continue that body, and the last one ends it. The connection closes after it
(``Connection: close`` is on the headers): once detached it is no longer Tornado's to keep
alive. HTTP/1.0 clients and TLS keep the handler's own loop (`StreamingHandler`).
"""

from __future__ import annotations

import socket
from asyncio import AbstractEventLoop
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..codes import CloseCode
from ..core.frames import ANOTHER_CONNECTION_FRAME, FrameKind
from .sockio import SocketIO, flusher

if TYPE_CHECKING:
    from ..core.session import Session

READ_CHUNK = 4096
LAST_CHUNK = b"0\r\n\r\n"


def http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class DirectStream:
    """The rest of one streaming response, on a socket taken over from Tornado.

    The handler hands `session` over to it (`Session.hand_over`): from then on this is
    the session's receiver, and the handler, its request and Tornado's connection
    objects can go (a held stream costs the socket, this and the session). While the
    response lasts it is in `responding` (a shutdown waits for it); when it is over,
    complete or cut short by the client or by a stalled write, it leaves that set and
    detaches from the session (``interrupted`` when cut short).
    """

    __slots__ = (
        "_complete",
        "_ending",
        "_flusher",
        "_io",
        "dirty",
        "envelope",
        "limit",
        "responding",
        "sent",
        "session",
    )

    def __init__(
        self,
        sock: socket.socket,
        loop: AbstractEventLoop,
        session: Session,
        envelope: Callable[[str], str],
        limit: int,
        responding: set[object],
    ) -> None:
        self._io: SocketIO | None = SocketIO(self, sock, loop, read_chunk=READ_CHUNK)
        self._flusher = flusher()  # the WebSocket links' own: one callback per iteration
        self.dirty = False
        self._ending = False
        self._complete = False
        self.session: Session | None = session
        self.envelope = envelope
        self.limit = limit
        self.sent = 0
        self.responding: set[object] | None = responding
        responding.add(self)

    def start(self) -> None:
        """Begin: write what the session has, then as it wakes this."""
        if self._io is not None:
            self._io.start()
        self.flush()

    def wake(self) -> None:
        """The session has something (or the session is gone): write it this iteration."""
        io = self._io
        if io is None:
            return
        session = self.session
        if io.writing and session is not None and session.close_code == CloseCode.QUEUE_OVERFLOW:
            # The client stopped reading and its queue overflowed: the close frame could
            # never reach it, so cut the connection rather than hold it.
            self._finish(interrupted=True)
            return
        if not self.dirty and not io.writing:
            self.dirty = True
            self._flusher.add(self)

    def abort(self) -> None:
        """Cut the connection (the response cannot be completed)."""
        self._finish(interrupted=True)

    def abandon(self) -> None:
        """The session went on with another receiver: this response ends with 2010."""
        self.session = None
        self.wake()

    def flush(self) -> None:
        io = self._io
        if io is None or io.writing or self._ending:
            return
        parts: list[bytes] = []
        session = self.session
        if session is None:
            parts.append(self.envelope(ANOTHER_CONNECTION_FRAME).encode("utf-8"))
            self._ending = True
        else:
            while True:
                frame = session.take_frame()
                if frame is None:
                    break
                part = self.envelope(frame).encode("utf-8")
                parts.append(part)
                self.sent += len(part)
                if frame.kind is FrameKind.CLOSE or self.sent >= self.limit:
                    self._ending = True
                    break
        if not parts:
            return
        # One HTTP chunk per frame (clients and the protocol suite read frame by chunk),
        # all of them in one send.
        data = b"".join(map(http_chunk, parts))
        if self._ending:
            data += LAST_CHUNK
        if io.write(data) and self._ending:
            self._finish(interrupted=False)

    # -- called by the socket (`fallback.transports.sockio.Owner`) -------------------------

    def data_received(self, data: bytes) -> None:
        """A request the client sent meanwhile: ignored (the response is not over)."""

    def resume_writing(self) -> None:
        if self._ending:
            self._finish(interrupted=False)
        else:
            self.flush()  # what queued while the write was in flight

    def connection_lost(self) -> None:
        """The socket closed: we ended the response, or the client went away (cutting
        it short: a complete response has already closed its socket)."""
        self._io = None
        responding, self.responding = self.responding, None
        if responding is None:
            return
        responding.discard(self)
        session, self.session = self.session, None
        if session is not None:
            session.detach(self, interrupted=not self._complete)

    def _finish(self, *, interrupted: bool) -> None:
        io = self._io
        if io is None:
            return
        self._complete = not interrupted
        io.close()  # connection_lost follows, at once
