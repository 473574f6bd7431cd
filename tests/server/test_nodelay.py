"""Streamed frames are not held back by Nagle's algorithm: small frames follow one another,
and with Nagle each waits for the previous one's acknowledgement, which a delayed ACK makes
40 ms (measured through the browsers: opening over eventsource took 56 ms on WebKit, 8 ms
with TCP_NODELAY)."""

from __future__ import annotations

import gc
import socket

import pytest

from tests.support.sockjs import new_session_url

pytestmark = pytest.mark.timeout(30)


def server_side_nodelay(client: socket.socket) -> list[int]:
    """TCP_NODELAY of every server socket connected to `client` (found among live objects)."""
    peer = client.getsockname()
    found = []
    for obj in gc.get_objects():
        if isinstance(obj, socket.socket) and obj.fileno() >= 0:
            try:
                if obj.getpeername() == peer:
                    found.append(obj.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            except OSError:
                continue
    return found


@pytest.mark.parametrize(
    ("transport", "method"),
    [
        ("xhr_streaming", "POST"),
        ("eventsource", "GET"),
        ("htmlfile", "GET"),
    ],
)
def test_streaming_transports_send_without_nagle(live, transport, method):
    path = new_session_url("/echo").split("/", 1)[1]
    query = "?c=cb" if transport == "htmlfile" else ""
    client = socket.create_connection(("127.0.0.1", live.port), timeout=10)
    try:
        client.sendall(
            f"{method} /{path}/{transport}{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Length: 0\r\n\r\n".encode()
        )
        received = b""
        while b"o" not in received.split(b"\r\n\r\n", 1)[-1]:
            received += client.recv(65536)  # the headers, the prelude and the open frame
        flags = live.call(server_side_nodelay, client)
        assert flags and all(flags), flags
    finally:
        client.close()
