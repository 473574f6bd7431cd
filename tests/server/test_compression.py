"""permessage-deflate between fallback's server and a real client that speaks it
(Tornado's WebSocket client), on the raw and SockJS WebSocket endpoints; the setting that
turns it off; one compression per message however many receivers (`Flusher`)."""

from __future__ import annotations

import asyncio
import json

import pytest
from tornado.ioloop import IOLoop
from tornado.websocket import websocket_connect

from fallback.transports.sockio import Flusher
from fallback.wsengine.deflate import Deflate
from tests.support.sockjs import new_session_url

pytestmark = pytest.mark.timeout(30)

BIG = "compressible text, " * 130  # under /bin's max_message_size (3000)
BIG_BYTES = bytes(range(256)) * 10


async def exchange(url: str, messages: list[str | bytes], count: int):  # type: ignore[no-untyped-def]
    ws = await websocket_connect(url, compression_options={})
    try:
        extensions = ws.headers.get("Sec-WebSocket-Extensions")
        for message in messages:
            await ws.write_message(message, binary=isinstance(message, bytes))
        got = [await asyncio.wait_for(ws.read_message(), 10) for _ in range(count)]
        return extensions, got
    finally:
        ws.close()


def test_raw_websocket_negotiates_deflate_and_messages_round_trip(live):
    url = live.ws_url + "/bin/websocket"
    extensions, got = asyncio.run(exchange(url, [BIG, "small", BIG_BYTES], 3))
    assert extensions is not None and extensions.startswith("permessage-deflate")
    assert "server_no_context_takeover" in extensions
    assert "client_no_context_takeover" in extensions
    assert got == [BIG, "small", BIG_BYTES]


def test_sockjs_websocket_negotiates_deflate_for_its_frames(live):
    url = (new_session_url(live.url + "/bin") + "/websocket?fb_binary=1").replace(
        "http://", "ws://", 1
    )
    extensions, got = asyncio.run(exchange(url, [json.dumps([BIG]), BIG_BYTES], 3))
    assert extensions is not None and extensions.startswith("permessage-deflate")
    assert got == ["o", "a" + json.dumps([BIG]), BIG_BYTES]


def test_compression_off_negotiates_nothing_and_still_works(live):
    url = live.ws_url + "/nodeflate/websocket"
    extensions, got = asyncio.run(exchange(url, [BIG], 1))
    assert extensions is None
    assert got == [BIG]


def test_a_broadcast_compresses_each_message_once_per_compression_key():
    loop = IOLoop(make_current=False)
    try:
        flusher = Flusher(loop)
        deflate = Deflate(15, 0, 6, "permessage-deflate")
        same_key = Deflate(15, 0, 6, "permessage-deflate; server_max_window_bits=15")
        other = Deflate(10, 0, 6, "permessage-deflate; server_max_window_bits=10")
        first = flusher.hybi_text_frame(BIG, deflate)
        assert flusher.hybi_text_frame(BIG, same_key) is first  # shared, not recompressed
        assert flusher.hybi_text_frame(BIG, other) is not first
        assert (
            flusher.hybi_text_frame(BIG, None)
            == b"\x81~" + len(BIG).to_bytes(2, "big") + BIG.encode()
        )
        assert len(first) < len(BIG) // 10
        data = flusher.hybi_binary_frame(BIG_BYTES, deflate)
        assert flusher.hybi_binary_frame(BIG_BYTES, deflate) is data
    finally:
        loop.close()
