"""`fallback.wsengine.protocol`: the sans-I/O connection, fed bytes by hand."""

from __future__ import annotations

import pytest

from fallback.wsengine import (
    BinaryMessage,
    CloseCode,
    CloseReceived,
    ConnectionFailed,
    Hixie76Protocol,
    HybiProtocol,
    InvalidState,
    Opcode,
    Ping,
    Pong,
    Protocol,
    State,
    TextMessage,
    accept,
)
from fallback.wsengine.frames import close_payload, encode_frame, text_frame

MASK = b"\x01\x02\x03\x04"
KEYS = (829309203, 259970620)
CHALLENGE = b"\xca4\x00\xd8\xa5\x08G\x97,\xd5qZ\xba\xbfC{"  # for key3 = b"aaaaaaaa"


def frame(opcode: int, payload: bytes = b"", *, fin: bool = True) -> bytes:
    return encode_frame(opcode, payload, fin=fin, mask=MASK)


def close_frame(code: int, reason: str = "") -> bytes:
    return frame(Opcode.CLOSE, close_payload(code, reason))


def test_for_handshake_picks_the_framing():
    hybi = accept(
        "GET",
        "/",
        {
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version": "8",
        },
    )
    hixie = accept(
        "GET",
        "/",
        {
            "Host": "h",
            "Upgrade": "WebSocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key1": "1 2",
            "Sec-WebSocket-Key2": "3 4",
        },
    )
    assert isinstance(Protocol.for_handshake(hybi), HybiProtocol)
    protocol = Protocol.for_handshake(hixie, max_message_size=5)
    assert isinstance(protocol, Hixie76Protocol) and protocol.state is State.CONNECTING


def test_messages_become_events_in_order():
    p = HybiProtocol()
    p.receive_data(frame(Opcode.TEXT, b"a") + frame(Opcode.BINARY, b"b") + frame(Opcode.PONG, b"c"))
    assert p.events_received() == [TextMessage("a"), BinaryMessage(b"b"), Pong(b"c")]
    assert p.events_received() == []
    assert p.data_to_send() == b""


def test_ping_is_answered_with_a_pong_of_the_same_payload():
    p = HybiProtocol()
    p.receive_data(frame(Opcode.PING, b"hi"))
    assert p.events_received() == [Ping(b"hi")]
    assert p.data_to_send() == encode_frame(Opcode.PONG, b"hi")


def test_sent_frames_are_joined_into_one_buffer():
    p = HybiProtocol()
    p.send_text("a")
    p.send_binary(b"b")
    p.send_ping(b"c")
    p.send_frame(text_frame(b"d"))
    assert p.data_to_send() == (
        text_frame(b"a")
        + encode_frame(Opcode.BINARY, b"b")
        + encode_frame(Opcode.PING, b"c")
        + text_frame(b"d")
    )
    with pytest.raises(ValueError):
        p.send_ping(b"x" * 126)


def test_peer_initiated_close_is_echoed_and_ends_the_connection():
    p = HybiProtocol()
    p.receive_data(close_frame(4001, "bye") + frame(Opcode.TEXT, b"ignored"))
    assert p.events_received() == [CloseReceived(4001, "bye")]
    assert p.data_to_send() == encode_frame(Opcode.CLOSE, close_payload(4001))
    assert p.state is State.CLOSED and p.close_expected()
    assert (p.close_code, p.close_reason) == (4001, "bye")
    assert not p.can_send
    with pytest.raises(InvalidState):
        p.send_text("too late")


def test_close_without_code_is_answered_without_code():
    p = HybiProtocol()
    p.receive_data(frame(Opcode.CLOSE))
    assert p.events_received() == [CloseReceived(CloseCode.NO_STATUS, "")]
    assert p.data_to_send() == encode_frame(Opcode.CLOSE, b"")


def test_server_initiated_close_waits_for_the_peer():
    p = HybiProtocol()
    p.send_close(3000, "Go away!")
    assert p.state is State.CLOSING and not p.close_expected()
    assert p.data_to_send() == encode_frame(Opcode.CLOSE, close_payload(3000, "Go away!"))
    with pytest.raises(InvalidState):
        p.send_text("after close")
    p.receive_data(frame(Opcode.TEXT, b"still delivered") + frame(Opcode.PING, b"p"))
    assert p.events_received() == [TextMessage("still delivered"), Ping(b"p")]
    assert p.data_to_send() == b""  # no pong once our close is out
    p.receive_data(close_frame(3000))
    assert p.events_received() == [CloseReceived(3000, "")]
    assert p.data_to_send() == b""  # the handshake is complete: no second close frame
    assert p.state is State.CLOSED and p.close_expected()


def test_send_close_refuses_codes_that_may_not_be_sent():
    with pytest.raises(ValueError):
        HybiProtocol().send_close(2010)


def test_protocol_error_fails_with_its_code_after_answers_to_earlier_messages():
    p = HybiProtocol()
    p.receive_data(frame(Opcode.TEXT, b"good") + frame(Opcode.CONTINUATION, b"bad"))
    assert p.events_received() == [
        TextMessage("good"),
        ConnectionFailed(
            CloseCode.PROTOCOL_ERROR, "continuation frame with no message to continue"
        ),
    ]
    assert p.close_expected()
    assert p.can_send  # the answer to "good" may still go out first
    p.send_text("answer")
    assert p.data_to_send() == text_frame(b"answer") + encode_frame(
        Opcode.CLOSE, close_payload(1002, "continuation frame with no message to continue")
    )
    assert p.state is State.CLOSED
    p.receive_data(frame(Opcode.TEXT, b"ignored"))
    assert p.events_received() == []


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (close_frame(1000)[:0] + frame(Opcode.CLOSE, b"\x03"), 1002),
        (frame(Opcode.CLOSE, b"\x03\xe8\xff"), 1007),
        (frame(Opcode.CLOSE, (1005).to_bytes(2, "big")), 1002),
        (frame(Opcode.TEXT, b"\xff"), 1007),
        (frame(Opcode.BINARY, b"x" * 11), 1009),
    ],
)
def test_bad_input_fails_the_connection_with_the_right_code(data, code):
    p = HybiProtocol(max_message_size=10)
    p.receive_data(data)
    (event,) = p.events_received()
    assert isinstance(event, ConnectionFailed) and event.code == code
    assert p.data_to_send()[:2] == b"\x88" + bytes([len(p.close_reason.encode()) + 2])


def test_local_fail_sends_a_close_and_expects_the_end():
    p = HybiProtocol()
    p.fail(1007, "Broken JSON encoding.")
    assert p.data_to_send() == encode_frame(
        Opcode.CLOSE, close_payload(1007, "Broken JSON encoding.")
    )
    assert p.state is State.CLOSED and p.close_expected()
    p.fail(1000)  # a second failure changes nothing
    assert p.data_to_send() == b""


def test_fail_while_closing_sends_no_second_close():
    p = HybiProtocol()
    p.send_close()
    p.data_to_send()
    p.fail(1011)
    assert p.data_to_send() == b""


def test_eof_ends_the_connection():
    p = HybiProtocol()
    p.receive_eof()
    assert p.state is State.CLOSED and p.close_expected()
    p.receive_data(frame(Opcode.TEXT, b"x"))
    assert p.events_received() == []


# -- hixie-76 ---------------------------------------------------------------------------


def test_hixie_holds_frames_until_the_third_key_then_answers_the_challenge():
    p = Hixie76Protocol(KEYS)
    assert p.state is State.CONNECTING and p.can_send
    p.send_text("o")
    assert p.data_to_send() == b""
    p.receive_data(b"aaaa")
    assert p.data_to_send() == b""
    p.receive_data(b"aaaa\x00hi\xff")
    assert p.data_to_send() == CHALLENGE + b"\x00o\xff"
    assert p.events_received() == [TextMessage("hi")]
    assert p.state is State.OPEN
    p.send_text("é")
    assert p.data_to_send() == b"\x00\xc3\xa9\xff"


def test_hixie_close_handshake_both_ways():
    p = Hixie76Protocol(KEYS)
    p.receive_data(b"aaaaaaaa\xff\x00")
    assert p.events_received() == [CloseReceived(CloseCode.NO_STATUS, "")]
    assert p.data_to_send() == CHALLENGE + b"\xff\x00"
    assert p.close_expected()

    q = Hixie76Protocol(KEYS)
    q.receive_data(b"aaaaaaaa")
    q.send_close(3000, "ignored on hixie")
    assert q.data_to_send() == CHALLENGE + b"\xff\x00"
    assert q.state is State.CLOSING and not q.close_expected()
    q.receive_data(b"\xff\x00")
    assert q.data_to_send() == b"" and q.close_expected()


def test_hixie_close_sent_before_the_key_follows_the_challenge():
    p = Hixie76Protocol(KEYS)
    p.send_text("o")
    p.send_close()
    assert not p.can_send
    p.receive_data(b"aaaaaaaa")
    assert p.data_to_send() == CHALLENGE + b"\x00o\xff\xff\x00"
    assert p.state is State.CLOSING


def test_hixie_has_no_binary_and_no_ping():
    p = Hixie76Protocol(KEYS)
    assert not p.binary_supported
    with pytest.raises(InvalidState):
        p.send_binary(b"x")
    with pytest.raises(InvalidState):
        p.send_ping()


def test_hixie_failure_before_the_key_just_hangs_up():
    p = Hixie76Protocol(KEYS)
    p.send_text("o")
    p.fail(1007)
    assert p.data_to_send() == b"" and p.close_expected()


def test_hixie_invalid_text_fails_with_a_closing_frame():
    p = Hixie76Protocol(KEYS, max_message_size=4)
    p.receive_data(b"aaaaaaaa\x00toolong\xff")
    (event,) = p.events_received()
    assert isinstance(event, ConnectionFailed) and event.code == CloseCode.MESSAGE_TOO_BIG
    assert p.data_to_send() == CHALLENGE + b"\xff\x00"


def test_empty_data_is_harmless_in_every_state():
    for p in (HybiProtocol(), Hixie76Protocol(KEYS)):
        p.receive_data(b"")
        assert p.events_received() == [] and p.data_to_send() == b""


def test_lone_surrogates_cannot_make_a_frame_invalid_utf8():
    p = HybiProtocol()
    p.send_text("a\ud800b")
    assert p.data_to_send() == text_frame(b"a?b")


# -- receive_small_text: the shortcut for one small text frame --------------------------------


def test_receive_small_text_takes_exactly_one_small_masked_text_frame():
    p = HybiProtocol()
    for text in ("a", "héllo ✓", "x" * 125):
        assert p.receive_small_text(frame(Opcode.TEXT, text.encode())) == text
    assert p.events_received() == []  # nothing left behind for the general path


@pytest.mark.parametrize(
    "data",
    [
        frame(Opcode.TEXT, b"x" * 126),  # 126 bytes and up have a longer header
        frame(Opcode.TEXT, b""),  # (the general path takes the empty message too)
        frame(Opcode.TEXT, b"ab", fin=False),  # the first part of a message
        frame(Opcode.BINARY, b"ab"),
        frame(Opcode.PING, b"ab"),
        frame(Opcode.TEXT, b"ab") + frame(Opcode.TEXT, b"cd"),  # two frames at once
        frame(Opcode.TEXT, b"abc")[:-1],  # part of a frame
        encode_frame(Opcode.TEXT, b"ab"),  # unmasked: the general path fails it
        frame(Opcode.TEXT, b"\xff\xfe"),  # not UTF-8: the general path fails it
    ],
)
def test_receive_small_text_leaves_everything_else_to_receive_data(data):
    p = HybiProtocol()
    assert p.receive_small_text(data) is None
    assert p.events_received() == [] and p.data_to_send() == b""


def test_receive_small_text_waits_for_a_message_under_way_and_a_closed_connection():
    p = HybiProtocol()
    p.receive_data(frame(Opcode.TEXT, b"ab", fin=False))
    assert p.receive_small_text(frame(Opcode.TEXT, b"cd")) is None  # a new message may not start
    p.receive_data(frame(Opcode.CONTINUATION, b"cd"))
    assert p.events_received() == [TextMessage("abcd")]
    p.receive_data(frame(Opcode.TEXT, b"e"))  # an event not taken yet: order first
    assert p.receive_small_text(frame(Opcode.TEXT, b"f")) is None
    assert p.events_received() == [TextMessage("e")]
    small = HybiProtocol(max_message_size=3)
    assert small.receive_small_text(frame(Opcode.TEXT, b"abcd")) is None  # too big: refused there
    p.receive_data(close_frame(CloseCode.NORMAL))
    assert p.receive_small_text(frame(Opcode.TEXT, b"g")) is None
    assert Hixie76Protocol(KEYS).receive_small_text(b"\x00a\xff") is None


def test_idle_means_open_with_nothing_of_its_own_to_send():
    p = HybiProtocol()
    assert p.idle
    p.receive_data(frame(Opcode.PING, b"p"))  # a pong is queued: not idle until it is taken
    assert not p.idle
    p.data_to_send()
    assert p.idle
    p.receive_data(encode_frame(Opcode.TEXT, b"unmasked"))  # a failure waits: not idle
    assert not p.idle
    closing = HybiProtocol()
    closing.send_close()
    closing.data_to_send()
    assert not closing.idle  # our close frame went: nothing may follow it
