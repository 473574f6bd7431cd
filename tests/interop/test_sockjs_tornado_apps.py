"""sockjs-tornado applications behave the same on sockjs-tornado 1.0.7 and on
fallback.compat.sockjs_tornado, seen by the npm sockjs-client.

The applications are tests/compat/realapps (a chat, and a multiplexer carrying several
channels over one connection), each run unchanged but for its imports; the client runs
sockjs_tornado_apps.js over websocket, xhr-streaming and xhr-polling in Node, and over
jsonp-polling in headless Chromium. Every assertion is the same for both implementations.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.compat.conftest import IMPLEMENTATIONS
from tests.compat.realapps import OLD, source
from tests.interop.sockjs_tornado_apps import (
    BROWSER_ONLY,
    SERVER_NAMES,
    TRANSPORTS,
    chromium,
    run_in_node,
    run_in_page,
    serve,
    summary,
)
from tests.support.live import LiveServer

HERE = os.path.dirname(os.path.abspath(__file__))

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
]

#: Unicode that SockJS must escape (U+2028), an astral character, markup and quotes.
TEXT = 'héllo, ✓ \u2028 😀 </script> "q"'
#: What the leaver's last message is answered with before it closes; then the room hears
#: the leave after at most disconnect_delay (5 s) and one session check (1 s) when the
#: leaver had no request open -- the wait is bounded well above that.
LEAVE_TIMEOUT = 12_000


@pytest.fixture(scope="module")
def servers() -> Iterator[Callable[[str, str], LiveServer]]:
    if not os.path.isdir(os.path.join(HERE, "node_modules", "sockjs-client")):
        pytest.fail("npm packages missing: run `make node-deps`")
    started: dict[tuple[str, str], LiveServer] = {}

    def get(app: str, impl: str) -> LiveServer:
        if (app, impl) not in started:
            started[app, impl] = serve(app, impl)
        return started[app, impl]

    yield get
    for live in started.values():
        live.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope: Playwright's sync API marks the main thread's loop as running while
    # it lives (see tests/browser/conftest.py).
    from tests.browser.chromium import CHROMIUM

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (installs Debian's chromium)")
    with chromium() as launched:
        yield launched


@pytest.fixture
def run(servers, request) -> Callable[..., dict[str, Any]]:
    """``run(app, impl, scenario, transport, **options)`` -> the scenario's report."""

    def go(app: str, impl: str, scenario: str, transport: str, **options: Any) -> dict[str, Any]:
        live = servers(app, impl)
        url = f"{live.url}/{app}"
        options.setdefault("text", TEXT)
        options.setdefault("leaveTimeout", LEAVE_TIMEOUT)
        if transport in BROWSER_ONLY:
            context = request.getfixturevalue("browser").new_context()
            try:
                page = context.new_page()
                page.goto(live.url + "/interop/page.html")
                outcome = run_in_page(page, scenario, url, transport, options)
            finally:
                context.close()
        else:
            outcome = run_in_node(scenario, url, transport, options)
        assert outcome["error"] is None, outcome["error"]
        report: dict[str, Any] = outcome["report"]
        return report

    return go


@pytest.fixture(params=IMPLEMENTATIONS)
def impl(request: pytest.FixtureRequest) -> str:
    return str(request.param)


NORMAL = {"code": 1000, "reason": "Normal closure"}


def test_the_applications_differ_from_their_sockjs_tornado_originals_only_in_imports():
    for app in ("chat", "multiplex"):
        original = source(app, IMPLEMENTATIONS[0]).splitlines()
        migrated = source(app, IMPLEMENTATIONS[1]).splitlines()
        changed = [(a, b) for a, b in zip(original, migrated, strict=True) if a != b]
        assert changed and all(
            a.startswith(("from " + OLD, "import " + OLD)) for a, _ in changed
        ), changed


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_chat_join_message_unicode_leave_and_stats(run, impl, transport):
    # The leaver closes inside the onmessage handler of its own last message, as an
    # application that quits right after reading does: over the polling transports it
    # then has no request open and the server notices it by timeout alone.
    report = run("chat", impl, "chat", transport, leave="inside")
    name = SERVER_NAMES[transport]
    assert report["transports"] == {"alice": transport, "bob": transport}
    *events, stats = report["alice"]
    assert events == [
        {"event": "welcome", "name": "alice", "members": ["alice"], "transport": name},
        {"event": "join", "name": "bob"},
        {"event": "message", "name": "alice", "text": TEXT},
        {"event": "message", "name": "bob", "text": "hi alice"},
        {"event": "leave", "name": "bob"},
    ]
    assert report["bob"] == [
        {"event": "welcome", "name": "bob", "members": ["alice", "bob"], "transport": name},
        {"event": "message", "name": "alice", "text": TEXT},
        {"event": "message", "name": "bob", "text": "hi alice"},
    ]
    assert stats["event"] == "stats"
    assert stats["sessions_active"] >= 1 and stats["on_my_transport"] >= 1
    assert report["closes"] == {"alice": NORMAL, "bob": NORMAL}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_multiplexed_channels_stay_separate_and_close_with_their_connection(run, impl, transport):
    report = run("multiplex", impl, "multiplex", transport, leave="inside")
    assert report["transports"] == {"ann": transport, "bob": transport}
    *_, stats = report["ann"].pop("stats")
    assert report["ann"] == {
        "echo": ["echo ready", "echo: " + TEXT],
        "shout": ["QUIET É ✓"],
        "bye": ["bye", "[uns]"],  # it said goodbye and closed itself; "hello?" went nowhere
        "room": ["welcome ann", "bob joined", "bob: hi from bob ✓", "bob left", "bob joined"],
    }  # and nothing on "nope", which the server does not serve
    # Ann's echo, shout, room and stats channels at least (bye had closed), counted as
    # the router's "multiplex" sessions.
    assert json.loads(stats)["channel_sessions"] >= 4
    # Bob heard Ann leave when her connection ended (every channel closes with it).
    assert report["bob"] == {
        "room": ["welcome bob", "bob: hi from bob ✓", "welcome bob", "ann left"]
    }
    assert report["closes"] == {"ann": NORMAL, "bob": NORMAL}


RUNS = 20


@pytest.mark.parametrize(
    ("leave", "parallel"),
    [
        # Between polls: no request of the leaver's is open; heard after the session's
        # disconnect_delay and one session check. The 20 rooms run at once to keep the
        # suite fast; `make compat-leave` runs them one after the other.
        ("inside", True),
        # Right after its next poll went out on the kept-alive connection: the request
        # and the close reach the server together (the cause of issue 16's missing
        # leaves; see test_a_poll_whose_client_quit_as_it_sent_it_ends_the_session_at_once).
        ("next", False),
        # With its next poll open: the server sees that request end and closes at once.
        ("later", False),
    ],
)
def test_the_leave_reaches_the_room_every_time_over_xhr_polling(run, impl, leave, parallel):
    if impl == IMPLEMENTATIONS[0] and leave == "next":
        pytest.skip(
            "sockjs-tornado holds such a poll until its next heartbeat: the leave comes "
            "~31 s late (test_a_poll_whose_client_quit_as_it_sent_it_ends_the_session_at_once "
            "pins it; make compat-leave measures it)"
        )
    report = run("chat", impl, "leave", "xhr-polling", leave=leave, runs=RUNS, parallel=parallel)
    runs = report["runs"]
    print(f"{impl} leave={leave}: {summary(runs)}")
    assert [r["run"] for r in runs if not r["heard"]] == [], runs
