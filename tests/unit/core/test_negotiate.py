"""Transport negotiation: the table, applied to real User-Agent strings."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fallback.core import negotiate
from fallback.core.settings import TRANSPORTS
from tests.unit.helpers import ROOT

ALL = list(negotiate.DEFAULT_ORDER)
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
MODERN_OPERA = CHROME + " OPR/106.0.0.0"
PRESTO = "Opera/9.80 (Windows NT 6.1; U; en) Presto/2.10.289 Version/12.02"
ANDROID_2 = (
    "Mozilla/5.0 (Linux; U; Android 2.3.6; en-us; Nexus S Build/GRK39F) AppleWebKit/533.1 "
    "(KHTML, like Gecko) Version/4.0 Mobile Safari/533.1"
)
ANDROID_2_CHROME = "Mozilla/5.0 (Linux; Android 2.3; X) AppleWebKit/535.19 Chrome/18.0 Mobile"
IE7 = "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 5.1)"
IE9 = "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)"
IE11 = "Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
OPERA_MINI = (
    "Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348; U; en) Presto/2.5.25"
)


def without(*names: str) -> list[str]:
    return [name for name in ALL if name not in names]


@pytest.mark.parametrize(
    ("user_agent", "kwargs", "expected"),
    [
        (CHROME, {}, ALL),
        (None, {}, ALL),
        ("", {"cookie_needed": True}, ALL),
        ("", {"cross_origin": True}, without("htmlfile")),
        (MODERN_OPERA, {}, ALL),
        (PRESTO, {}, without("xhr_streaming")),
        (ANDROID_2, {}, without("xhr_streaming")),
        (ANDROID_2_CHROME, {}, ALL),
        (IE7, {}, ALL),
        (IE7, {"cross_origin": True}, without("eventsource", "xhr_streaming", "htmlfile", "xhr")),
        (IE9, {"cross_origin": True}, without("htmlfile")),
        (IE9, {"cookie_needed": True}, ALL),
        (
            IE9,
            {"cross_origin": True, "cookie_needed": True},
            without("xhr_streaming", "htmlfile", "xhr"),
        ),
        (IE11, {"cross_origin": True, "cookie_needed": True}, without("htmlfile")),
        (IPHONE, {}, without("flash")),
        (OPERA_MINI, {}, without("flash", "xhr_streaming")),
    ],
    ids=lambda v: v[:40] if isinstance(v, str) else None,
)
def test_user_agent_families(user_agent, kwargs, expected):
    assert negotiate.offered_transports(user_agent, **kwargs) == expected


def test_disabled_transports_are_not_offered_and_order_is_kept():
    assert negotiate.offered_transports(CHROME, disabled={"xhr_streaming", "jsonp"}) == without(
        "xhr_streaming", "jsonp"
    )


def test_flash_needs_the_raw_endpoint_and_websocket():
    assert negotiate.offered_transports(CHROME, flash=False) == without("flash")
    assert negotiate.offered_transports(CHROME, websocket=False) == without("websocket", "flash")
    assert negotiate.offered_transports(CHROME, disabled={"websocket"}) == without("websocket")


@given(st.text(max_size=300), st.booleans(), st.booleans(), st.sets(st.sampled_from(TRANSPORTS)))
def test_any_user_agent_gets_an_ordered_subset_that_always_ends_in_polling(ua, cross, cookies, off):
    offered = negotiate.offered_transports(
        ua, disabled=off, cross_origin=cross, cookie_needed=cookies
    )
    assert offered == [name for name in ALL if name in offered]
    assert not set(offered) & off
    if "jsonp" not in off:
        assert offered[-1] == "jsonp"  # no family loses the transport that works everywhere


@pytest.mark.parametrize(
    ("origin", "host", "expected"),
    [
        (None, "example.com", False),
        ("", "example.com", False),
        ("https://example.com", "example.com", False),
        ("http://Example.com:8080", "example.com:8080", False),
        ("http://example.com:8080", "example.com", True),
        ("https://app.example.com", "api.example.com", True),
        ("null", "example.com", True),
        ("http://[::1", "example.com", True),
        ("https://example.com", None, True),
    ],
)
def test_cross_origin_is_origin_against_host(origin, host, expected):
    assert negotiate.is_cross_origin(origin, host) is expected


def test_readme_shows_the_table_as_generated():
    readme = os.path.join(ROOT, "docs", "guides", "shim.md")
    with open(readme, encoding="utf-8") as file:
        assert negotiate.markdown_table() in file.read()


def test_every_quirk_drops_a_known_transport_and_says_why():
    for quirk in negotiate.QUIRKS:
        assert quirk.drops and quirk.drops <= set(ALL)
        assert quirk.why and quirk.family


def test_a_table_row_is_built_from_its_parts():
    # QUIRKS is built when the module is imported; this builds a row the same way, so
    # that what the builder keeps is checked too.
    row = negotiate._quirk(
        "Family", r"\bX/1\b", ["xhr", "jsonp"], "because", cross_origin_only=True
    )
    assert row == negotiate.Quirk(
        "Family",
        re.compile(r"\bX/1\b"),
        frozenset({"xhr", "jsonp"}),
        "because",
        cross_origin_only=True,
        cookies_only=False,
    )
    cookies = negotiate._quirk("F", "", [], "w", cookies_only=True)
    assert cookies.cookies_only and not cookies.cross_origin_only


def test_quirks_match_same_origin_pages_without_cookies_unless_told():
    assert negotiate.matching_quirks("") == []
    assert negotiate.matching_quirks(None) == []

    def families(**kwargs: bool) -> list[str]:
        return [quirk.family for quirk in negotiate.matching_quirks(IE9, **kwargs)]

    # Without cookies, IE 8-9's XDomainRequest reaches another origin well enough.
    assert families(cross_origin=True) == ["Any browser, page on another origin"]
    assert families(cross_origin=True, cookie_needed=True) == [
        "Any browser, page on another origin",
        "Internet Explorer 8-9, page on another origin, cookies needed",
    ]
