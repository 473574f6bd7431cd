"""The application of the broadcast fan-out benchmark (`bench/fanout.py`).

    python -m fallback serve bench.fanout_app:Subscriber --prefix /fanout [--broker URL]

Every connection joins the channel ``fanout`` when it opens and is told ``subscribed``
once publishes from every process reach it (with Redis, the first join of a process
takes a broker round trip); whatever a connection sends is published to the channel,
so it reaches every member in every process. With ``FANOUT_HISTORY=1`` the channel keeps
history (the last 1000 publications, 10 minutes), and every publication gets a position.
"""

from __future__ import annotations

import asyncio
import os

from fallback import Connection, channels
from fallback.core.connection_info import ConnectionInfo

CHANNEL = "fanout"
if os.environ.get("FANOUT_HISTORY"):
    channels.hub().keep_history(CHANNEL, 1000, 600)


class Subscriber(Connection):
    def on_open(self, info: ConnectionInfo) -> None:
        channels.join(self, CHANNEL)
        asyncio.get_running_loop().create_task(self._announce())

    async def _announce(self) -> None:
        await channels.subscribed(CHANNEL)
        self.send("subscribed")

    def on_message(self, text: str) -> None:
        channels.publish(CHANNEL, text)
