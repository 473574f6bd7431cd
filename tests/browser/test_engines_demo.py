"""The demo chat with users on every engine at once, each on another transport, in one room."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from demo.app import make_app
from tests.browser import engines
from tests.support.live import LiveServer

pytestmark = pytest.mark.timeout(120)

#: (nick, engine, transport)
USERS = [
    ("ann", "chromium", "websocket"),
    ("bob", "firefox", "xhr_streaming"),
    ("cat", "webkit", "htmlfile"),
    ("dan", "firefox", "jsonp"),
    ("eve", "webkit", "eventsource"),
    ("fay", "chromium", "xhr"),
]

SAID = "document.querySelectorAll('#messages li.said').length"
SAID_TEXT = """Array.from(document.querySelectorAll('#messages li.said')).map(
  li => li.querySelector('.nick').textContent + ': ' + li.querySelector('.text').textContent)"""
USERS_TEXT = """Array.from(document.querySelectorAll('#users li')).map(
  li => li.querySelector('.nick').textContent + ' ' + li.querySelector('.badge').textContent)"""


@pytest.fixture(scope="module")
def every_engine(browser: Any) -> Iterator[dict[str, Any]]:
    for name in ("firefox", "webkit"):
        why = engines.missing(name)
        if why:
            pytest.fail(f"{name}: {why}")
    launched = {
        "chromium": engines.launch("chromium", browser),
        "firefox": engines.launch("firefox"),
        "webkit": engines.launch("webkit"),
    }
    yield launched
    for engine in launched.values():
        engine.close()


@pytest.fixture(scope="module")
def demo() -> Iterator[LiveServer]:
    server = LiveServer(make_app).start()
    yield server
    server.stop()


def test_users_on_three_engines_and_six_transports_chat_in_one_room(every_engine, demo):
    pages = []
    try:
        for nick, engine, transport in USERS:
            page = every_engine[engine].new_page()
            pages.append(page)
            page.goto(f"{demo.url}/?nick={nick}&room=engines&transport={transport}")
            page.wait_for_function("!document.getElementById('chat').hidden", timeout=30_000)
            assert page.evaluate("document.getElementById('status').textContent") == (
                f"connected over {transport}"
            ), (nick, engine)
        everyone = [f"{nick} {transport}" for nick, _, transport in USERS]
        for page in pages:
            page.wait_for_function(f"document.querySelectorAll('#users li').length == {len(USERS)}")
            assert page.evaluate(USERS_TEXT) == everyone
        # Everyone speaks in turn, waiting for the room to hear it before the next one.
        expected = []
        for (nick, engine, _), page in zip(USERS, pages, strict=True):
            line = f"{engine} here 😀 \u2028 %20 <b>not bold</b>"
            page.evaluate("line => chat.say(line)", line)
            expected.append(f"{nick}: {line}")
            for other in pages:
                other.wait_for_function(f"{SAID} >= {len(expected)}", timeout=20_000)
        for page in pages:
            assert page.evaluate(SAID_TEXT) == expected
    finally:
        for page in pages:
            page.close()
