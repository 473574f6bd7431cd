"""ConnectionInfo: what the request that opened a session said, read as Tornado reads it."""

from __future__ import annotations

from fallback.core.connection_info import EMPTY_INFO, ConnectionInfo

INFO = ConnectionInfo(
    ip="192.0.2.1",
    headers={"user-agent": "test", "x-empty": ""},
    cookies={"sid": "abc"},
    arguments={"a": ["1", "2"], "none": []},
    path="/echo/000/abc/xhr",
)


def test_headers_are_found_whatever_the_case_of_their_name():
    assert INFO.get_header("User-Agent") == "test"
    assert INFO.get_header("USER-AGENT") == "test"
    assert INFO.get_header("x-empty", "default") == ""
    assert INFO.get_header("Referer") is None
    assert INFO.get_header("Referer", "none") == "none"


def test_cookies_are_found_by_their_exact_name():
    assert INFO.get_cookie("sid") == "abc"
    assert INFO.get_cookie("SID") is None
    assert INFO.get_cookie("other", "x") == "x"


def test_an_argument_given_twice_is_its_last_value():
    assert INFO.get_argument("a") == "2"
    assert INFO.get_argument("none", "d") == "d"
    assert INFO.get_argument("missing") is None


def test_the_empty_info_knows_nothing():
    assert EMPTY_INFO.get_header("host") is None
    assert EMPTY_INFO.get_cookie("sid") is None
    assert EMPTY_INFO.get_argument("c", "x") == "x"
