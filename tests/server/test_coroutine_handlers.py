"""``async def`` handlers on every transport: awaited in order, bounded, failures contained.

Each test runs over every transport with the test suite's own protocol clients against
a live server (tests/server/async_apps.py).
"""

from __future__ import annotations

import logging

import pytest

from tests.server import async_apps
from tests.server.async_apps import recorder
from tests.support.live import LiveServer
from tests.support.processes import wait_until
from tests.support.sockjs import ALL_TRANSPORTS, client_for, decode_close, decode_messages

pytestmark = pytest.mark.timeout(40)


@pytest.fixture(scope="module")
def live():
    server = LiveServer(async_apps.make_app).start()
    yield server
    server.stop()


@pytest.fixture(params=ALL_TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    recorder.clear()
    return request.param


def _opened_id(transport: str) -> str:
    events = recorder.wait_for(lambda ev: any(e[0] == "open" for e in ev))
    return next(e[2] for e in events if e[0] == "open")


def _of(cid: str) -> list[tuple[str, str]]:
    """What the gated connection `cid` recorded (earlier tests' connections may still
    be closing, polling ones by expiry)."""
    return [(e[0], e[2]) for e in recorder.events() if e[1] == cid and e[0] != "open"]


def _data_until_close(client, limit: int = 50) -> tuple[list[str], tuple[int, str]]:
    messages: list[str] = []
    for _ in range(limit):
        frame = client.next_data_frame()
        if frame.startswith("c"):
            return messages, decode_close(frame)
        messages.extend(decode_messages(frame))
    raise AssertionError(f"no close frame after {messages}")


def test_async_on_message_is_awaited_in_order_exactly_once(live, transport):
    client = client_for(transport, live.url + "/async-echo")
    try:
        assert client.next_frame() == "o"
        sent = [f"message ✓ {i}" for i in range(150)]
        client.send_in_batches(sent, 9)
        assert client.receive_messages(len(sent)) == sent
    finally:
        client.close()


def test_next_message_waits_for_the_previous_handler(live, transport):
    client = client_for(transport, live.url + "/gated")
    try:
        assert client.next_frame() == "o"
        cid = _opened_id(transport)
        client.send("first", "second")
        recorder.wait_for(lambda ev: ("start", cid, "first") in ev)
        # "second" has arrived (the send request was answered) but must not start yet.
        assert _of(cid) == [("start", "first")]
        live.call(async_apps.open_gate, cid)
        assert client.receive_messages(2) == ["first", "second"]
        assert _of(cid) == [
            ("start", "first"),
            ("done", "first"),
            ("start", "second"),
            ("done", "second"),
        ]
    finally:
        client.close()


def test_too_many_waiting_messages_close_with_3008(live, transport):
    client = client_for(transport, live.url + "/gated")  # max_pending_messages=5
    try:
        assert client.next_frame() == "o"
        cid = _opened_id(transport)
        client.send("held")
        recorder.wait_for(lambda ev: ("start", cid, "held") in ev)
        client.send(*[f"waiting {i}" for i in range(5)])  # exactly the limit: fine
        client.send("one too many", check=False)
        messages, close = _data_until_close(client)
        assert close == (3008, "Send queue overflow")
        assert messages == []
    finally:
        client.close()


@pytest.mark.expect_errors
def test_a_raising_coroutine_is_logged_once_with_the_connection_id_and_closes_1011(
    live, transport, caplog
):
    client = client_for(transport, live.url + "/failing")
    try:
        with caplog.at_level(logging.ERROR, logger="fallback"):
            assert client.next_frame() == "o"
            cid = _opened_id(transport)
            client.send("before", "boom", "after")
            assert _data_until_close(client) == ([], (1011, "Internal server error"))
            recorder.wait_for(lambda ev: any(e[0] == "close" for e in ev))
        lines = [r.getMessage() for r in caplog.records if "raised" in r.getMessage()]
        assert len(lines) == 1 and lines[0].startswith(f"connection {cid}")
        assert lines[0].endswith(": on_message raised; closing it")
        assert [e for e in recorder.events() if e[0] != "open"] == [
            ("message", transport, "before"),
            ("close", transport, 1011),
        ]
    finally:
        client.close()


def test_close_during_a_pending_handler_runs_on_close_after_it(live, transport):
    client = client_for(transport, live.url + "/gated")  # disconnect_delay=0.5
    try:
        assert client.next_frame() == "o"
        cid = _opened_id(transport)
        client.send("pending", "queued")
        recorder.wait_for(lambda ev: ("start", cid, "pending") in ev)
        client.abort()
        # The session closes (interrupted, or expired for polling) while the handler
        # waits; on_close must wait for it and for the message queued behind it.
        wait_until(lambda: live.call(lambda: async_apps.gated[cid].is_closed), 10, "the close")
        assert _of(cid) == [("start", "pending")]
        live.call(async_apps.open_gate, cid)
        recorder.wait_for(lambda ev: any(e[0] == "close" and e[1] == cid for e in ev), timeout=10)
        recorded = _of(cid)
        assert recorded[:4] == [
            ("start", "pending"),
            ("done", "pending"),
            ("start", "queued"),
            ("done", "queued"),
        ]
        assert [kind for kind, _ in recorded[4:]] == ["close"]
    finally:
        client.close()


def test_messages_sent_during_an_async_on_open_wait_for_it(live, transport):
    client = client_for(transport, live.url + "/slow-open")
    try:
        assert client.next_frame() == "o"
        client.send("early")
        assert client.receive_messages(2) == ["welcome", "echo early"]
        assert [e[0] for e in recorder.events()] == ["open", "message"]
    finally:
        client.close()
    recorder.wait_for(lambda ev: any(e[0] == "close" for e in ev), timeout=10)


def test_async_on_open_returning_false_rejects_with_3001_and_no_on_close(live, transport):
    client = client_for(transport, live.url + "/refusing")
    try:
        assert client.next_frame() == "o"
        client.send("never delivered", check=False)
        messages, close = _data_until_close(client)
        assert (messages, close) == ([], (3001, "Connection rejected"))
        assert recorder.events() == [("refused", transport, None)]
    finally:
        client.close()
