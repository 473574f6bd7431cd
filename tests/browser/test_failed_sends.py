"""A send that the network kills is sent again, never taken for one that arrived.

A JSONP send is a form post into a hidden frame. When its connection is reset, the
browser loads its own error page into the frame: a load event, as for the answer, and a
page that cannot be read, as an answer from another origin cannot. The shim must count
the send as failed (and the resume sends it again); here a proxy resets the next send
requests on the way in, on a page of the server's own origin and of another origin, in
every engine (Gecko fires no load at all for such a post: the send's deadline, the
heartbeat limit, ends it there).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import apps
from tests.browser.conftest import events_of, open_socket, wait_open
from tests.browser.test_resume import sequence
from tests.support.chaos import ChaosProxy

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def proxy(live) -> Iterator[ChaosProxy]:
    chaos = ChaosProxy(live.port)
    chaos.enabled = False  # no random breaks: only the requests the test names
    chaos.start()
    yield chaos
    chaos.stop()


def wait_echoes(page, count: int) -> list[int]:
    page.wait_for_function(
        "n => window.received.filter(m => m.startsWith('echo:')).length >= n",
        arg=count,
        timeout=60_000,
    )
    return sequence(page.evaluate("window.received"), "echo")


@pytest.mark.parametrize("origin", ["same", "cross"])
@pytest.mark.parametrize("transport", ["jsonp", "xhr"])
def test_a_send_whose_connection_is_reset_is_sent_again(
    engine_page, proxy, cross_origin, transport, origin
):
    # The page comes from the proxy's origin, or from another (the server's, by name).
    home = proxy.url if origin == "same" else cross_origin
    page = engine_page(home + apps.pages.add(apps.page(shim="/echo/fallback.js")))
    open_socket(page, proxy.url + "/chaos", {"transports": [transport]})
    assert wait_open(page)["transport"] == transport
    page.evaluate("sock.send('1')")
    assert wait_echoes(page, 1) == [1]
    # The next two send requests die on the way: a browser retries a request whose reused
    # connection was reset once by itself, so at least one of them reaches the page.
    proxy.reset_requests(f"/{transport}_send".encode(), times=2)
    page.evaluate("[sock.send('2'), sock.send('3')] && null")
    assert wait_echoes(page, 3) == [1, 2, 3]
    assert proxy.requests_reset == 2
    assert [e["type"] for e in events_of(page)] == ["open"], events_of(page)
    assert page.evaluate("sock.readyState") == 1
