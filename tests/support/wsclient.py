"""WebSocket clients for tests, written from the specifications, plus a HAProxy-like proxy.

* `WSClient.connect(..., version="13" | "8" | "7" | "hixie-76")` speaks RFC 6455, hybi-08/10
  (``Sec-WebSocket-Version: 8``), hybi-07 or draft-hixie-76 over a blocking socket. It
  checks the server's handshake answer itself (``Sec-WebSocket-Accept``, or the MD5
  challenge of hixie-76) so a test fails if the server gets it wrong.
* `DelayedBodyProxy` forwards a client's request headers at once but holds back whatever
  follows them (hixie-76's third key) until the server's response headers have passed:
  what HAProxy does, and what ``test_haproxy`` of the SockJS suite checks.

Every read is bounded by a timeout.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import socket
import struct
import threading
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
VERSIONS = ("13", "8", "7", "hixie-76")

TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA


class ServerClosed(Exception):
    """The server ended the TCP connection."""


def mask_payload(payload: bytes, key: bytes) -> bytes:
    return bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def client_frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv: int = 0,
    masked: bool = True,
    key: bytes | None = None,
) -> bytes:
    """A frame as a client sends it (RFC 6455 section 5.2): masked unless told not to."""
    head = bytearray([(0x80 if fin else 0) | (rsv << 4) | opcode])
    n = len(payload)
    mask_bit = 0x80 if masked else 0
    if n < 126:
        head.append(mask_bit | n)
    elif n < 65536:
        head.append(mask_bit | 126)
        head += struct.pack("!H", n)
    else:
        head.append(mask_bit | 127)
        head += struct.pack("!Q", n)
    if not masked:
        return bytes(head) + payload
    key = key if key is not None else os.urandom(4)
    return bytes(head) + key + mask_payload(payload, key)


def hixie76_key() -> tuple[str, int]:
    """A Sec-WebSocket-Key1/2 value and its number (draft 76, section 4.1, step 17-21)."""
    spaces = random.randint(1, 12)
    number = random.randint(0, 4294967295 // spaces)
    key = list(str(number * spaces))
    noise = [chr(c) for c in list(range(0x21, 0x30)) + list(range(0x3A, 0x7F))]
    for _ in range(random.randint(1, 12)):
        key.insert(random.randint(0, len(key)), random.choice(noise))
    for _ in range(spaces):
        key.insert(random.randint(1, len(key) - 1), " ")
    return "".join(key), number


class WSClient:
    def __init__(self, sock: socket.socket, version: str, head: bytes, buffer: bytes) -> None:
        self.sock = sock
        self.version = version
        self.response_head = head
        self.buffer = buffer

    @property
    def hixie(self) -> bool:
        return self.version == "hixie-76"

    # -- opening ----------------------------------------------------------------------

    @classmethod
    def connect(
        cls,
        port: int,
        path: str,
        *,
        version: str = "13",
        origin: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
        key3_delay: float = 0.0,
    ) -> WSClient:
        """Open a WebSocket; raises AssertionError if the server's answer is wrong."""
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: Upgrade"]
        expected: bytes
        if version == "hixie-76":
            key1, n1 = hixie76_key()
            key2, n2 = hixie76_key()
            key3 = os.urandom(8)
            lines += [
                "Upgrade: WebSocket",
                f"Sec-WebSocket-Key1: {key1}",
                f"Sec-WebSocket-Key2: {key2}",
            ]
            if origin:
                lines.append(f"Origin: {origin}")
            expected = hashlib.md5(struct.pack(">II", n1, n2) + key3).digest()
        else:
            key = base64.b64encode(os.urandom(16)).decode()
            lines += [
                "Upgrade: websocket",
                f"Sec-WebSocket-Key: {key}",
                f"Sec-WebSocket-Version: {version}",
            ]
            if origin:
                lines.append(("Origin: " if version == "13" else "Sec-WebSocket-Origin: ") + origin)
            expected = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest())
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode()
        if version == "hixie-76":
            if key3_delay:
                sock.sendall(request)
                time.sleep(key3_delay)  # a slow client: the body follows later
                sock.sendall(key3)
            else:
                sock.sendall(request + key3)
        else:
            sock.sendall(request)
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                raise ServerClosed(f"closed during the handshake: {buffer!r}")
            buffer += chunk
        head, _, rest = buffer.partition(b"\r\n\r\n")
        client = cls(sock, version, head, rest)
        status = head.split(b"\r\n", 1)[0]
        assert status.startswith(b"HTTP/1.1 101"), head
        fields = client.headers
        if version == "hixie-76":
            assert fields["upgrade"] == "WebSocket" and fields["connection"] == "Upgrade", head
            location = fields["sec-websocket-location"]
            assert location == f"ws://127.0.0.1:{port}{path}", location
            assert client._read_exactly(16) == expected, "wrong hixie-76 challenge answer"
        else:
            assert fields["upgrade"].lower() == "websocket", head
            assert fields["sec-websocket-accept"] == expected.decode(), head
            assert "sec-websocket-extensions" not in fields, "no extension may be offered"
        return client

    @property
    def headers(self) -> dict[str, str]:
        result = {}
        for line in self.response_head.split(b"\r\n")[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            result[name.strip().lower()] = value.strip()
        return result

    # -- sending ----------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_text(self, text: str) -> None:
        if self.hixie:
            self.sock.sendall(b"\x00" + text.encode() + b"\xff")
        else:
            self.sock.sendall(client_frame(TEXT, text.encode()))

    def send_binary(self, data: bytes) -> None:
        self.sock.sendall(client_frame(BINARY, data))

    def send_fragments(self, opcode: int, parts: list[bytes]) -> None:
        frames = []
        for i, part in enumerate(parts):
            frames.append(client_frame(opcode if i == 0 else 0, part, fin=i == len(parts) - 1))
        self.sock.sendall(b"".join(frames))

    def ping(self, payload: bytes = b"") -> None:
        self.sock.sendall(client_frame(PING, payload))

    def send_close(self, code: int | None = 1000, reason: str = "") -> None:
        if self.hixie:
            self.sock.sendall(b"\xff\x00")
            return
        payload = b"" if code is None else struct.pack("!H", code) + reason.encode()
        self.sock.sendall(client_frame(CLOSE, payload))

    # -- receiving --------------------------------------------------------------------

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("nothing from the server in time")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            raise TimeoutError("nothing from the server in time") from None
        except ConnectionResetError:
            raise ServerClosed("connection reset") from None
        if not chunk:
            raise ServerClosed("the server closed the connection")
        self.buffer += chunk

    def _read_exactly(self, n: int, timeout: float = 5.0) -> bytes:
        deadline = time.monotonic() + timeout
        while len(self.buffer) < n:
            self._fill(deadline)
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def recv_frame(self, timeout: float = 5.0) -> tuple[int, bytes]:
        """(opcode, payload) of the next frame; hixie-76 frames map to TEXT and CLOSE."""
        deadline = time.monotonic() + timeout
        if self.hixie:
            while True:
                if self.buffer[:2] == b"\xff\x00":
                    self.buffer = self.buffer[2:]
                    return CLOSE, b""
                if self.buffer[:1] == b"\x00" and b"\xff" in self.buffer:
                    end = self.buffer.index(b"\xff")
                    payload, self.buffer = self.buffer[1:end], self.buffer[end + 1 :]
                    return TEXT, payload
                assert self.buffer[:1] in (b"", b"\x00", b"\xff"), self.buffer[:20]
                self._fill(deadline)
        while True:
            if len(self.buffer) >= 2:
                b0, b1 = self.buffer[0], self.buffer[1]
                assert not b1 & 0x80, "servers must not mask"
                assert not b0 & 0x70, "no extension was negotiated"
                n, head = b1 & 0x7F, 2
                if n == 126 and len(self.buffer) >= 4:
                    n, head = struct.unpack("!H", self.buffer[2:4])[0], 4
                elif n == 127 and len(self.buffer) >= 10:
                    n, head = struct.unpack("!Q", self.buffer[2:10])[0], 10
                length_known = (b1 & 0x7F) < 126 or head > 2
                if length_known and len(self.buffer) >= head + n:
                    payload = self.buffer[head : head + n]
                    self.buffer = self.buffer[head + n :]
                    assert b0 & 0x80, "the server sent a fragment"
                    return b0 & 0x0F, payload
            self._fill(deadline)

    def recv_text(self, timeout: float = 5.0) -> str:
        opcode, payload = self.recv_frame(timeout)
        assert opcode == TEXT, (opcode, payload)
        return payload.decode()

    def recv_close(self, timeout: float = 5.0) -> tuple[int | None, str]:
        """The server's close frame: (code, reason), code None when it carried none."""
        opcode, payload = self.recv_frame(timeout)
        assert opcode == CLOSE, (opcode, payload)
        if len(payload) < 2:
            return None, ""
        return struct.unpack("!H", payload[:2])[0], payload[2:].decode()

    def wait_closed(self, timeout: float = 5.0) -> bytes:
        """Read until the server ends the TCP connection; returns what came before."""
        deadline = time.monotonic() + timeout
        start = len(self.buffer)
        try:
            while True:
                self._fill(deadline)
        except ServerClosed:
            return self.buffer[start:]

    def close(self) -> None:
        self.sock.close()


class DelayedBodyProxy:
    """A TCP proxy that holds what follows the request headers until the response
    headers have been forwarded, as HAProxy does with hixie-76's third key."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        #: Connections whose held body went on after the response headers.
        self.released = 0
        self._threads: list[threading.Thread] = []
        self._closed = False
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(10)
        server = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
        try:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = client.recv(65536)
                if not chunk:
                    return
                request += chunk
            head, _, held = request.partition(b"\r\n\r\n")
            server.sendall(head + b"\r\n\r\n")
            response = b""
            while b"\r\n\r\n" not in response:
                chunk = server.recv(65536)
                if not chunk:
                    client.sendall(response)
                    return
                response += chunk
            client.sendall(response)
            # Only now does the client's body (hixie-76's key) go on to the server.
            if held:
                server.sendall(held)
                self.released += 1
            pump = threading.Thread(target=self._pipe, args=(server, client), daemon=True)
            pump.start()
            self._pipe(client, server)
            pump.join(timeout=10)
        except OSError:
            pass
        finally:
            client.close()
            server.close()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    sink.shutdown(socket.SHUT_WR)
                    return
                sink.sendall(chunk)
        except OSError:
            return

    def close(self) -> None:
        self._closed = True
        self.listener.close()
