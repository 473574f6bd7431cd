"""The documentation's browser snippets, run in Chromium as written (the prefix changed to a
service of the test server), so the documentation cannot drift from what works."""

from __future__ import annotations

import pytest

from tests.browser import apps
from tests.browser.test_choice import FLASH_PLAYER, NO_WEBSOCKET
from tests.docs.test_readme_examples import Process, readme_block, write_quick_start
from tests.support.processes import free_port

pytestmark = pytest.mark.timeout(60)

#: console.log kept where the test can read it.
KEEP_CONSOLE = """
window.logged = [];
(function (log) {
  console.log = function () {
    logged.push(Array.prototype.slice.call(arguments).join(" "));
    return log.apply(console, arguments);
  };
})(console.log);
"""


def snippet_page(after: str) -> str:
    html = readme_block(after, "html")
    assert '"/chat' in html
    return (
        '<!doctype html><html><head><meta charset="utf-8"></head><body>\n{}</body></html>'.format(
            html.replace('"/chat', '"/echo')
        )
    )


def test_the_quick_start_page_chats_between_two_browsers(open_page, tmp_path):
    # The README's quick start as written: its chat.py, its index.html, its command (on a
    # free port), and two browsers on the page it serves.
    args = write_quick_start(tmp_path)
    port = free_port()
    args[args.index("--port") + 1] = str(port)
    server = Process(args, f"http://127.0.0.1:{port}/chat/info", path=[tmp_path], cwd=tmp_path)
    try:
        ann = open_page(f"http://127.0.0.1:{port}/")
        bob = open_page(f"http://127.0.0.1:{port}/")
        for page in (ann, bob):
            page.wait_for_function("sock.readyState === 1")
        ann.fill("#say", "hello from ann")
        ann.press("#say", "Enter")
        bob.fill("#say", "hi ann")
        bob.press("#say", "Enter")
        for page in (ann, bob):
            page.wait_for_function("document.querySelectorAll('#log li').length >= 2")
            said = page.evaluate(
                "[].map.call(document.querySelectorAll('#log li'), li => li.textContent)"
            )
            assert sorted(said) == ["hello from ann", "hi ann"]
        assert ann.evaluate("sock.transport") == "websocket"
    finally:
        server.stop()


@pytest.mark.parametrize("after", ["## The browser shim"])
def test_the_shim_snippet_says_hello_over_the_best_transport(open_page, live, after):
    page = open_page(live.url + apps.pages.add(snippet_page(after)), init_scripts=[KEEP_CONSOLE])
    page.wait_for_function("logged.length >= 1")
    assert page.evaluate("logged") == ["hello over websocket"]


def test_the_drop_in_snippet_reaches_the_server_where_websocket_is_missing(open_page, live):
    page = open_page(
        live.url + apps.pages.add(snippet_page("**Drop-in mode.**")), init_scripts=[NO_WEBSOCKET]
    )
    page.wait_for_function("ws.readyState === 1")
    assert page.evaluate("[ws instanceof FallbackSocket, ws.transport]") == [True, "eventsource"]
    page.evaluate("""() => {
        window.echoed = [];
        ws.onmessage = function (e) { echoed.push(e.data); };
        ws.send("same page code");
    }""")
    page.wait_for_function("echoed.length >= 1")
    assert page.evaluate("echoed") == ["same page code"]


def test_the_flash_snippet_uses_web_socket_js_where_there_is_flash_but_no_websocket(
    open_page, live
):
    # The site hosts web-socket-js; the test server has a stand-in under /flash/.
    html = snippet_page("**Flash (web-socket-js).**").replace('"/js/', '"/flash/')
    html = html.replace(
        "</body>",
        "<script src=\"/harness.js\"></script><script>openSocket('/echo')</script></body>",
    )
    page = open_page(live.url + apps.pages.add(html), init_scripts=[FLASH_PLAYER])
    page.wait_for_function("window.events.length > 0")
    assert page.evaluate("window.events[0]")["transport"] == "flash"
