"""Answering Flash socket policy requests with Tornado: on their own port, and in-band.

Two servers share one coroutine, `serve_policy_request`, which reads at most the
request's 23 bytes, answers the exact request with the policy document, and closes --
everything else is closed unanswered, and a per-connection deadline closes clients that
are slow or silent.

`FlashPolicyServer` is the dedicated server Flash Player tries first (port 843).
`InBandPolicyHTTPServer` is Tornado's `HTTPServer` that also recognises a policy request
as the first bytes of a connection on the HTTP port, where Flash Player looks next.

How the in-band server tells the two apart without taking bytes away from HTTP: it peeks
at the first byte with ``recv(1, MSG_PEEK)`` on the accepted socket (`IOStream.socket`),
before anything has read from it. A policy request starts with ``<``, which no HTTP
request line can (methods are tokens), nor a TLS record or the HTTP/2 preface. If that byte
is ``<`` the connection is a policy client and its stream is read as such; otherwise the
untouched stream goes to `HTTPServer.handle_stream`, so Tornado's HTTP/1 handling
(``xheaders``, ``remote_ip``, keep-alive, `close_all_connections`) is exactly as usual.
Tornado has no public way to give bytes back to an `IOStream` once read, and wrapping the
stream in a look-alike would leak into every handler that calls ``detach()``; peeking
needs neither. When the first byte has not arrived at accept time the server waits for
the socket to become readable with `IOLoop.add_handler` and removes that handler before
the stream is used, so the stream's own registration starts clean.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.iostream import IOStream, SSLIOStream, StreamClosedError
from tornado.tcpserver import TCPServer

from ..core.logsafe import get_logger
from ..exceptions import ConfigurationError
from .policy import (
    DEFAULT_POLICY_TIMEOUT,
    POLICY_REQUEST,
    POLICY_REQUEST_FIRST_BYTE,
    FlashPolicy,
    RequestState,
    bytes_still_needed,
    match_request,
)

log = get_logger("fallback.flashpolicy")

#: The dedicated server's streams read from the socket in pieces this small, so a client
#: that floods it costs at most this much before it is refused.
_POLICY_READ_CHUNK = 64


def check_timeout(timeout: float) -> float:
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not timeout > 0:
        raise ConfigurationError("flash_policy_timeout must be a positive number of seconds")
    return float(timeout)


async def serve_policy_request(stream: IOStream, answer: bytes, timeout: float) -> bool:
    """Read one policy request from `stream`, answer it, close; True if it was answered.

    Never raises for anything the peer does: a refused, cut or late request just closes
    the stream. The deadline covers the whole exchange, writing included.
    """
    loop = IOLoop.current()
    deadline = loop.call_later(timeout, stream.close)
    received = b""
    try:
        while True:
            # partial=True: whatever has arrived, up to what the request still lacks,
            # so a request split across packets is judged piece by piece.
            received += await stream.read_bytes(bytes_still_needed(received), partial=True)
            state = match_request(received)
            if state is RequestState.REFUSED:
                log.debug("refused a policy connection that sent %r", received[:32])
                return False
            if state is RequestState.COMPLETE:
                await stream.write(answer)
                return True
    except StreamClosedError:
        return False
    finally:
        loop.remove_timeout(deadline)
        stream.close()


def _bound_ports(sockets: Iterable[socket.socket]) -> list[int]:
    ports: list[int] = []
    for sock in sockets:
        address = sock.getsockname()
        if isinstance(address, tuple) and address[1] not in ports:
            ports.append(address[1])
    return ports


class FlashPolicyServer(TCPServer):
    """The dedicated policy server: ``FlashPolicyServer(policy).listen(843)``.

    Port 843 is privileged (see the README for running it on a high port behind a
    redirect). Each connection lives at most `timeout` seconds and buffers at most a
    few dozen bytes, so many slow clients cost little.
    """

    def __init__(self, policy: FlashPolicy, *, timeout: float = DEFAULT_POLICY_TIMEOUT) -> None:
        super().__init__(max_buffer_size=4 * _POLICY_READ_CHUNK, read_chunk_size=_POLICY_READ_CHUNK)
        self.policy = policy
        self.timeout = check_timeout(timeout)
        #: The ports it listens on, once listening (what port 0 became).
        self.ports: list[int] = []
        self._streams: set[IOStream] = set()

    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        sockets = list(sockets)
        super().add_sockets(sockets)
        self.ports.extend(p for p in _bound_ports(sockets) if p not in self.ports)

    async def handle_stream(self, stream: IOStream, address: Any) -> None:
        self._streams.add(stream)
        try:
            await serve_policy_request(stream, self.policy.answer, self.timeout)
        finally:
            self._streams.discard(stream)

    async def close_all_connections(self) -> None:
        """Close policy connections still in progress (after `stop`, for clean shutdowns)."""
        for stream in list(self._streams):
            stream.close()


class _FirstByteWait:
    """A connection on the HTTP port whose first byte has not arrived yet.

    It holds one IOLoop handler and one timeout, both removed before the stream is handed
    on, and nothing else: it exists only between accept and the first byte. `decided`
    gets the first byte, or None when the connection stayed silent until the timeout.
    """

    __slots__ = ("address", "deadline", "decided", "loop", "stream")

    def __init__(
        self,
        stream: IOStream,
        address: Any,
        timeout: float,
        decided: Callable[[_FirstByteWait, bytes | None], None],
    ) -> None:
        self.stream = stream
        self.address = address
        self.decided = decided
        self.loop = IOLoop.current()
        self.loop.add_handler(stream.socket, self._readable, IOLoop.READ)
        self.deadline = self.loop.call_later(timeout, self._expired)

    def cancel(self) -> None:
        self.loop.remove_handler(self.stream.socket)
        self.loop.remove_timeout(self.deadline)

    def _readable(self, fd: Any, events: int) -> None:
        first = _peek_first_byte(self.stream)
        if first is None:  # a spurious wake-up; keep waiting
            return
        self.cancel()
        self.decided(self, first)

    def _expired(self) -> None:
        self.cancel()
        self.decided(self, None)


def _peek_first_byte(stream: IOStream) -> bytes | None:
    """The connection's first byte without consuming it; b"" at EOF or on a socket error,
    None when nothing has arrived yet."""
    try:
        return stream.socket.recv(1, socket.MSG_PEEK)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return b""


class InBandPolicyHTTPServer(HTTPServer):
    """Tornado's `HTTPServer`, also answering Flash policy requests on the same port.

    Extra keyword arguments: ``flash_policy`` (a `FlashPolicy`; None serves plain HTTP with
    no peeking at all) and ``flash_policy_timeout``. A TLS server never peeks: Flash asks
    for policies in plain TCP. ``policy_server``, when set, is a dedicated
    `FlashPolicyServer` that `stop` and `close_all_connections` stop with this one.
    """

    def initialize(
        self,
        request_callback: Any,
        *args: Any,
        flash_policy: FlashPolicy | None = None,
        flash_policy_timeout: float = DEFAULT_POLICY_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().initialize(request_callback, *args, **kwargs)
        self.flash_policy = flash_policy
        self.flash_policy_timeout = check_timeout(flash_policy_timeout)
        self.policy_server: FlashPolicyServer | None = None
        #: The ports it listens on, once listening (what port 0 became).
        self.ports: list[int] = []
        self._waiting: set[_FirstByteWait] = set()
        self._policy_streams: set[IOStream] = set()

    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        sockets = list(sockets)
        super().add_sockets(sockets)
        self.ports.extend(p for p in _bound_ports(sockets) if p not in self.ports)

    def handle_stream(self, stream: IOStream, address: Any) -> None:
        if self.flash_policy is None or isinstance(stream, SSLIOStream):
            self._serve_http(stream, address)
            return
        first = _peek_first_byte(stream)
        if first is None:
            wait = _FirstByteWait(stream, address, self.flash_policy_timeout, self._first_byte)
            self._waiting.add(wait)
        else:
            self._dispatch(stream, address, first)

    def _first_byte(self, wait: _FirstByteWait, first: bytes | None) -> None:
        self._waiting.discard(wait)
        if first is None:
            # Silence is no sign of a policy client (Flash asks at once), so the
            # connection becomes plain HTTP, subject to Tornado's own idle and header
            # timeouts.
            self._serve_http(wait.stream, wait.address)
        else:
            self._dispatch(wait.stream, wait.address, first)

    def _dispatch(self, stream: IOStream, address: Any, first: bytes) -> None:
        if first == POLICY_REQUEST_FIRST_BYTE:
            assert self.flash_policy is not None
            self._policy_streams.add(stream)
            IOLoop.current().spawn_callback(self._serve_policy, stream, self.flash_policy.answer)
        elif first:
            self._serve_http(stream, address)
        else:  # closed (or reset) before sending anything
            stream.close()

    def _serve_http(self, stream: IOStream, address: Any) -> None:
        super().handle_stream(stream, address)

    async def _serve_policy(self, stream: IOStream, answer: bytes) -> None:
        try:
            await serve_policy_request(stream, answer, self.flash_policy_timeout)
        finally:
            self._policy_streams.discard(stream)

    def stop(self) -> None:
        super().stop()
        if self.policy_server is not None:
            self.policy_server.stop()

    async def close_all_connections(self) -> None:
        for waiting in list(self._waiting):
            waiting.cancel()
            waiting.stream.close()
        for stream in list(self._policy_streams):
            stream.close()
        if self.policy_server is not None:
            await self.policy_server.close_all_connections()
        await super().close_all_connections()


__all__ = [
    "POLICY_REQUEST",
    "FlashPolicyServer",
    "InBandPolicyHTTPServer",
    "serve_policy_request",
]
