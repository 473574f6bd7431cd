"""Blocking HTTP clients for tests: whole responses, and streams read as they arrive."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DEFAULT_TIMEOUT = 5.0


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    all_headers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def _connection(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return conn, path


def request(
    method: str,
    url: str,
    body: bytes | str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Response:
    """One request on a fresh connection; the whole body is read."""
    conn, path = _connection(url, timeout)
    try:
        if isinstance(body, str):
            body = body.encode("utf-8")
        hdrs = dict(headers or {})
        if body is None and method in ("POST", "PUT"):
            hdrs.setdefault("Content-Length", "0")
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, resp.headers, data, resp.getheaders())
    finally:
        conn.close()


def get(url: str, **kwargs: object) -> Response:
    return request("GET", url, **kwargs)  # type: ignore[arg-type]


def post(url: str, body: bytes | str | None = None, **kwargs: object) -> Response:
    return request("POST", url, body, **kwargs)  # type: ignore[arg-type]


class Stream:
    """A response read piece by piece (streaming transports)."""

    def __init__(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.conn, path = _connection(url, timeout)
        hdrs = dict(headers or {})
        if body is None and method == "POST":
            hdrs.setdefault("Content-Length", "0")
        self.conn.request(method, path, body=body, headers=hdrs)
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.headers = self.response.headers
        self.buffer = b""
        self.ended = False

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def _read_more(self, deadline: float) -> bool:
        if self.ended:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("stream: nothing more arrived in time")
        sock = self.conn.sock
        if sock is not None:
            sock.settimeout(remaining)
        try:
            data = self.response.read1(65536)
        except TimeoutError:
            raise TimeoutError("stream: nothing more arrived in time") from None
        if not data:
            self.ended = True
            return False
        self.buffer += data
        return True

    def read_until(self, marker: bytes, timeout: float = DEFAULT_TIMEOUT) -> bytes:
        """Everything up to and including `marker`, consumed from the buffer."""
        deadline = time.monotonic() + timeout
        while marker not in self.buffer:
            if not self._read_more(deadline):
                raise EOFError(f"stream ended before {marker!r}; got {self.buffer!r}")
        index = self.buffer.index(marker) + len(marker)
        data, self.buffer = self.buffer[:index], self.buffer[index:]
        return data

    def read_exactly(self, size: int, timeout: float = DEFAULT_TIMEOUT) -> bytes:
        deadline = time.monotonic() + timeout
        while len(self.buffer) < size:
            if not self._read_more(deadline):
                raise EOFError(f"stream ended after {len(self.buffer)} of {size} bytes")
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def read_to_end(self, timeout: float = DEFAULT_TIMEOUT) -> bytes:
        deadline = time.monotonic() + timeout
        while self._read_more(deadline):
            pass
        data, self.buffer = self.buffer, b""
        return data

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def raw_exchange(
    host: str, port: int, data: bytes, timeout: float = DEFAULT_TIMEOUT
) -> socket.socket:
    """Open a TCP connection, send `data`, and hand back the socket for reading."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.sendall(data)
    return sock


def recv_until_closed(sock: socket.socket, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """Read until the peer closes; raises TimeoutError if it does not within `timeout`."""
    deadline = time.monotonic() + timeout
    chunks = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("socket not closed by the server in time")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise TimeoutError("socket not closed by the server in time") from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
