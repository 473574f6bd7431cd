"""An application for the graceful shutdown tests, served by ``python -m fallback serve``.

``go NAME`` starts a stream of numbered messages ``NAME:1``, ``NAME:2``, ... a few every
few milliseconds, so that messages are always in flight or queued when the server is
told to stop. ``on_close`` prints ``CLOSED NAME <count sent> <close code>`` on stderr:
the test checks that the client received exactly that many, in order, then the close.
"""

from __future__ import annotations

import sys

from tornado.ioloop import IOLoop

from fallback import Connection


class Ticker(Connection):
    name = ""
    count = 0

    def on_message(self, text: str) -> None:
        if text.startswith("go ") and not self.name:
            self.name = text[3:]
            self.tick()

    def tick(self) -> None:
        for _ in range(5):
            if not self.send(f"{self.name}:{self.count + 1}"):
                return
            self.count += 1
        IOLoop.current().call_later(0.005, self.tick)

    def on_close(self) -> None:
        print(f"CLOSED {self.name} {self.count} {self.close_code}", file=sys.stderr, flush=True)
