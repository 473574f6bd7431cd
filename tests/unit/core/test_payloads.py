"""What clients send: payload decoding and its protocol errors, on plain data."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fallback.core import payloads as protocol
from fallback.exceptions import PayloadError


@pytest.mark.parametrize(
    ("payload", "messages"),
    [('["a"]', ["a"]), (b'["a","b"]', ["a", "b"]), ("[]", []), ('["\\u2028"]', ["\u2028"])],
)
def test_send_payload_decodes_arrays_of_strings(payload, messages):
    assert protocol.decode_send_payload(payload) == messages


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ("", "Payload expected."),
        (b"", "Payload expected."),
        ('["x', "Broken JSON encoding."),
        ('"x"', "Broken JSON encoding."),
        ("[1]", "Broken JSON encoding."),
        ('{"a": 1}', "Broken JSON encoding."),
        (b"\xff\xfe", "Broken JSON encoding."),
        ("[" * 100000, "Broken JSON encoding."),
    ],
)
def test_send_payload_refuses_with_the_protocol_message(payload, error):
    with pytest.raises(PayloadError) as raised:
        protocol.decode_send_payload(payload)
    assert raised.value.message == error
    assert raised.value.status == 500


@pytest.mark.parametrize(
    ("payload", "messages"),
    [("", []), ("[]", []), ('"a"', ["a"]), ('["a","b"]', ["a", "b"])],
)
def test_websocket_payload_takes_a_string_or_an_array(payload, messages):
    assert protocol.decode_websocket_payload(payload) == messages


@given(st.binary())
def test_decoders_raise_only_payload_errors_on_garbage(data):
    for decode in (protocol.decode_send_payload, protocol.decode_websocket_payload):
        try:
            result = decode(data)
        except PayloadError:
            continue
        assert isinstance(result, list) and all(isinstance(m, str) for m in result)


@given(st.lists(st.text()))
def test_decoders_accept_every_array_of_strings(messages):
    payload = json.dumps(messages)
    assert protocol.decode_send_payload(payload) == messages
    assert protocol.decode_websocket_payload(payload) == messages


# -- resumable sessions: strings, and the controls of the resume extension ------------------


@pytest.mark.parametrize(
    ("payload", "websocket", "decoded"),
    [
        ('["a", "b"]', False, protocol.ResumablePayload(["a", "b"])),
        ('"a"', True, protocol.ResumablePayload(["a"])),
        ("", True, protocol.ResumablePayload([])),
        (b'[{"seq": 4}, "a"]', False, protocol.ResumablePayload(["a"], seq=4)),
        ('[{"ack": 3}, "a", {"ack": 5}, {"ack": 4}]', False, protocol.ResumablePayload(["a"], 5)),
        ('[{"ack": 0}]', False, protocol.ResumablePayload([], 0)),
        (
            '["a", {"close": [4000, "bye"]}]',
            True,
            protocol.ResumablePayload(["a"], None, (4000, "bye")),
        ),
        ('[{"close": [1002, ""]}]', False, protocol.ResumablePayload([], None, (1000, ""))),
        (
            '[{"close": [3000, "' + "r" * 130 + '"]}]',
            False,
            protocol.ResumablePayload([], None, (3000, "r" * 123)),
        ),
    ],
)
def test_resumable_payloads_split_messages_from_controls(payload, websocket, decoded):
    assert protocol.decode_resumable_payload(payload, websocket=websocket) == decoded


@pytest.mark.parametrize(
    ("payload", "websocket", "error"),
    [
        ("", False, "Payload expected."),
        ("[", False, "Broken JSON encoding."),
        ("[" * 100_000, True, "Broken JSON encoding."),
        (b"\xff", True, "Broken JSON encoding."),
        ('"a"', False, "Broken JSON encoding."),  # a lone string only on a WebSocket
        ('{"ack": 1}', True, "Broken JSON encoding."),
        ("5", True, "Broken JSON encoding."),
        ('[{"ack": 1, "seq": 2}]', False, "Broken JSON encoding."),
        ("[{}]", False, "Broken JSON encoding."),
        ("[5]", False, "Broken JSON encoding."),
        ('[["a"]]', False, "Broken JSON encoding."),
        ('[{"ack": -1}]', False, "Broken JSON encoding."),
        ('[{"ack": true}]', False, "Broken JSON encoding."),
        ('[{"ack": 1.5}]', False, "Broken JSON encoding."),
        ('["a", {"seq": 1}]', False, "Broken JSON encoding."),  # seq comes first
        ('[{"seq": 1}, {"seq": 2}]', False, "Broken JSON encoding."),
        ('[{"close": [4000]}]', False, "Broken JSON encoding."),
        ('[{"close": [4000, "a", "b"]}]', False, "Broken JSON encoding."),
        ('[{"close": ["4000", "a"]}]', False, "Broken JSON encoding."),
        ('[{"close": [-1, "a"]}]', False, "Broken JSON encoding."),
        ('[{"close": [4000, 5]}]', False, "Broken JSON encoding."),
        ('[{"close": "4000"}]', False, "Broken JSON encoding."),
        ('[{"other": 1}]', False, "Broken JSON encoding."),
    ],
)
def test_malformed_resumable_payloads_are_refused_with_the_protocol_message(
    payload, websocket, error
):
    with pytest.raises(PayloadError) as raised:
        protocol.decode_resumable_payload(payload, websocket=websocket)
    assert raised.value.message == error


@pytest.mark.parametrize(
    "payload",
    ['"a"]', 'xy"a"]', '["a"x', '["a"', '["a', "[1]", '{"a": "b"}', b"\xff", "[" * 100_000],
)
def test_websocket_payload_refuses_what_only_looks_like_one_message(payload):
    # Text shaped almost like the one-message short path is still parsed as JSON is.
    with pytest.raises(PayloadError) as raised:
        protocol.decode_websocket_payload(payload)
    assert raised.value.message == "Broken JSON encoding."


@pytest.mark.parametrize(
    ("payload", "messages"),
    [('[""]', [""]), ('["a b"]', ["a b"]), ('["\\u00e9"]', ["é"]), ('["a\\"b"]', ['a"b'])],
)
def test_the_one_message_short_path_answers_as_json_does(payload, messages):
    assert protocol.decode_websocket_payload(payload) == messages == json.loads(payload)
