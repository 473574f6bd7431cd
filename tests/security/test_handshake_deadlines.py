"""No half-open socket holds a session: every WebSocket handshake has a deadline
(hixie-76's 8-byte key included), and every upgraded socket must show it is alive
(a ping answered; on hixie-76, which has no ping, some traffic)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from fallback import Router
from fallback.server import make_application
from tests.security import raw
from tests.security.apps import FAST, Echo
from tests.support.live import LiveServer
from tests.support.wsclient import PING, PONG, TEXT, ServerClosed, WSClient

HEARTBEAT = FAST["heartbeat_delay"]


def half_open_hixie76(port: int, path: str) -> tuple[object, bytes]:
    """A hixie-76 handshake whose 8-byte key never follows its headers."""
    sock = raw.connect(port)
    sock.sendall(raw.handshake_request(port, path, "hixie-76"))
    head = raw.read_head(sock)
    assert head.startswith(b"HTTP/1.1 101"), head  # the headers are answered at once
    return sock, head


def test_half_open_hixie76_handshakes_hold_no_session(live):
    # /limited allows 5 sessions: 10 half-open handshakes must not take them.
    held = [half_open_hixie76(live.port, "/limited/000/h/websocket")[0] for _ in range(10)]
    try:
        for version in ("13", "hixie-76"):
            client = WSClient.connect(live.port, "/limited/000/real/websocket", version=version)
            try:
                assert client.recv_text() == "o"
            finally:
                client.close()
    finally:
        for sock in held:
            sock.close()  # type: ignore[attr-defined]


def test_a_hixie76_handshake_without_its_key_is_closed_at_its_deadline(live):
    sock, _ = half_open_hixie76(live.port, "/limited/000/h/websocket")
    try:
        # handshake_timeout is 0.5 s on /limited: closed soon after, never kept.
        assert raw.wait_closed(sock, timeout=5.0) >= 0.4  # type: ignore[arg-type]
    finally:
        sock.close()  # type: ignore[attr-defined]


def test_a_hixie76_key_that_arrives_in_time_completes_the_handshake(live):
    client = WSClient.connect(
        live.port, "/limited/000/slow/websocket", version="hixie-76", key3_delay=0.2
    )
    try:
        assert client.recv_text() == "o"
        client.send_text('["late but fine"]')
        assert client.recv_text() == 'a["late but fine"]'
    finally:
        client.close()


def test_a_hixie76_handshake_completing_on_a_full_router_is_told_1013(live):
    clients = []
    try:
        for n in range(5):
            client = WSClient.connect(live.port, f"/limited/000/f{n}/websocket")
            assert client.recv_text() == "o"
            clients.append(client)
        late = WSClient.connect(live.port, "/limited/000/late/websocket", version="hixie-76")
        try:
            assert late.recv_text() == 'c[1013,"Server busy, try again later"]'
        finally:
            late.close()
    finally:
        for client in clients:
            client.close()


def read_until_closed(client: WSClient, timeout: float, answer_pings: bool) -> list[int]:
    """Opcodes the server sent until it closed the connection (raises TimeoutError)."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            opcode, payload = client.recv_frame(max(0.01, deadline - time.monotonic()))
        except ServerClosed:
            return seen
        seen.append(opcode)
        if opcode == PING and answer_pings:
            client.sock.sendall(_pong(payload))


def _pong(payload: bytes) -> bytes:
    from tests.support.wsclient import client_frame

    return client_frame(PONG, payload)


def test_a_silent_hixie76_peer_is_closed_within_three_heartbeats(live):
    client = WSClient.connect(live.port, "/live/000/quiet/websocket", version="hixie-76")
    try:
        assert client.recv_text() == "o"
        started = time.monotonic()
        frames = []
        with pytest.raises(ServerClosed):
            while True:
                frames.append(client.recv_text(timeout=10 * HEARTBEAT))
        assert time.monotonic() - started >= 2 * HEARTBEAT
        assert frames.count("h") >= 2  # it was heard from for two heartbeats: silence
    finally:
        client.close()


def test_a_hixie76_peer_that_talks_keeps_its_connection(live):
    client = WSClient.connect(live.port, "/live/000/talker/websocket", version="hixie-76")
    try:
        assert client.recv_text() == "o"
        end = time.monotonic() + 6 * HEARTBEAT
        n = 0
        while time.monotonic() < end:
            n += 1
            client.send_text(f'["{n}"]')
            frame = client.recv_text()
            while frame == "h":
                frame = client.recv_text()
            assert frame == f'a["{n}"]'
    finally:
        client.close()


@pytest.mark.parametrize("path", ["/live/websocket", "/live/000/raw/websocket"])
def test_a_peer_that_never_answers_pings_is_closed(live, path):
    client = WSClient.connect(live.port, path)
    try:
        seen = read_until_closed(client, timeout=10 * HEARTBEAT + 5, answer_pings=False)
        assert PING in seen
    finally:
        client.close()


@pytest.mark.parametrize("path", ["/live/websocket", "/live/000/pong/websocket"])
def test_a_peer_that_answers_pings_keeps_its_connection(live, path):
    client = WSClient.connect(live.port, path)
    try:
        pings = 0
        while pings < 4:
            opcode, payload = client.recv_frame(timeout=10 * HEARTBEAT)
            if opcode == PING:
                pings += 1
                client.sock.sendall(_pong(payload))
            else:
                assert opcode == TEXT
        client.send_text("still here" if path == "/live/websocket" else '["still here"]')
        opcode, payload = client.recv_frame()
        while opcode == PING or payload == b"h":
            opcode, payload = client.recv_frame()
        assert payload in (b"still here", b'a["still here"]')
    finally:
        client.close()


@pytest.fixture(scope="module")
def impatient() -> Iterator[LiveServer]:
    """A server whose connections may wait half a second for a request's headers."""
    server = LiveServer(
        lambda: make_application([Router(Echo, "/echo")]), idle_connection_timeout=0.5
    ).start()
    yield server
    server.stop()


def test_handshake_headers_that_never_end_are_cut_by_the_idle_timeout(impatient):
    sock = raw.connect(impatient.port)
    try:
        request = raw.handshake_request(impatient.port, "/echo/websocket")
        sock.sendall(request[: len(request) // 2])  # and the rest never comes
        assert raw.wait_closed(sock, timeout=5.0) >= 0.4
    finally:
        sock.close()
