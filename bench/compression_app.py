"""The server `bench/compression.py` measures: one process, one core.

    python bench/compression_app.py PORT on|off

``/echo`` echoes text and binary messages (and ``/hand`` decodes base64 text by hand,
as an application without binary messages does, and answers in base64 text); ``/fan``
broadcasts whatever one connection sends to every connection.
"""

from __future__ import annotations

import asyncio
import base64
import sys
from typing import ClassVar

import tornado.web

from fallback import Connection, Router, broadcast


class Echo(Connection):
    def on_message(self, text: str) -> None:
        self.send(text)

    def on_binary(self, data: bytes) -> None:
        self.send(data)


class ByHand(Connection):
    """Binary content the way it is done without binary messages: base64 in text."""

    def on_message(self, text: str) -> None:
        data = base64.b64decode(text)
        self.send(base64.b64encode(data).decode("ascii"))


class Fan(Connection):
    members: ClassVar[set[Fan]] = set()

    def on_open(self, info: object) -> None:
        self.members.add(self)

    def on_message(self, text: str) -> None:
        broadcast(self.members, text)

    def on_close(self) -> None:
        self.members.discard(self)


async def main(port: int, compression: bool) -> None:
    settings = {"websocket_compression": compression, "max_queue": 1_000_000}
    routers = [
        Router(Echo, "/echo", **settings),
        Router(ByHand, "/hand", **settings),
        Router(Fan, "/fan", **settings),
    ]
    app = tornado.web.Application([rule for router in routers for rule in router.urls])
    app.listen(port, "127.0.0.1")
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2] == "on"))
