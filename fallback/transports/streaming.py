"""Streaming transports: ``xhr_streaming``, ``eventsource`` and ``htmlfile``.

They differ only in headers, prelude and the envelope around each frame; the loop is
shared. A response ends after ``response_limit`` bytes of frames (the prelude does not
count) so that browsers can free what they buffered; the client reconnects within
``disconnect_delay`` and the session carries on.
"""

from __future__ import annotations

from functools import partial

from tornado.concurrent import Future
from tornado.http1connection import HTTP1Connection
from tornado.iostream import StreamClosedError

from ..codes import CloseCode
from ..core.envelopes import (
    EVENTSOURCE_PRELUDE,
    XHR_STREAMING_PRELUDE,
    eventsource_chunk,
    htmlfile_chunk,
    htmlfile_prelude,
    xhr_chunk,
)
from ..core.frames import FrameKind
from .base import APPLICATION_JAVASCRIPT, TEXT_HTML, ReceivingHandler
from .direct import DirectStream
from .sockio import take_socket


def _open_gate(gate: Future[bool], flushed: Future[None]) -> None:
    if not gate.done():
        gate.set_result(True)
    elif not flushed.cancelled():
        flushed.exception()  # nobody waits for it any more: mark any error as seen


class StreamingHandler(ReceivingHandler):
    content_type = ""
    #: While a chunk waits to leave: resolves True when it has, False when the wait is
    #: abandoned because the client stopped reading.
    _gate: Future[bool] | None = None
    #: The envelope around each frame: a plain function (not a method), which the rest
    #: of a response written directly keeps without keeping the handler.
    envelope: staticmethod[[str], str]

    async def stream(self, session_id: str, prelude: str) -> None:
        connection = self.request.connection
        if isinstance(connection, HTTP1Connection):
            # Frames are small and come one after another: without this, Nagle's
            # algorithm holds each one back until the previous one is acknowledged,
            # which a delayed ACK makes 40 ms (the open frame after the prelude, and
            # every frame after a quiet spell).
            connection.stream.set_nodelay(True)
        self.set_header("Content-Type", self.content_type)
        self.set_no_cache()
        self.set_session_cookie()
        loop = self.direct_loop()
        if loop is not None:
            # After the prelude the connection leaves Tornado, so it ends with the response.
            self.set_header("Connection", "close")
        if not await self._write(prelude):
            return
        session = self.open_receiver(session_id)
        limit = self.service.settings.response_limit
        if session is None:
            await self._write(self.envelope(self.refusal_frame))
            await self._end()
            return
        if loop is not None:
            # Tornado chunks an HTTP/1.1 response that has no Content-Length; the chunks
            # written from here on continue that body.
            sock = take_socket(self.detach())
            if sock is None or self._client_gone:  # it left while the prelude went out
                if sock is not None:
                    sock.close()
                self._client_gone = True
                self.release(interrupted=True)
                return
            # The session's receiver from now on; this handler is done with.
            direct = DirectStream(
                sock, loop, session, self.envelope, limit, self.service.responding
            )
            self.service.responding.discard(self)
            self._session = None
            if not session.hand_over(self, direct):
                direct.session = None  # replaced meanwhile: the response ends with 2010
            direct.start()
            return
        sent = 0
        while True:
            frame = await self.next_frame()
            if frame is None:
                return
            chunk = self.envelope(frame).encode("utf-8")
            if not await self._write(chunk):
                self.release(interrupted=True)
                return
            sent += len(chunk)
            if frame.kind is FrameKind.CLOSE or sent >= limit:
                break
        self.release()
        await self._end()

    async def _write(self, chunk: str | bytes) -> bool:
        """Write one chunk and wait until it has left; False if the client is gone.

        One chunk at a time: while it waits, messages pile up in the session's queue,
        where ``max_queue``/``max_queue_bytes`` bound them. If the queue overflows while
        we wait, the client has stopped reading: the wait ends, and so does the
        connection (`wake`).
        """
        self.write(chunk)
        flushed = self.flush()
        if not flushed.done():
            gate: Future[bool] = Future()
            self._gate = gate
            flushed.add_done_callback(partial(_open_gate, gate))
            try:
                if not await gate:
                    # Stalled: the close frame could never reach this client, so cut the
                    # connection rather than hold it (and its socket buffers) until TCP
                    # gives up.
                    connection = self.request.connection
                    if isinstance(connection, HTTP1Connection):
                        connection.close()
                    return False
            finally:
                self._gate = None
        try:
            flushed.result()
        except StreamClosedError:
            return False
        return True

    def wake(self) -> None:
        gate = self._gate
        session = self._session
        if (
            gate is not None
            and not gate.done()
            and session is not None
            and session.close_code == CloseCode.QUEUE_OVERFLOW
        ):
            gate.set_result(False)
        super().wake()

    async def _end(self) -> None:
        if await self.end_response():
            self.end_http10_response()


class XhrStreamingHandler(StreamingHandler):
    allowed_methods = ("OPTIONS", "POST")
    transport_name = "xhr_streaming"
    content_type = APPLICATION_JAVASCRIPT
    envelope = staticmethod(xhr_chunk)

    async def post(self, server_id: str, session_id: str) -> None:
        self.set_cors_headers()
        await self.stream(session_id, XHR_STREAMING_PRELUDE)


class EventSourceHandler(StreamingHandler):
    transport_name = "eventsource"
    content_type = "text/event-stream"
    envelope = staticmethod(eventsource_chunk)

    async def get(self, server_id: str, session_id: str) -> None:
        self.set_cors_headers()
        await self.stream(session_id, EVENTSOURCE_PRELUDE)


class HtmlFileHandler(StreamingHandler):
    transport_name = "htmlfile"
    content_type = TEXT_HTML
    envelope = staticmethod(htmlfile_chunk)

    async def get(self, server_id: str, session_id: str) -> None:
        callback = self.callback_argument()
        if callback is None:
            return
        direct = self.get_query_argument("fb_direct", None) == "1"
        await self.stream(session_id, htmlfile_prelude(callback, direct=direct))
