"""A held stream costs its socket, its session and the object writing it -- not the
request handler that opened it: once the prelude is out the handler hands the session
over (`Session.hand_over`) and nothing keeps it, its request or Tornado's connection
objects (a held xhr_streaming response took 9.7 KB of server memory with them, 4.6 KB
without, measured by ``bench/scale.py`` with 10,000 of them)."""

from __future__ import annotations

import gc
import socket
import time

import pytest

from fallback.transports.streaming import StreamingHandler
from tests.support import http
from tests.support.sockjs import new_session_url

pytestmark = pytest.mark.timeout(30)

STREAMS = [("xhr_streaming", "POST"), ("eventsource", "GET"), ("htmlfile", "GET")]


def live_streaming_handlers() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, StreamingHandler))


def open_stream(port: int, transport: str, method: str) -> tuple[socket.socket, str]:
    path = new_session_url("/echo").split("/", 1)[1]
    query = "?c=cb" if transport == "htmlfile" else ""
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    client.sendall(
        f"{method} /{path}/{transport}{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Length: 0\r\n\r\n".encode()
    )
    received = b""
    while b"o" not in received.split(b"\r\n\r\n", 1)[-1]:
        chunk = client.recv(65536)
        assert chunk, received
        received += chunk  # the headers, the prelude and the open frame
    return client, path


def test_held_streams_keep_no_request_handler_and_still_deliver(live):
    clients = [open_stream(live.port, transport, method) for transport, method in STREAMS]
    try:
        # The last handler's coroutine ends a loop turn or two after its stream left it.
        deadline = time.monotonic() + 5
        while (left := live.call(live_streaming_handlers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert left == 0
        for n, (client, path) in enumerate(clients):
            answer = http.post(f"{live.url}/{path}/xhr_send", body=f'["held {n}"]')
            assert answer.status == 204, answer
            received = b""
            while f"held {n}".encode() not in received:
                chunk = client.recv(65536)
                assert chunk, received
                received += chunk
    finally:
        for client, _ in clients:
            client.close()
