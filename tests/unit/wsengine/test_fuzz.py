"""Property tests: the parsers under random splits and random garbage.

* A valid stream of frames gives the same messages however the bytes are split.
* Garbage never makes `Protocol.receive_data` raise; it ends in a failed or open
  connection, and the readers raise nothing but `ProtocolError` subclasses.
* `handshake.accept` raises nothing but `HandshakeError` on random headers.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fallback.core.payloads import decode_websocket_payload
from fallback.exceptions import PayloadError
from fallback.wsengine import (
    BinaryMessage,
    CloseReceived,
    ConnectionFailed,
    HandshakeError,
    Hixie76Protocol,
    HybiProtocol,
    Ping,
    ProtocolError,
    State,
    TextMessage,
    accept,
)
from fallback.wsengine.events import Event
from fallback.wsengine.frames import FrameReader, HixieReader, Item, encode_frame

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

masks = st.binary(min_size=4, max_size=4)


@st.composite
def messages(draw: st.DrawFn) -> tuple[list[bytes], list[Event]]:
    """Frames of a few whole messages (some fragmented, pings in between) and the
    events they must produce."""
    frames: list[bytes] = []
    events: list[Event] = []
    for _ in range(draw(st.integers(1, 5))):
        binary = draw(st.booleans())
        if binary:
            payload = draw(st.binary(max_size=300))
        else:
            payload = draw(st.text(max_size=100)).encode("utf-8", "surrogatepass")
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError:
                continue
        cuts = sorted(draw(st.lists(st.integers(0, len(payload)), max_size=3)))
        parts = [payload[a:b] for a, b in zip([0, *cuts], [*cuts, len(payload)], strict=True)]
        for i, part in enumerate(parts):
            opcode = (2 if binary else 1) if i == 0 else 0
            last = i == len(parts) - 1
            frames.append(encode_frame(opcode, part, fin=last, mask=draw(masks)))
            if last:
                events.append(BinaryMessage(payload) if binary else TextMessage(payload.decode()))
            if draw(st.integers(0, 4)) == 0:
                ping = draw(st.binary(max_size=20))
                frames.append(encode_frame(0x9, ping, mask=draw(masks)))
                events.append(Ping(ping))
    return frames, events


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@FUZZ
@given(messages(), st.lists(st.integers(0, 10_000), max_size=20))
def test_random_splits_give_the_same_events(stream, cuts):
    frames, expected = stream
    data = b"".join(frames)
    p = HybiProtocol()
    events: list[Event] = []
    for chunk in split(data, cuts):
        p.receive_data(chunk)
        events.extend(p.events_received())
    assert events == expected
    assert p.state is State.OPEN


@FUZZ
@given(st.lists(st.binary(max_size=200), max_size=10))
def test_garbage_never_raises_out_of_receive_data(chunks):
    p = HybiProtocol(max_message_size=1000)
    for chunk in chunks:
        p.receive_data(chunk)
    events = p.events_received()
    p.data_to_send()
    for event in events[:-1]:
        assert not isinstance(event, (ConnectionFailed, CloseReceived))
    if p.state is State.CLOSED:
        assert p.close_expected()
        assert events and isinstance(events[-1], (ConnectionFailed, CloseReceived))


@FUZZ
@given(st.lists(st.binary(max_size=200), max_size=10))
def test_readers_raise_only_protocol_errors(chunks):
    for reader in (FrameReader(1000), FrameReader(1000, require_mask=False), HixieReader(1000)):
        out: list[Item] = []
        try:
            for chunk in chunks:
                reader.feed(chunk, out)
        except ProtocolError as error:
            assert 1000 <= error.code <= 1011
        for opcode, payload in out:
            assert isinstance(payload, str if opcode == 1 else bytes)


@FUZZ
@given(st.binary(max_size=8), st.lists(st.binary(max_size=50), max_size=8))
def test_hixie_garbage_never_raises(key3, chunks):
    p = Hixie76Protocol((1, 2), max_message_size=100)
    p.send_text("o")
    p.receive_data(key3)
    for chunk in chunks:
        p.receive_data(chunk)
    p.events_received()
    p.data_to_send()


@FUZZ
@given(
    st.sampled_from(["GET", "POST", "get", ""]),
    st.dictionaries(
        st.sampled_from(
            [
                "Upgrade",
                "Connection",
                "Sec-WebSocket-Key",
                "Sec-WebSocket-Version",
                "Sec-WebSocket-Key1",
                "Sec-WebSocket-Key2",
                "Host",
                "Origin",
                "Sec-WebSocket-Origin",
                "Sec-WebSocket-Protocol",
            ]
        ),
        st.one_of(
            st.text(max_size=40),
            st.sampled_from(["websocket", "Upgrade", "13", "8", "1 2", "dGhlIHNhbXBsZSBub25jZQ=="]),
        ),
    ),
)
def test_handshake_raises_only_handshake_errors(method, headers):
    try:
        handshake = accept(method, "/path", headers, origin_allowed=lambda origin: True)
    except HandshakeError as error:
        assert error.status in (400, 403, 405, 426)
        return
    assert handshake.response.startswith(b"HTTP/1.1 101 ")
    assert handshake.response.endswith(b"\r\n\r\n")
    assert handshake.response.count(b"\r\n\r\n") == 1


@FUZZ
@given(
    st.one_of(
        st.text(max_size=30).map(lambda t: '["' + t + '"]'),
        st.text(max_size=30),
        st.lists(st.text(max_size=10), max_size=3).map(json.dumps),
    )
)
def test_sockjs_websocket_payload_short_path_agrees_with_json(text):
    try:
        expected = json.loads(text)
    except ValueError:
        expected = None
    try:
        got = decode_websocket_payload(text)
    except PayloadError:
        assert (
            expected is None
            or not (
                isinstance(expected, str)
                or (isinstance(expected, list) and all(isinstance(x, str) for x in expected))
            )
            or text == ""
        )
        return
    if text == "":
        assert got == []
    else:
        assert got == ([expected] if isinstance(expected, str) else expected)
