"""`fallback.wsengine.deflate`: permessage-deflate negotiation (RFC 7692 section 7.1),
compression without context takeover, and compressed messages in the frame reader and
the protocol."""

from __future__ import annotations

import os
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fallback.wsengine import (
    BinaryMessage,
    ConnectionFailed,
    InvalidPayload,
    Opcode,
    PayloadTooBig,
    ProtocolError,
    TextMessage,
    accept,
)
from fallback.wsengine.deflate import Deflate, DeflateOptions, inflate, negotiate
from fallback.wsengine.frames import FrameReader, encode_frame
from fallback.wsengine.protocol import HybiProtocol

MASK = b"\x01\x02\x03\x04"
OPTIONS = DeflateOptions(threshold=0)
BOTH = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"


def deflated(payload: bytes, window_bits: int = 15) -> bytes:
    """What a client sends: raw deflate, sync-flushed, the 4-byte tail stripped."""
    c = zlib.compressobj(6, zlib.DEFLATED, -window_bits)
    data = c.compress(payload) + c.flush(zlib.Z_SYNC_FLUSH)
    assert data.endswith(b"\x00\x00\xff\xff")
    return data[:-4]


def client_frame(opcode: int, payload: bytes, *, fin: bool = True, rsv1: bool = True) -> bytes:
    return encode_frame(opcode, payload, fin=fin, mask=MASK, compressed=rsv1)


# -- negotiation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offer", "response"),
    [
        ("permessage-deflate", BOTH),
        ("permessage-deflate; client_max_window_bits", BOTH),  # what browsers offer
        ("permessage-deflate; client_no_context_takeover", BOTH),
        ("permessage-deflate; server_no_context_takeover", BOTH),
        ("permessage-deflate; client_max_window_bits=10", BOTH),
        ("permessage-deflate; server_max_window_bits=9", BOTH + "; server_max_window_bits=9"),
        ('permessage-deflate; server_max_window_bits="12"', BOTH + "; server_max_window_bits=12"),
        ("PerMessage-Deflate ;  Server_Max_Window_Bits = 15", BOTH + "; server_max_window_bits=15"),
        ("x-webkit-deflate-frame, permessage-deflate", BOTH),
    ],
)
def test_an_acceptable_offer_is_answered_with_no_context_takeover_both_ways(offer, response):
    accepted = negotiate(offer, OPTIONS)
    assert accepted is not None
    assert accepted.response == response


@pytest.mark.parametrize(
    "offer",
    [
        "permessage-deflate; server_max_window_bits=8",  # zlib cannot compress with 8
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=0x9",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_no_context_takeover=1",
        "permessage-deflate; unknown",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "x-webkit-deflate-frame",
        "",
    ],
)
def test_an_offer_that_cannot_be_honoured_is_declined(offer):
    assert negotiate(offer, OPTIONS) is None


def test_the_first_acceptable_offer_wins_in_the_clients_order():
    offer = "permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=10, permessage-deflate"
    accepted = negotiate(offer, OPTIONS)
    assert accepted is not None and accepted.window_bits == 10


def test_the_servers_own_window_cap_applies_without_being_announced():
    accepted = negotiate("permessage-deflate", DeflateOptions(max_window_bits=10))
    assert accepted is not None
    assert accepted.window_bits == 10 and accepted.response == BOTH
    capped = negotiate(
        "permessage-deflate; server_max_window_bits=12", DeflateOptions(max_window_bits=10)
    )
    assert capped is not None and capped.response.endswith("server_max_window_bits=10")


def test_compression_off_negotiates_nothing():
    assert negotiate("permessage-deflate", None) is None


HANDSHAKE = {
    "Host": "example.com",
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}


def test_the_handshake_response_carries_the_accepted_extension():
    headers = {
        **HANDSHAKE,
        "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
    }
    handshake = accept("GET", "/ws", headers, compression=OPTIONS)
    assert handshake.deflate is not None
    assert f"Sec-WebSocket-Extensions: {BOTH}\r\n".encode() in handshake.response
    plain = accept("GET", "/ws", headers)
    assert plain.deflate is None and b"Extensions" not in plain.response
    unoffered = accept("GET", "/ws", HANDSHAKE, compression=OPTIONS)
    assert unoffered.deflate is None and b"Extensions" not in unoffered.response


# -- compressing -------------------------------------------------------------------------


@given(st.binary(max_size=3000), st.integers(min_value=9, max_value=15))
def test_each_message_decompresses_alone_whatever_came_before(data, window_bits):
    deflate = Deflate(window_bits, 0, 6, BOTH)
    deflate.compress(b"an earlier message that a context would refer back to " * 4)
    compressed = deflate.compress(data)
    assert compressed is not None
    assert inflate(compressed, len(data)) == data


def test_the_same_message_compresses_to_the_same_bytes_for_every_receiver():
    deflate = Deflate(15, 0, 6, BOTH)
    message = b'{"chat": "hello hello hello"}' * 10
    first = deflate.compress(message)
    deflate.compress(os.urandom(500))
    assert deflate.compress(message) == first
    assert first is not None and len(first) < len(message) // 3


def test_messages_under_the_threshold_go_uncompressed():
    deflate = Deflate(15, 100, 6, BOTH)
    assert deflate.compress(b"x" * 99) is None
    assert deflate.compress(b"x" * 100) is not None


def test_inflate_refuses_a_bomb_past_the_limit_and_data_that_is_not_deflate():
    bomb = deflated(bytes(1 << 20))
    assert len(bomb) < 2000
    with pytest.raises(PayloadTooBig):
        inflate(bomb, 1000)
    assert inflate(bomb, 1 << 20) == bytes(1 << 20)
    with pytest.raises(InvalidPayload):
        inflate(b"\xff\xff\xff\xff", 1000)


# -- reading compressed frames -----------------------------------------------------------


def read(data: bytes, *, deflate: bool = True, limit: int = 1 << 20) -> list:
    reader = FrameReader(limit)
    reader.deflate = deflate
    out: list = []
    reader.feed(data, out)
    return out


def test_a_compressed_text_message_is_inflated_then_validated():
    text = "héllo " * 50
    assert read(client_frame(Opcode.TEXT, deflated(text.encode()))) == [(Opcode.TEXT, text)]
    with pytest.raises(InvalidPayload):
        read(client_frame(Opcode.TEXT, deflated(b"\xff\xfe" * 10)))


def test_a_fragmented_compressed_message_has_rsv1_on_its_first_frame_only():
    data = deflated(b"binary data " * 100)
    half = len(data) // 2
    frames = client_frame(Opcode.BINARY, data[:half], fin=False) + client_frame(
        Opcode.CONTINUATION, data[half:], rsv1=False
    )
    assert read(frames) == [(Opcode.BINARY, b"binary data " * 100)]
    # Fed one byte at a time, the same.
    reader = FrameReader()
    reader.deflate = True
    out: list = []
    for i in range(len(frames)):
        reader.feed(frames[i : i + 1], out)
    assert out == [(Opcode.BINARY, b"binary data " * 100)]


@pytest.mark.parametrize(
    "data",
    [
        client_frame(Opcode.TEXT, b"x"),  # not negotiated (deflate=False below)
    ],
)
def test_rsv1_without_the_extension_is_a_protocol_error(data):
    with pytest.raises(ProtocolError):
        read(data, deflate=False)


def test_rsv1_on_a_continuation_or_control_frame_or_rsv2_is_a_protocol_error():
    first = client_frame(Opcode.TEXT, deflated(b"ab"), fin=False)
    with pytest.raises(ProtocolError):
        read(first + client_frame(Opcode.CONTINUATION, b"", rsv1=True))
    with pytest.raises(ProtocolError):
        read(client_frame(Opcode.PING, b"", rsv1=True))
    rsv2 = bytearray(client_frame(Opcode.TEXT, b"x", rsv1=False))
    rsv2[0] |= 0x20
    with pytest.raises(ProtocolError):
        read(bytes(rsv2))


def test_an_uncompressed_message_still_reads_on_a_compressed_connection():
    assert read(client_frame(Opcode.TEXT, b"plain", rsv1=False)) == [(Opcode.TEXT, "plain")]


def test_the_bound_is_on_the_inflated_size_with_slack_for_incompressible_data():
    noise = os.urandom(1000)
    wire = deflated(noise)
    assert len(wire) > 1000  # random data grows a little
    assert read(client_frame(Opcode.BINARY, wire), limit=1000) == [(Opcode.BINARY, noise)]
    with pytest.raises(PayloadTooBig):
        read(client_frame(Opcode.BINARY, deflated(bytes(1001))), limit=1000)


# -- the protocol ------------------------------------------------------------------------


def test_the_protocol_compresses_what_it_sends_and_inflates_what_it_receives():
    protocol = HybiProtocol(deflate=Deflate(15, 10, 6, BOTH))
    protocol.receive_data(client_frame(Opcode.TEXT, deflated(b"hello hello hello")))
    protocol.receive_data(client_frame(Opcode.BINARY, deflated(b"\x00" * 50)))
    assert protocol.events_received() == [
        TextMessage("hello hello hello"),
        BinaryMessage(b"\x00" * 50),
    ]
    protocol.send_text("short")
    protocol.send_text("long enough to compress " * 3)
    protocol.send_binary(b"\x01" * 64)
    out = protocol.data_to_send()
    reader = FrameReader(require_mask=False)
    reader.deflate = True
    items: list = []
    reader.feed(out, items)
    assert items == [
        (Opcode.TEXT, "short"),
        (Opcode.TEXT, "long enough to compress " * 3),
        (Opcode.BINARY, b"\x01" * 64),
    ]
    assert out[0] == 0x81  # under the threshold: RSV1 clear
    assert out[7] == 0xC1  # compressed: RSV1 set


def test_a_bad_compressed_message_fails_the_connection_with_1007():
    protocol = HybiProtocol(deflate=Deflate(15, 0, 6, BOTH))
    protocol.receive_data(client_frame(Opcode.TEXT, b"\xff\xff\xff\xff"))
    (event,) = protocol.events_received()
    assert isinstance(event, ConnectionFailed) and event.code == 1007
