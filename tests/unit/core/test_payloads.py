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
