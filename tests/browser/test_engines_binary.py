"""Binary messages on Firefox and WebKitGTK too (and Chromium): a smaller set than
`tests/browser/test_binary.py`, through the engine fixture."""

from __future__ import annotations

import pytest

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
