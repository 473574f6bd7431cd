"""The documentation's browser snippets, run in Chromium as written (the prefix changed to a
service of the test server), so the documentation cannot drift from what works."""

from __future__ import annotations

import pytest

from tests.browser import apps
from tests.browser.test_choice import FLASH_PLAYER, NO_WEBSOCKET
from tests.docs.test_readme_examples import readme_block

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


@pytest.mark.parametrize("after", ["## Quick start", "## The browser shim"])
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
