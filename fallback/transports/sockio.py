"""The one I/O layer for sockets taken over from Tornado: takeover, reader, writer, flusher.

Two transports leave Tornado's streams once their HTTP part is done: WebSocket links
after the handshake (`fallback.transports.links`) and streaming responses after their
prelude (`fallback.transports.direct`). They share everything below:

* `take_socket` -- the public ``RequestHandler.detach()`` hands over the stream; its
  socket is duplicated and the stream closed, so the socket is ours alone.
* `SocketIO` -- plain TCP watched by the asyncio loop itself: one ``recv`` per
  readiness event, one ``send`` per write, no future and no buffer object. `StreamIO`
  keeps a TLS connection on its (SSL) IOStream, with the same interface.
* `Flusher` -- the objects of one loop that were woken since the last flush, flushed in
  one callback: whatever is queued while a write is in flight leaves in the next one.

Each I/O object calls back its owner as asyncio's transports call a ``Protocol``:
``data_received(data)``, ``resume_writing()`` (the write in flight has left) and
``connection_lost()`` (once). Its own methods: ``start()``, ``write(data)`` -- False
while part of it waits for the socket -- ``half_close()`` and ``close()``.
"""

from __future__ import annotations

import asyncio
import socket
import weakref
from asyncio import AbstractEventLoop, Future
from typing import Protocol, cast

from tornado.ioloop import IOLoop
from tornado.iostream import IOStream, StreamClosedError

from ..codes import Opcode
from ..core.frames import OutgoingMessage
from ..core.logsafe import get_logger
from ..wsengine.deflate import Deflate
from ..wsengine.frames import encode_frame, text_frame

log = get_logger("fallback.transports.websocket")

#: How much one read takes from the socket at most.
READ_CHUNK = 65536


class Owner(Protocol):
    """What a `SocketIO` or `StreamIO` reports to (a link, a direct stream)."""

    def data_received(self, data: bytes) -> None: ...

    def resume_writing(self) -> None:
        """The write that did not complete at once has left: the next one may go."""

    def connection_lost(self) -> None:
        """The connection is closed (either side); called once."""


class Flushable(Protocol):
    """What `Flusher` drives: a WebSocket link, or a direct streaming response."""

    #: Set (by the object) when it asks for a flush; cleared by the flusher before it
    #: flushes, or by the object when it flushed by itself in the meantime.
    dirty: bool

    def flush(self) -> None: ...

    def abort(self) -> None: ...


class Flusher:
    """The flushables of one IOLoop that were woken since the last flush.

    It also remembers the last message it serialized for RFC 6455 links, so that a round
    of flushes after a broadcast serializes (and, with permessage-deflate, compresses)
    that message once for every link with the same compression (`Deflate.key`).
    """

    __slots__ = ("_body", "_frames", "_loop", "_pending", "_scheduled")

    def __init__(self, loop: IOLoop) -> None:
        # Weak: the flusher is the value of a weak-keyed mapping from this very loop.
        self._loop = weakref.ref(loop)
        self._pending: list[Flushable] = []
        self._scheduled = False
        self._body: str | bytes | None = None
        self._frames: dict[tuple[int, int] | None, bytes] = {}

    def add(self, flushable: Flushable) -> None:
        """Flush `flushable` in this loop iteration (if it is still dirty by then)."""
        self._pending.append(flushable)
        if not self._scheduled:
            loop = self._loop()
            if loop is not None:
                self._scheduled = True
                loop.add_callback(self._run)

    def _run(self) -> None:
        pending = self._pending
        self._pending = []
        self._scheduled = False
        for flushable in pending:
            if flushable.dirty:
                flushable.dirty = False
                try:
                    flushable.flush()
                except Exception:  # one broken connection must not stall the others
                    log.exception("%r: writing failed; closing it", flushable)
                    flushable.abort()
        self._body = None  # do not keep the last frame alive between rounds
        self._frames = {}

    def hybi_text_frame(self, text: str, deflate: Deflate | None = None) -> bytes:
        """The RFC 6455 text frame of `text`, shared with every link asking for the same
        with the same compression."""
        return self._shared(text, deflate)

    def hybi_binary_frame(self, data: bytes, deflate: Deflate | None = None) -> bytes:
        """The RFC 6455 binary frame of `data`, shared as `hybi_text_frame` is."""
        return self._shared(data, deflate)

    def _shared(self, body: str | bytes, deflate: Deflate | None) -> bytes:
        last = self._body
        if not (body is last or (type(body) is type(last) and body == last)):
            self._body = body
            self._frames = {}
        key = None if deflate is None else deflate.key
        frame = self._frames.get(key)
        if frame is None:
            text = isinstance(body, str)
            payload = utf8(body) if isinstance(body, str) else body
            compressed = None if deflate is None else deflate.compress(payload)
            opcode = Opcode.TEXT if text else Opcode.BINARY
            if compressed is not None:
                frame = encode_frame(opcode, compressed, compressed=True)
            else:
                frame = text_frame(payload) if text else encode_frame(opcode, payload)
            self._frames[key] = frame
        return frame


def message_frame(message: OutgoingMessage) -> bytes:
    """The uncompressed RFC 6455 frame of `message` alone, kept on it
    (`OutgoingMessage.wire`): a broadcast builds it once for every link."""
    frame = message.wire
    if frame is None:
        data = message.data
        if data is None:
            frame = text_frame(utf8(message.text))
        else:
            frame = encode_frame(Opcode.BINARY, data)
        message.wire = frame
    return frame


def utf8(text: str) -> bytes:
    """UTF-8 for a text frame. A lone surrogate (which Python strings may hold and UTF-8
    cannot) becomes ``?``: the frame must stay valid UTF-8 or the client fails it."""
    return text.encode("utf-8", "replace")


_flushers: weakref.WeakKeyDictionary[IOLoop, Flusher] = weakref.WeakKeyDictionary()


def flusher() -> Flusher:
    """The current IOLoop's flusher."""
    loop = IOLoop.current()
    found = _flushers.get(loop)
    if found is None:
        found = _flushers[loop] = Flusher(loop)
    return found


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


_reader_loops: weakref.WeakKeyDictionary[AbstractEventLoop, bool] = weakref.WeakKeyDictionary()


def reader_loop() -> AbstractEventLoop | None:
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


class SocketIO:
    """Plain TCP: the owner's socket, watched by the asyncio loop.

    Taken over from a detached stream, a socket costs one ``recv`` per readiness event,
    one ``send`` per write, and no future, buffer object or extra loop hop: on a machine
    where the stream's bookkeeping costs more than the message, this is what makes the
    engine fast.
    """

    __slots__ = ("_fd", "_loop", "_owner", "_pending", "_read_chunk", "_sock")

    def __init__(
        self,
        owner: Owner,
        sock: socket.socket,
        loop: AbstractEventLoop,
        *,
        read_chunk: int = READ_CHUNK,
    ) -> None:
        sock.setblocking(False)
        self._owner = owner
        self._sock = sock
        self._fd = sock.fileno()
        self._loop = loop
        self._read_chunk = read_chunk
        self._pending = b""  # bytes the socket did not take yet

    @property
    def writing(self) -> bool:
        """A write is in flight: part of it waits for the socket."""
        return bool(self._pending)

    def start(self) -> None:
        self._loop.add_reader(self._fd, self._on_readable)

    def write(self, data: bytes) -> bool:
        """Send `data`; False when part of it waits for the socket (`resume_writing`
        follows once it has left). A broken connection closes (`connection_lost`)."""
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
        """End our direction of the connection; reading goes on until the peer's EOF."""
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
        self._owner.connection_lost()

    def release(self) -> socket.socket | None:
        """Stop watching the socket and give it back, open (None if it is closed). Only
        between writes: nothing may be pending. The owner hears nothing more."""
        if self._fd < 0 or self._pending:
            return None
        self._loop.remove_reader(self._fd)
        self._fd = -1
        return self._sock

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
            self._owner.resume_writing()

    def _on_readable(self) -> None:
        try:
            data = self._sock.recv(self._read_chunk)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        if not data:
            self.close()
            return
        self._owner.data_received(data)


class StreamIO:
    """TLS: the bytes keep going through the (SSL) IOStream, with its public futures."""

    __slots__ = ("_owner", "_stream")

    def __init__(self, owner: Owner, stream: IOStream) -> None:
        self._owner = owner
        self._stream: IOStream | None = stream
        stream.set_close_callback(self._on_close)

    @property
    def writing(self) -> bool:
        stream = self._stream
        return stream is not None and stream.writing()

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
        self._owner.data_received(data)
        self._read()

    def _on_written(self, future: Future[None]) -> None:
        if future.exception() is None:
            self._owner.resume_writing()

    def _on_close(self) -> None:
        self._stream = None
        self._owner.connection_lost()
