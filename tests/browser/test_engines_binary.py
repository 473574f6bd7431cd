"""Binary messages on Firefox and WebKitGTK too (and Chromium): a smaller set than
`tests/browser/test_binary.py`, through the engine fixture."""

from __future__ import annotations

import pytest

from fallback.wsengine.deflate import DeflateOptions, negotiate
from tests.browser import apps
from tests.browser.engines import CONSOLE_HOOK
from tests.browser.test_binary import SCRIPT, round_trip

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize(
    ("transport", "binary_type"),
    [("websocket", "arraybuffer"), ("xhr_streaming", "blob"), ("xhr", "arraybuffer")],
)
def test_every_engine_round_trips_binary_and_text_in_order(
    engine_page, live, transport, binary_type
):
    page = engine_page(live.url + apps.pages.add(apps.page(SCRIPT, init=[CONSOLE_HOOK])))
    round_trip(page, live.url + "/binary", transport, binary_type, seed=3)


def test_every_engine_offers_permessage_deflate_which_the_server_accepts(engine_page, live):
    # The server accepts exactly this kind of offer (tests/unit/wsengine/test_deflate.py,
    # tests/server/test_compression.py): the browser's WebSocket is then compressed.
    page = engine_page(live.url + apps.pages.add(apps.page(SCRIPT, init=[CONSOLE_HOOK])))
    page.evaluate("url => start(url, 'websocket', 'arraybuffer')", live.url + "/binary")
    page.wait_for_function("window.opened || window.closed", timeout=20_000)
    page.evaluate("sock.send('extensions?')")
    page.wait_for_function("window.got.length >= 1", timeout=20_000)
    offer = page.evaluate("window.got[0].t")
    assert offer.startswith("permessage-deflate"), offer
    assert negotiate(offer, DeflateOptions()) is not None
