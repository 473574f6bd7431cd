"""The demo chat, two users in separate browser contexts, each forced onto a transport."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from demo.app import make_app
from tests.support.live import LiveServer

pytestmark = pytest.mark.timeout(60)

TRANSPORTS = ("websocket", "eventsource", "xhr_streaming", "htmlfile", "xhr", "jsonp")
#: Every transport meets two others: (websocket, eventsource), (eventsource, xhr_streaming)...
PAIRS = [(a, TRANSPORTS[(i + 1) % len(TRANSPORTS)]) for i, a in enumerate(TRANSPORTS)]
rooms = itertools.count(1)


@pytest.fixture(scope="module")
def demo() -> Iterator[LiveServer]:
    server = LiveServer(make_app).start()
    yield server
    server.stop()


def join(open_page, demo: LiveServer, nick: str, room: str, transport: str) -> Page:
    page = open_page(f"{demo.url}/?nick={nick}&room={room}&transport={transport}")
    page.wait_for_selector("#chat:not([hidden])")
    return page


def said(page: Page) -> list[str]:
    return page.eval_on_selector_all(
        "#messages li.said",
        "items => items.map(i => i.querySelector('.nick').textContent"
        " + ': ' + i.querySelector('.text').textContent)",
    )


def wait_said(page: Page, count: int) -> list[str]:
    page.wait_for_function(
        "n => document.querySelectorAll('#messages li.said').length >= n", arg=count
    )
    return said(page)


def users(page: Page) -> list[str]:
    return page.eval_on_selector_all(
        "#users li",
        "items => items.map(i => i.querySelector('.nick').textContent"
        " + ' ' + i.querySelector('.badge').textContent)",
    )


def say(page: Page, text: str) -> None:
    page.fill("#text", text)
    page.press("#text", "Enter")


@pytest.mark.parametrize(("first", "second"), PAIRS, ids=[f"{a}+{b}" for a, b in PAIRS])
def test_two_users_on_different_transports_chat_in_order(open_page, demo, first, second):
    room = f"room{next(rooms)}"
    alice = join(open_page, demo, "alice", room, first)
    bob = join(open_page, demo, "bob", room, second)

    assert alice.text_content("#status") == f"connected over {first}"
    assert bob.text_content("#status") == f"connected over {second}"
    alice.wait_for_function("document.querySelectorAll('#users li').length == 2")
    assert users(alice) == [f"alice {first}", f"bob {second}"]
    assert users(bob) == users(alice)
    alice.wait_for_selector(f"#messages li.notice >> text=bob joined over {second}")

    # Typed messages, then a burst from script: both arrive everywhere, in order.
    say(alice, "hello bob")
    wait_said(bob, 1)
    say(bob, "hi alice")
    wait_said(alice, 2)  # bob's post has landed: the burst below cannot overtake it
    burst = [f"{i} 😀 \u2028 <b>not bold</b>" for i in range(15)]
    alice.evaluate("lines => lines.forEach(line => chat.say(line))", burst)
    expected = ["alice: hello bob", "bob: hi alice"] + [f"alice: {line}" for line in burst]
    assert wait_said(bob, len(expected)) == expected
    assert wait_said(alice, len(expected)) == expected


def test_leaving_user_is_announced_and_removed_from_the_list(open_page, demo):
    room = f"room{next(rooms)}"
    alice = join(open_page, demo, "alice", room, "websocket")
    bob = join(open_page, demo, "bob", room, "eventsource")
    alice.wait_for_function("document.querySelectorAll('#users li').length == 2")
    bob.close()
    alice.wait_for_selector("#messages li.notice >> text=bob left")
    alice.wait_for_function("document.querySelectorAll('#users li').length == 1")
    assert users(alice) == ["alice websocket"]


def test_taken_nickname_gets_a_number_and_rooms_are_separate(open_page, demo):
    room, other = f"room{next(rooms)}", f"room{next(rooms)}"
    first = join(open_page, demo, "sam", room, "xhr")
    second = join(open_page, demo, "sam", room, "jsonp")
    elsewhere = join(open_page, demo, "zoe", other, "websocket")
    assert second.text_content("#room-title") == f"#{room} - you are sam 2"
    first.wait_for_function("document.querySelectorAll('#users li').length == 2")
    say(elsewhere, "only for my room")
    say(second, "for room one")
    assert wait_said(first, 1) == ["sam 2: for room one"]
    assert said(elsewhere) == ["zoe: only for my room"]
    assert users(elsewhere) == ["zoe websocket"]


def test_best_available_transport_is_websocket_and_selector_lists_what_this_browser_can_use(
    open_page, demo
):
    page = join(open_page, demo, "ann", f"room{next(rooms)}", "")
    assert page.text_content("#status") == "connected over websocket"
    options = page.eval_on_selector_all("#transport option", "os => os.map(o => o.value)")
    # Everything but Flash: Chromium has no Flash plugin, and the page would fail with 1006.
    assert options == ["", "websocket", "eventsource", "xhr_streaming", "htmlfile", "xhr", "jsonp"]


def test_an_old_browser_is_offered_only_the_transports_it_has(open_page, demo):
    old = "delete window.WebSocket; delete window.EventSource;"
    page = open_page(f"{demo.url}/", init_scripts=[old])
    page.wait_for_selector("#transport option[value='jsonp']", state="attached")
    options = page.eval_on_selector_all("#transport option", "os => os.map(o => o.value)")
    assert options == ["", "xhr_streaming", "htmlfile", "xhr", "jsonp"]
