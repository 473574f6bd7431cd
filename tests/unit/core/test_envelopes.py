"""What wraps a frame on each transport: callbacks, chunks, pages, on plain data."""

from __future__ import annotations

import json

import pytest

from fallback.core import envelopes as protocol
from fallback.core.frames import OutgoingMessage
from fallback.exceptions import CallbackError


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


def test_htmlfile_chunk_cannot_end_its_script_block():
    chunk = protocol.htmlfile_chunk(OutgoingMessage("</script><!--").frame)
    assert chunk.count("<") == 2  # only the block's own tags
    body = chunk[len("<script>\np(") : -len(");\n</script>\r\n")]
    assert json.loads(json.loads(body)[1:]) == ["</script><!--"]
