"""The demo chat on a phone and on a desktop: nothing wider than the screen, the message
column takes the width it has, the input and its button stay in view; and a dropped
connection is shown as resumed, with nothing lost."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from demo.app import make_app
from tests.browser.conftest import ARTIFACTS
from tests.support.chaos import ChaosProxy
from tests.support.live import LiveServer

pytestmark = pytest.mark.timeout(60)

SIZES = {"phone-320": (320, 640), "phone-390": (390, 844), "desktop": (1280, 800)}

LAYOUT = """() => {
  const box = id => document.getElementById(id).getBoundingClientRect();
  return {page: document.documentElement.scrollWidth, messages: box("messages").width,
          input: box("text").right, send: document.querySelector("#say button")
            .getBoundingClientRect().right, users: box("users").width};
}"""


@pytest.fixture(scope="module")
def demo() -> Iterator[LiveServer]:
    server = LiveServer(make_app).start()
    yield server
    server.stop()


@pytest.mark.parametrize("size", list(SIZES))
def test_the_demo_fits_the_screen(browser, demo, size):
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.goto(f"{demo.url}/?nick=ann&room=layout-{size}")
        page.wait_for_selector("#chat:not([hidden])")
        page.evaluate("chat.say('hello from a ' + innerWidth + ' px screen')")
        page.wait_for_selector("#messages li.said")
        layout = page.evaluate(LAYOUT)
        os.makedirs(ARTIFACTS, exist_ok=True)
        page.screenshot(path=os.path.join(ARTIFACTS, f"demo-{size}.png"))
        assert layout["page"] <= width, layout  # no sideways scrolling
        assert layout["input"] <= width and layout["send"] <= width, layout
        if width < 640:  # one column: the messages take (almost) the whole width
            assert layout["messages"] >= width - 60, layout
        else:
            assert layout["messages"] >= width * 0.6, layout
    finally:
        context.close()


def test_a_dropped_connection_is_shown_resumed_and_nothing_is_lost(browser, demo):
    proxy = ChaosProxy(demo.port, min_life=0.5, max_life=0.5)  # reset, once enabled
    proxy.enabled = False
    proxy.start()
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{proxy.url}/?nick=bo&room=resume&transport=xhr_streaming")
        page.wait_for_selector("#chat:not([hidden])")
        page.evaluate("chat.say('before')")
        page.wait_for_selector("#messages li.said")
        proxy.enabled = True  # every connection is reset: the page resumes on its own
        page.evaluate("chat.say('during')")
        page.wait_for_selector("#messages li.resumed", timeout=20_000)
        proxy.enabled = False
        page.wait_for_function(
            "document.querySelectorAll('#messages li.said').length >= 2", timeout=20_000
        )
        said = page.evaluate(
            "[...document.querySelectorAll('#messages li.said .text')].map(e => e.textContent)"
        )
        assert said == ["before", "during"]
        assert "resumed" in page.evaluate("document.getElementById('status').textContent")
    finally:
        context.close()
        proxy.stop()
