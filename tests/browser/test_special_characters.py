"""Messages that have broken SockJS implementations, through the four pairings of client
and server that users run: fallback.js and the npm sockjs-client, each against fallback's
server and against the npm sockjs (sockjs-node) server, on EventSource (and sockjs-client's
iframe-eventsource) -- where sockjs-node percent-escapes events and sockjs-client decodes
them with ``decodeURI`` -- and, for fallback.js, on every transport."""

from __future__ import annotations

import pytest

from tests.browser import apps
from tests.browser.conftest import open_socket, wait_open, wait_received
from tests.browser.test_interop import SOCKJS_CLIENT_PAGE

pytestmark = pytest.mark.timeout(60)

SPECIAL = [
    "%",
    "%20",
    "%25",
    "%E0%A4",
    "100%",
    "%%",
    "%2",
    "%zz",
    "\r",
    "\n",
    "\r\n",
    "\u2028",
    "\u2029",
    "\x00",
    "\U0001f600",
    "a\U0001f600%20b",
    "#%23",
    "\\u0041",
    '"',
    "é",
]

SHIM_TRANSPORTS = ["websocket", "eventsource", "xhr_streaming", "htmlfile", "xhr", "jsonp"]


def run_sockjs_client(page, url: str, transport: str) -> dict:
    page.evaluate(
        "([url, transport, messages]) => run(url, transport, messages)",
        [url, transport, SPECIAL],
    )
    page.wait_for_function("result.close !== null")
    return page.evaluate("result")  # type: ignore[no-any-return]


@pytest.mark.parametrize("transport", ["eventsource", "iframe-eventsource"])
def test_sockjs_client_reads_every_character_from_our_server(
    open_page, live, cross_origin, transport
):
    page = open_page(cross_origin + apps.pages.add(SOCKJS_CLIENT_PAGE))
    result = run_sockjs_client(page, live.url + "/echo", transport)
    assert result == {
        "transport": transport,
        "received": SPECIAL,
        "close": [1000, "Normal closure"],
    }


@pytest.mark.parametrize("transport", ["eventsource", "iframe-eventsource"])
def test_sockjs_client_reads_every_character_from_sockjs_node(
    open_page, live, sockjs_node, transport
):
    # (The reference pair: what the other two pairings must agree with.)
    page = open_page(live.url + apps.pages.add(SOCKJS_CLIENT_PAGE))
    result = run_sockjs_client(page, sockjs_node.url + "/echo", transport)
    assert result == {
        "transport": transport,
        "received": SPECIAL,
        "close": [1000, "Normal closure"],
    }


@pytest.mark.parametrize("transport", SHIM_TRANSPORTS)
def test_fallback_js_reads_every_character_from_our_server(open_page, live, transport):
    page = open_page(live.url + apps.pages.add(apps.page()))
    open_socket(page, live.url + "/echo", {"transports": [transport]})
    assert wait_open(page)["transport"] == transport
    page.evaluate("messages => messages.forEach(m => sock.send(m))", SPECIAL)
    assert wait_received(page, len(SPECIAL)) == SPECIAL


def test_fallback_js_reads_every_character_from_sockjs_node_over_eventsource(
    open_page, live, sockjs_node
):
    page = open_page(live.url + apps.pages.add(apps.page()))
    open_socket(page, sockjs_node.url + "/echo", {"transports": ["eventsource"]})
    assert wait_open(page)["transport"] == "eventsource"
    page.evaluate("messages => messages.forEach(m => sock.send(m))", SPECIAL)
    assert wait_received(page, len(SPECIAL)) == SPECIAL
