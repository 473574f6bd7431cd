"""The binary extension in the core: encoding, decoding, bounds, queueing and resume,
driven by plain calls (`fallback.core.binary`)."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fallback.core import binary
from fallback.core.connection_info import EMPTY_INFO
from fallback.core.frames import BinaryFrame, FrameKind, OutgoingMessage, SessionId
from fallback.core.payloads import (
    decode_resumable_payload,
    decode_send_payload,
    decode_websocket_payload,
)
from fallback.core.resume import ResumeState
from fallback.core.session import Session
from fallback.core.settings import Settings
from fallback.exceptions import BinaryUnsupported, MessageTooBig, PayloadError
from tests.unit.helpers import FakeClock, Listener, Receiver


def session_with(binary_: bool = True, resume: bool = False, **settings):
    listener = Listener()
    session = Session(
        SessionId("s1"),
        listener,
        EMPTY_INFO,
        Settings(**settings),
        "xhr",
        clock=FakeClock(),
        resume=ResumeState("c" * 20, 1024, 1 << 20) if resume else None,
        binary=binary_,
    )
    listener.session = session
    session.attach(Receiver())
    assert session.take_frame() == "o"
    if resume:
        session.announce_resumable()
        assert session.take_frame().startswith('r{"cid"')
    return session, listener


def b(data: bytes) -> dict[str, str]:
    return {"b": base64.b64encode(data).decode("ascii")}


# -- the wire form ----------------------------------------------------------------------


@given(st.binary(max_size=600))
def test_a_binary_message_travels_as_base64_in_an_object_and_decodes_to_the_same_bytes(data):
    message = OutgoingMessage(data)
    assert message.binary and message.text == "" and message.size == len(data)
    frame = message.frame
    assert frame.kind is FrameKind.MESSAGES
    (item,) = json.loads(frame[1:])
    assert binary.decode_item(item) == data


def test_text_and_binary_share_an_array_frame_in_order():
    from fallback.core.frames import messages_frame

    frame = messages_frame(
        [OutgoingMessage("a"), OutgoingMessage(b"\x00\xff"), OutgoingMessage("c")]
    )
    assert frame == 'a["a",{"b":"AP8="},"c"]'


@pytest.mark.parametrize(
    "item",
    [{"b": "not base64!"}, {"b": "AAA"}, {"b": 1}, {"b": "AA==", "x": 1}, {"c": "AA=="}],
)
def test_broken_binary_items_are_payload_errors(item):
    with pytest.raises(PayloadError):
        decode_send_payload(json.dumps([item]), binary=True)


def test_a_plain_session_refuses_binary_items_as_broken_json():
    with pytest.raises(PayloadError, match="Broken JSON encoding"):
        decode_send_payload(json.dumps([b(b"x")]))
    with pytest.raises(PayloadError, match="Broken JSON encoding"):
        decode_websocket_payload(json.dumps([b(b"x")]))


def test_payload_decoders_return_bytes_for_binary_items_among_strings():
    body = json.dumps(["t", b(b"\x01\x02"), ""])
    assert decode_send_payload(body, binary=True) == ["t", b"\x01\x02", ""]
    assert decode_websocket_payload(body, binary=True) == ["t", b"\x01\x02", ""]
    resumable = json.dumps([{"seq": 0}, "t", b(b"\x01"), {"ack": 3}])
    payload = decode_resumable_payload(resumable, websocket=False, binary=True)
    assert payload.messages == ["t", b"\x01"]
    assert payload.seq == 0 and payload.ack == 3


def test_only_the_value_1_asks_for_the_extension():
    assert binary.requested("1")
    assert not binary.requested(None)
    assert not binary.requested("0")
    assert not binary.requested("yes")


def test_message_size_counts_decoded_bytes():
    assert binary.message_size(b"abc") == 3
    assert binary.message_size("abc") == 3
    assert binary.message_size("é") == 2


def test_the_body_limit_leaves_room_for_base64_of_a_whole_message_in_a_form_post():
    limit = 30_000
    data = bytes(range(256)) * (limit // 256)
    body = json.dumps([b(data)])
    # Worst case: every +, / and = percent-escaped (three bytes) in a form post.
    escaped = sum(3 if c in "+/=" else 1 for c in body) + len("d=")
    assert escaped <= binary.wire_limit(limit)
    assert Settings(max_message_size=limit).max_body_size == binary.wire_limit(limit)
    assert Settings(max_message_size=limit, binary=False).max_body_size == limit


# -- the session ------------------------------------------------------------------------


def test_binary_messages_reach_the_listener_as_bytes_in_order_with_text():
    session, listener = session_with()
    session.receive_send_payload(json.dumps(["a", b(b"\x00"), "b"]))
    session.receive_binary(b"\xff")
    assert listener.events[1:] == [
        ("message", "a"),
        ("message", b"\x00"),
        ("message", "b"),
        ("message", b"\xff"),
    ]


def test_the_bound_is_on_each_decoded_message_not_on_the_base64():
    limit = 3000
    session, listener = session_with(max_message_size=limit)
    session.receive_send_payload(json.dumps([b(bytes(limit))]))  # base64 is 4000 chars
    assert listener.events[-1] == ("message", bytes(limit))
    with pytest.raises(MessageTooBig):
        session.receive_send_payload(json.dumps([b(bytes(limit + 1))]))
    with pytest.raises(MessageTooBig):
        session.receive_send_payload(json.dumps(["é" * (limit // 2 + 1)]))
    with pytest.raises(MessageTooBig):
        session.receive_binary(bytes(limit + 1))
    with pytest.raises(MessageTooBig):
        session.receive_send_payload("[" + " " * binary.wire_limit(limit) + "]")


def test_a_plain_session_keeps_its_body_bound_and_refuses_binary_sends():
    session, _ = session_with(binary_=False, max_message_size=100)
    with pytest.raises(MessageTooBig):
        session.receive_send_payload(json.dumps(["x" * 100]))
    with pytest.raises(BinaryUnsupported):
        session.enqueue(OutgoingMessage(b"x"))
    assert session.queued == 0


def test_queue_bounds_count_binary_bytes():
    session, _ = session_with(max_queue_bytes=10)
    assert session.enqueue(OutgoingMessage(b"x" * 10))
    assert session.queued_bytes == 10
    assert not session.enqueue(OutgoingMessage(b"y"))  # overflow closes the session


def test_http_receivers_get_binary_inside_the_array_frame():
    session, _ = session_with()
    session.enqueue(OutgoingMessage("a"))
    session.enqueue(OutgoingMessage(b"\x01"))
    assert session.take_frame() == 'a["a",{"b":"AQ=="}]'


def test_websocket_receivers_get_each_binary_message_alone_between_text_arrays():
    session, _ = session_with()
    for body in ("a", "b", b"\x01", b"", "c", b"\x02"):
        session.enqueue(OutgoingMessage(body))
    frames = []
    while (frame := session.take_frame(binary_frames=True)) is not None:
        frames.append(("bin", frame.data) if isinstance(frame, BinaryFrame) else frame)
    assert frames == ['a["a","b"]', ("bin", b"\x01"), ("bin", b""), 'a["c"]', ("bin", b"\x02")]
    assert session.queued == 0 and session.queued_bytes == 0


def test_split_takes_keep_the_queue_byte_count_exact():
    session, _ = session_with()
    for body in ("ab", b"xyz", "c"):
        session.enqueue(OutgoingMessage(body))
    assert session.queued_bytes == 6
    session.take_frame(binary_frames=True)
    assert session.queued_bytes == 4
    session.take_frame(binary_frames=True)
    assert session.queued_bytes == 1


def test_a_plain_session_never_splits_for_binary_frames():
    session, _ = session_with(binary_=False)
    session.enqueue(OutgoingMessage("a"))
    session.enqueue(OutgoingMessage("b"))
    assert session.take_frame(binary_frames=True) == 'a["a","b"]'


# -- resume ------------------------------------------------------------------------------


def test_resume_replays_binary_messages_exactly_as_text_ones():
    session, _ = session_with(resume=True)
    for body in ("a", b"\x00\x01", "b", b"\xff"):
        session.enqueue(OutgoingMessage(body))
    sent = []
    while (frame := session.take_frame(binary_frames=True)) is not None:
        sent.append(frame)
    assert len(sent) == 4
    # The client got the first two; it comes back over an HTTP transport.
    session.take_over(2, "xhr", "c" * 20, 1)
    replay = [session.take_frame() for _ in range(3)]
    assert replay[0] == "o"
    assert json.loads(replay[1][1:])["seen"] == 0
    assert replay[2] == 'a["b",{"b":"/w=="}]'


def test_client_binary_messages_count_for_acks_and_repeats_are_dropped():
    session, listener = session_with(resume=True)
    session.receive_binary(b"1")
    session.receive_send_payload(json.dumps([{"seq": 1}, b(b"2"), "3"]))
    # The same request again (a browser retry): nothing is delivered twice.
    session.receive_send_payload(json.dumps([{"seq": 1}, b(b"2"), "3"]))
    assert [e for e in listener.events if e[0] == "message"] == [
        ("message", b"1"),
        ("message", b"2"),
        ("message", "3"),
    ]
    assert session.resume is not None and session.resume.received == 3
