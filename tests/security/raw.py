"""Raw-socket clients for attacks: handshakes left half-done, answers read byte by byte."""

from __future__ import annotations

import base64
import os
import socket
import time

from tests.support.wsclient import hixie76_key


def connect(port: int, timeout: float = 5.0, source: str | None = None) -> socket.socket:
    sock = socket.create_connection(
        ("127.0.0.1", port), timeout=timeout, source_address=(source, 0) if source else None
    )
    return sock


def handshake_request(
    port: int, path: str, version: str = "13", origin: str | None = None, extra: str = ""
) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: Upgrade"]
    if version == "hixie-76":
        key1, _ = hixie76_key()
        key2, _ = hixie76_key()
        lines += [
            "Upgrade: WebSocket",
            f"Sec-WebSocket-Key1: {key1}",
            f"Sec-WebSocket-Key2: {key2}",
        ]
        if origin:
            lines.append(f"Origin: {origin}")
    else:
        key = base64.b64encode(os.urandom(16)).decode()
        lines += [
            "Upgrade: websocket",
            f"Sec-WebSocket-Key: {key}",
            f"Sec-WebSocket-Version: {version}",
        ]
        if origin:
            lines.append(("Origin: " if version == "13" else "Sec-WebSocket-Origin: ") + origin)
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


def read_head(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """The response's status line and headers (what the server answered first)."""
    deadline = time.monotonic() + timeout
    data = b""
    while b"\r\n\r\n" not in data:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def handshake_status(port: int, path: str, version: str = "13", origin: str | None = None) -> int:
    """The status a WebSocket handshake gets (hixie-76's key included)."""
    sock = connect(port)
    try:
        request = handshake_request(port, path, version, origin)
        sock.sendall(request + (os.urandom(8) if version == "hixie-76" else b""))
        head = read_head(sock)
        return int(head.split(b" ", 2)[1])
    finally:
        sock.close()


def wait_closed(sock: socket.socket, timeout: float) -> float:
    """Seconds until the server closed `sock` (reading and dropping what it sends);
    raises TimeoutError if it did not within `timeout`."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the server kept the socket open")
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - started
        if not chunk:
            return time.monotonic() - started


def http_request(
    port: int,
    method: str,
    path: str,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    source: str | None = None,
    timeout: float = 5.0,
) -> tuple[int, dict[str, str], str]:
    """One HTTP request from `source` (a loopback address such as 127.0.0.2)."""
    import http.client

    conn = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=timeout, source_address=(source, 0) if source else None
    )
    try:
        if isinstance(body, str):
            body = body.encode("utf-8")
        if body is None and method == "POST":
            body = b""
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text
    finally:
        conn.close()


class XhrSession:
    """A SockJS session over XHR polling, from a chosen source address."""

    def __init__(self, port: int, prefix: str, source: str | None = None) -> None:
        import uuid

        self.port = port
        self.path = f"{prefix}/000/{uuid.uuid4().hex}"
        self.source = source

    def poll(self, query: str = "") -> str:
        status, _, text = http_request(
            self.port,
            "POST",
            self.path + "/xhr" + (f"?{query}" if query else ""),
            source=self.source,
        )
        assert status == 200, (status, text)
        return text.rstrip("\n")

    def send(self, payload: str) -> int:
        status, _, _ = http_request(
            self.port, "POST", self.path + "/xhr_send", payload, source=self.source
        )
        return status
