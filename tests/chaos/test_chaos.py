"""Resume under fire: clients on every transport exchange numbered messages through a
proxy that cuts their connections at random. Nothing may be lost, repeated or reordered.

`make test` runs a CI-sized version; `make chaos` runs the long one (CHAOS_CLIENTS=200,
CHAOS_SECONDS=60).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest

from tests.scale.conftest import ServerProcess
from tests.support.chaos import ChaosProxy
from tests.support.resumable import ResumableClient
from tests.support.sockjs import ALL_TRANSPORTS

CLIENTS = int(os.environ.get("CHAOS_CLIENTS", "24"))
SECONDS = float(os.environ.get("CHAOS_SECONDS", "8"))

pytestmark = pytest.mark.timeout(int(SECONDS * 6 + 120))


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    process = ServerProcess(
        None,
        extra=["--heartbeat-delay", "1", "--disconnect-delay", "2"],
        app="tests.chaos.app:ChaosEcho",
        prefix="/chaos",
    )
    yield process
    assert process.stop() == 0
    assert "Traceback" not in process.output(), process.output()


def gaps_and_duplicates(numbers: list[int], expected: int) -> dict[str, int]:
    seen: set[int] = set()
    duplicated = reordered = 0
    last = 0
    for n in numbers:
        if n in seen:
            duplicated += 1
            continue
        seen.add(n)
        if n < last:
            reordered += 1
        last = max(last, n)
    lost = len(set(range(1, expected + 1)) - seen)
    return {"lost": lost, "duplicated": duplicated, "reordered": reordered}


class Runner(threading.Thread):
    def __init__(self, url: str, transport: str, until: float) -> None:
        super().__init__(daemon=True)
        self.transport = transport
        self.until = until
        self.echoes: list[int] = []
        self.ticks: list[int] = []
        self.last_tick = 0
        self.sent = 0
        self.error: BaseException | None = None
        self.client = ResumableClient(url, transport, self._message)

    def _message(self, text: str) -> None:
        kind, _, number = text.partition(":")
        if kind == "echo":
            self.echoes.append(int(number))
        elif kind == "tick":
            self.ticks.append(int(number))
        elif kind == "stopped":
            self.last_tick = int(number)

    def run(self) -> None:
        try:
            self.client.open()
            while time.monotonic() < self.until:
                self.sent += 1
                self.client.send(str(self.sent))
                self.client.pump(0.05)
            self.client.send("stop-ticking")
            deadline = time.monotonic() + 60
            while (
                len(set(self.echoes)) < self.sent
                or not self.last_tick
                or len(set(self.ticks)) < self.last_tick
            ):
                if time.monotonic() > deadline:
                    break
                self.client.pump(0.5)
        except BaseException as error:  # reported by the test
            self.error = error
        finally:
            try:
                self.client.close()
            except Exception:
                pass


def test_nothing_lost_repeated_or_reordered_while_connections_are_cut(server):
    proxy = ChaosProxy(server.port, min_life=0.2, max_life=1.5, seed=7).start()
    try:
        until = time.monotonic() + SECONDS
        runners = [
            Runner(proxy.url + "/chaos", ALL_TRANSPORTS[i % len(ALL_TRANSPORTS)], until)
            for i in range(CLIENTS)
        ]
        for runner in runners:
            runner.start()
        for runner in runners:
            runner.join(timeout=SECONDS * 4 + 90)
        proxy.enabled = False
    finally:
        proxy.stop()

    report = {"lost": 0, "duplicated": 0, "reordered": 0, "messages": 0, "reconnects": 0}
    problems = []
    for runner in runners:
        assert not runner.is_alive(), f"{runner.transport} client did not finish"
        if runner.error is not None:
            problems.append(f"{runner.transport}: {runner.error!r}")
            continue
        echo = gaps_and_duplicates(runner.echoes, runner.sent)
        ticks = gaps_and_duplicates(runner.ticks, runner.last_tick)
        for key in ("lost", "duplicated", "reordered"):
            report[key] += echo[key] + ticks[key]
        report["messages"] += len(runner.echoes) + len(runner.ticks) + runner.sent
        report["reconnects"] += runner.client.reconnects
        if any(echo.values()) or any(ticks.values()):
            problems.append(f"{runner.transport}: echoes {echo}, ticks {ticks}")
    print(f"\nchaos: {CLIENTS} clients, {SECONDS:.0f} s, {proxy.cut} connections cut: {report}")
    assert not problems, problems
    assert proxy.cut > CLIENTS, "the proxy should have cut many connections"
    assert report["reconnects"] > 0
    assert report == {**report, "lost": 0, "duplicated": 0, "reordered": 0}
