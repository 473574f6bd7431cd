"""``async def`` handlers on fallback.compat.sockjs_tornado's `SockJSConnection`.

sockjs-tornado itself never awaited them (its ``on_message`` coroutine was dropped);
here they are awaited in order, with sockjs-tornado's own rule that ``on_close``
follows every ``on_open``, on every transport.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
import tornado.web
from tornado.web import HTTPError

from fallback.compat.sockjs_tornado import SockJSConnection, SockJSRouter
from tests.server.apps import Recorder
from tests.support.live import LiveServer
from tests.support.processes import wait_until
from tests.support.sockjs import ALL_TRANSPORTS, client_for, decode_close, decode_messages

pytestmark = pytest.mark.timeout(40)

events = Recorder()
gates: dict[str, asyncio.Event] = {}
connections: dict[str, SockJSConnection] = {}


class AsyncEcho(SockJSConnection):
    async def on_open(self, info):
        await asyncio.sleep(0.02)
        self.send("welcome")

    async def on_message(self, message):
        if message == "boom":
            await asyncio.sleep(0)
            raise RuntimeError("application bug")
        for _ in range(len(message) % 3):
            await asyncio.sleep(0)
        self.send(message)

    async def on_close(self):
        await asyncio.sleep(0)
        events.add("close", self.session.fallback_connection.connection_id)


class Gated(SockJSConnection):
    def on_open(self, info):
        cid = self.session.fallback_connection.connection_id
        gates[cid] = asyncio.Event()
        connections[cid] = self
        events.add("open", cid, cid)

    async def on_message(self, message):
        cid = self.session.fallback_connection.connection_id
        events.add("start", cid, message)
        await gates[cid].wait()
        events.add("done", cid, message)

    def on_close(self):
        events.add("close", self.session.fallback_connection.connection_id)


class Refuses(SockJSConnection):
    async def on_open(self, info):
        await asyncio.sleep(0.02)
        raise HTTPError(403)

    def on_message(self, message):
        events.add("message", "refuses", message)

    async def on_close(self):
        events.add("close", "refuses")


def make_app() -> tornado.web.Application:
    urls = []
    urls += SockJSRouter(AsyncEcho, "/async").urls
    urls += SockJSRouter(Gated, "/gated", {"disconnect_delay": 0.5}).urls
    urls += SockJSRouter(Refuses, "/refuses").urls
    return tornado.web.Application(urls)


@pytest.fixture(scope="module")
def live():
    server = LiveServer(make_app).start()
    yield server
    server.stop()


@pytest.fixture(params=ALL_TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    events.clear()
    return request.param


def _until_close(client) -> tuple[list[str], tuple[int, str]]:
    messages: list[str] = []
    for _ in range(50):
        frame = client.next_data_frame()
        if frame.startswith("c"):
            return messages, decode_close(frame)
        messages.extend(decode_messages(frame))
    raise AssertionError(messages)


def test_compat_async_handlers_are_awaited_in_order(live, transport):
    client = client_for(transport, live.url + "/async")
    try:
        assert client.next_frame() == "o"
        sent = [f"m{i}" + "x" * (i % 5) for i in range(90)]
        client.send_in_batches(sent, 8)
        assert client.receive_messages(len(sent) + 1) == ["welcome", *sent]
    finally:
        client.close()


@pytest.mark.expect_errors
def test_compat_async_failure_closes_1011_and_on_close_still_runs(live, transport, caplog):
    client = client_for(transport, live.url + "/async")
    try:
        with caplog.at_level(logging.ERROR, logger="fallback"):
            assert client.next_frame() == "o"
            client.send("one", "boom", "never")
            assert _until_close(client) == (["welcome", "one"], (1011, "Internal server error"))
            events.wait_for(lambda ev: any(e[0] == "close" for e in ev))
        raised = [r.getMessage() for r in caplog.records if "raised" in r.getMessage()]
        assert len(raised) == 1 and raised[0].endswith(": on_message raised; closing it")
    finally:
        client.close()


def test_compat_http_error_in_async_on_open_rejects_and_on_close_follows(live, transport):
    client = client_for(transport, live.url + "/refuses")
    try:
        assert client.next_frame() == "o"
        client.send("never delivered", check=False)
        assert _until_close(client) == ([], (3001, "Connection rejected"))
        events.wait_for(lambda ev: ("close", "refuses", None) in ev)
        assert events.events() == [("close", "refuses", None)]
    finally:
        client.close()


def test_compat_on_close_waits_for_the_pending_handler(live, transport):
    client = client_for(transport, live.url + "/gated")
    try:
        assert client.next_frame() == "o"
        opened = events.wait_for(lambda ev: any(e[0] == "open" for e in ev))
        cid = next(e[2] for e in opened if e[0] == "open")
        client.send("pending")
        events.wait_for(lambda ev: ("start", cid, "pending") in ev)
        client.abort()
        wait_until(
            lambda: live.call(lambda: connections[cid].session.fallback_connection.is_closed),
            10,
            "the close",
        )
        assert not connections[cid].is_closed, "is_closed turns True after on_close ran"
        assert [e[0] for e in events.events() if e[1] == cid] == ["open", "start"]
        live.call(lambda: gates[cid].set())
        events.wait_for(lambda ev: ("close", cid, None) in ev, timeout=10)
        assert [e[0] for e in events.events() if e[1] == cid] == ["open", "start", "done", "close"]
    finally:
        client.close()
