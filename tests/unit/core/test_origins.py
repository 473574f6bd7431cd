"""Origin matching at every boundary: scheme, default ports, wildcards, `*`, `null`,
malformed origins, `host:*` -- and the server's own origin, allowed by default."""

from __future__ import annotations

import pytest

from fallback.core.origins import (
    check_pattern,
    frame_ancestors,
    opens_everything,
    origin_allowed,
    parse_origin,
    pattern_matches,
    request_origin,
    same_origin,
)
from fallback.core.settings import Settings
from fallback.exceptions import ConfigurationError

# -- patterns -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "origin", "matches"),
    [
        # scheme
        ("https://good.example", "https://good.example", True),
        ("https://good.example", "http://good.example", False),
        ("http://good.example", "https://good.example", False),
        ("good.example", "http://good.example", True),
        ("good.example", "https://good.example", True),
        ("good.example", "ws://good.example", False),
        ("wss://good.example", "https://good.example", False),
        # default ports, explicit or implicit, on either side
        ("https://good.example", "https://good.example:443", True),
        ("https://good.example:443", "https://good.example", True),
        ("http://good.example:80", "http://good.example", True),
        ("http://good.example", "http://good.example:80", True),
        ("https://good.example", "https://good.example:8443", False),
        ("https://good.example:8443", "https://good.example", False),
        ("https://good.example:80", "https://good.example", False),
        ("http://good.example", "http://good.example:443", False),
        ("good.example", "http://good.example:8080", False),
        ("good.example", "https://good.example:443", True),
        ("good.example", "https://good.example:80", False),
        ("good.example:8080", "http://good.example:8080", True),
        ("good.example:8080", "https://good.example:8080", True),
        ("good.example:8080", "http://good.example", False),
        ("good.example:443", "https://good.example", True),
        ("good.example:80", "https://good.example", False),
        # host:* -- any port, scheme as written
        ("good.example:*", "http://good.example:1234", True),
        ("good.example:*", "https://good.example", True),
        ("good.example:*", "http://evil.example:1234", False),
        ("https://good.example:*", "https://good.example:8443", True),
        ("https://good.example:*", "http://good.example:8443", False),
        # wildcard: subdomains at any depth, never look-alikes nor the bare domain
        ("*.trusted.example", "https://a.trusted.example", True),
        ("*.trusted.example", "http://a.b.trusted.example", True),
        ("*.trusted.example", "https://eviltrusted.example", False),
        ("*.trusted.example", "https://xtrusted.example", False),
        ("*.trusted.example", "https://trusted.example.evil.example", False),
        ("*.trusted.example", "https://a.trusted.example.evil.example", False),
        ("*.trusted.example", "https://trusted.example", False),
        ("*.trusted.example", "https://.trusted.example", False),
        ("*.trusted.example", "https://a.trusted.example:8443", False),
        ("*.trusted.example:*", "https://a.trusted.example:8443", True),
        ("*.trusted.example:8443", "https://a.trusted.example:8443", True),
        ("https://*.trusted.example", "https://a.trusted.example", True),
        ("https://*.trusted.example", "http://a.trusted.example", False),
        # case
        ("HTTPS://Good.Example", "https://good.example", True),
        ("https://good.example", "HTTPS://GOOD.EXAMPLE", True),
        # exact host, not a prefix or a suffix of it
        ("https://good.example", "https://good.example.evil.example", False),
        ("https://good.example", "https://notgood.example", False),
        # * matches every page, null included; null only itself
        ("*", "https://anything.example", True),
        ("*", "null", True),
        ("null", "null", True),
        ("NULL", "null", True),
        ("null", "https://good.example", False),
        ("https://good.example", "null", False),
        ("*.example", "null", False),
        ("good.example:*", "null", False),
        # IPv6 literals
        ("http://[::1]:8080", "http://[::1]:8080", True),
        ("[::1]:*", "http://[::1]:9", True),
        ("[::1]:*", "http://[::2]:9", False),
    ],
)
def test_pattern_matches_at_every_boundary(pattern, origin, matches):
    assert pattern_matches(pattern, origin) is matches


@pytest.mark.parametrize(
    "origin",
    [
        "https://good.example/",
        "https://good.example/path",
        "https://user@good.example",
        "https://evil.example@good.example",
        "https://good.example:99999",
        "https://good.example:0",
        "https://good.example:abc",
        "https://good.example:",
        "https://good.example:+80",
        "good.example",
        "//good.example",
        "ftp://good.example",
        "file://good.example",
        "https://",
        "",
        "https://good.example, https://evil.example",
        "https://good.example?x",
        "https://good.example#x",
        "https://good .example",
        "https://good.example.",
        "https://[::1",
        "https://a:b:c",
        "https://good\\.example",
    ],
)
def test_a_malformed_origin_matches_no_pattern_but_star(origin):
    for pattern in ("good.example:*", "*.example:*", "https://good.example", "good.example"):
        assert not pattern_matches(pattern, origin), pattern
    assert parse_origin(origin) is None
    assert pattern_matches("*", origin)


def test_parse_origin_fills_in_the_default_port():
    assert parse_origin("HTTPS://Good.Example") == parse_origin("https://good.example:443")
    assert parse_origin("http://good.example").port == 80  # type: ignore[union-attr]
    assert parse_origin("wss://good.example").port == 443  # type: ignore[union-attr]
    assert parse_origin("null") is None


@pytest.mark.parametrize(
    "pattern",
    [
        "*",
        "null",
        "https://good.example",
        "https://good.example:8443",
        "https://good.example:*",
        "good.example",
        "good.example:8080",
        "good.example:*",
        "*.trusted.example",
        "*.trusted.example:*",
        "https://*.trusted.example",
        "http://[::1]:8080",
        "127.0.0.1:*",
    ],
)
def test_valid_patterns_are_accepted(pattern):
    assert check_pattern(pattern) is None
    Settings(allowed_origins=(pattern,))


@pytest.mark.parametrize(
    "pattern",
    [
        "",
        " ",
        "https://good.example/",
        "https://good.example/path",
        "https://user@good.example",
        "ftp://good.example",
        "good.example:99999",
        "good.example:port",
        "https://",
        "*.",
        "**",
        "*example.com",
        "good*.example",
        "https://good.example:",
        3,
    ],
)
def test_malformed_patterns_are_refused_at_start_up(pattern):
    assert check_pattern(pattern) is not None
    with pytest.raises(ConfigurationError, match="allowed_origins"):
        Settings.from_kwargs({"allowed_origins": [pattern]})


def test_allowed_origins_none_means_the_default():
    assert Settings.from_kwargs({"allowed_origins": None}).allowed_origins == ()
    assert Settings(allowed_origins=None).allowed_origins == ()  # type: ignore[arg-type]
    assert Settings.from_kwargs({"allowed_origins": "*"}).allowed_origins == ("*",)


def test_only_star_opens_everything():
    assert opens_everything(["https://good.example", " * "])
    assert not opens_everything(["*.example", "*:8080", "null"])
    assert not opens_everything(())
    assert not opens_everything(None)


# -- the server's own origin --------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "host", "scheme", "same"),
    [
        ("http://app.example:8000", "app.example:8000", "http", True),
        ("http://APP.example:8000", "App.Example:8000", "http", True),
        ("http://app.example:9000", "app.example:8000", "http", False),
        ("http://app.example", "app.example:8000", "http", False),
        ("http://app.example:8000", "app.example", "http", False),
        ("http://app.example", "app.example", "http", True),
        ("http://app.example:80", "app.example", "http", True),
        ("http://app.example", "app.example:80", "http", True),
        ("https://app.example", "app.example", "https", True),
        ("https://app.example", "app.example:443", "https", True),
        ("https://app.example:8443", "app.example:8443", "https", True),
        ("https://app.example:443", "app.example:8443", "https", False),
        # the scheme: an http page is not the origin of an https server...
        ("http://app.example", "app.example", "https", False),
        ("http://app.example:8443", "app.example:8443", "https", False),
        # ... an https page is for plain HTTP (a TLS-terminating proxy in front)
        ("https://app.example", "app.example", "http", True),
        ("https://app.example", "app.example:80", "http", False),
        ("http://evil.example", "app.example", "http", False),
        ("http://app.example.evil.example", "app.example", "http", False),
        ("http://evil.app.example", "app.example", "http", False),
        ("null", "app.example", "http", False),
        ("http://app.example", None, "http", False),
        ("http://app.example", "", "http", False),
        ("http://app.example", "app.example:x", "http", False),
        ("http://[::1]:8080", "[::1]:8080", "http", True),
        ("http://app.example/", "app.example", "http", False),
        ("ws://app.example", "app.example", "http", False),
    ],
)
def test_same_origin_compares_scheme_host_and_port(origin, host, scheme, same):
    assert same_origin(origin, host, scheme) is same


@pytest.mark.parametrize(
    ("origin", "allowed", "fetch_site", "verdict"),
    [
        # A request that names no page: a non-browser client, or an old browser's
        # same-origin GET...
        (None, (), None, True),
        (None, (), "same-origin", True),
        (None, (), "none", True),
        # ... unless the browser says it is another site's page that hid its name.
        (None, (), "cross-site", False),
        (None, (), "Same-Site", False),
        (None, ("https://good.example",), "cross-site", False),
        (None, ("*",), "cross-site", True),
        # Other sites: only through the list.
        ("https://evil.example", (), None, False),
        ("https://evil.example", None, None, False),
        ("https://evil.example", ("https://good.example",), None, False),
        ("https://good.example", ("https://good.example",), None, True),
        ("https://evil.example", ("*",), None, True),
        # The null origin is refused unless listed.
        ("null", (), None, False),
        ("null", ("https://good.example", "*.example"), None, False),
        ("null", ("null",), None, True),
        ("null", ("*",), None, True),
        # The server's own page needs no list.
        ("http://app.example:8000", (), None, True),
        ("http://app.example:8000", ("https://good.example",), None, True),
    ],
)
def test_origin_allowed_is_the_same_origin_plus_the_list(origin, allowed, fetch_site, verdict):
    assert (
        origin_allowed(origin, allowed, "app.example:8000", "http", fetch_site=fetch_site)
        is verdict
    )


@pytest.mark.parametrize(
    ("origin", "referer", "expected"),
    [
        ("https://good.example", "https://evil.example/page", "https://good.example"),
        (None, "https://good.example/page?x=1", "https://good.example"),
        (None, "https://good.example:8443/", "https://good.example:8443"),
        (None, "/relative/page", None),
        (None, None, None),
        ("", "", None),
        (None, "http://[::1", "null"),
        ("null", "https://good.example/", "null"),
    ],
)
def test_request_origin_prefers_origin_then_referer(origin, referer, expected):
    assert request_origin(origin, referer) == expected


@pytest.mark.parametrize(
    "pattern",
    ["ftp://*.trusted.example", "[::1", "[::1]x", "[::1]:x", "*.[::1]", "a:b:c"],
)
def test_more_malformed_patterns_are_refused(pattern):
    assert check_pattern(pattern) is not None


@pytest.mark.parametrize(
    ("origin", "host", "same"),
    [
        ("http://[::1]", "[::1]", True),
        ("http://[::1]", "[::1", False),
        ("http://[::1]", "[::1]80", False),
        ("http://[::1]", "a:b:c", False),
    ],
)
def test_same_origin_with_bracketed_hosts(origin, host, same):
    assert same_origin(origin, host, "http") is same


@pytest.mark.parametrize(
    ("allowed", "directive"),
    [
        (None, "frame-ancestors 'self'"),
        ((), "frame-ancestors 'self'"),
        (
            (" https://App.Example ", "*.trusted.example:*", "NULL", "null"),
            "frame-ancestors 'self' https://app.example *.trusted.example:*",
        ),
        (("https://app.example", " * "), "frame-ancestors *"),
    ],
)
def test_frame_ancestors_translates_the_allow_list(allowed, directive):
    assert frame_ancestors(allowed) == directive


@pytest.mark.parametrize(
    ("pattern", "origin", "matches"),
    [
        # an explicit port keeps the scheme written with it
        ("https://good.example:8443", "http://good.example:8443", False),
        ("http://good.example:8080", "https://good.example:8080", False),
        # a one-letter first label under a wildcard
        ("*.a.example", "https://b.a.example", True),
        ("*.a.example", "https://b.ba.example", False),
    ],
)
def test_pattern_matches_more_boundaries(pattern, origin, matches):
    assert check_pattern(pattern) is None
    assert pattern_matches(pattern, origin) is matches


@pytest.mark.parametrize(
    ("origin", "port"),
    [
        ("https://good.example:1", 1),
        ("https://good.example:65535", 65535),
        ("https://good.example:65536", None),
        ("https://good.example:00080", 80),
    ],
)
def test_ports_run_from_1_to_65535(origin, port):
    parsed = parse_origin(origin)
    assert (parsed.port if parsed else None) == port
    assert (check_pattern(origin) is None) is (port is not None)


def test_a_refused_pattern_is_told_what_an_entry_looks_like():
    assert check_pattern(" ") == "entries must be non-empty strings"
    assert check_pattern("https://good.example/") == (
        "use *, null, scheme://host[:port|:*], host[:port|:*] or *.domain (no path, no user info)"
    )


def test_origin_allowed_takes_the_request_as_plain_http_unless_told():
    assert origin_allowed("http://app.example", (), "app.example")
    assert not origin_allowed("http://app.example", (), "app.example", "https")
    assert origin_allowed("https://app.example", (), "app.example", "https")


def test_a_bracketed_name_under_a_wildcard_is_refused():
    for pattern in ("*.[1]", "*.[ab]", "*.[1]:8080"):
        assert check_pattern(pattern) is not None, pattern


def test_the_null_pattern_is_no_host_named_null():
    assert not pattern_matches("null", "http://null")
    assert not pattern_matches("NULL", "https://null:443")
    assert pattern_matches("null", " NULL ")


@pytest.mark.parametrize("referer", ["//good.example/page", "mailto:someone", "about:blank"])
def test_a_referer_without_scheme_and_host_names_no_page(referer):
    assert request_origin(None, referer) is None


def test_same_origin_takes_the_request_as_plain_http_unless_told():
    assert same_origin("http://app.example", "app.example")
    assert not same_origin("http://app.example", "app.example", "https")
    # Only https pages count for a plain-HTTP request; no other scheme is a request's.
    assert not same_origin("https://app.example", "app.example", "gopher")
