"""fallback.js's identifiers: session ids from crypto.getRandomValues (Math.random only
where there is none), and the fresh connection id of every resume taken."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.browser import apps
from tests.browser.conftest import events_of, open_socket, wait_open
from tests.support.chaos import ChaosProxy

pytestmark = pytest.mark.timeout(120)

SESSION_URL = re.compile(r"/echo/([0-9]{3})/([a-z0-9]+)/xhr")

COUNT_CRYPTO = """
window.randomCalls = {crypto: 0, math: 0};
(function () {
  var get = crypto.getRandomValues.bind(crypto);
  crypto.getRandomValues = function (a) { window.randomCalls.crypto++; return get(a); };
  var random = Math.random;
  Math.random = function () { window.randomCalls.math++; return random(); };
})();
"""
NO_CRYPTO = """
Object.defineProperty(window, "crypto", {value: undefined, configurable: true});
window.randomCalls = {crypto: 0, math: 0};
(function () {
  var random = Math.random;
  Math.random = function () { window.randomCalls.math++; return random(); };
})();
"""


def session_ids(open_page, live, init_script: str) -> tuple[list[tuple[str, str]], dict]:
    page = open_page(init_scripts=[init_script])
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.goto(live.url + apps.pages.add(apps.page()))
    for _ in range(3):
        page.evaluate("window.events = []; window.received = []")
        open_socket(page, live.url + "/echo", {"transports": ["xhr"]})
        assert wait_open(page)["transport"] == "xhr"
        page.evaluate("sock.close()")
    ids = sorted({m.groups() for url in urls if (m := SESSION_URL.search(url))})
    return ids, page.evaluate("window.randomCalls")


def test_session_ids_are_24_characters_from_crypto_get_random_values(open_page, live):
    ids, calls = session_ids(open_page, live, COUNT_CRYPTO)
    assert len(ids) == 3
    for server, session in ids:
        assert len(server) == 3 and len(session) == 24
    assert calls["crypto"] >= 6  # a server id and a session id per connection
    assert len({session for _, session in ids}) == 3


def test_without_crypto_session_ids_fall_back_to_math_random(open_page, live):
    ids, calls = session_ids(open_page, live, NO_CRYPTO)
    assert len(ids) == 3
    assert all(len(session) == 24 for _, session in ids)
    assert calls["math"] >= 3 * 24


@pytest.fixture
def proxy(live) -> Iterator[ChaosProxy]:
    chaos = ChaosProxy(live.port, min_life=0.4, max_life=1.0, seed=5)
    chaos.enabled = False  # the page itself loads in peace
    chaos.start()
    yield chaos
    chaos.stop()


# WebSocket: every cut is a resume (polls and streams often just poll again on their
# session); test_resume.py runs every transport through cuts with the same server.
@pytest.mark.parametrize("transport", ["websocket"])
def test_the_shim_takes_the_fresh_connection_id_of_every_resume(open_page, proxy, transport):
    page = open_page(proxy.url + apps.pages.add(apps.page(shim="/echo/fallback.js")))
    open_socket(page, proxy.url + "/chaos", {"transports": [transport], "heartbeatTimeout": 3000})
    assert wait_open(page)["transport"] == transport
    page.wait_for_function("() => !!sock._ledger.cid")
    page.evaluate(
        """() => { window.cids = [sock._ledger.cid];
                   sock.addEventListener('resume', () => window.cids.push(sock._ledger.cid)); }"""
    )
    proxy.enabled = True
    # Messages between the cuts: the server sees the client use each new id, which voids
    # the one before -- a shim that kept its first id would be refused (3011) next time.
    page.evaluate(
        """() => { let i = 0; window.sender = setInterval(() => sock.send(String(++i)), 100); }"""
    )
    # Two resumes: the second presents the id the first handed out. (Kept short: until
    # issue 14 is fixed the shim times resume_grace from its first drop ever, and gives
    # up with 3009 on any drop 30 s after it.)
    page.wait_for_function(
        "() => window.cids.length >= 3 || window.events.length > 1", timeout=25_000
    )
    assert [e["type"] for e in events_of(page)] == ["open"], events_of(page)
    proxy.enabled = False
    page.evaluate("clearInterval(window.sender)")
    cids = page.evaluate("window.cids")
    assert len(set(cids)) == len(cids), cids
    assert [e["type"] for e in events_of(page)] == ["open"], events_of(page)
    sent = page.evaluate("sock.send('last'); 0")
    assert sent == 0
    page.wait_for_function("() => window.received.includes('echo:last')", timeout=30_000)
