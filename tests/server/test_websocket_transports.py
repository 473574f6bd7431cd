"""Behaviours specific to the two WebSocket endpoints."""

from __future__ import annotations

import json
import uuid

import pytest
import websocket  # websocket-client

pytestmark = pytest.mark.timeout(30)


def connect(url: str, **kwargs: object) -> websocket.WebSocket:
    return websocket.create_connection(url, timeout=5, **kwargs)


def sockjs_url(live, prefix: str = "/echo") -> str:
    return f"{live.ws_url}{prefix}/000/{uuid.uuid4().hex}/websocket"


def recv_close(ws: websocket.WebSocket) -> tuple[int, str]:
    opcode, data = ws.recv_data(control_frame=True)
    while opcode != websocket.ABNF.OPCODE_CLOSE:
        opcode, data = ws.recv_data(control_frame=True)
    return int.from_bytes(data[:2], "big"), data[2:].decode()


def test_broken_json_ends_the_socket_without_a_sockjs_close_frame(live):
    ws = connect(sockjs_url(live))
    assert ws.recv() == "o"
    ws.send('["a')
    code, reason = recv_close(ws)
    assert code == 1007 and reason == "Broken JSON encoding."
    ws.close()


def test_empty_frames_are_ignored(live):
    ws = connect(sockjs_url(live))
    assert ws.recv() == "o"
    ws.send("")
    ws.send("[]")
    ws.send('"single"')
    ws.send('["a","b"]')
    received: list[str] = []
    while len(received) < 3:  # the server may batch them into fewer frames
        frame = ws.recv()
        assert frame.startswith("a"), frame
        received += json.loads(frame[1:])
    assert received == ["single", "a", "b"]
    ws.close()


def test_two_websockets_may_share_a_session_id(live):
    url = sockjs_url(live)
    first, second = connect(url), connect(url)
    assert first.recv() == "o" and second.recv() == "o"
    first.send('["one"]')
    second.send('["two"]')
    assert first.recv() == 'a["one"]'
    assert second.recv() == 'a["two"]'
    first.close()
    second.close()


def test_oversized_message_closes_with_1009(live):
    ws = connect(sockjs_url(live, "/small"))
    assert ws.recv() == "o"
    ws.send('["' + "x" * 100 + '"]')
    assert recv_close(ws)[0] == 1009
    ws.close()


def test_app_close_sends_close_frame_then_ends_the_socket(live):
    ws = connect(sockjs_url(live, "/recorded"))
    assert ws.recv() == "o"
    ws.send('["close"]')
    assert ws.recv() == 'c[4000,"asked to close"]'
    assert recv_close(ws) == (4000, "asked to close")
    ws.close()


def test_disallowed_origin_is_refused_at_the_handshake(live):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(sockjs_url(live, "/origins"), origin="https://evil.example")
    assert refused.value.status_code == 403
    ws = connect(sockjs_url(live, "/origins"), origin="https://good.example")
    assert ws.recv() == "o"
    ws.close()


def test_disabled_websocket_is_not_served(live):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(sockjs_url(live, "/nows"))
    assert refused.value.status_code == 404


def test_raw_websocket_echoes_unframed_text(live):
    ws = connect(live.ws_url + "/echo/websocket")
    for text in ("Hello world!\uffff", "", "ünïcödé 😀"):
        ws.send(text)
        assert ws.recv() == text
    ws.close()


def test_raw_websocket_close_carries_the_application_code_and_reason(live):
    ws = connect(live.ws_url + "/close/websocket")
    assert recv_close(ws) == (3000, "Go away!")
    ws.close()


def test_raw_websocket_refuses_binary_messages_with_1003(live):
    ws = connect(live.ws_url + "/echo/websocket")
    ws.send_binary(b"\x00\x01")
    assert recv_close(ws)[0] == 1003
    ws.close()


def test_client_close_code_reaches_on_close(live, events):
    ws = connect(sockjs_url(live, "/recorded"))
    assert ws.recv() == "o"
    ws.close(status=4321, reason=b"bye")
    events.wait_for(lambda ev: any(e[0] == "close" for e in ev))
    assert events.events("close") == [("close", "websocket", (4321, "bye"))]
