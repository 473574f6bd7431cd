"""How the shim picks a transport: old browsers (simulated), broken networks, memory, Flash.

Old browsers are Chromium with features removed by an init script before any page script
runs; broken networks are services whose WebSocket URL is answered by a handler that
swallows the upgrade or drops it (`tests.browser.apps`).
"""

from __future__ import annotations

import json

import pytest

from tests.browser import apps
from tests.browser.conftest import events_of, open_socket, wait_open, wait_received

pytestmark = pytest.mark.timeout(60)

NO_WEBSOCKET = "delete window.WebSocket;"
NO_EVENTSOURCE = "delete window.EventSource;"
#: XMLHttpRequest level 1: no withCredentials, and another origin is refused outright
#: (as IE 6-9 do; IE 8-9's XDomainRequest is absent too).
NO_CORS_XHR = """
(function () {
  delete XMLHttpRequest.prototype.withCredentials;
  var open = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function (method, url) {
    var a = document.createElement("a");
    a.href = url;
    if (a.protocol + "//" + a.host != location.protocol + "//" + location.host) {
      throw new DOMException("Access is denied.", "SecurityError");
    }
    return open.apply(this, arguments);
  };
})();
"""
#: IE 8-9's XDomainRequest: cross-origin, no cookies, text only, errors for any non-2xx.
#: Built on the real XHR's open, saved before NO_CORS_XHR (which must come after) patches it.
XDOMAINREQUEST = """
(function () {
  var open = XMLHttpRequest.prototype.open;
  window.__xdrUrls = [];
  window.XDomainRequest = function () { this.responseText = ""; };
  XDomainRequest.prototype.open = function (method, url) { this.method = method; this.url = url; };
  XDomainRequest.prototype.send = function (body) {
    var self = this, x = this.xhr = new XMLHttpRequest();
    __xdrUrls.push(this.url);
    open.call(x, this.method, this.url, true);
    x.onprogress = function () { self.responseText = x.responseText; if (self.onprogress) { self.onprogress(); } };
    x.onload = function () {
      self.responseText = x.responseText;
      if (x.status >= 200 && x.status < 300) { self.onload(); } else { self.onerror(); }
    };
    x.onerror = function () { self.onerror(); };
    x.send(body);
  };
  XDomainRequest.prototype.abort = function () { if (this.xhr) { this.xhr.abort(); } };
})();
"""
#: A Flash player is present (the web-socket-js stand-in does the rest).
FLASH_PLAYER = """
window.__NativeWebSocket = window.WebSocket;
delete window.WebSocket;
Object.defineProperty(navigator, "mimeTypes", {value: {
  "application/x-shockwave-flash": {enabledPlugin: {filename: "libflashplayer.so"}}}});
"""
FLASH_ATTRIBUTES = (
    'data-flash-swf="/flash/WebSocketMain.swf" data-flash-script="/flash/web_socket.js" '
    'data-flash-swfobject="/flash/swfobject.js"'
)

OLD_BROWSERS = [
    # (what is missing, init scripts, page on another origin, the transport it must pick)
    ("no WebSocket", [NO_WEBSOCKET], True, "eventsource"),
    ("no WebSocket, no EventSource", [NO_WEBSOCKET, NO_EVENTSOURCE], True, "xhr_streaming"),
    ("IE 6-7 style, same origin", [NO_WEBSOCKET, NO_EVENTSOURCE, NO_CORS_XHR], False, "htmlfile"),
    ("IE 6-7 style, other origin", [NO_WEBSOCKET, NO_EVENTSOURCE, NO_CORS_XHR], True, "jsonp"),
    ("no CORS XHR, other origin", [NO_CORS_XHR], True, "websocket"),
    (
        "IE 8-9 style, other origin",
        [NO_WEBSOCKET, NO_EVENTSOURCE, XDOMAINREQUEST, NO_CORS_XHR],
        True,
        "xhr_streaming",
    ),
]


@pytest.mark.parametrize(
    ("init_scripts", "other_origin", "expected"),
    [case[1:] for case in OLD_BROWSERS],
    ids=[case[0] for case in OLD_BROWSERS],
)
def test_old_browser_gets_the_next_transport_without_configuration(
    open_page, live, cross_origin, events, init_scripts, other_origin, expected
):
    origin = cross_origin if other_origin else live.url
    page = open_page(origin + apps.pages.add(apps.page()), init_scripts=init_scripts)
    tried: list[str] = []
    page.on("request", lambda r: tried.append(r.url) if "/recorded/" in r.url else None)
    open_socket(page, live.url + "/recorded")
    assert wait_open(page)["transport"] == expected
    page.evaluate("sock.send('still works')")
    assert wait_received(page, 1) == ["still works"]
    assert [e[1] for e in events.events("open")] == [expected]
    # Nothing was wasted on transports the browser cannot use: the only session
    # requests are those of the chosen transport (and its sends).
    sessions = [url.split("?")[0].rsplit("/", 1)[1] for url in tried if "/info" not in url]
    assert set(sessions) <= {expected, "xhr_send", "jsonp_send"}, tried


def test_xdomainrequest_carries_info_streaming_and_sends_but_not_where_cookies_are_needed(
    open_page, live, cross_origin
):
    ie9 = [NO_WEBSOCKET, NO_EVENTSOURCE, XDOMAINREQUEST, NO_CORS_XHR]
    page = open_page(cross_origin + apps.pages.add(apps.page()), init_scripts=ie9)
    open_socket(page, live.url + "/echo")
    assert wait_open(page)["transport"] == "xhr_streaming"
    page.evaluate("sock.send('via XDR')")
    assert wait_received(page, 1) == ["via XDR"]
    paths = [url.split("?")[0].split("/echo", 1)[1] for url in page.evaluate("__xdrUrls")]
    assert paths[0] == "/info"
    assert paths[1].endswith("/xhr_streaming") and paths[2].endswith("/xhr_send")

    # XDomainRequest sends no cookies: a service that needs them gets JSONP instead.
    cookies = open_page(cross_origin + apps.pages.add(apps.page()), init_scripts=ie9)
    open_socket(cookies, live.url + "/cookie")
    assert wait_open(cookies)["transport"] == "jsonp"
    assert [url.split("?")[0].rsplit("/", 1)[1] for url in cookies.evaluate("__xdrUrls")] == [
        "info"
    ]


def remembered(page, service_url: str) -> dict:
    raw = page.evaluate("key => localStorage.getItem(key)", "fallback.js:" + service_url)
    return json.loads(raw) if raw else {}


@pytest.mark.parametrize("broken", ["silent", "refused"])
def test_broken_websocket_falls_back_in_time_and_the_next_load_goes_straight_on(
    open_page, live, broken
):
    service = f"{live.url}/{broken}"
    context = open_page.context()
    page = open_page(live.url + apps.pages.add(apps.page()), context=context)
    before = apps.upgrades[broken]

    open_socket(page, service)
    opened = wait_open(page)
    timeout = page.evaluate("sock._plan.timeout")
    assert opened["transport"] == "eventsource"
    assert apps.upgrades[broken] == before + 1
    # The RTT-derived timeout: at least minTimeout, two retransmission timeouts.
    rtt = page.evaluate("sock._plan.rtt")
    rto = 4 * rtt if rtt > 100 else 300 + rtt
    assert timeout == max(1000, 2 * rto)
    if broken == "silent":  # waited for the timeout, and not much longer
        assert timeout <= opened["ms"] < timeout + 2000
    else:  # the refusal is immediate: no need to wait for the timeout
        assert opened["ms"] < timeout
    assert remembered(page, service)["ok"] == "eventsource"
    assert list(remembered(page, service)["failed"]) == ["websocket"]

    # The next page load (same browser profile) does not try WebSocket again.
    second = open_page(live.url + apps.pages.add(apps.page()), context=context)
    open_socket(second, service)
    reopened = wait_open(second)
    assert reopened["transport"] == "eventsource"
    assert reopened["ms"] < timeout
    assert apps.upgrades[broken] == before + 1
    second.evaluate("sock.send('through the proxy')")
    assert wait_received(second, 1) == ["through the proxy"]


def test_remembered_failure_is_probed_again_after_retry_after(open_page, live):
    service = f"{live.url}/refused"
    context = open_page.context()
    page = open_page(live.url + apps.pages.add(apps.page()), context=context)
    open_socket(page, service)
    assert wait_open(page)["transport"] == "eventsource"
    count = apps.upgrades["refused"]

    again = open_page(live.url + apps.pages.add(apps.page()), context=context)
    open_socket(again, service, {"retryAfter": 0})
    assert wait_open(again)["transport"] == "eventsource"
    assert apps.upgrades["refused"] == count + 1


def test_a_working_transport_clears_its_remembered_failure(open_page, live):
    context = open_page.context()
    page = open_page(live.url + apps.pages.add(apps.page()), context=context)
    service = f"{live.url}/echo"
    page.evaluate(
        "key => localStorage.setItem(key, JSON.stringify({failed: {websocket: 1}}))",
        "fallback.js:" + service,
    )  # failed long ago: past retryAfter
    open_socket(page, service)
    assert wait_open(page)["transport"] == "websocket"
    assert remembered(page, service) == {"ok": "websocket", "failed": {}}


def test_nothing_is_remembered_when_every_transport_failed(open_page, live):
    page = open_page(live.url + apps.pages.add(apps.page()))
    open_socket(page, "http://127.0.0.1:9/down", {"transports": ["websocket", "xhr"]})
    page.wait_for_function("events.some(e => e.type == 'close')")
    assert remembered(page, "http://127.0.0.1:9/down") == {}


def test_flash_socket_is_used_where_there_is_no_websocket_but_flash(open_page, live, events):
    page = open_page(
        live.url + apps.pages.add(apps.page(attributes=FLASH_ATTRIBUTES)),
        init_scripts=[FLASH_PLAYER],
    )
    open_socket(page, live.url + "/recorded")
    assert wait_open(page)["transport"] == "flash"
    page.evaluate("['one', 'two 😀', 'three'].forEach(m => sock.send(m))")
    assert wait_received(page, 3) == ["one", "two 😀", "three"]
    # web-socket-js got its SWF and swfobject, and spoke the raw protocol to /websocket.
    assert page.evaluate("[WEB_SOCKET_SWF_LOCATION, __embeddedSwf, swfobject.loadedBy]") == [
        "/flash/WebSocketMain.swf",
        "/flash/WebSocketMain.swf",
        "fallback.js",
    ]
    assert page.evaluate("__flashUrls") == [f"ws://127.0.0.1:{live.port}/recorded/websocket"]
    assert [e[1] for e in events.events("open")] == ["rawwebsocket"]
    # A close from the server arrives with its code.
    page.evaluate("sock.send('close please')")
    page.wait_for_function("events.some(e => e.type == 'close')")
    close = events_of(page)[-1]
    assert (close["code"], close["reason"]) == (4001, "as you wish")


def test_flash_is_not_used_without_a_flash_player_or_without_the_swf(open_page, live):
    without_player = open_page(
        live.url + apps.pages.add(apps.page(attributes=FLASH_ATTRIBUTES)),
        init_scripts=[NO_WEBSOCKET],
    )
    without_swf = open_page(live.url + apps.pages.add(apps.page()), init_scripts=[FLASH_PLAYER])
    for page in (without_player, without_swf):
        open_socket(page, live.url + "/echo")
        assert wait_open(page)["transport"] == "eventsource"
        assert page.evaluate("typeof window.swfobject") == "undefined"


def test_flash_falls_back_when_web_socket_js_cannot_be_loaded(open_page, live):
    attributes = 'data-flash-swf="/flash/WebSocketMain.swf" data-flash-script="/flash/missing.js"'
    page = open_page(
        live.url + apps.pages.add(apps.page(attributes=attributes)), init_scripts=[FLASH_PLAYER]
    )
    open_socket(page, live.url + "/echo")
    assert wait_open(page)["transport"] == "eventsource"
