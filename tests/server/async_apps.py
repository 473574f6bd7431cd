"""Applications with coroutine handlers (``async def on_*``), for test_coroutine_handlers."""

from __future__ import annotations

import asyncio
from typing import Any

import tornado.web

from fallback import Connection, ConnectionInfo, Router
from fallback.server import make_application
from tests.server.apps import Recorder

recorder = Recorder()

#: Gates that hold a connection's ``on_message`` until the test opens them, by
#: connection id (touched only on the server's loop).
gates: dict[str, asyncio.Event] = {}
#: Every gated connection, by connection id (read on the server's loop).
gated: dict[str, Connection] = {}


def open_gate(connection_id: str) -> None:
    gates.setdefault(connection_id, asyncio.Event()).set()


class AsyncEcho(Connection):
    """Echoes after awaiting a little, a different while for each message, so that a
    dispatcher that let handlers overlap would reorder the echoes."""

    async def on_message(self, text: str) -> None:
        number = int(text.rsplit(" ", 1)[-1]) if text[-1:].isdigit() else 0
        for _ in range((7 - number % 7) % 4):
            await asyncio.sleep(0)
        if number % 5 == 0:
            await asyncio.sleep(0.001)
        self.send(text)


class Gated(Connection):
    """Each ``on_message`` waits for the test to open this connection's gate."""

    async def on_open(self, info: ConnectionInfo) -> None:
        gates[self.connection_id] = asyncio.Event()
        gated[self.connection_id] = self
        recorder.add("open", self.connection_id, self.connection_id)

    async def on_message(self, text: str) -> None:
        recorder.add("start", self.connection_id, text)
        await gates[self.connection_id].wait()
        recorder.add("done", self.connection_id, text)
        self.send(text)

    async def on_close(self) -> None:
        await asyncio.sleep(0)
        recorder.add("close", self.connection_id, self.close_code)


class Failing(Connection):
    """Raises from ``on_message`` after an await when told to ``boom``."""

    async def on_open(self, info: ConnectionInfo) -> None:
        recorder.add("open", self.transport, self.connection_id)

    async def on_message(self, text: str) -> None:
        await asyncio.sleep(0)
        if text == "boom":
            raise RuntimeError("application bug")
        recorder.add("message", self.transport, text)

    def on_close(self) -> None:
        recorder.add("close", self.transport, self.close_code)


class SlowOpen(Connection):
    """``on_open`` awaits before it greets or refuses: messages sent meanwhile wait."""

    async def on_open(self, info: ConnectionInfo) -> bool:
        await asyncio.sleep(0.05)
        self.send("welcome")
        recorder.add("open", self.transport)
        return True

    def on_message(self, text: str) -> None:
        recorder.add("message", self.transport, text)
        self.send("echo " + text)

    async def on_close(self) -> None:
        await asyncio.sleep(0.01)
        recorder.add("close", self.transport, self.close_code)


class Refusing(SlowOpen):
    async def on_open(self, info: ConnectionInfo) -> bool:
        await asyncio.sleep(0.05)
        recorder.add("refused", self.transport)
        return False


def make_app(**extra: Any) -> tornado.web.Application:
    return make_application(
        [
            Router(AsyncEcho, "/async-echo"),
            Router(Gated, "/gated", max_pending_messages=5, disconnect_delay=0.5),
            Router(Failing, "/failing"),
            Router(SlowOpen, "/slow-open"),
            Router(Refusing, "/refusing"),
        ]
    )
