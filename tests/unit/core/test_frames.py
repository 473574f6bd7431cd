"""Frames as the server sends them: escaping, batching, close frames, on plain data."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fallback.core import frames as protocol

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
    expected = (
        '"'
        + "".join(
            {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}.get(
                c, f"\\u{ord(c):04x}"
            )
            if c != " "
            else " "
            for c in killers
        )
        + '"'
    )
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
    ("part", "valid"), [("000", True), ("a b", True), ("", False), ("a.b", False), ("a/b", False)]
)
def test_session_url_parts(part, valid):
    assert protocol.is_valid_session_part(part) is valid


def test_a_close_frame_is_known_by_its_kind_or_by_its_first_character():
    assert protocol.is_close_frame(protocol.close_frame(3000, "Go away!"))
    assert not protocol.is_close_frame(protocol.OPEN_FRAME)
    assert protocol.is_close_frame('c[3000,"Go away!"]')
    assert not protocol.is_close_frame('a["c"]')
    # A Frame's kind decides, not its text.
    assert not protocol.is_close_frame(protocol.Frame(protocol.FrameKind.MESSAGES, "c"))


def test_acks_and_batches_are_typed_frames():
    assert protocol.ack_frame(3).kind is protocol.FrameKind.ACK
    batch = protocol.messages_frame([protocol.OutgoingMessage("a"), protocol.OutgoingMessage("b")])
    assert batch.kind is protocol.FrameKind.MESSAGES and batch == 'a["a","b"]'
