"""Status codes, headers and bodies of every HTTP endpoint, including for bad input."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from fallback.core.envelopes import JSONP_SENT_PAGE
from tests.support import http

pytestmark = pytest.mark.timeout(30)

NO_CACHE = "no-store, no-cache, no-transform, must-revalidate, max-age=0"


def session(live, prefix: str = "/echo") -> str:
    return f"{live.url}{prefix}/000/{uuid.uuid4().hex}"


def open_xhr(url: str) -> None:
    assert http.post(url + "/xhr").text == "o\n"


# -- greeting, info, iframe -------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/"])
def test_greeting(live, suffix):
    response = http.get(live.url + "/echo" + suffix)
    assert response.status == 200
    assert response.text == "Welcome to SockJS!\n"
    assert response.header("Content-Type") == "text/plain; charset=UTF-8"
    assert response.header("Set-Cookie") is None


@pytest.mark.parametrize("suffix", ["/a", "//", "/a/a", "/a/a/", "/a./a/xhr", "/a/a./xhr", "//xhr"])
def test_unknown_urls_are_404(live, suffix):
    assert http.get(live.url + "/echo" + suffix).status == 404


def test_info_describes_the_service_uncached_with_cors(live):
    response = http.get(live.url + "/echo/info", headers={"Origin": "https://a.example"})
    assert response.status == 200
    assert response.header("Content-Type") == "application/json; charset=UTF-8"
    assert response.header("Cache-Control") == NO_CACHE
    assert response.header("Access-Control-Allow-Origin") == "https://a.example"
    assert response.header("Access-Control-Allow-Credentials") == "true"
    body = json.loads(response.body)
    assert body["websocket"] is True and body["cookie_needed"] is False
    assert body["origins"] == ["*:*"]
    assert 0 <= body["entropy"] < 2**32
    assert json.loads(http.get(live.url + "/echo/info").body)["entropy"] != body["entropy"]


def test_info_reflects_settings(live):
    assert json.loads(http.get(live.url + "/nows/info").body)["websocket"] is False
    assert json.loads(http.get(live.url + "/cookie/info").body)["cookie_needed"] is True


def test_iframe_is_cacheable_and_answers_if_none_match_with_304(live):
    first = http.get(live.url + "/echo/iframe-0.1.2.html?t=1")
    assert first.status == 200
    assert first.header("Content-Type") == "text/html; charset=UTF-8"
    assert re.search(r"max-age=31536000", first.header("Cache-Control") or "")
    assert first.header("Expires") and first.header("ETag")
    assert b"SockJS.bootstrap_iframe();" in first.body
    again = http.get(
        live.url + "/echo/iframe.html", headers={"If-None-Match": first.header("ETag")}
    )
    assert again.status == 304 and again.body == b""
    assert http.get(live.url + "/echo/IFRAME.HTML").status == 404


# -- preflight and CORS -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/info", "OPTIONS, GET"),
        ("/a/a/xhr", "OPTIONS, POST"),
        ("/a/a/xhr_send", "OPTIONS, POST"),
        ("/a/a/xhr_streaming", "OPTIONS, POST"),
    ],
)
@pytest.mark.parametrize("origin", ["https://a.example", "null"])
def test_preflight_is_cached_for_a_year_and_echoes_origin(live, path, methods, origin):
    response = http.request(
        "OPTIONS",
        live.url + "/echo" + path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "a, b",
        },
    )
    assert response.status == 204
    assert response.body == b""
    assert response.header("Access-Control-Allow-Methods") == methods
    assert response.header("Access-Control-Allow-Origin") == origin
    assert response.header("Access-Control-Allow-Credentials") == "true"
    assert response.header("Access-Control-Allow-Headers") == "a, b"
    assert int(response.header("Access-Control-Max-Age") or 0) >= 1_000_000
    assert "public" in (response.header("Cache-Control") or "")
    assert response.header("Expires")


def test_no_origin_means_star_without_credentials(live):
    response = http.post(session(live) + "/xhr")
    assert response.header("Access-Control-Allow-Origin") == "*"
    assert response.header("Access-Control-Allow-Credentials") is None


# -- sending ----------------------------------------------------------------------------


def test_xhr_send_answers_204_with_text_plain(live):
    url = session(live)
    open_xhr(url)
    response = http.post(url + "/xhr_send", '["x"]', headers={"Origin": "https://a.example"})
    assert response.status == 204 and response.body == b""
    assert response.header("Content-Type") == "text/plain; charset=UTF-8"
    assert response.header("Cache-Control") == NO_CACHE
    assert response.header("Access-Control-Allow-Origin") == "https://a.example"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('["x', "Broken JSON encoding."),
        ("", "Payload expected."),
        ("[1,2]", "Broken JSON encoding."),
        (b"\xff", "Broken JSON encoding."),
    ],
)
def test_bad_payload_is_500_with_message_and_session_survives(live, body, message):
    url = session(live)
    open_xhr(url)
    response = http.post(url + "/xhr_send", body)
    assert response.status == 500
    assert response.text == message
    assert response.header("Content-Type") == "text/plain; charset=UTF-8"
    assert http.post(url + "/xhr_send", '["still alive"]').status == 204
    assert http.post(url + "/xhr").text == 'a["still alive"]\n'


def test_empty_array_is_accepted_as_a_no_op(live):
    url = session(live)
    open_xhr(url)
    assert http.post(url + "/xhr_send", "[]").status == 204
    assert http.post(url + "/xhr_send", '["a"]').status == 204
    assert http.post(url + "/xhr").text == 'a["a"]\n'


@pytest.mark.parametrize("endpoint", ["xhr_send", "jsonp_send"])
def test_sending_to_an_unknown_session_is_404(live, endpoint):
    response = http.post(session(live) + "/" + endpoint, '["x"]')
    assert response.status == 404
    assert response.text == "Session not found."


def test_oversized_message_is_413_and_session_survives(live):
    url = session(live, "/small")
    open_xhr(url)
    response = http.post(url + "/xhr_send", json.dumps(["x" * 100]))
    assert response.status == 413
    assert http.post(url + "/xhr_send", '["ok"]').status == 204


def test_jsonp_send_accepts_form_and_raw_bodies(live):
    url = session(live)
    assert http.get(url + "/jsonp?c=x").text == '/**/x("o");\r\n'
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response = http.post(url + "/jsonp_send", "d=%5B%22a%22%5D", headers=form)
    assert (response.status, response.text) == (200, "ok")
    assert response.header("Content-Type") == "text/plain; charset=UTF-8"
    assert (
        http.post(url + "/jsonp_send", '["%62"]', headers={"Content-Type": "text/plain"}).text
        == "ok"
    )
    for empty in ("", "d=", "p=p"):
        response = http.post(url + "/jsonp_send", empty, headers=form)
        assert (response.status, response.text) == (500, "Payload expected.")
    assert http.get(url + "/jsonp?c=x").text == '/**/x("a[\\"a\\",\\"%62\\"]");\r\n'


def test_jsonp_send_asked_for_a_signal_answers_a_page_that_tells_its_frame(live):
    url = session(live)
    assert json.loads(http.get(live.url + "/echo/info").body)["send_signal"] == {"v": 1}
    assert http.get(url + "/jsonp?c=x").text == '/**/x("o");\r\n'
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response = http.post(url + "/jsonp_send?i=f1&fb_signal=1", "d=%5B%22a%22%5D", headers=form)
    assert (response.status, response.text) == (200, JSONP_SENT_PAGE)
    assert response.header("Content-Type") == "text/html; charset=UTF-8"
    assert 'parent.postMessage("fallback:sent", "*")' in response.text
    # Only when asked, and a refused send is refused as ever (no page says it arrived).
    assert http.post(url + "/jsonp_send?fb_signal=0", "d=%5B%22b%22%5D", headers=form).text == "ok"
    response = http.post(url + "/jsonp_send?fb_signal=1", "d=", headers=form)
    assert (response.status, response.text) == (500, "Payload expected.")
    response = http.post(session(live) + "/jsonp_send?fb_signal=1", "d=%5B%22c%22%5D", headers=form)
    assert (response.status, response.text) == (404, "Session not found.")
    assert http.get(url + "/jsonp?c=x").text == '/**/x("a[\\"a\\",\\"b\\"]");\r\n'


# -- methods ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/a/a/xhr", "OPTIONS, POST"),
        ("PUT", "/a/a/xhr_send", "OPTIONS, POST"),
        ("GET", "/a/a/xhr_streaming", "OPTIONS, POST"),
        ("POST", "/a/a/eventsource", "GET"),
        ("POST", "/a/a/htmlfile", "GET"),
        ("POST", "/a/a/jsonp", "GET"),
        ("GET", "/a/a/jsonp_send", "POST"),
        ("POST", "/info", "OPTIONS, GET"),
        ("POST", "/a/a/websocket", "GET"),
        ("DELETE", "", "GET"),
    ],
)
def test_wrong_method_is_405_with_allow_and_nothing_else(live, method, path, allow):
    response = http.request(method, live.url + "/echo" + path)
    assert response.status == 405
    assert response.header("Allow") == allow
    assert response.header("Content-Type") is None
    assert response.body == b""


def test_websocket_url_without_upgrade_is_400(live):
    assert http.get(live.url + "/echo/0/0/websocket").status == 400
    response = http.get(
        live.url + "/echo/0/0/websocket", headers={"Upgrade": "WebSocket", "Connection": "close"}
    )
    assert response.status == 400


# -- callbacks --------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["jsonp", "htmlfile"])
def test_missing_callback_is_500(live, transport):
    response = http.get(f"{live.url}/echo/a/a/{transport}")
    assert response.status == 500
    assert response.text == '"callback" parameter required'


@pytest.mark.parametrize("transport", ["jsonp", "htmlfile"])
@pytest.mark.parametrize(
    "callback", ["%3Cscript%3Ealert(1)%3C/script%3E", "a%20b", "abc%28", "x-y"]
)
def test_unsafe_callback_is_500_and_never_echoed(live, transport, callback):
    response = http.get(f"{live.url}/echo/a/a/{transport}?c={callback}")
    assert response.status == 500
    assert response.text == 'invalid "callback" parameter'
    assert b"script" not in response.body and b"alert" not in response.body


# -- cookies ----------------------------------------------------------------------------


def test_jsessionid_is_set_on_session_requests_when_enabled(live):
    url = session(live, "/cookie")
    response = http.post(url + "/xhr")
    assert response.header("Set-Cookie").split(";")[0] == "JSESSIONID=dummy"
    assert "path=/" in response.header("Set-Cookie").lower()
    response = http.post(url + "/xhr_send", '["a"]', headers={"Cookie": "JSESSIONID=abc"})
    assert response.header("Set-Cookie").split(";")[0] == "JSESSIONID=abc"
    assert http.get(live.url + "/cookie/info").header("Set-Cookie") is None


def test_no_cookie_unless_enabled(live):
    assert http.post(session(live) + "/xhr").header("Set-Cookie") is None


# -- origins ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"Origin": "https://good.example"}, True),
        ({"Origin": "https://evil.example"}, False),
        ({"Origin": "https://app.trusted.example"}, True),
        ({"Referer": "https://evil.example/page"}, False),
        ({"Referer": "https://good.example/page"}, True),
        ({}, True),
    ],
)
def test_allowed_origins_refuse_other_pages_with_403(live, headers, allowed):
    url = session(live, "/origins")
    response = http.post(url + "/xhr", headers=headers)
    if allowed:
        assert (response.status, response.text) == (200, "o\n")
    else:
        assert (response.status, response.text) == (403, "Origin not allowed.")


# -- HTTP/1.0 ---------------------------------------------------------------------------


def test_http10_streaming_response_ends_with_the_connection(live):
    path = f"/close/000/{uuid.uuid4().hex}/xhr_streaming"
    sock = http.raw_exchange(
        "127.0.0.1",
        live.port,
        f"POST {path} HTTP/1.0\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n".encode(),
    )
    try:
        data = http.recv_until_closed(sock, timeout=5)
    finally:
        sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"transfer-encoding" not in head.lower() and b"content-length" not in head.lower()
    assert body == b"h" * 2048 + b'\no\nc[3000,"Go away!"]\n'


def test_http11_streaming_response_is_chunked_and_closes_the_connection_after_it(live):
    # After the prelude the response is written straight to the socket (not through
    # Tornado), so it must end as a valid chunked body, say Connection: close, and close.
    path = f"/close/000/{uuid.uuid4().hex}/xhr_streaming"
    sock = http.raw_exchange(
        "127.0.0.1",
        live.port,
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode(),
    )
    try:
        data = http.recv_until_closed(sock, timeout=5)
    finally:
        sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"transfer-encoding: chunked" in head.lower()
    assert b"connection: close" in head.lower()
    chunks = []
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            assert body == b"\r\n"
            break
        chunks.append(body[:size])
        body = body[size + 2 :]
    # One chunk per frame: clients (and the official suite) read a frame per chunk.
    assert chunks == [b"h" * 2048 + b"\n", b"o\n", b'c[3000,"Go away!"]\n']


def test_http10_greeting_has_a_content_length(live):
    sock = http.raw_exchange("127.0.0.1", live.port, b"GET /echo HTTP/1.0\r\n\r\n")
    try:
        data = http.recv_until_closed(sock)
    finally:
        sock.close()
    assert b"Content-Length: 19" in data
    assert data.endswith(b"Welcome to SockJS!\n")
