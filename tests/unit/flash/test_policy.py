"""The sans-I/O Flash socket policy: recognising the request, building the answer."""

from __future__ import annotations

import ast
import itertools
import pathlib
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fallback.exceptions import ConfigurationError
from fallback.flash import policy as flashpolicy
from fallback.flash.policy import (
    POLICY_REQUEST,
    FlashPolicy,
    RequestState,
    bytes_still_needed,
    domains_from_origins,
    match_request,
    normalize_domain,
    normalize_ports,
)

# -- the request ---------------------------------------------------------------------------


def test_the_request_is_the_tag_and_a_nul():
    assert POLICY_REQUEST == b"<policy-file-request/>\x00"
    assert len(POLICY_REQUEST) == 23


def test_the_exact_request_is_complete():
    assert match_request(POLICY_REQUEST) is RequestState.COMPLETE


@pytest.mark.parametrize("length", range(len(POLICY_REQUEST)))
def test_every_proper_prefix_waits_for_more(length):
    assert match_request(POLICY_REQUEST[:length]) is RequestState.INCOMPLETE


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.1\r\n",
        b"<policy-file-request />\x00",  # the space printed in some old manuals
        b"<POLICY-FILE-REQUEST/>\x00",
        b"<policy-file-request/>\n",
        b"<policy-file-request/>\x00\x00",
        POLICY_REQUEST + b"GET / HTTP/1.1\r\n\r\n",
        b"\x00",
        b"<html>",
        b"\x16\x03\x01",  # a TLS ClientHello
    ],
)
def test_anything_else_is_refused(data):
    assert match_request(data) is RequestState.REFUSED


@given(cuts=st.lists(st.integers(0, len(POLICY_REQUEST)), max_size=10))
def test_a_request_split_anywhere_is_judged_piece_by_piece(cuts):
    points = sorted(set(cuts) | {0, len(POLICY_REQUEST)})
    received = b""
    for start, end in itertools.pairwise(points):
        assert match_request(received) is RequestState.INCOMPLETE
        assert bytes_still_needed(received) == len(POLICY_REQUEST) - len(received)
        received += POLICY_REQUEST[start:end]
    assert match_request(received) is RequestState.COMPLETE
    assert bytes_still_needed(received) == 0


@given(st.binary(max_size=40))
def test_only_prefixes_of_the_request_are_ever_accepted(data):
    state = match_request(data)
    if data == POLICY_REQUEST:
        assert state is RequestState.COMPLETE
    elif POLICY_REQUEST.startswith(data):
        assert state is RequestState.INCOMPLETE
    else:
        assert state is RequestState.REFUSED


def test_no_http_method_starts_like_the_request():
    # The in-band server tells the two apart by the first byte alone.
    assert flashpolicy.POLICY_REQUEST_FIRST_BYTE == b"<"
    for method in (b"GET", b"POST", b"PUT", b"HEAD", b"OPTIONS", b"DELETE", b"PRI"):
        assert not method.startswith(flashpolicy.POLICY_REQUEST_FIRST_BYTE)


# -- the answer ----------------------------------------------------------------------------


def test_the_answer_is_the_document_and_one_nul():
    policy = FlashPolicy(("app.example", "*.example.org"), ("8080",))
    assert policy.answer == (
        b'<?xml version="1.0"?>\n'
        b"<cross-domain-policy>\n"
        b'<allow-access-from domain="app.example" to-ports="8080"/>\n'
        b'<allow-access-from domain="*.example.org" to-ports="8080"/>\n'
        b"</cross-domain-policy>\n"
        b"\x00"
    )


def test_the_answer_parses_as_a_cross_domain_policy():
    policy = FlashPolicy.build(["a.example", "b.example"], [8080, "9000-9010"])
    root = ET.fromstring(policy.answer[:-1])
    assert root.tag == "cross-domain-policy"
    assert [(e.tag, e.get("domain"), e.get("to-ports")) for e in root] == [
        ("allow-access-from", "a.example", "8080,9000-9010"),
        ("allow-access-from", "b.example", "8080,9000-9010"),
    ]
    assert policy.answer.count(b"\x00") == 1


def test_a_policy_with_no_domain_grants_nothing():
    policy = FlashPolicy((), ("8080",))
    root = ET.fromstring(policy.answer[:-1])
    assert root.tag == "cross-domain-policy"
    assert list(root) == []


def test_attribute_values_are_xml_escaped():
    assert flashpolicy._xml_attribute("a&b<c>\"d'") == "a&amp;b&lt;c&gt;&quot;d&apos;"


@settings(max_examples=50)
@given(
    st.lists(
        st.from_regex(
            r"(\*\.)?[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\.[a-z]{2,5}){0,2}", fullmatch=True
        ),
        max_size=4,
    )
)
def test_any_accepted_domain_round_trips_through_the_xml(domains):
    policy = FlashPolicy(tuple(domains), ("443",))
    root = ET.fromstring(policy.answer[:-1])
    assert [element.get("domain") for element in root] == list(dict.fromkeys(domains))


@pytest.mark.parametrize(
    "domain",
    ["", "  ", 'a"b.example', "a b.example", "a\x00b", "<x>", "a&b", "exa/mple", "*.", "**"],
)
def test_domains_that_are_not_hosts_are_refused_at_start_up(domain):
    with pytest.raises(ConfigurationError, match="flash policy domain"):
        FlashPolicy((domain,), ("80",))


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("Example.COM", "example.com"),
        (" app.example ", "app.example"),
        ("*.example.org", "*.example.org"),
        ("*", "*"),
        ("10.1.2.3", "10.1.2.3"),
        ("::1", "::1"),
        ("localhost", "localhost"),
    ],
)
def test_domains_are_normalized(domain, expected):
    assert normalize_domain(domain) == expected


def test_one_string_of_domains_is_refused_by_the_dataclass():
    with pytest.raises(ConfigurationError, match="list"):
        FlashPolicy("app.example", ("80",))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        (8080, ("8080",)),
        ("8080", ("8080",)),
        ("80,443", ("80", "443")),
        ([80, "443", "8000-8100"], ("80", "443", "8000-8100")),
        ("*", ("*",)),
        (" 9000 - 9000 ", ("9000",)),
        ([8080, 8080], ("8080",)),
    ],
)
def test_ports_take_numbers_ranges_and_star(ports, expected):
    assert normalize_ports(ports) == expected


@pytest.mark.parametrize("ports", [0, 65536, -1, "x", "10-5", "1-2-3", True, [], "", "80,,x"])
def test_ports_that_are_not_ports_are_refused(ports):
    with pytest.raises(ConfigurationError, match="port"):
        normalize_ports(ports)


def test_low_ports_are_noticed():
    assert FlashPolicy((), ("80",)).grants_low_ports
    assert FlashPolicy((), ("*",)).grants_low_ports
    assert FlashPolicy((), ("1000-2000",)).grants_low_ports
    assert not FlashPolicy((), ("1024", "8080-8090")).grants_low_ports


# -- where the domains come from -----------------------------------------------------------


def test_domains_come_from_the_hosts_of_allowed_origins():
    origins = [
        "https://app.example",
        "app.example:8080",
        "http://Other.Example:81",
        "*.example.org",
        "null",
        "https://[::1]:8443",
        "http://",
    ]
    assert domains_from_origins(origins) == ("app.example", "other.example", "*.example.org", "::1")


def test_star_is_only_there_when_an_origin_list_says_so():
    assert domains_from_origins(["*"]) == ("*",)
    assert FlashPolicy.build(None, 8080, allowed_origins=[None]).domains == ()
    assert FlashPolicy.build(None, 8080, allowed_origins=[None, ["*"]]).domains == ("*",)
    assert FlashPolicy.build(None, 8080).domains == ()


def test_routers_origins_are_merged_in_order():
    policy = FlashPolicy.build(
        None, 8080, allowed_origins=[["https://a.example"], ["b.example", "a.example:1"]]
    )
    assert policy.domains == ("a.example", "b.example")
    assert policy.ports == ("8080",)


def test_explicit_domains_replace_the_origins_and_may_be_comma_separated():
    policy = FlashPolicy.build(
        ["x.example,y.example", "z.example"], "8080", allowed_origins=[["https://a.example"]]
    )
    assert policy.domains == ("x.example", "y.example", "z.example")
    assert FlashPolicy.build("p.example, q.example", 80).domains == ("p.example", "q.example")


def test_the_policy_builder_imports_no_io_library():
    tree = ast.parse(pathlib.Path(flashpolicy.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add((node.module or "").split(".")[0])
    assert "tornado" not in imported
    assert "asyncio" not in imported
    assert imported <= {"__future__", "dataclasses", "enum", "re", "collections", "urllib"}
