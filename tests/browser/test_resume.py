"""fallback.js resumes through a proxy that cuts its connections: nothing lost, repeated
or reordered, and the page never sees a close."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import apps
from tests.browser.conftest import events_of, open_socket, wait_open
from tests.support.chaos import ChaosProxy

pytestmark = pytest.mark.timeout(120)

TRANSPORTS = ["websocket", "eventsource", "xhr_streaming", "htmlfile", "xhr", "jsonp"]
MESSAGES = 60


@pytest.fixture
def proxy(live) -> Iterator[ChaosProxy]:
    chaos = ChaosProxy(live.port, min_life=0.3, max_life=1.2, seed=11)
    chaos.enabled = False  # the page itself loads in peace
    chaos.start()
    yield chaos
    chaos.stop()


def sequence(values: list[str], kind: str) -> list[int]:
    return [int(v.split(":")[1]) for v in values if v.startswith(kind + ":")]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_shim_resumes_through_cut_connections_without_loss(open_page, proxy, transport):
    page = open_page(proxy.url + apps.pages.add(apps.page(shim="/echo/fallback.js")))
    open_socket(page, proxy.url + "/chaos", {"transports": [transport], "heartbeatTimeout": 3000})
    assert wait_open(page)["transport"] == transport
    page.evaluate("window.resumes = 0; sock.addEventListener('resume', () => window.resumes++)")
    proxy.enabled = True
    page.evaluate(
        """n => { let i = 0; window.sender = setInterval(() => {
             if (++i > n) { clearInterval(window.sender); return; }
             sock.send(String(i)); }, 60); }""",
        MESSAGES,
    )
    page.wait_for_function(
        "n => window.received.filter(m => m.startsWith('echo:')).length >= n",
        arg=MESSAGES,
        timeout=90_000,
    )
    proxy.enabled = False
    received = page.evaluate("window.received")
    echoes = sequence(received, "echo")
    ticks = sequence(received, "tick")
    assert echoes == list(range(1, MESSAGES + 1)), f"{transport}: {echoes}"
    assert ticks == list(range(1, len(ticks) + 1)), f"{transport}: {ticks}"
    assert [e["type"] for e in events_of(page)] == ["open"], events_of(page)
    assert page.evaluate("sock.readyState") == 1
    assert proxy.cut > 0  # (cuts between two requests pass unnoticed: no resume needed)
