"""Interop both ways, in Chromium: the npm sockjs-client against our server, and fallback.js
against the npm sockjs (sockjs-node) server."""

from __future__ import annotations

import pytest

from tests.browser import apps
from tests.browser.conftest import open_socket, wait_open, wait_received

pytestmark = pytest.mark.timeout(60)

MESSAGES = ["hello", "😀 \u2028 é", '</script> "\\', *(f"message {i}" for i in range(20))]

SOCKJS_CLIENT_PAGE = """
<script src="/sockjs-client/sockjs.min.js"></script>
<script>
  window.run = function (url, transport, messages) {
    var sock = new SockJS(url, null, { transports: [transport] });
    window.result = { transport: null, received: [], close: null };
    sock.onopen = function () {
      result.transport = sock.transport;
      messages.forEach(function (m) { sock.send(m); });
    };
    sock.onmessage = function (e) {
      result.received.push(e.data);
      if (result.received.length == messages.length) { sock.close(); }
    };
    sock.onclose = function (e) { result.close = [e.code, e.reason]; };
  };
</script>
"""

#: sockjs-client's name -> the transport our server saw. The page is on another origin
#: than the service, so iframe-htmlfile really goes through iframe.html and postMessage.
SOCKJS_CLIENT_TRANSPORTS = {
    "websocket": "websocket",
    "xhr-streaming": "xhr_streaming",
    "xhr-polling": "xhr",
    "eventsource": "eventsource",
    "iframe-htmlfile": "htmlfile",
    "jsonp-polling": "jsonp",
}


@pytest.mark.parametrize("transport", list(SOCKJS_CLIENT_TRANSPORTS))
def test_sockjs_client_in_the_browser_echoes_through_our_server(
    open_page, live, cross_origin, events, transport
):
    page = open_page(cross_origin + apps.pages.add(SOCKJS_CLIENT_PAGE))
    page.evaluate(
        "([url, transport, messages]) => run(url, transport, messages)",
        [live.url + "/recorded", transport, MESSAGES],
    )
    page.wait_for_function("result.close !== null")
    result = page.evaluate("result")
    assert result == {
        "transport": transport,
        "received": MESSAGES,
        "close": [1000, "Normal closure"],
    }
    assert [e[1] for e in events.events("open")] == [SOCKJS_CLIENT_TRANSPORTS[transport]]
    assert [e[2] for e in events.events("message")] == MESSAGES


#: Our name -> sockjs-node's name for it. htmlfile needs the page on the service's origin
#: (Node serves the harness); the others run from another origin, through CORS.
SOCKJS_NODE_TRANSPORTS = [
    ("websocket", "websocket", True),
    ("eventsource", "eventsource", True),
    ("xhr_streaming", "xhr-streaming", True),
    ("htmlfile", "htmlfile", False),
    ("xhr", "xhr-polling", True),
    ("jsonp", "jsonp-polling", True),
]


@pytest.mark.parametrize(
    ("transport", "node_name", "other_origin"),
    SOCKJS_NODE_TRANSPORTS,
    ids=[case[0] for case in SOCKJS_NODE_TRANSPORTS],
)
def test_fallback_js_echoes_through_sockjs_node(
    open_page, live, sockjs_node, transport, node_name, other_origin
):
    if other_origin:
        page = open_page(live.url + apps.pages.add(apps.page()))
    else:
        page = open_page(sockjs_node.url + "/harness.html")
    messages = MESSAGES
    if transport == "htmlfile":
        # sockjs-node writes "</script>" into its htmlfile page unescaped, which ends the
        # script block (our server escapes "<"): not something a client can work around.
        messages = [m for m in MESSAGES if "</script>" not in m]
    open_socket(page, sockjs_node.url + "/echo", {"transports": [transport]})
    assert wait_open(page)["transport"] == transport
    page.evaluate("messages => messages.forEach(m => sock.send(m))", [*messages, "transport?"])
    assert wait_received(page, len(messages) + 1) == [*messages, node_name]


def test_fallback_js_picks_websocket_from_sockjs_node_without_a_transports_list(
    open_page, sockjs_node
):
    page = open_page(sockjs_node.url + "/harness.html")
    open_socket(page, sockjs_node.url + "/echo")
    assert wait_open(page)["transport"] == "websocket"
    page.evaluate("sock.send('transport?')")
    assert wait_received(page, 1) == ["websocket"]
