"""The binary example of docs/guides/first-app.md, run as it is written, with a real
WebSocket client on the raw endpoint and an HTTP one on xhr."""

from __future__ import annotations

import base64
import json

import tornado.web
import websocket

from fallback import Router
from tests.docs.corpus import block
from tests.support import http
from tests.support.live import LiveServer
from tests.support.sockjs import CLIENTS


def test_the_binary_example_echoes_text_and_reversed_bytes() -> None:
    namespace: dict[str, object] = {}
    exec(block("**Binary messages.**", "python"), namespace)  # our own documentation
    frames = namespace["Frames"]
    server = LiveServer(lambda: tornado.web.Application(Router(frames, "/f").urls))  # type: ignore[arg-type]
    server.start()
    try:
        ws = websocket.create_connection(server.ws_url + "/f/websocket", timeout=5)
        try:
            ws.send("abc")
            ws.send_binary(b"\x01\x02\x03")
            assert ws.recv_data() == (websocket.ABNF.OPCODE_TEXT, b"ABC")
            assert ws.recv_data() == (websocket.ABNF.OPCODE_BINARY, b"\x03\x02\x01")
        finally:
            ws.close()
        xhr = CLIENTS["xhr"](server.url + "/f")
        xhr.query["fb_binary"] = "1"
        assert xhr.next_frame() == "o"
        body = json.dumps([{"b": base64.b64encode(b"\x00\xff").decode()}])
        assert http.post(xhr.session_url + "/xhr_send", body).status == 204
        assert json.loads(xhr.next_data_frame()[1:]) == [
            {"b": base64.b64encode(b"\xff\x00").decode()}
        ]
    finally:
        server.stop()
