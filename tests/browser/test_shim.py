"""fallback.js in Chromium against our server: every transport, the WebSocket API, batching."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.browser import apps
from tests.browser.conftest import (
    SHIM_PATH,
    events_of,
    open_socket,
    wait_closed,
    wait_open,
    wait_received,
)

pytestmark = pytest.mark.timeout(60)

#: (transport, whether the page is on another origin than the service). htmlfile needs the
#: same origin; the others are exercised cross-origin, through CORS.
TRANSPORTS = [
    ("websocket", True),
    ("eventsource", True),
    ("xhr_streaming", True),
    ("htmlfile", False),
    ("xhr", True),
    ("jsonp", True),
]
TRICKY = [
    "plain",
    "",
    "😀 \u2028\u2029 \ufeff \x00 \ud7ff",
    '</script> "quoted" \\ back',
    "é" * 3000,
]


def harness(open_page, live, cross_origin, *, other_origin: bool = False, attributes: str = ""):
    page_url = (cross_origin if other_origin else live.url) + apps.pages.add(
        apps.page(attributes=attributes)
    )
    return open_page(page_url)


@pytest.mark.parametrize(("transport", "other_origin"), TRANSPORTS, ids=[t for t, _ in TRANSPORTS])
def test_each_transport_echoes_messages_in_order(
    open_page, live, cross_origin, events, transport, other_origin
):
    page = harness(open_page, live, cross_origin, other_origin=other_origin)
    open_socket(page, live.url + "/recorded", {"transports": [transport]})
    assert wait_open(page)["transport"] == transport
    assert page.evaluate("sock.transport") == transport
    assert page.evaluate("sock.readyState") == 1

    sent = TRICKY + [f"message {i}" for i in range(40)]
    page.evaluate("messages => messages.forEach(m => sock.send(m))", sent)
    assert wait_received(page, len(sent)) == sent
    server_side = [e for e in events.events("message")]
    assert [e[2] for e in server_side] == sent
    assert {e[1] for e in server_side} == {transport}


@pytest.mark.parametrize(("transport", "other_origin"), TRANSPORTS, ids=[t for t, _ in TRANSPORTS])
def test_server_close_reaches_onclose_with_code_and_reason(
    open_page, live, cross_origin, transport, other_origin
):
    page = harness(open_page, live, cross_origin, other_origin=other_origin)
    open_socket(page, live.url + "/recorded", {"transports": [transport]})
    wait_open(page)
    page.evaluate("sock.send('before'); sock.send('close please'); sock.send('after')")
    close = wait_closed(page)
    assert (close["code"], close["reason"], close["wasClean"]) == (4001, "as you wish", True)
    assert page.evaluate("received") == ["before"]
    assert page.evaluate("sock.readyState") == 3
    assert [e["type"] for e in events_of(page)] == ["open", "close"]


@pytest.mark.parametrize(
    ("transport", "server_code"),
    [("websocket", 3005), ("xhr_streaming", 3005), ("eventsource", 3005), ("jsonp", 3005)],
)
def test_client_close_fires_onclose_and_ends_the_server_session(
    open_page, live, events, transport, server_code
):
    page = harness(open_page, live, live.url)
    open_socket(page, live.url + "/recorded", {"transports": [transport]})
    wait_open(page)
    page.evaluate("sock.close(3005, 'bye now'); window.stateAfterClose = sock.readyState")
    assert page.evaluate("stateAfterClose") == 2  # CLOSING until the event fires
    close = wait_closed(page)
    assert (close["code"], close["reason"], close["wasClean"]) == (3005, "bye now", True)
    page.evaluate("sock.send('into the void')")  # ignored once closed, as WebSocket does
    # The server hears of it at once: the WebSocket close code, or on HTTP transports the
    # goodbye a resumable connection sends (else it would wait out its grace period).
    # (Sessions of earlier tests' closed pages may end meanwhile, with other codes.)
    events.wait_for(
        lambda ev: any(e[0] == "close" and e[2][0] == server_code for e in ev), timeout=10
    )


@pytest.mark.parametrize("transport", ["eventsource", "xhr_streaming", "htmlfile"])
def test_streams_ended_by_the_response_limit_are_reopened_without_loss(open_page, live, transport):
    page = harness(open_page, live, live.url)
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if f"/{transport}" in r.url else None)
    open_socket(page, live.url + "/limit", {"transports": [transport]})
    wait_open(page)
    # Six rounds of ~500 bytes: each round's frame ends a 600-byte response.
    sent = [f"{i:03d} " + "x" * 40 for i in range(60)]
    for start in range(0, 60, 10):
        page.evaluate("messages => messages.forEach(m => sock.send(m))", sent[start : start + 10])
        assert wait_received(page, start + 10) == sent[: start + 10]
    assert len(streams) >= 4
    assert len({url.split("?")[0] for url in streams}) == 1  # the same session throughout


@pytest.mark.parametrize(
    ("transport", "send_path"), [("xhr", "/xhr_send"), ("jsonp", "/jsonp_send")]
)
def test_messages_queued_while_a_send_is_in_flight_leave_in_one_request(
    open_page, live, transport, send_path
):
    page = harness(open_page, live, live.url)
    bodies: list[str] = []
    page.on(
        "request",
        lambda request: (
            bodies.append(request.post_data or "")
            if request.url.split("?")[0].endswith(send_path)
            else None
        ),
    )
    open_socket(page, live.url + "/echo", {"transports": [transport]})
    wait_open(page)
    sent = [f"m{i}" for i in range(30)]
    page.evaluate("messages => messages.forEach(m => sock.send(m))", sent)
    assert wait_received(page, 30) == sent
    if transport == "jsonp":
        from urllib.parse import parse_qs

        bodies = [parse_qs(body)["d"][0] for body in bodies]
    # Acknowledgements of received messages ({"ack": n}, resume) may ride along.
    batches = [[m for m in json.loads(body) if isinstance(m, str)] for body in bodies]
    # The first message left at once; the other 29 waited for it and went together.
    assert [batch for batch in batches if batch] == [sent[:1], sent[1:]], bodies


def test_websocket_api_surface(open_page, live):
    page = harness(open_page, live, live.url)
    api = page.evaluate(
        """() => {
        const s = new FallbackSocket(location.origin + '/echo');
        const out = {
          constants: [s.CONNECTING, s.OPEN, s.CLOSING, s.CLOSED,
                      FallbackSocket.CONNECTING, FallbackSocket.OPEN, FallbackSocket.CLOSING, FallbackSocket.CLOSED],
          readyState: s.readyState, url: s.url, transport: s.transport, protocol: s.protocol,
          extensions: s.extensions, bufferedAmount: s.bufferedAmount, binaryType: s.binaryType,
        };
        try { s.send('too early'); out.sendWhileConnecting = 'no error'; }
        catch (e) { out.sendWhileConnecting = e.name; }
        try { s.close(1001); out.badCode = 'no error'; } catch (e) { out.badCode = e.name; }
        try { s.close(1000, 'x'.repeat(124)); out.longReason = 'no error'; } catch (e) { out.longReason = e.name; }
        s.close();
        return out;
    }"""
    )
    assert api == {
        "constants": [0, 1, 2, 3, 0, 1, 2, 3],
        "readyState": 0,
        "url": live.url + "/echo",
        "transport": "",
        "protocol": "",
        "extensions": "",
        "bufferedAmount": 0,
        "binaryType": "blob",
        "sendWhileConnecting": "InvalidStateError",
        "badCode": "InvalidAccessError",
        "longReason": "SyntaxError",
    }


def test_listeners_run_in_order_and_one_that_throws_does_not_stop_delivery(open_page, live):
    page = harness(open_page, live, live.url)
    page.evaluate(
        """() => {
        window.calls = [];
        const s = window.sock = new FallbackSocket(location.origin + '/echo');
        const second = e => calls.push('second ' + e.data);
        s.onmessage = e => { calls.push('on ' + e.data); throw new Error('page bug'); };
        s.addEventListener('message', e => calls.push('first ' + e.data + ' ' + (e.target === s)));
        s.addEventListener('message', second);
        s.addEventListener('message', { handleEvent: e => calls.push('object ' + e.data) });
        s.addEventListener('open', () => { s.send('a'); s.send('b'); });
        window.dropSecond = () => s.removeEventListener('message', second);
    }"""
    )
    page.wait_for_function("calls.length >= 8")
    assert page.evaluate("calls") == [
        "on a",
        "first a true",
        "second a",
        "object a",
        "on b",
        "first b true",
        "second b",
        "object b",
    ]
    page.evaluate("dropSecond(); calls.length = 0; sock.send('c')")
    page.wait_for_function("calls.length >= 3")
    assert page.evaluate("calls") == ["on c", "first c true", "object c"]


def test_ws_url_of_the_raw_endpoint_and_relative_urls_reach_the_service(open_page, live):
    page = harness(open_page, live, live.url)
    page.evaluate(
        """port => {
        window.results = {};
        for (const url of ['ws://127.0.0.1:' + port + '/echo/websocket', '/echo', '../echo/']) {
          const s = new FallbackSocket(url);
          s.onopen = () => s.send(url);
          s.onmessage = e => { results[url] = [e.data, s.transport]; s.close(); };
        }
    }""",
        live.port,
    )
    page.wait_for_function("Object.keys(results).length == 3")
    results = page.evaluate("results")
    assert results == {url: [url, "websocket"] for url in results}


def test_info_transports_list_is_followed(open_page, live):
    page = harness(open_page, live, live.url)
    websockets: list[str] = []
    page.on("websocket", lambda ws: websockets.append(ws.url))
    open_socket(page, live.url + "/nows")
    assert wait_open(page)["transport"] == "eventsource"
    assert websockets == []


def test_heartbeat_timeout_closes_a_connection_that_went_quiet(open_page, live):
    page = harness(open_page, live, live.url)
    # The server's next heartbeat is 25 s away: nothing arrives, the 0.7 s watchdog fires.
    open_socket(
        page,
        live.url + "/echo",
        {"transports": ["xhr_streaming"], "heartbeatTimeout": 700, "resume": False},
    )
    wait_open(page)
    close = wait_closed(page, timeout=10_000)
    assert (close["code"], close["reason"], close["wasClean"]) == (1006, "No heartbeat", False)
    assert [e["type"] for e in events_of(page)] == ["open", "error", "close"]


def test_heartbeats_keep_a_quiet_connection_open(open_page, live):
    page = harness(open_page, live, live.url)
    with page.expect_websocket() as opened:
        open_socket(
            page, live.url + "/heartbeat", {"transports": ["websocket"], "heartbeatTimeout": 700}
        )
    socket = opened.value
    wait_open(page)
    # A heartbeat every 0.2 s: ten of them span more than two watchdog periods.
    for _ in range(10):
        socket.wait_for_event("framereceived", predicate=lambda payload: payload == "h")
    assert page.evaluate("sock.readyState") == 1
    assert [e["type"] for e in events_of(page)] == ["open"]


def test_all_transports_failing_fires_error_then_close(open_page, live):
    page = harness(open_page, live, live.url)
    open_socket(page, "http://127.0.0.1:9/nothing-listens-here", {"transports": ["xhr", "jsonp"]})
    close = wait_closed(page)
    assert [e["type"] for e in events_of(page)] == ["error", "close"]
    assert (close["code"], close["reason"], close["wasClean"]) == (
        1006,
        "All transports failed",
        False,
    )


def test_served_at_the_service_prefix_and_under_static(open_page, live):
    page = harness(open_page, live, live.url)
    for path in ("/echo/fallback.js", "/recorded/fallback.js", "/static/fallback.js"):
        response = page.request.get(live.url + path)
        assert response.status == 200
        with open(SHIM_PATH, encoding="utf-8") as shim:
            assert response.text() == shim.read()


def test_page_opened_from_a_file_connects(open_page, live, tmp_path):
    shutil.copy(SHIM_PATH, tmp_path / "fallback.js")
    shutil.copy(os.path.join(apps.STATIC, "harness.js"), tmp_path / "harness.js")
    shutil.copy(os.path.join(apps.STATIC, "harness.html"), tmp_path / "index.html")
    page = open_page((tmp_path / "index.html").as_uri())
    # The null origin is refused by default (any site can make one with a sandboxed
    # frame) ...
    open_socket(page, live.url + "/echo", {"transports": ["websocket", "xhr_streaming"]})
    page.wait_for_function("window.events.some(e => e.type == 'close')", timeout=30_000)
    assert "open" not in [e["type"] for e in events_of(page)], events_of(page)
    # ... and allowed where the service lists it.
    for transport in ("websocket", "xhr_streaming"):
        page.evaluate("window.events = []; window.received = []")
        open_socket(page, live.url + "/files", {"transports": [transport]})
        assert wait_open(page)["transport"] == transport
        page.evaluate("sock.send('from a file')")
        assert wait_received(page, 1) == ["from a file"]
        page.evaluate("sock.close()")
        wait_closed(page)


def test_two_copies_of_the_script_on_one_page_keep_their_jsonp_callbacks_apart(open_page, live):
    body = (
        "<script>window.First = FallbackSocket;</script>"
        '<script src="/recorded/fallback.js"></script>'
    )
    page = open_page(live.url + apps.pages.add(apps.page(body)))
    page.evaluate(
        """() => {
        window.got = {first: [], second: []};
        const pair = {first: new First('/echo', {transports: ['jsonp']}),
                      second: new FallbackSocket('/echo', {transports: ['jsonp']})};
        for (const [name, s] of Object.entries(pair)) {
          s.onopen = () => { for (let i = 0; i < 5; i++) s.send(name + ' ' + i); };
          s.onmessage = e => got[name].push(e.data);
        }
    }"""
    )
    assert page.evaluate("First !== FallbackSocket")  # really two copies
    page.wait_for_function("got.first.length >= 5 && got.second.length >= 5")
    got = page.evaluate("got")
    assert got == {name: [f"{name} {i}" for i in range(5)] for name in ("first", "second")}


@pytest.mark.parametrize("transport", ["jsonp", "htmlfile"])
def test_a_socket_opened_while_the_page_loads_does_not_hold_its_load_event(
    open_page, live, transport
):
    # A long poll's <script> (or htmlfile's <iframe>) added before `load` would hold the
    # page's load event -- and its spinner -- until the poll ends (25 s, a heartbeat).
    # The image keeps the page loading for a second after the socket is created.
    body = (
        '<img src="/slow.gif">'
        f"<script>openSocket({json.dumps(live.url + '/echo')}, "
        f"{{transports: [{json.dumps(transport)}]}});</script>"
    )
    page = open_page()
    page.goto(live.url + apps.pages.add(apps.page(body)), wait_until="load", timeout=10_000)
    assert wait_open(page)["transport"] == transport
    page.evaluate("sock.send('after load')")
    assert wait_received(page, 1) == ["after load"]
