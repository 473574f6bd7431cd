"""Limits and refusals: body sizes, id shapes, origins, callbacks, sessions, deadlines.

Every refusal is a clear status (or close frame), one WARNING line saying why, and a
count under its reason in the statistics.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import websocket
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fallback.server.router import MAX_ID_LENGTH
from tests.server.hardening_app import LIMIT, make_app
from tests.support import http
from tests.support.live import LiveServer
from tests.support.sockjs import client_for

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    server = LiveServer(make_app).start()
    yield server
    server.stop()


def router(live: LiveServer, prefix: str) -> Any:
    assert live.app is not None
    return next(r for r in live.app.settings["fallback_routers"] if r.prefix == prefix)


def refusals(live: LiveServer, prefix: str) -> dict[str, int]:
    return live.call(lambda: dict(router(live, prefix).service.refused))


def session_url(live: LiveServer, prefix: str = "/h/echo") -> str:
    return f"{live.url}{prefix}/000/{uuid.uuid4().hex}"


def exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes, read until the server closes the connection."""
    sock = http.raw_exchange("127.0.0.1", port, data, timeout)
    try:
        return http.recv_until_closed(sock, timeout)
    finally:
        sock.close()


def status_of(raw: bytes) -> int:
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", raw)
    assert match, raw[:200]
    return int(match.group(1))


def wait_for(predicate: Any, timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met within {timeout}s")
        time.sleep(0.01)


# -- request bodies ---------------------------------------------------------------------

BODY_ENDPOINTS = ["xhr_send", "jsonp_send", "xhr", "xhr_streaming"]


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS)
def test_declared_oversized_body_is_refused_413_before_it_is_sent(live, endpoint):
    """Only the headers go out: the 413 arrives without the server waiting for the
    10 MB it was promised, and the connection ends (the body is never read)."""
    url = session_url(live)
    if endpoint in ("xhr_send", "jsonp_send"):
        assert http.post(url + "/xhr").text == "o\n"
    path = url.split(str(live.port), 1)[1] + "/" + endpoint
    before = refusals(live, "/h/echo").get("too_big", 0)
    raw = exchange(
        live.port,
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n".encode(),
    )
    assert status_of(raw) == 413
    assert raw.endswith(b"Message too big.")
    assert refusals(live, "/h/echo")["too_big"] == before + 1


def test_expect_100_continue_gets_413_instead_of_continue(live):
    url = session_url(live)
    assert http.post(url + "/xhr").text == "o\n"
    path = url.split(str(live.port), 1)[1] + "/xhr_send"
    raw = exchange(
        live.port,
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {LIMIT + 1}\r\n"
        "Expect: 100-continue\r\n\r\n".encode(),
    )
    assert b"100" not in raw.split(b"\r\n", 1)[0]
    assert status_of(raw) == 413


def test_chunked_body_is_refused_as_soon_as_it_grows_past_the_limit(live):
    url = session_url(live)
    assert http.post(url + "/xhr").text == "o\n"
    path = url.split(str(live.port), 1)[1] + "/xhr_send"
    sock = http.raw_exchange(
        "127.0.0.1",
        live.port,
        f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode(),
    )
    try:
        piece = b"x" * 600
        for _ in range(2):  # 1200 bytes > LIMIT, and the body never ends
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        raw = http.recv_until_closed(sock)
    finally:
        sock.close()
    assert status_of(raw) == 413
    assert raw.endswith(b"Message too big.")


def test_chunked_body_within_the_limit_is_delivered(live):
    client = client_for("xhr", live.url + "/h/echo")
    assert client.next_frame() == "o"
    path = client.session_url.split(str(live.port), 1)[1] + "/xhr_send"
    body = json.dumps(["chunked"]).encode()
    raw = exchange(
        live.port,
        f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n".encode()
        + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body),
    )
    assert status_of(raw) == 204
    assert client.receive_messages(1) == ["chunked"]


def test_body_at_the_limit_is_taken_and_one_byte_more_is_not(live):
    client = client_for("xhr", live.url + "/h/echo")
    assert client.next_frame() == "o"
    text = "y" * (LIMIT - len('[""]'))
    assert http.post(client.session_url + "/xhr_send", json.dumps([text])).status == 204
    assert client.receive_messages(1) == [text]
    response = http.post(client.session_url + "/xhr_send", json.dumps([text + "y"]))
    assert (response.status, response.text) == (413, "Message too big.")
    # The session is intact.
    assert http.post(client.session_url + "/xhr_send", '["after"]').status == 204
    assert client.receive_messages(1) == ["after"]


def test_form_encoded_jsonp_send_is_parsed_from_the_streamed_body(live):
    client = client_for("jsonp", live.url + "/h/echo")
    assert client.next_frame() == "o"
    client.send("form ✓")
    assert client.receive_messages(1) == ["form ✓"]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response = http.post(client.session_url + "/jsonp_send", "d=%ZZ%5B", headers=form)
    assert (response.status, response.text) == (500, "Broken JSON encoding.")


def test_a_refusal_is_logged_once_as_a_warning_and_counted(live, caplog):
    caplog.set_level(logging.INFO)
    url = session_url(live)
    assert http.post(url + "/xhr").text == "o\n"
    response = http.post(url + "/xhr_send", json.dumps(["z" * LIMIT]))
    assert response.status == 413
    wait_for(
        lambda: any(r.name == "tornado.access" and "413" in r.getMessage() for r in caplog.records),
        what="the access log line",
    )
    path = url.split(str(live.port), 1)[1] + "/xhr_send"
    mine = [r for r in caplog.records if path in r.getMessage()]
    warnings = [r for r in mine if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in mine]
    assert warnings[0].name == "fallback.service"
    assert "too_big" in warnings[0].getMessage()
    assert warnings[0].exc_info is None
    assert [r.levelno for r in mine if r.name == "tornado.access"] == [logging.INFO]


# -- session ids ------------------------------------------------------------------------

HTTP_ENDPOINTS = [
    ("POST", "xhr"),
    ("POST", "xhr_send"),
    ("POST", "xhr_streaming"),
    ("GET", "eventsource"),
    ("GET", "htmlfile?c=cb"),
    ("GET", "jsonp?c=cb"),
    ("POST", "jsonp_send"),
]
BAD_IDS = [
    ("", "abc"),
    ("000", ""),
    ("0.0", "abc"),
    ("000", "a.b"),
    ("000", "x" * (MAX_ID_LENGTH + 1)),
    ("s" * (MAX_ID_LENGTH + 1), "abc"),
]


@pytest.mark.parametrize(("server", "sid"), BAD_IDS)
@pytest.mark.parametrize(("method", "endpoint"), HTTP_ENDPOINTS)
def test_ids_the_protocol_does_not_allow_are_404_on_every_http_transport(
    live, method, endpoint, server, sid
):
    before = refusals(live, "/h/echo").get("not_found", 0)
    response = http.request(method, f"{live.url}/h/echo/{server}/{sid}/{endpoint}", body="[]")
    assert (response.status, response.text) == (404, "Not found.")
    assert refusals(live, "/h/echo")["not_found"] == before + 1


@pytest.mark.parametrize(("server", "sid"), BAD_IDS)
def test_ids_the_protocol_does_not_allow_are_404_on_websocket(live, server, sid):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(f"{live.ws_url}/h/echo/{server}/{sid}/websocket", timeout=5)
    assert refused.value.status_code == 404


@pytest.mark.parametrize("transport", ["xhr", "jsonp", "eventsource", "websocket"])
def test_ids_of_the_maximum_length_work(live, transport):
    url = f"{live.url}/h/echo/{'s' * MAX_ID_LENGTH}/{uuid.uuid4().hex:x<{MAX_ID_LENGTH}}"
    client = client_for(transport, live.url + "/h/echo", url)
    try:
        assert client.next_frame() == "o"
        client.send("long ids")
        assert client.receive_messages(1) == ["long ids"]
    finally:
        client.close()


def test_unknown_paths_outside_routers_are_plain_404_and_not_counted(live):
    def total() -> int:
        assert live.app is not None
        return sum(sum(r.service.refused.values()) for r in live.app.settings["fallback_routers"])

    before = live.call(total)
    response = http.get(live.url + "/nowhere/at/all")
    assert (response.status, response.text) == (404, "Not found.")
    assert live.call(total) == before


# -- origins ----------------------------------------------------------------------------

GOOD = "https://good.example"
EVIL = "https://evil.example"


@pytest.mark.parametrize(("method", "endpoint"), HTTP_ENDPOINTS)
@pytest.mark.parametrize("header", ["Origin", "Referer"])
def test_origin_allow_list_is_enforced_on_every_http_transport(live, method, endpoint, header):
    base = session_url(live, "/h/origins")
    if endpoint.endswith("_send"):
        assert http.post(base + "/xhr", headers={"Origin": GOOD}).text == "o\n"
    before = refusals(live, "/h/origins").get("origin", 0)
    value = EVIL if header == "Origin" else EVIL + "/page.html"
    response = http.request(method, f"{base}/{endpoint}", body="[]", headers={header: value})
    assert (response.status, response.text) == (403, "Origin not allowed.")
    assert refusals(live, "/h/origins")["origin"] == before + 1
    allowed = GOOD if header == "Origin" else GOOD + "/page.html"
    if endpoint.startswith(("xhr_streaming", "eventsource", "htmlfile")):
        with http.Stream(method, f"{base}/{endpoint}", headers={header: allowed}) as stream:
            assert stream.status == 200
    else:
        status = http.request(
            method, f"{base}/{endpoint}", body='["x"]', headers={header: allowed}
        ).status
        assert status in (200, 204)


@pytest.mark.parametrize("path", ["/000/{sid}/websocket", "/websocket"])
def test_origin_allow_list_is_enforced_on_both_websocket_endpoints(live, path):
    url = live.ws_url + "/h/origins" + path.format(sid=uuid.uuid4().hex)
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, timeout=5, origin=EVIL)
    assert refused.value.status_code == 403
    ws = websocket.create_connection(url, timeout=5, origin=GOOD)
    try:
        if path != "/websocket":
            assert ws.recv() == "o"
    finally:
        ws.close()


# -- callbacks --------------------------------------------------------------------------

SAFE_CALLBACK = re.compile(r"[A-Za-z0-9_.]+")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    callback=st.one_of(
        st.from_regex(r"[A-Za-z0-9_.]{1,32}", fullmatch=True),
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40),
        st.text(st.sampled_from("<>\"'();/ =-+%&*"), min_size=1, max_size=12).map("a".__add__),
    ),
    transport=st.sampled_from(["jsonp", "htmlfile"]),
    name=st.sampled_from(["c", "callback"]),
)
def test_callbacks_are_never_reflected_unless_safe(live, callback, transport, name):
    url = f"{session_url(live, '/h/fuzz')}/{transport}"
    query = quote(name, safe="") + "=" + quote(callback, safe="")
    if SAFE_CALLBACK.fullmatch(callback):
        if transport == "jsonp":
            response = http.get(f"{url}?{query}")
            assert (response.status, response.text) == (200, f'/**/{callback}("o");\r\n')
            return
        with http.Stream("GET", f"{url}?{query}") as stream:
            assert stream.status == 200
            head = stream.read_until(b"c.start();")
        assert f"var c = parent.{callback};".encode() in head
        return
    response = http.get(f"{url}?{query}")
    assert response.status == 500
    assert response.text in ('invalid "callback" parameter', '"callback" parameter required')


# -- sessions and queues ----------------------------------------------------------------


def test_sessions_past_max_sessions_get_1013_and_are_counted(live):
    first = client_for("xhr", live.url + "/h/busy")
    second = client_for("xhr", live.url + "/h/busy")
    assert first.next_frame() == "o" and second.next_frame() == "o"
    third = client_for("xhr", live.url + "/h/busy")
    assert third.next_frame() == 'c[1013,"Server busy, try again later"]'
    assert refusals(live, "/h/busy")["max_sessions"] >= 1
    # Abandoned sessions expire and make room again.
    wait_for(lambda: live.call(lambda: len(router(live, "/h/busy").sessions)) == 0, what="expiry")
    assert client_for("xhr", live.url + "/h/busy").next_frame() == "o"


def test_queue_past_max_queue_bytes_closes_the_session_with_3008(live, events):
    client = client_for("xhr", live.url + "/h/queue")
    assert client.next_frame() == "o"
    before = live.call(lambda: router(live, "/h/queue").sessions.counters.overflowed)
    client.send("flood 100 100")  # ~10 KB for a 4 KB queue, with nobody polling
    sid = client.session_url.rsplit("/", 1)[1]
    events.wait_closed(sid)
    assert [e[2] for e in events.events("close")] == [(3008, "Send queue overflow")]
    assert client.next_frame() == 'c[3008,"Send queue overflow"]'
    assert live.call(lambda: router(live, "/h/queue").sessions.counters.overflowed) == before + 1


# -- connection deadlines ----------------------------------------------------------------


@pytest.fixture(scope="module")
def strict() -> Iterator[LiveServer]:
    server = LiveServer(make_app, idle_connection_timeout=0.3, body_timeout=0.3).start()
    yield server
    server.stop()


def closed_within(sock: socket.socket, seconds: float) -> float:
    started = time.monotonic()
    http.recv_until_closed(sock, seconds)
    return time.monotonic() - started


def test_headers_that_never_finish_are_cut_at_the_idle_deadline(strict):
    sock = http.raw_exchange("127.0.0.1", strict.port, b"GET /h/echo HTTP/1.1\r\nHost: x\r\n")
    try:
        assert closed_within(sock, 3) < 3
    finally:
        sock.close()


def test_an_idle_keep_alive_connection_is_closed_at_the_idle_deadline(strict):
    sock = http.raw_exchange("127.0.0.1", strict.port, b"GET /h/echo HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        assert closed_within(sock, 3) < 3  # after the answer, nothing more: closed
    finally:
        sock.close()


def test_a_body_that_stalls_is_cut_at_the_body_deadline(strict):
    url = f"/h/echo/000/{uuid.uuid4().hex}/xhr_send"
    sock = http.raw_exchange(
        "127.0.0.1",
        strict.port,
        f'POST {url} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n["'.encode(),
    )
    try:
        assert closed_within(sock, 3) < 3
    finally:
        sock.close()


def test_a_long_poll_outlives_the_idle_deadline(strict):
    """The idle deadline covers waiting for a request, never a response in progress."""
    client = client_for("xhr", strict.url + "/h/slowpoll")
    assert client.next_frame() == "o"
    started = time.monotonic()
    assert client.next_frame(timeout=5) == "h"  # heartbeat_delay 0.8 > deadline 0.3
    assert time.monotonic() - started > 0.3
