"""Binary messages on the wire, with real clients: the extension announced in ``info``,
asked for with ``fb_binary=1``, carried as WebSocket binary messages and as base64 in
every HTTP transport, bounded on the decoded size, and refused clearly to (and from)
plain SockJS clients (`fallback.core.binary`)."""

from __future__ import annotations

import base64
import json

import pytest
import websocket

from tests.server.apps import BINARY_MAX
from tests.support import http
from tests.support.sockjs import CLIENTS, decode_close, new_session_url
from tests.support.wsclient import WSClient

pytestmark = pytest.mark.timeout(30)

HTTP_TRANSPORTS = ["xhr", "jsonp", "xhr_streaming", "eventsource", "htmlfile"]


def b64(data: bytes) -> dict[str, str]:
    return {"b": base64.b64encode(data).decode("ascii")}


def client(transport: str, url: str, *, binary: bool = True):  # type: ignore[no-untyped-def]
    c = CLIENTS[transport](url)
    if binary:
        c.query["fb_binary"] = "1"
    assert c.next_frame() == "o"
    return c


def post(c, items: list[object]) -> http.Response:  # type: ignore[no-untyped-def]
    return http.post(c.session_url + "/xhr_send", json.dumps(items))


def test_info_offers_the_extension_with_the_size_bound_unless_it_is_off(live):
    info = json.loads(http.get(live.url + "/bin/info").body)
    assert info["binary"] == {"v": 1, "max": BINARY_MAX}
    assert "binary" not in json.loads(http.get(live.url + "/nobin/info").body)


@pytest.mark.parametrize("transport", HTTP_TRANSPORTS)
def test_binary_messages_travel_as_base64_among_text_on_every_http_transport(live, transport):
    c = client(transport, live.url + "/bin")
    try:
        data = bytes(range(256))
        assert post(c, ["a", b64(data), b64(b""), "b"]).status == 204
        got = []
        while len(got) < 4:
            frame = c.next_data_frame()
            assert frame.startswith("a"), frame
            got.extend(json.loads(frame[1:]))
        assert got == ["a", b64(data), b64(b""), "b"]
    finally:
        c.close()


def test_a_plain_sockjs_session_gets_no_binary_and_refuses_binary_items(live):
    c = client("xhr", live.url + "/bin", binary=False)
    response = post(c, [b64(b"x")])
    assert (response.status, response.text) == (500, "Broken JSON encoding.")
    assert post(c, ["bytes please"]).status == 204
    assert c.next_data_frame() == 'a["refused: BinaryUnsupported"]'


def test_a_server_with_binary_off_ignores_the_request_for_it(live):
    c = client("xhr", live.url + "/nobin")
    assert post(c, [b64(b"x")]).status == 500
    assert post(c, ["bytes please"]).status == 204
    assert c.next_data_frame() == 'a["refused: BinaryUnsupported"]'


def test_the_bound_is_on_the_decoded_bytes_not_on_their_base64(live):
    c = client("xhr", live.url + "/bin")
    whole = bytes(BINARY_MAX)
    assert len(json.dumps([b64(whole)])) > BINARY_MAX
    assert post(c, [b64(whole)]).status == 204
    assert c.next_data_frame() == "a" + json.dumps([b64(whole)], separators=(",", ":"))
    too_big = post(c, [b64(whole + b"!")])
    assert (too_big.status, too_big.text) == (413, "Message too big.")


def test_broken_base64_is_refused_and_the_session_goes_on(live):
    c = client("xhr", live.url + "/bin")
    response = post(c, [{"b": "not base64!"}])
    assert (response.status, response.text) == (500, "Broken base64 encoding.")
    assert post(c, ["still here"]).status == 204
    assert c.next_data_frame() == 'a["still here"]'


def test_a_connection_that_takes_no_bytes_closes_with_1003(live):
    c = client("xhr", live.url + "/echo")
    assert post(c, ["t", b64(b"x")]).status == 204
    assert c.next_data_frame() == 'a["t"]'
    assert decode_close(c.next_data_frame()) == (1003, "Text messages only.")


def ws_connect(url: str):  # type: ignore[no-untyped-def]
    return websocket.create_connection(url.replace("http://", "ws://", 1), timeout=5)


def recv(ws) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    opcode, data = ws.recv_data()
    if opcode == websocket.ABNF.OPCODE_BINARY:
        return ("binary", data)
    return ("text", data.decode("utf-8"))


def test_sockjs_websocket_carries_binary_messages_as_binary_frames_in_order(live):
    ws = ws_connect(new_session_url(live.url + "/bin") + "/websocket?fb_binary=1")
    try:
        assert recv(ws) == ("text", "o")
        ws.send('["a","b"]')
        ws.send_binary(b"\x00\x01")
        ws.send_binary(b"")
        ws.send(json.dumps(["c", b64(b"\xfe")]))  # base64 in a text frame works too
        got = [recv(ws) for _ in range(5)]
        assert got == [
            ("text", 'a["a","b"]'),
            ("binary", b"\x00\x01"),
            ("binary", b""),
            ("text", 'a["c"]'),
            ("binary", b"\xfe"),
        ]
        # Past max_message_size: refused as a too-big text message is (1009).
        ws.send_binary(bytes(BINARY_MAX + 1))
        opcode, data = ws.recv_data()
        assert opcode == websocket.ABNF.OPCODE_CLOSE
        assert int.from_bytes(data[:2], "big") == 1009
    finally:
        ws.close()


def test_a_plain_sockjs_websocket_gets_text_frames_only(live):
    ws = ws_connect(new_session_url(live.url + "/bin") + "/websocket")
    try:
        assert recv(ws) == ("text", "o")
        ws.send('["bytes please"]')
        assert recv(ws) == ("text", 'a["refused: BinaryUnsupported"]')
    finally:
        ws.close()


def test_raw_websocket_carries_binary_messages_both_ways(live):
    ws = ws_connect(live.url + "/bin/websocket")
    try:
        ws.send("text")
        ws.send_binary(bytes(range(256)))
        ws.send("bytes please")
        assert [recv(ws) for _ in range(3)] == [
            ("text", "text"),
            ("binary", bytes(range(256))),
            ("binary", b"\x00\xff"),
        ]
    finally:
        ws.close()


def test_binary_messages_resume_on_another_transport_exactly_as_text(live):
    first = CLIENTS["websocket"](live.url + "/bin")
    first.query.update({"fb_binary": "1", "fb_resume": "1"})
    ws = ws_connect(first.receiving_url("/websocket"))
    try:
        assert recv(ws) == ("text", "o")
        _, control = recv(ws)
        cid = json.loads(str(control)[1:])["cid"]
        ws.send_binary(b"one")
        ws.send('["two"]')
        assert recv(ws) == ("binary", b"one")
        assert recv(ws) == ("text", 'a["two"]')
    finally:
        ws.shutdown()  # no close frame: the connection waits for its client
    # Back on xhr, having received nothing: both messages come again, as base64 and text.
    again = CLIENTS["xhr"](live.url + "/bin")
    again.query["fb_resume"] = f"{cid}.0.1"
    assert again.next_frame() == "o"
    answer = json.loads(again.next_frame()[1:])
    assert answer["resumed"] is True and answer["seen"] == 2
    assert json.loads(again.next_data_frame()[1:]) == [b64(b"one"), "two"]


def test_hixie76_sockjs_sessions_get_binary_messages_as_base64_in_text_frames(live):
    # hixie-76 has no binary frames: a binary session on it gets {"b": ...} in its arrays.
    path = new_session_url(live.url + "/bin").split(str(live.port), 1)[1]
    client = WSClient.connect(live.port, path + "/websocket?fb_binary=1", version="hixie-76")
    try:
        assert client.recv_text() == "o"
        client.send_text('["bytes please"]')
        assert client.recv_text() == 'a[{"b":"AP8="}]'
    finally:
        client.close()
