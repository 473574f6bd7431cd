"""A graceful shutdown waits for the application's coroutine handlers: an ``async def
on_message`` still awaiting when the shutdown starts finishes, and what it sends reaches
the client before the 1012 close; an ``async def on_close`` has returned when `shutdown`
does (so what it tears down -- a database row, a presence entry -- is torn down before
the process exits)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any, ClassVar

import pytest
import tornado.web
import websocket

from fallback import Connection, Router
from fallback.server import shutdown
from tests.support.live import LiveServer

pytestmark = pytest.mark.timeout(30)
RESTART = 'c[1012,"Server restarting, reconnect"]'


class Slow(Connection):
    """Each handler waits for the test to let it go, as for a database answer."""

    gates: ClassVar[dict[str, asyncio.Event]] = {}
    closed: ClassVar[list[int | None]] = []
    started = threading.Event()

    async def on_message(self, text: str) -> None:
        Slow.started.set()
        await Slow.gates["message"].wait()
        self.send(f"answer to {text}")

    async def on_close(self) -> None:
        await Slow.gates["close"].wait()
        Slow.closed.append(self.close_code)


@pytest.fixture
def slow() -> Any:
    router = Router(Slow, "/slow")
    live = LiveServer(lambda: tornado.web.Application(router.urls)).start()

    def gates() -> None:
        Slow.gates = {"message": asyncio.Event(), "close": asyncio.Event()}
        Slow.closed = []
        Slow.started.clear()

    live.call(gates)
    yield live, router
    live.stop()


def frames(ws: websocket.WebSocket, count: int) -> list[str]:
    return [ws.recv() for _ in range(count)]


def test_shutdown_waits_for_a_running_async_handler_and_delivers_its_answer(slow):
    live, router = slow
    ws = websocket.create_connection(f"{live.ws_url}/slow/000/abc/websocket", timeout=10)
    try:
        assert ws.recv() == "o"
        ws.send(json.dumps(["question"]))
        # The handler is awaiting when the shutdown starts (the connection says so).
        assert Slow.started.wait(timeout=10)
        assert live.call(lambda: [c.handling for c in router.connections()]) == [True]
        done = live.submit(shutdown(router, deadline=10.0))
        live.call(Slow.gates["message"].set)
        assert frames(ws, 2) == ['a["answer to question"]', RESTART]
        assert not done.done(), "on_close is still awaiting: shutdown must wait for it"
        live.call(Slow.gates["close"].set)
        report = done.result(timeout=10)
        assert Slow.closed == [1012]
        assert report.closed == 1 and not report.timed_out
    finally:
        ws.shutdown()  # the server closed with 1012 already (close() would log it as an error)
