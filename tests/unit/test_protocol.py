"""The SockJS framing, escaping and decoding functions, on plain data."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fallback.core import frames as protocol
from fallback.exceptions import CallbackError, PayloadError

# The characters the protocol suite requires the server to escape (escapable_by_server),
# plus lone surrogates, which could not be encoded as UTF-8 otherwise.
MUST_ESCAPE = re.compile(
    "[\x00-\x1f\u200c-\u200f\u2028-\u202f\u2060-\u206f\ufff0-\uffff\ud800-\udfff]"
)


def test_quote_escapes_every_character_the_protocol_lists():
    # Separated by spaces: adjacent escaped surrogates would decode as one astral pair.
    killers = " ".join(chr(i) for i in range(0x10000) if MUST_ESCAPE.match(chr(i)))
    quoted = protocol.quote(killers)
    assert quoted.isascii()
    assert json.loads(quoted) == killers
    expected = '"' + "".join(
        {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}.get(c, f"\\u{ord(c):04x}")
        if c != " " else " "
        for c in killers
    ) + '"'
    assert quoted == expected


def test_lone_surrogates_travel_escaped():
    assert protocol.quote("\ud800") == '"\\ud800"'



def test_quote_keeps_ordinary_non_ascii_text_verbatim():
    assert protocol.quote("zażółć 漢字 😀") == '"zażółć 漢字 😀"'


@given(st.text())
def test_quote_round_trips_and_always_encodes_as_utf8(text):
    quoted = protocol.quote(text)
    assert json.loads(quoted) == text
    quoted.encode("utf-8")  # never raises, even for lone surrogates
    assert not MUST_ESCAPE.search(quoted)


def test_outgoing_message_encodes_once_and_caches_its_frame():
    message = protocol.OutgoingMessage('say "hi"')
    assert message.encoded == '"say \\"hi\\""'
    assert message.frame == 'a["say \\"hi\\""]'
    assert message.frame is message.frame


def test_messages_frame_joins_in_order():
    messages = [protocol.OutgoingMessage(t) for t in ("a", "b", "c")]
    assert protocol.messages_frame(messages) == 'a["a","b","c"]'
    assert protocol.messages_frame(messages[:1]) == 'a["a"]'


def test_close_frame_matches_the_protocol_bytes():
    assert protocol.close_frame(3000, "Go away!") == 'c[3000,"Go away!"]'
    assert protocol.ANOTHER_CONNECTION_FRAME == 'c[2010,"Another connection still open"]'
    assert protocol.is_close_frame('c[1,"x"]') and not protocol.is_close_frame("a[]")


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


@pytest.mark.parametrize("callback", ["callback", "_jp.a1b2", "x", "A.b_c.9"])
def test_safe_callbacks_pass(callback):
    assert protocol.check_callback(callback) == callback


@pytest.mark.parametrize(
    ("callback", "message"),
    [
        (None, '"callback" parameter required'),
        ("", '"callback" parameter required'),
        (" ", 'invalid "callback" parameter'),
        ("*", 'invalid "callback" parameter'),
        ("abc(", 'invalid "callback" parameter'),
        ("a-b", 'invalid "callback" parameter'),
        ("alert(1)//", 'invalid "callback" parameter'),
        ("x" * 129, 'invalid "callback" parameter'),
        ("a\nb", 'invalid "callback" parameter'),
    ],
)
def test_unsafe_callbacks_are_refused_without_echo(callback, message):
    with pytest.raises(CallbackError) as raised:
        protocol.check_callback(callback)
    assert raised.value.message == message


def test_jsonp_body_has_the_rosetta_flash_guard():
    assert protocol.jsonp_body("cb", 'a["x"]') == '/**/cb("a[\\"x\\"]");\r\n'


def test_htmlfile_prelude_is_padded_past_one_kibibyte():
    prelude = protocol.htmlfile_prelude("cb")
    assert len(prelude) > 1024
    assert "document.domain = document.domain;\n    var c = parent.cb;" in prelude
    assert prelude.endswith("\r\n\r\n")


def test_htmlfile_for_a_direct_parent_reaches_it_before_setting_document_domain():
    prelude = protocol.htmlfile_prelude("cb", direct=True)
    assert len(prelude) > 1024
    assert prelude.index("try { var c = parent.cb; }") < prelude.index("document.domain =")
    assert protocol.htmlfile_chunk("o") == '<script>\np("o");\n</script>\r\n'


def test_eventsource_and_xhr_envelopes():
    assert protocol.eventsource_chunk("o") == "data: o\r\n\r\n"
    assert protocol.eventsource_chunk('a["%20"]') == 'data: a["%2520"]\r\n\r\n'
    assert protocol.eventsource_chunk("%\r\n\x00") == "data: %25%0D%0A%00\r\n\r\n"
    assert protocol.xhr_chunk("o") == "o\n"
    assert protocol.XHR_STREAMING_PRELUDE == "h" * 2048 + "\n"


def test_iframe_page_escapes_the_script_url():
    page = protocol.iframe_page('https://x/"><script>')
    assert '<script src="https://x/&quot;&gt;&lt;script&gt;"></script>' in page


@pytest.mark.parametrize(
    ("part", "valid"), [("000", True), ("a b", True), ("", False), ("a.b", False), ("a/b", False)]
)
def test_session_url_parts(part, valid):
    assert protocol.is_valid_session_part(part) is valid


def test_htmlfile_chunk_cannot_end_its_script_block():
    chunk = protocol.htmlfile_chunk(protocol.OutgoingMessage("</script><!--").frame)
    assert chunk.count("<") == 2  # only the block's own tags
    body = chunk[len("<script>\np(") : -len(");\n</script>\r\n")]
    assert json.loads(json.loads(body)[1:]) == ["</script><!--"]
