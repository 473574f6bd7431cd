"""The application the chaos test runs: numbered ticks out, echoes back."""

from __future__ import annotations

from typing import ClassVar

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


#: Message bodies that have broken messages somewhere on the way: percent signs (the
#: EventSource escaping), line ends, separators, NUL, non-BMP characters, markup. The
#: numbered messages of `Numbered` carry them in turn, so corruption cannot hide.
SPECIALS = [
    "%",
    "%20",
    "%25",
    "%E0%A4",
    "100%",
    "%%",
    "\r",
    "\n",
    "\r\n",
    "\u2028",
    "\u2029",
    "\x00",
    "\U0001f600",
    "</script>",
    '"\\',
    "é",
    "<!--",
    "\ufeff",
    "\t",
    'a["x"]',
    "#",
]


def body(n: int) -> str:
    return SPECIALS[n % len(SPECIALS)]


class Record:
    """What one page's connection delivered to the server, checked as it arrives."""

    def __init__(self) -> None:
        self.numbers: list[int] = []
        self.corrupted: list[str] = []
        self.opened = 0
        self.closed: list[tuple[int | None, str | None]] = []

    def report(self) -> dict[str, object]:
        return {
            "numbers": list(self.numbers),
            "corrupted": list(self.corrupted),
            "opened": self.opened,
            "closed": list(self.closed),
        }


class Numbered(Connection):
    """The browser chaos test's application.

    A page says ``hello:<page>``; from then on the server sends ``t:<n>:<body>`` every
    `tick` seconds and answers each ``m:<n>:<body>`` with ``e:<n>:<body>``, checking the
    body; ``stop`` stops the ticks and is answered ``stopped:<ticks>``. What arrived is
    kept per page in `records` (read it on the server's loop).
    """

    records: ClassVar[dict[str, Record]] = {}
    tick = 0.05

    def on_open(self, info: ConnectionInfo) -> None:
        self.record: Record | None = None
        self.ticks = 0
        self.ticker = tornado.ioloop.PeriodicCallback(self._tick, self.tick * 1000)

    def _tick(self) -> None:
        self.ticks += 1
        self.send(f"t:{self.ticks}:{body(self.ticks)}")

    def on_message(self, text: str) -> None:
        kind, _, rest = text.partition(":")
        if kind == "hello":
            self.record = self.records.setdefault(rest, Record())
            self.record.opened += 1
            self.ticker.start()
            return
        if self.record is None:
            return
        if kind == "m":
            number, _, text_body = rest.partition(":")
            self.record.numbers.append(int(number))
            if text_body != body(int(number)):
                self.record.corrupted.append(rest)
            self.send("e:" + rest)
        elif kind == "stop":
            self.ticker.stop()
            self.send(f"stopped:{self.ticks}")

    def on_close(self) -> None:
        self.ticker.stop()
        if self.record is not None:
            self.record.closed.append((self.close_code, self.close_reason))
