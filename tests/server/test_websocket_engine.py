"""The WebSocket engine on real sockets: refusals, close codes, framing rules, big messages.

`/autobahn` of the conformance server is the engine-level echo Autobahn|Testsuite runs
against; the SockJS routes come from the shared test application.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import struct
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from fallback import codes
from fallback.testing.sockjs_server import make_app as conformance_app
from fallback.transports import links
from fallback.transports import sockio as ws_transport
from tests.support import http
from tests.support.live import LiveServer
from tests.support.wsclient import (
    BINARY,
    PING,
    PONG,
    TEXT,
    ServerClosed,
    WSClient,
    client_frame,
)

pytestmark = pytest.mark.timeout(30)

UPGRADE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}


@pytest.fixture(scope="module")
def engine() -> Iterator[LiveServer]:
    server = LiveServer(conformance_app).start()
    yield server
    server.stop()


def sockjs_path(prefix: str = "/echo") -> str:
    return f"{prefix}/000/{uuid.uuid4().hex}/websocket"


# -- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/echo/0/0/websocket", "/echo/websocket", "/autobahn"])
def test_plain_get_is_400_with_a_message(live, engine, path):
    server = engine if path == "/autobahn" else live
    response = http.get(server.url + path)
    assert response.status == 400
    assert response.text == 'Can "Upgrade" only to "WebSocket".'
    assert response.header("Content-Type") == "text/plain; charset=UTF-8"


def test_connection_header_without_upgrade_is_400(live):
    response = http.get(
        live.url + "/echo/0/0/websocket", headers={**UPGRADE, "Connection": "close"}
    )
    assert (response.status, response.text) == (400, '"Connection" must be "Upgrade".')


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", ["/echo/0/0/websocket", "/echo/websocket"])
def test_other_methods_are_405_with_allow_get(live, method, path):
    response = http.request(method, live.url + path, headers=UPGRADE)
    assert response.status == 405
    assert response.header("Allow") == "GET"
    assert response.header("Content-Type") is None
    assert response.body == b""


def test_unknown_version_is_426_naming_the_versions_we_speak(live):
    response = http.get(
        live.url + "/echo/websocket", headers={**UPGRADE, "Sec-WebSocket-Version": "14"}
    )
    assert response.status == 426
    assert response.header("Sec-WebSocket-Version") == "13, 8, 7"
    assert response.text == "Unsupported WebSocket version."


@pytest.mark.parametrize("key", ["", "short", "dGhlIHNhbXBsZSBub25jZQ"])
def test_bad_key_is_400(live, key):
    response = http.get(live.url + "/echo/websocket", headers={**UPGRADE, "Sec-WebSocket-Key": key})
    assert response.status == 400
    assert "Sec-WebSocket-Key" in response.text


def test_bad_hixie76_key_is_400(live):
    headers = {
        "Upgrade": "WebSocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key1": "12345",  # no spaces: not a valid key
        "Sec-WebSocket-Key2": "1 2",
    }
    response = http.get(live.url + "/echo/websocket", headers=headers)
    assert (response.status, response.text) == (400, "Invalid hixie-76 key.")


def test_http10_upgrade_is_refused(live):
    request = (
        "GET /echo/websocket HTTP/1.0\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    sock = http.raw_exchange("127.0.0.1", live.port, request.encode())
    try:
        data = http.recv_until_closed(sock)
    finally:
        sock.close()
    assert data.split(b"\r\n", 1)[0].endswith(b"400 Bad Request")
    assert data.endswith(b"WebSocket needs HTTP/1.1.")


# -- the SockJS transport ---------------------------------------------------------------


def test_broken_json_closes_abruptly_with_1007_and_no_sockjs_close_frame(live):
    client = WSClient.connect(live.port, sockjs_path())
    try:
        assert client.recv_text() == "o"
        client.send_text('["a')
        assert client.recv_close() == (1007, "Broken JSON encoding.")
        client.wait_closed()
    finally:
        client.close()


@pytest.mark.parametrize("path", ["/small/000/abc/websocket", "/small/websocket"])
def test_message_over_the_size_limit_closes_with_1009(live, path):
    client = WSClient.connect(live.port, path)
    try:
        if "000" in path:
            assert client.recv_text() == "o"
        client.send_text(json.dumps(["x" * 100]))
        code, _ = client.recv_close()
        assert code == 1009
        client.wait_closed()
    finally:
        client.close()


def test_fragmented_message_is_joined_before_the_session_sees_it(live):
    client = WSClient.connect(live.port, sockjs_path())
    try:
        assert client.recv_text() == "o"
        client.send_fragments(
            TEXT, [b'["frag', "\u2713".encode()[:2], "\u2713".encode()[2:] + b'ment"]']
        )
        assert client.recv_text() == 'a["frag\u2713ment"]'
    finally:
        client.close()


def test_server_close_sends_sockjs_close_then_websocket_close_and_waits_for_the_client(
    live, events
):
    client = WSClient.connect(live.port, sockjs_path("/recorded"))
    try:
        assert client.recv_text() == "o"
        client.send_text('["close"]')
        assert client.recv_text() == 'c[4000,"asked to close"]'
        assert client.recv_close() == (4000, "asked to close")
        client.send_close(4000)
        client.wait_closed()
    finally:
        client.close()
    assert events.events("close") == [("close", "websocket", (4000, "asked to close"))]


def test_unanswered_close_is_ended_by_the_server_after_the_timeout(live, monkeypatch):
    monkeypatch.setattr(links, "CLOSE_TIMEOUT", 0.2)
    client = WSClient.connect(live.port, sockjs_path("/close"))
    try:
        assert client.recv_text() == "o"
        assert client.recv_text() == 'c[3000,"Go away!"]'
        assert client.recv_close() == (3000, "Go away!")
        client.wait_closed(timeout=5)  # without answering the close frame
    finally:
        client.close()


def test_ping_is_answered_with_the_same_payload(live):
    client = WSClient.connect(live.port, sockjs_path())
    try:
        assert client.recv_text() == "o"
        client.ping(b"are you there")
        assert client.recv_frame() == (PONG, b"are you there")
    finally:
        client.close()


def test_client_vanishing_closes_the_session_as_interrupted(live, events):
    client = WSClient.connect(live.port, sockjs_path("/recorded"))
    assert client.recv_text() == "o"
    client.close()
    events.wait_for(lambda ev: any(e[0] == "close" for e in ev))
    assert events.events("close") == [("close", "websocket", (1002, "Connection interrupted"))]


# -- the raw transport ------------------------------------------------------------------


def test_raw_server_close_carries_the_application_code_and_reason(live, events):
    client = WSClient.connect(live.port, "/recorded/websocket")
    try:
        client.send_text("hello")
        assert client.recv_text() == "hello"
        client.send_text("close")
        assert client.recv_close() == (4000, "asked to close")
    finally:
        client.close()


def test_raw_rejected_connection_closes_with_3001(live):
    client = WSClient.connect(live.port, "/reject/websocket")
    try:
        assert client.recv_close() == (3001, "Connection rejected")
    finally:
        client.close()


def test_raw_binary_message_closes_with_1003(live):
    client = WSClient.connect(live.port, "/echo/websocket")
    try:
        client.send_binary(b"\x00\x01")
        assert client.recv_close() == (1003, "Text messages only.")
    finally:
        client.close()


# -- framing rules, at the engine level -------------------------------------------------


def test_engine_echoes_text_and_binary_as_they_came(engine):
    client = WSClient.connect(engine.port, "/autobahn")
    try:
        client.send_text("text \u2713")
        assert client.recv_frame() == (TEXT, "text \u2713".encode())
        client.send_binary(b"\xff\x00binary")
        assert client.recv_frame() == (BINARY, b"\xff\x00binary")
    finally:
        client.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (client_frame(TEXT, b"\xed\xa0\x80"), 1007),  # a UTF-16 surrogate
        (client_frame(TEXT, b"x", masked=False), 1002),
        (client_frame(TEXT, b"x", rsv=1), 1002),
        (client_frame(0x3, b"x"), 1002),
        (client_frame(0x0, b"x"), 1002),
        (client_frame(0x9, b"x" * 126), 1002),
        (client_frame(0x8, b"\x03\xed"), 1002),  # close code 1005 may not be sent
    ],
    ids=[
        "invalid-utf8",
        "unmasked",
        "rsv",
        "reserved-opcode",
        "lone-continuation",
        "long-ping",
        "bad-close-code",
    ],
)
def test_protocol_violations_fail_the_connection_with_their_code(engine, frame, code):
    client = WSClient.connect(engine.port, "/autobahn")
    try:
        client.send_raw(client_frame(TEXT, b"before") + frame)
        assert client.recv_text() == "before"
        assert client.recv_close()[0] == code
        client.wait_closed()
    finally:
        client.close()


def test_invalid_utf8_fails_before_the_message_ends(engine):
    client = WSClient.connect(engine.port, "/autobahn")
    try:
        # One frame announced as 1000 bytes, of which only the first 4 (invalid) arrive.
        frame = client_frame(TEXT, b"\xf4\x90\x80\x80" + b"a" * 996)
        client.send_raw(frame[:12])
        assert client.recv_close()[0] == 1007
    finally:
        client.close()


def test_frames_sent_right_behind_the_handshake_are_not_lost(engine):
    sock = socket.create_connection(("127.0.0.1", engine.port), timeout=5)
    try:
        request = "GET /autobahn HTTP/1.1\r\nHost: x\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in UPGRADE.items()
        )
        sock.sendall(request.encode() + b"\r\n" + client_frame(TEXT, b"early"))
        client = WSClient(sock, "13", b"", b"")
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        client.buffer = data.partition(b"\r\n\r\n")[2]
        assert client.recv_text() == "early"
    finally:
        sock.close()


def test_big_message_is_echoed_whole_while_the_socket_is_full(engine):
    client = WSClient.connect(engine.port, "/autobahn")
    try:
        payload = os.urandom(8 * 1024 * 1024)
        client.send_binary(payload)
        opcode, echoed = client.recv_frame(timeout=20)
        assert opcode == BINARY and echoed == payload
    finally:
        client.close()


def test_client_close_is_echoed_and_tcp_ends(engine):
    client = WSClient.connect(engine.port, "/autobahn")
    try:
        client.send_close(1000, "done")
        assert client.recv_close() == (1000, "")
        client.wait_closed()
        with pytest.raises(ServerClosed):
            client.recv_frame(timeout=1)
    finally:
        client.close()


# -- TLS --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    done = subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ],
        capture_output=True,
        timeout=60,
    )
    if done.returncode != 0:
        pytest.skip(f"openssl could not make a certificate: {done.stderr[-200:]!r}")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    server = LiveServer(conformance_app, ssl_options=context).start()
    yield server
    server.stop()


def test_websocket_over_tls_echoes(tls_engine):
    raw = socket.create_connection(("127.0.0.1", tls_engine.port), timeout=5)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    sock = context.wrap_socket(raw)
    try:
        request = "GET /echo/000/tls/websocket HTTP/1.1\r\nHost: x\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in UPGRADE.items()
        )
        sock.sendall(request.encode() + b"\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        head, _, rest = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101")
        client = WSClient(sock, "13", head, rest)  # type: ignore[arg-type]
        assert client.recv_text() == "o"
        client.send_text('["over tls"]')
        assert client.recv_text() == 'a["over tls"]'
        client.send_close(1000)
        assert client.recv_close() == (1000, "")
    finally:
        sock.close()


# -- broadcast --------------------------------------------------------------------------


@pytest.fixture
def serialized(monkeypatch) -> list[bytes]:
    """The payload of every text frame the server builds from now on, in order."""
    built: list[bytes] = []
    real = ws_transport.text_frame

    def counting(payload: bytes) -> bytes:
        built.append(payload)
        return real(payload)

    monkeypatch.setattr(ws_transport, "text_frame", counting)
    return built


def test_broadcast_serializes_each_frame_once_for_all_receivers(live, serialized):
    clients = [WSClient.connect(live.port, sockjs_path("/broadcast")) for _ in range(20)]
    try:
        for client in clients:
            assert client.recv_text() == "o"
        clients[0].send_text('["news for everyone"]')
        received = [client.recv_frame() for client in clients]
        assert {frame for frame in received} == {(TEXT, b'a["news for everyone"]')}
        assert serialized.count(b'a["news for everyone"]') == 1
    finally:
        for client in clients:
            client.close()


def reset(client: WSClient) -> None:
    """Drop the connection with a TCP reset instead of a FIN."""
    client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()


def test_reset_connection_closes_only_its_session_and_later_writes_to_it_are_harmless(live, events):
    victim = WSClient.connect(live.port, sockjs_path("/recorded"))
    sender = WSClient.connect(live.port, sockjs_path("/broadcast"))
    listener = WSClient.connect(live.port, sockjs_path("/broadcast"))
    dropped = WSClient.connect(live.port, sockjs_path("/broadcast"))
    try:
        for client in (victim, sender, listener, dropped):
            assert client.recv_text() == "o"
        reset(victim)
        events.wait_for(lambda ev: any(e[0] == "close" for e in ev))
        assert events.events("close") == [("close", "websocket", (1002, "Connection interrupted"))]
        reset(dropped)  # a broadcast receiver gone without a close frame
        for i in range(5):
            sender.send_text(json.dumps([f"after reset {i}"]))
        got: list[str] = []
        while len(got) < 5:
            got.extend(json.loads(listener.recv_text()[1:]))
        assert got == [f"after reset {i}" for i in range(5)]
    finally:
        for client in (sender, listener):
            client.close()


def test_messages_arriving_while_the_server_closes_are_dropped_quietly(live, events):
    client = WSClient.connect(live.port, sockjs_path("/recorded"))
    try:
        assert client.recv_text() == "o"
        client.send_text('["close"]')
        assert client.recv_text() == 'c[4000,"asked to close"]'
        client.send_text('["too late"]')  # before answering the close frame
        assert client.recv_close() == (4000, "asked to close")
        client.send_close(4000)
        client.wait_closed()
    finally:
        client.close()
    assert events.events("message") == [("message", "websocket", "close")]


@pytest.mark.parametrize(
    ("code", "wire"),
    [(4000, 4000), (3000, 3000), (1011, 1011), (2010, 1000), (1005, 1000), (None, 1000)],
)
def test_session_codes_that_may_not_travel_in_a_close_frame_become_1000(code, wire):
    assert codes.websocket_close_code(code) == wire


# -- sessions the service refuses or resumes --------------------------------------------


@pytest.fixture(scope="module")
def limited() -> Iterator[LiveServer]:
    from fallback import Connection, Router
    from fallback.server import make_application

    class Echo(Connection):
        def on_message(self, text: str) -> None:
            self.send(text)

    server = LiveServer(
        lambda: make_application([Router(Echo, "/busy", max_sessions=1), Router(Echo, "/resume")])
    ).start()
    yield server
    server.stop()


@pytest.mark.parametrize("path", ["/busy/000/abc/websocket", "/busy/websocket"])
def test_max_sessions_refuses_further_websockets_with_1013(limited, path):
    first = WSClient.connect(limited.port, "/busy/000/first/websocket")
    try:
        assert first.recv_text() == "o"
        second = WSClient.connect(limited.port, path)
        try:
            if "000" in path:
                assert second.recv_text() == 'c[1013,"Server busy, try again later"]'
            assert second.recv_close() == (1013, "Server busy, try again later")
        finally:
            second.close()
        first.send_text('["still served"]')
        assert first.recv_text() == 'a["still served"]'
    finally:
        first.close()


def resume_control(frame: str) -> dict:
    assert frame.startswith("r"), frame
    return json.loads(frame[1:])


def test_a_resumable_websocket_connection_survives_its_socket(limited):
    first = WSClient.connect(limited.port, sockjs_path("/resume") + "?fb_resume=1")
    try:
        assert first.recv_text() == "o"
        control = resume_control(first.recv_text())
        assert control["resumed"] is False
        first.send_text('["one", "two"]')
        assert first.recv_text() == 'a["one","two"]'
    finally:
        reset(first)  # the transport drops; the connection waits for the client
    again = WSClient.connect(
        limited.port, sockjs_path("/resume") + f"?fb_resume={control['cid']}.1"
    )
    try:
        assert again.recv_text() == "o"
        control = resume_control(again.recv_text())
        assert control["resumed"] is True and control["seen"] == 2
        assert again.recv_text() == 'a["two"]'  # the message the client said it missed
        again.send_text('["three"]')
        assert again.recv_text() == 'a["three"]'
    finally:
        again.close()


def test_a_resume_takes_the_session_from_a_socket_still_attached(limited):
    old = WSClient.connect(limited.port, sockjs_path("/resume") + "?fb_resume=1")
    try:
        assert old.recv_text() == "o"
        cid = resume_control(old.recv_text())["cid"]
        new = WSClient.connect(limited.port, sockjs_path("/resume") + f"?fb_resume={cid}.0")
        try:
            assert new.recv_text() == "o"
            assert resume_control(new.recv_text())["resumed"] is True
            assert old.recv_text() == 'c[2010,"Another connection still open"]'
            assert old.recv_close() == (1000, "")
            new.send_text('["mine now"]')
            assert new.recv_text() == 'a["mine now"]'
        finally:
            new.close()
    finally:
        old.close()


def test_resume_of_an_unknown_connection_is_refused_with_3011(limited):
    client = WSClient.connect(
        limited.port, sockjs_path("/resume") + "?fb_resume=" + "x" * 24 + ".0"
    )
    try:
        assert client.recv_text() == "o"
        assert client.recv_text() == 'c[3011,"Cannot resume: unknown connection"]'
        assert client.recv_close() == (3011, "Cannot resume: unknown connection")
    finally:
        client.close()


def service_at(live, prefix: str):
    for rule in live.app.wildcard_router.rules:
        service = rule.target_kwargs.get("service")
        if service is not None and service.prefix == prefix:
            return service
    raise LookupError(prefix)


def test_refusals_are_counted_by_reason(live):
    service = service_at(live, "/origins")

    def refused() -> dict[str, int]:
        return live.call(lambda: dict(service.refused))

    before = refused()
    with pytest.raises(AssertionError, match="403"):
        WSClient.connect(live.port, "/origins/websocket", origin="https://evil.example")
    assert http.get(live.url + "/origins/websocket").status == 400
    after = refused()
    assert after.get("origin", 0) == before.get("origin", 0) + 1
    assert after.get("bad_handshake", 0) == before.get("bad_handshake", 0) + 1


@pytest.mark.parametrize("how", ["fin", "reset"])
def test_client_hanging_up_right_after_its_handshake_is_no_error(live, how):
    request = "GET /echo/000/gone/websocket HTTP/1.1\r\nHost: x\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in UPGRADE.items()
    )
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", live.port), timeout=5)
        sock.sendall(request.encode() + b"\r\n" + client_frame(TEXT, b'["bye"]'))
        if how == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            sock.shutdown(socket.SHUT_WR)
        sock.close()
    # The server is still serving, and said nothing in its log (see no_error_logs).
    client = WSClient.connect(live.port, sockjs_path())
    try:
        assert client.recv_text() == "o"
    finally:
        client.close()


def test_raw_message_with_a_lone_surrogate_arrives_as_valid_utf8(live):
    client = WSClient.connect(live.port, "/recorded/websocket")
    try:
        client.send_text("hello")
        assert client.recv_text() == "hello"

        def send_surrogate() -> int:
            service = service_at(live, "/recorded")
            sessions = [s for s in service.registry if s.transport == "rawwebsocket"]
            return sum(s.listener.send("x\ud800y") for s in sessions)

        assert live.call(send_surrogate) >= 1
        assert client.recv_text() == "x?y"
        client.send_text("still open")
        assert client.recv_text() == "still open"
    finally:
        client.close()


# -- the raw endpoint's short write path (`RawLink.flush`) ------------------------------


def test_raw_broadcast_builds_each_frame_once_for_all_receivers(live, serialized):
    clients: list[WSClient] = []
    try:
        for n in range(20):  # each one in the room (its own hello comes back) before the next
            clients.append(WSClient.connect(live.port, "/broadcast/websocket"))
            clients[-1].send_text(f"hello {n}")
            assert [client.recv_text() for client in clients] == [f"hello {n}"] * len(clients)
        serialized.clear()
        clients[0].send_text("news for everyone")
        assert {client.recv_frame() for client in clients} == {(TEXT, b"news for everyone")}
        assert serialized == [b"news for everyone"]
    finally:
        for client in clients:
            client.close()


@pytest.mark.parametrize(
    ("path", "sent", "echoed"),
    [
        ("/echo/websocket", b"then this", b"then this"),
        (None, b'["then this"]', b'a["then this"]'),  # SockJSLink.flush's short way too
    ],
    ids=["raw", "sockjs"],
)
def test_a_pong_goes_out_before_the_echo_of_a_message_read_with_the_ping(live, path, sent, echoed):
    client = WSClient.connect(live.port, path or sockjs_path())
    try:
        if path is None:
            assert client.recv_text() == "o"
        client.send_raw(client_frame(PING, b"first") + client_frame(TEXT, sent))
        assert client.recv_frame() == (PONG, b"first")
        assert client.recv_frame() == (TEXT, echoed)
    finally:
        client.close()


def test_raw_messages_read_at_once_are_echoed_in_order_in_one_write(live):
    client = WSClient.connect(live.port, "/echo/websocket")
    try:
        texts = [f"message {i} ✓" for i in range(50)]
        client.send_raw(b"".join(client_frame(TEXT, t.encode()) for t in texts))
        assert [client.recv_text() for _ in texts] == texts
    finally:
        client.close()
