"""The application the chaos test runs: numbered ticks out, echoes back."""

from __future__ import annotations

import tornado.ioloop

from fallback import Connection, ConnectionInfo


class ChaosEcho(Connection):
    """Sends ``tick:<n>`` every 50 ms and answers every message with ``echo:<message>``."""

    def on_open(self, info: ConnectionInfo) -> None:
        self.ticks = 0
        self.ticker = tornado.ioloop.PeriodicCallback(self._tick, 50)
        self.ticker.start()

    def _tick(self) -> None:
        self.ticks += 1
        self.send(f"tick:{self.ticks}")

    def on_message(self, text: str) -> None:
        if text == "stop-ticking":
            self.ticker.stop()
            self.send(f"stopped:{self.ticks}")
            return
        self.send("echo:" + text)

    def on_close(self) -> None:
        self.ticker.stop()
