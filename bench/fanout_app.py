"""The application of the broadcast fan-out benchmark (`bench/fanout.py`).

    python -m fallback serve bench.fanout_app:Subscriber --prefix /fanout [--broker URL]

Every connection joins the channel ``fanout`` when it opens and is told ``subscribed``
once publishes from every process reach it (with Redis, the first join of a process
takes a broker round trip); whatever a connection sends is published to the channel,
so it reaches every member in every process.
"""

from __future__ import annotations

import asyncio

from fallback import Connection, channels
from fallback.core.connection_info import ConnectionInfo

CHANNEL = "fanout"


class Subscriber(Connection):
    def on_open(self, info: ConnectionInfo) -> None:
        channels.join(self, CHANNEL)
        asyncio.get_running_loop().create_task(self._announce())

    async def _announce(self) -> None:
        await channels.subscribed(CHANNEL)
        self.send("subscribed")

    def on_message(self, text: str) -> None:
        channels.publish(CHANNEL, text)
