"""Drop-in mode: page code written for `WebSocket` runs unchanged where there is none."""

from __future__ import annotations

import pytest

from tests.browser import apps
from tests.browser.test_choice import FLASH_ATTRIBUTES, FLASH_PLAYER, NO_WEBSOCKET

pytestmark = pytest.mark.timeout(60)

#: Page code that knows nothing of fallback.js.
WEBSOCKET_PAGE = """
<script>
  window.log = [];
  var ws = new WebSocket("ws://" + location.host + "/recorded/websocket"PROTOCOLS);
  ws.onopen = function () {
    log.push("open " + (ws.readyState === WebSocket.OPEN));
    ws.send("hello");
    ws.send("world");
  };
  ws.addEventListener("message", function (e) {
    log.push("message " + e.data);
    if (e.data === "world") { ws.close(1000, "done"); }
  });
  ws.onclose = function (e) { log.push("close " + e.code + " " + e.reason + " " + e.wasClean); };
</script>
"""
#: Subprotocols do not exist in SockJS: the shim accepts the argument and ignores it.
WITH_PROTOCOLS = WEBSOCKET_PAGE.replace("PROTOCOLS", ', ["chat"]')
PLAIN = WEBSOCKET_PAGE.replace("PROTOCOLS", "")
EXPECTED_LOG = ["open true", "message hello", "message world", "close 1000 done true"]


def run_page(open_page, live, attributes: str, init_scripts: list[str], body: str = WITH_PROTOCOLS):
    page = open_page(
        live.url
        + apps.pages.add(apps.page(body, shim="/recorded/fallback.js", attributes=attributes)),
        init_scripts=init_scripts,
    )
    page.wait_for_function("window.log && log.length >= 4")
    return page


def test_script_attribute_installs_the_shim_where_websocket_is_missing(open_page, live, events):
    page = run_page(open_page, live, "data-fallback-websocket", [NO_WEBSOCKET])
    assert page.evaluate("log") == EXPECTED_LOG
    assert page.evaluate(
        "[WebSocket === FallbackSocket, ws instanceof WebSocket, ws.transport]"
    ) == [
        True,
        True,
        "eventsource",
    ]
    assert page.evaluate("ws.url") == f"ws://127.0.0.1:{live.port}/recorded/websocket"
    assert [e[2] for e in events.events("message")] == ["hello", "world"]


def test_install_call_does_the_same(open_page, live):
    body = "<script>window.installed = FallbackSocket.install();</script>" + WITH_PROTOCOLS
    page = run_page(open_page, live, "", [NO_WEBSOCKET], body)
    assert page.evaluate("installed") is True
    assert page.evaluate("log") == EXPECTED_LOG


def test_native_websocket_is_left_alone_unless_forced(open_page, live):
    native = run_page(open_page, live, "data-fallback-websocket", [], PLAIN)
    assert native.evaluate("[WebSocket === FallbackSocket, FallbackSocket.install()]") == [
        False,
        False,
    ]
    # The browser's own WebSocket on the raw endpoint (its close reason is whatever the
    # server's close frame echoes, so only the code is compared).
    log = native.evaluate("log")
    assert log[:3] == EXPECTED_LOG[:3]
    assert log[3].startswith("close 1000 ")

    forced = run_page(open_page, live, 'data-fallback-websocket="force"', [], PLAIN)
    assert forced.evaluate("[WebSocket === FallbackSocket, ws.transport]") == [True, "websocket"]
    assert forced.evaluate("log") == EXPECTED_LOG


def test_script_tag_transports_attribute_sets_the_default(open_page, live):
    page = run_page(
        open_page,
        live,
        'data-fallback-websocket data-transports="xhr-polling, jsonp"',
        [NO_WEBSOCKET],
    )
    assert page.evaluate("ws.transport") == "xhr"
    assert page.evaluate("log") == EXPECTED_LOG


def test_drop_in_with_flash_keeps_web_socket_js_working_behind_our_global(open_page, live, events):
    page = run_page(open_page, live, "data-fallback-websocket " + FLASH_ATTRIBUTES, [FLASH_PLAYER])
    assert page.evaluate("log") == EXPECTED_LOG
    # window.WebSocket stays ours; Flash's callbacks by that global name still reach
    # web-socket-js's state, now held on our constructor.
    assert page.evaluate(
        "[WebSocket === FallbackSocket, ws.transport, WebSocket.__flash !== null]"
    ) == [
        True,
        "flash",
        True,
    ]
    assert [e[1] for e in events.events("open")] == ["rawwebsocket"]
