"""Hostile input: random bodies, query strings, bytes and WebSocket handshakes.

Whatever arrives, the server answers with a status (or closes the connection), logs no
error and no traceback (the suite-wide guard in tests/conftest.py fails a test on any
ERROR line), leaks no session, and serves a well-behaved client afterwards.

Bounded: a few hundred requests in all, a few seconds. ``make fuzz`` runs the same with
``FALLBACK_FUZZ_SCALE`` (default there: 20) times as many.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import select
import socket
import time
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.server.hardening_app import make_app
from tests.support.live import LiveServer
from tests.support.sockjs import ALL_TRANSPORTS, client_for

pytestmark = pytest.mark.timeout(120)

PREFIX = "/h/fuzz"
SCALE = max(1, int(os.environ.get("FALLBACK_FUZZ_SCALE", "1")))
ANSWERS = {101, 200, 204, 400, 403, 404, 405, 413, 426, 500}


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    server = LiveServer(make_app).start()
    yield server
    server.stop()


def fuzz_sessions(live: LiveServer) -> int:
    def count() -> int:
        assert live.app is not None
        router = next(r for r in live.app.settings["fallback_routers"] if r.prefix == PREFIX)
        return len(router.sessions) + len(router.service.responding)

    return live.call(count)


def wait_until_no_sessions(live: LiveServer, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while fuzz_sessions(live):
        assert time.monotonic() < deadline, f"{fuzz_sessions(live)} sessions leaked"
        time.sleep(0.02)


def serves_clean_clients(live: LiveServer) -> None:
    for transport in ALL_TRANSPORTS:
        client = client_for(transport, live.url + PREFIX)
        try:
            assert client.next_frame() == "o"
            client.send("still here", "ünïcode")
            assert client.receive_messages(2) == ["still here", "ünïcode"]
        finally:
            client.close()


def request_bytes(
    method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def answer_of(port: int, data: bytes, timeout: float = 3.0) -> bytes:
    """Send `data`; return the response once it is complete, or once its head is there
    for a response that does not end by itself (a stream, a 101), or what came before
    the server closed the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        deadline = time.monotonic() + timeout
        while not _complete(received, data.startswith(b"HEAD ")):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no answer to {data[:120]!r}; got {received[:200]!r}"
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return received
            if not chunk:
                return received
            received += chunk
        return received


def _complete(received: bytes, head_request: bool) -> bool:
    head, sep, body = received.partition(b"\r\n\r\n")
    if not sep:
        return False
    code = status(received)
    if head_request or code in (101, 204, 304) or 100 <= code < 200:
        return True
    length = re.search(rb"(?im)^content-length: *(\d+)", head)
    if length:
        return len(body) >= int(length.group(1))
    return bool(body)  # a stream: its first bytes are enough


def status(raw: bytes) -> int:
    match = re.match(rb"HTTP/1\.1 (\d{3}) ", raw)
    assert match, raw[:200]
    return int(match.group(1))


# -- HTTP transports: bodies and query strings ------------------------------------------

ENDPOINTS = [
    ("POST", "xhr"),
    ("POST", "xhr_send"),
    ("POST", "xhr_streaming"),
    ("GET", "eventsource"),
    ("GET", "htmlfile"),
    ("GET", "jsonp"),
    ("POST", "jsonp_send"),
    ("GET", "info"),
    ("OPTIONS", "xhr_send"),
    ("GET", "iframe.html"),
]

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)

bodies = st.one_of(
    st.binary(max_size=300),
    json_like.map(lambda v: json.dumps(v).encode()),
    st.lists(st.text(max_size=30), max_size=5).map(lambda v: json.dumps(v).encode()),
    st.text(max_size=50).map(lambda t: ("d=" + quote(t)).encode()),
    st.just(b'["\\ud800"]'),
    st.just(b'["' + b"\xff\xfe" + b'"]'),
)

queries = st.one_of(
    st.just(""),
    st.dictionaries(
        st.sampled_from(["c", "callback", "d", "fb_resume", "t", ""]),
        st.text(max_size=40),
        max_size=3,
    ).map(lambda d: "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in d.items())),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40).map(
        lambda t: quote(t, safe="=&%")
    ),
)

content_types = st.sampled_from(
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded; charset=UTF-8",
        "garbage/\x7f",
    ]
)


def test_random_bodies_and_query_strings_get_answers_and_leak_nothing(live):
    @settings(max_examples=150 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        endpoint=st.sampled_from(ENDPOINTS),
        body=bodies,
        query=queries,
        content_type=content_types,
        open_first=st.booleans(),
    )
    def one_request(
        endpoint: tuple[str, str],
        body: bytes,
        query: str,
        content_type: str | None,
        open_first: bool,
    ) -> None:
        method, name = endpoint
        session = f"{PREFIX}/000/{uuid.uuid4().hex}"
        if open_first:  # so that sends reach a live session's decoder
            assert status(answer_of(live.port, request_bytes("POST", session + "/xhr"))) == 200
        path = f"{PREFIX}/{name}" if name in ("info", "iframe.html") else f"{session}/{name}"
        if query:
            path += "?" + query
        headers = {"Content-Type": content_type} if content_type else {}
        raw = answer_of(live.port, request_bytes(method, path, body, headers))
        assert status(raw) in ANSWERS

    one_request()
    wait_until_no_sessions(live)
    serves_clean_clients(live)
    wait_until_no_sessions(live)


# -- random bytes over raw sockets ------------------------------------------------------


def valid_requests(port: int) -> list[bytes]:
    sid = f"{PREFIX}/000/{uuid.uuid4().hex}"
    key = base64.b64encode(b"0123456789abcdef").decode()
    upgrade = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": key,
        "Sec-WebSocket-Version": "13",
    }
    return [
        request_bytes("POST", sid + "/xhr"),
        request_bytes("POST", sid + "/xhr_send", b'["a"]'),
        request_bytes("POST", sid + "/xhr_streaming"),
        request_bytes("GET", sid + "/eventsource"),
        request_bytes("GET", sid + "/htmlfile?c=cb"),
        request_bytes("GET", sid + "/jsonp?c=cb"),
        request_bytes(
            "POST",
            sid + "/jsonp_send",
            b"d=%5B%22a%22%5D",
            {"Content-Type": "application/x-www-form-urlencoded"},
        ),
        request_bytes("GET", sid + "/websocket", headers=upgrade),
        request_bytes("GET", PREFIX + "/websocket", headers=upgrade),
        request_bytes("GET", PREFIX + "/info"),
        b"<policy-file-request/>\x00",
    ]


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        action = rng.random()
        position = rng.randrange(len(buf) + 1)
        if action < 0.4 and buf:
            buf[min(position, len(buf) - 1)] = rng.randrange(256)
        elif action < 0.7:
            buf[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif action < 0.9:
            del buf[position : position + rng.randint(1, 16)]
        else:
            buf = buf[:position]
    return bytes(buf)


def blast(port: int, payloads: list[bytes], timeout: float = 3.0) -> None:
    """Send every payload on its own connection (all at once), half-close, and read
    until each connection ends or the deadline passes."""
    socks: list[socket.socket] = []
    for payload in payloads:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server may already have refused and closed
            pass
        sock.setblocking(False)
        socks.append(sock)
    deadline = time.monotonic() + timeout
    open_socks = list(socks)
    while open_socks and time.monotonic() < deadline:
        readable, _, _ = select.select(open_socks, [], [], max(0.0, deadline - time.monotonic()))
        for sock in readable:
            try:
                if not sock.recv(65536):
                    open_socks.remove(sock)
            except BlockingIOError:
                pass
            except OSError:
                open_socks.remove(sock)
    for sock in socks:
        sock.close()


def test_random_and_mutated_bytes_over_raw_sockets(live):
    rng = random.Random(20240607)
    payloads: list[bytes] = []
    for i in range(300 * SCALE):
        if i % 3 == 0:
            payloads.append(bytes(rng.randrange(256) for _ in range(rng.randint(0, 600))))
        else:
            payloads.append(mutate(rng, rng.choice(valid_requests(live.port))))
    for start in range(0, len(payloads), 50):
        blast(live.port, payloads[start : start + 50])
    wait_until_no_sessions(live)
    serves_clean_clients(live)
    wait_until_no_sessions(live)


# -- WebSocket handshakes ----------------------------------------------------------------

VALID_HANDSHAKE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode(),
}

header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)
handshake_headers = st.fixed_dictionaries(
    {},
    optional={
        "Upgrade": st.sampled_from(["websocket", "WebSocket", "WEBSOCKET", "", "h2c"])
        | header_text,
        "Connection": st.sampled_from(["Upgrade", "keep-alive, Upgrade", "upgrade", "close"])
        | header_text,
        "Sec-WebSocket-Version": st.sampled_from(["13", "8", "7", "0", "99", "", "13, 8"])
        | header_text,
        "Sec-WebSocket-Key": st.binary(min_size=16, max_size=16).map(
            lambda b: base64.b64encode(b).decode()
        )
        | header_text,
        "Sec-WebSocket-Key1": header_text,
        "Sec-WebSocket-Key2": header_text,
        "Origin": st.sampled_from(["https://good.example", "null", "http://127.0.0.1"])
        | header_text,
        "Sec-WebSocket-Origin": header_text,
        "Sec-WebSocket-Protocol": header_text,
        "Sec-WebSocket-Extensions": st.sampled_from(
            [
                "permessage-deflate",
                "permessage-deflate; client_max_window_bits",
                "x-webkit-deflate-frame",
            ]
        )
        | header_text,
    },
)


def test_random_websocket_handshakes_get_answers_and_leak_nothing(live):
    @settings(max_examples=150 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        overrides=handshake_headers,
        dropped=st.sets(st.sampled_from(sorted(VALID_HANDSHAKE))),
        path=st.sampled_from(
            ["/000/{sid}/websocket", "/websocket", "/{sid}/websocket", "/0/0/websocket?x=1"]
        ),
        method=st.sampled_from(["GET", "GET", "GET", "POST", "HEAD"]),
        body=st.sampled_from([b"", b"12345678", b"\x00\xff" * 4]),
    )
    def one_handshake(
        overrides: dict[str, str], dropped: set[str], path: str, method: str, body: bytes
    ) -> None:
        # A valid RFC 6455 handshake, some of its headers replaced or dropped.
        headers = {**VALID_HANDSHAKE, **overrides}
        for name in dropped:
            headers.pop(name, None)
        target = PREFIX + path.format(sid=uuid.uuid4().hex)
        lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        raw = answer_of(live.port, data)
        if raw:  # a request Tornado cannot parse may be closed without an answer
            assert status(raw) in ANSWERS, raw[:300]

    one_handshake()
    wait_until_no_sessions(live)
    serves_clean_clients(live)
    wait_until_no_sessions(live)
