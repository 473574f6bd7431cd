"""The channel server's hooks as coroutines: ``authorize`` and ``on_trigger`` may await,
a connection's requests stay in order behind them, and how many may wait is bounded."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
import tornado.web

from fallback.realtime import Tenant, build_application
from fallback.realtime.runtime import ChannelConnection
from tests.realtime.conftest import EnvelopeClient
from tests.server.apps import Recorder
from tests.support.live import LiveServer
from tests.support.sockjs import ALL_TRANSPORTS, client_for, decode_close, decode_messages

pytestmark = pytest.mark.timeout(40)

events = Recorder()
#: Subscriptions to ``held-*`` channels wait for this gate (touched on the server loop).
gate: dict[str, asyncio.Event] = {}


async def authorize(connection: ChannelConnection, channel: str, claims: Any) -> bool:
    events.add("authorize", connection.connection_id, channel)
    if channel.startswith("held-"):
        await gate.setdefault("held", asyncio.Event()).wait()
    await asyncio.sleep(0)
    return channel != "refused-room"


async def on_trigger(connection: ChannelConnection, event: str, data: Any) -> None:
    await asyncio.sleep(0.01)
    if event == "explode":
        raise RuntimeError("application bug")
    events.add("trigger", connection.connection_id, (event, data))


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    def factory() -> tornado.web.Application:
        tenant = Tenant(
            name="hooks",
            prefix="/hooks",
            secret="hooks-secret-0123456789",
            client_publish=("room-*", "held-*"),
            settings={"max_pending_messages": 4},
        )
        app, _ = build_application(
            [tenant], authorize={"hooks": authorize}, on_trigger={"hooks": on_trigger}
        )
        return app

    server = LiveServer(factory).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh(live: LiveServer) -> None:
    events.clear()
    live.call(lambda: gate.__setitem__("held", asyncio.Event()))


def _request(client: EnvelopeClient, op: str, rid: int, **fields: Any) -> None:
    client.client.send(json.dumps({"v": 1, "op": op, "id": rid, **fields}))


@pytest.mark.parametrize("transport", ALL_TRANSPORTS)
def test_async_authorize_holds_the_requests_sent_after_it(live, transport):
    client = EnvelopeClient(client_for(transport, live.url + "/hooks"))
    try:
        _request(client, "subscribe", 1, channel="held-room")
        _request(client, "publish", 2, channel="held-room", data="after the subscribe")
        events.wait_for(lambda ev: any(e[0] == "authorize" for e in ev))
        live.call(lambda: gate["held"].set())
        answers = [client.wait(lambda e: e["op"] in ("ok", "error")) for _ in range(2)]
        assert [(a["op"], a["id"]) for a in answers] == [("ok", 1), ("ok", 2)]
        assert client.messages("held-room", 1) == ["after the subscribe"]
        refused = client.request("subscribe", channel="refused-room")
        assert (refused["op"], refused["code"]) == ("error", 4030)
    finally:
        client.close()


@pytest.mark.expect_errors
def test_async_trigger_hook_is_awaited_and_its_failure_answers_the_request(live):
    client = EnvelopeClient(client_for("websocket", live.url + "/hooks"))
    try:
        assert client.request("trigger", event="clicked", data={"n": 1})["op"] == "ok"
        assert [e[2] for e in events.events("trigger")] == [("clicked", {"n": 1})]
        failed = client.request("trigger", event="explode", data=None)
        assert (failed["op"], failed["message"]) == ("error", "internal error")
        assert client.request("trigger", event="still.here", data=None)["op"] == "ok"
    finally:
        client.close()


@pytest.mark.parametrize("transport", ["websocket", "xhr_streaming", "xhr"])
def test_requests_piling_up_behind_a_slow_hook_close_with_3008(live, transport):
    client = client_for(transport, live.url + "/hooks")
    try:
        assert client.next_frame() == "o"
        client.send(json.dumps({"v": 1, "op": "subscribe", "id": 1, "channel": "held-a"}))
        events.wait_for(lambda ev: any(e[0] == "authorize" for e in ev))
        waiting = [
            json.dumps({"v": 1, "op": "presence", "id": n, "channel": "x"}) for n in range(4)
        ]
        client.send(*waiting)  # the limit (4): still fine
        client.send(json.dumps({"v": 1, "op": "presence", "id": 9, "channel": "x"}), check=False)
        for _ in range(20):
            frame = client.next_data_frame()
            if frame.startswith("c"):
                assert decode_close(frame) == (3008, "Send queue overflow")
                break
            assert decode_messages(frame) == []
        else:
            raise AssertionError("no close frame")
    finally:
        client.close()
