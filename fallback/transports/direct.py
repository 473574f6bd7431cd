"""Streaming responses written straight to the socket.

A streaming receiver (xhr_streaming, eventsource, htmlfile) sends one small chunk per frame
for as long as the response lasts. Through Tornado's ``RequestHandler.flush`` each chunk
costs several futures and two event-loop turns; in a broadcast to a thousand receivers that
was most of the time (fan-out over xhr_streaming ran at 0.3x sockjs-node). So, as the
WebSocket transport does after its handshake, the handler sends the headers and prelude
through Tornado, then ``detach()``-es and owns the socket: frames are taken from the session
and written as HTTP chunks (one per frame) when the session wakes it, everything queued
meanwhile in one ``send``, one write in flight.

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
from ..core.frames import ANOTHER_CONNECTION_FRAME, is_close_frame
from .websocket import _flusher

if TYPE_CHECKING:
    from ..core.session import Session

READ_CHUNK = 4096
LAST_CHUNK = b"0\r\n\r\n"


def http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class DirectStream:
    """The rest of one streaming response, on a socket taken over from Tornado.

    `session` is attached to the handler (the session's receiver); the handler forwards
    `wake` here. `done(interrupted)` is called once when the response is over: complete
    (``interrupted`` False) or cut short by the client or by a stalled write.
    """

    __slots__ = (
        "_dirty",
        "_ending",
        "_fd",
        "_flusher",
        "_loop",
        "_pending",
        "_sock",
        "done",
        "envelope",
        "limit",
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
        done: Callable[[bool], None],
    ) -> None:
        sock.setblocking(False)
        self._sock: socket.socket | None = sock
        self._fd = sock.fileno()
        self._loop = loop
        self._flusher = _flusher()  # the WebSocket links' own: one callback per iteration
        self._pending = b""
        self._dirty = False
        self._ending = False
        self.session: Session | None = session
        self.envelope = envelope
        self.limit = limit
        self.sent = 0
        self.done: Callable[[bool], None] | None = done
        loop.add_reader(self._fd, self._on_readable)
        self.flush()

    def wake(self) -> None:
        """The session has something (or the session is gone): write it this iteration."""
        if self._sock is None:
            return
        session = self.session
        if (
            self._pending
            and session is not None
            and session.close_code == CloseCode.QUEUE_OVERFLOW
        ):
            # The client stopped reading and its queue overflowed: the close frame could
            # never reach it, so cut the connection rather than hold it.
            self._finish(interrupted=True)
            return
        if not self._dirty and not self._pending:
            self._dirty = True
            self._flusher.add(self)

    def abort(self) -> None:
        """Cut the connection (the response cannot be completed)."""
        self._finish(interrupted=True)

    def abandon(self) -> None:
        """The session went on with another receiver: this response ends with 2010."""
        self.session = None
        self.wake()

    def flush(self) -> None:
        if self._sock is None or self._pending or self._ending:
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
                if is_close_frame(frame) or self.sent >= self.limit:
                    self._ending = True
                    break
        if not parts:
            return
        # One HTTP chunk per frame (clients and the protocol suite read frame by chunk),
        # all of them in one send.
        data = b"".join(map(http_chunk, parts))
        if self._ending:
            data += LAST_CHUNK
        self._send(data)

    def _send(self, data: bytes) -> None:
        sock = self._sock
        assert sock is not None
        try:
            sent = sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._finish(interrupted=True)
            return
        if sent < len(data):
            self._pending = data[sent:]
            self._loop.add_writer(self._fd, self._on_writable)
        elif self._ending:
            self._finish(interrupted=False)

    def _on_writable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        try:
            sent = sock.send(self._pending)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._finish(interrupted=True)
            return
        self._pending = self._pending[sent:]
        if self._pending:
            return
        self._loop.remove_writer(self._fd)
        if self._ending:
            self._finish(interrupted=False)
        else:
            self.flush()  # what queued while the write was in flight

    def _on_readable(self) -> None:
        sock = self._sock
        if sock is None:
            return
        try:
            data = sock.recv(READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away (a request sent meanwhile is ignored)
            # A complete response has already finished (its socket is gone), so this one
            # was cut short.
            self._finish(interrupted=True)

    def _finish(self, *, interrupted: bool) -> None:
        sock = self._sock
        if sock is None:
            return
        self._sock = None
        self._loop.remove_reader(self._fd)
        if self._pending:
            self._loop.remove_writer(self._fd)
            self._pending = b""
        sock.close()
        done, self.done = self.done, None
        if done is not None:
            done(interrupted)
