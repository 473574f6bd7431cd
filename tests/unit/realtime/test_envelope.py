"""The channel envelope parser: every request shape, and garbage."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fallback.codes import EnvelopeErrorCode as ErrorCode
from fallback.exceptions import EnvelopeError
from fallback.realtime import envelope
from fallback.realtime.envelope import Op


def test_a_subscribe_request_parses():
    request = envelope.parse('{"v":1,"op":"subscribe","id":7,"channel":"presence-a","token":"t"}')
    assert (request.op, request.id, request.channel, request.token) == (
        Op.SUBSCRIBE,
        7,
        "presence-a",
        "t",
    )


def test_a_trigger_needs_an_event_not_a_channel():
    request = envelope.parse('{"op":"trigger","event":"clicked.button","data":{"x":1}}')
    assert (request.op, request.event, request.data) == (Op.TRIGGER, "clicked.button", {"x": 1})


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", ErrorCode.BAD_REQUEST),
        ("[]", ErrorCode.BAD_REQUEST),
        ('{"op":"x"}', ErrorCode.UNKNOWN_OP),
        ('{"v":2,"op":"publish","channel":"a"}', ErrorCode.UNSUPPORTED_VERSION),
        ('{"op":"publish","channel":"' + "a" * 129 + '"}', ErrorCode.BAD_CHANNEL),
        ('{"op":"publish","channel":"a/b"}', ErrorCode.BAD_CHANNEL),
        ('{"op":"subscribe","channel":"a","token":[]}', ErrorCode.BAD_REQUEST),
        ('"x" ' * 30000, ErrorCode.BAD_REQUEST),
    ],
)
def test_bad_requests_carry_a_code(text, code):
    with pytest.raises(EnvelopeError) as raised:
        envelope.parse(text)
    assert raised.value.code == code


def test_the_request_id_comes_back_even_in_errors():
    with pytest.raises(EnvelopeError) as raised:
        envelope.parse('{"op":"dance","id":"abc"}')
    assert raised.value.request_id == "abc"


@given(st.text(max_size=500))
def test_garbage_raises_only_envelope_errors(text):
    try:
        envelope.parse(text)
    except EnvelopeError as error:
        assert 4000 <= error.code < 4100


@given(
    st.dictionaries(
        st.sampled_from(["v", "op", "id", "channel", "token", "data", "event"]),
        st.one_of(
            st.none(),
            st.integers(),
            st.text(max_size=40),
            st.booleans(),
            st.lists(st.integers(), max_size=3),
        ),
    )
)
def test_any_object_parses_or_is_refused_with_a_code(fields):
    try:
        request = envelope.parse(json.dumps(fields))
    except EnvelopeError as error:
        assert error.code in set(ErrorCode)
    else:
        assert isinstance(request.op, Op)


def test_answers_are_compact_json():
    assert json.loads(envelope.error(4011, "bad", 3, "private-x")) == {
        "v": 1,
        "op": "error",
        "id": 3,
        "code": 4011,
        "message": "bad",
        "channel": "private-x",
    }
    assert (
        envelope.message("news", {"a": "é"})
        == '{"v":1,"op":"message","channel":"news","data":{"a":"é"}}'
    )


def test_a_subscribe_may_carry_the_position_to_recover_from():
    from fallback.channels.history import Position

    request = envelope.parse(
        '{"op":"subscribe","id":1,"channel":"news","since":{"offset":41,"epoch":"a1b2"}}'
    )
    assert request.since == Position(41, "a1b2")
    assert envelope.parse('{"op":"subscribe","channel":"news","since":null}').since is None
    # (only subscribe recovers: elsewhere the field means nothing)
    assert envelope.parse('{"op":"publish","channel":"n","since":5}').since is None


@given(
    st.one_of(
        st.integers(), st.text(), st.lists(st.integers()), st.dictionaries(st.text(), st.integers())
    )
)
def test_any_other_since_is_a_bad_request_naming_since(value):
    text = json.dumps({"op": "subscribe", "id": 3, "channel": "news", "since": value})
    if value is None:
        return
    with pytest.raises(EnvelopeError) as caught:
        envelope.parse(text)
    assert caught.value.code == ErrorCode.BAD_REQUEST and "since" in caught.value.message
    assert caught.value.request_id == 3


def test_stamp_adds_the_position_to_an_envelope_and_keeps_it_json():
    from fallback.channels.history import Position

    text = envelope.stamp(envelope.message("news", {"a": "}"}), Position(7, "e-1"))
    assert json.loads(text) == {
        "v": 1,
        "op": "message",
        "channel": "news",
        "data": {"a": "}"},
        "offset": 7,
        "epoch": "e-1",
    }
