"""Resume covers binary messages as it covers text: fallback.js through a proxy that cuts
its connections, binary and text interleaved both ways, nothing lost, repeated, reordered
or altered, and the page never sees a close."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser import apps
from tests.browser.test_binary import SCRIPT
from tests.support.chaos import ChaosProxy

pytestmark = pytest.mark.timeout(150)

TRANSPORTS = ["websocket", "xhr_streaming", "eventsource", "htmlfile", "xhr", "jsonp"]
MESSAGES = 50

#: Message i (1-based): text "t<i>" when odd, else i+1 bytes of (i * 7 + k) % 256.
SEND = """
window.resumes = 0;
sock.addEventListener('resume', () => window.resumes++);
window.expected = [];
function message(i) {
  if (i % 2) { return "t" + i; }
  var bytes = new Uint8Array(i + 1);
  for (var k = 0; k < bytes.length; k++) { bytes[k] = (i * 7 + k) % 256; }
  return bytes;
}
let i = 0;
window.sender = setInterval(() => {
  if (++i > N_MESSAGES) { clearInterval(window.sender); return; }
  var m = message(i);
  window.expected.push(typeof m == "string" ? { t: m } : { b: b64(m.buffer), as: "arraybuffer" });
  sock.send(i % 4 == 0 ? new Blob([m]) : m);
}, 60);
"""


@pytest.fixture
def proxy(live) -> Iterator[ChaosProxy]:
    chaos = ChaosProxy(live.port, min_life=0.3, max_life=1.2, seed=23)
    chaos.enabled = False  # the page itself loads in peace
    chaos.start()
    yield chaos
    chaos.stop()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_binary_and_text_resume_through_cut_connections_exactly_once_in_order(
    open_page, proxy, transport
):
    page = open_page(proxy.url + apps.pages.add(apps.page(SCRIPT, shim="/echo/fallback.js")))
    page.evaluate(
        """([url, transport]) =>
             start(url, transport, "arraybuffer", { heartbeatTimeout: 3000 })""",
        [proxy.url + "/binchaos", transport],
    )
    page.wait_for_function("window.opened || window.closed", timeout=20_000)
    assert page.evaluate("window.opened") == transport
    proxy.enabled = True
    page.evaluate(SEND.replace("N_MESSAGES", str(MESSAGES)))
    page.wait_for_function("n => done(n)", arg=MESSAGES, timeout=120_000)
    proxy.enabled = False
    assert page.evaluate("window.got") == page.evaluate("window.expected")
    assert page.evaluate("window.closed || null") is None
    assert page.evaluate("sock.readyState") == 1
    assert proxy.cut > 0
