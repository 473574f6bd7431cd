"""kill -9 under fire: channel servers die without a word, again and again, and their
subscribers recover from history on the others. Nothing may be lost, repeated or
reordered.

Three channel-server processes share a redis-server behind the repository's nginx
configuration. A publisher posts numbered publications to one of them (which stays up) at
a steady rate; subscribers on every transport, through nginx, keep their last position
and, whenever their connection fails, connect again and subscribe with it. Meanwhile the
two other processes are killed with SIGKILL in turn and started again on the same port.

`make test` runs a CI-sized version; `make chaos` the long one (CHAOS_KILL_SECONDS=60).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.test_chaos import gaps_and_duplicates
from tests.scale.test_load_balancers import start_nginx
from tests.support import http
from tests.support.processes import ROOT, RedisServer, free_port, stop, wait_until
from tests.support.sockjs import ALL_TRANSPORTS, client_for, decode_messages

SECONDS = float(os.environ.get("CHAOS_KILL_SECONDS", "8"))
SUBSCRIBERS = int(os.environ.get("CHAOS_KILL_SUBSCRIBERS", str(len(ALL_TRANSPORTS))))
KILL_EVERY = 2.0

pytestmark = pytest.mark.timeout(int(SECONDS * 4 + 150))

API_KEY = "kill9-api-key-0123456789"
CONFIG = f"""
[tenants.acme]
prefix = "/acme"
secret = "kill9-secret-0123456789"
api_key = "{API_KEY}"
max_recovery = 10000
[tenants.acme.history]
"feed" = {{ size = 1000, ttl = 600 }}
[tenants.acme.settings]
heartbeat_delay = 0.5
resume_grace = 2.0
disconnect_delay = 1.0
"""


class Server:
    """``tests.realtime.channel_server`` on a port of its own, killable and restartable."""

    def __init__(self, config: Path, broker: str) -> None:
        self.config, self.broker, self.port = config, broker, free_port()
        self.process: subprocess.Popen[str] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.realtime.channel_server",
                "--config",
                str(self.config),
                "--port",
                str(self.port),
                "--broker",
                self.broker,
            ],
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        url = f"http://127.0.0.1:{self.port}/acme/info"
        wait_until(lambda: http.get(url, timeout=1).status == 200, 20, "channel server")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process, timeout=15)


class Subscriber(threading.Thread):
    """A raw SockJS client that subscribes to ``feed`` and, whenever its connection fails
    in any way, opens another and subscribes again with its last position."""

    def __init__(self, url: str, transport: str, done: threading.Event) -> None:
        super().__init__(daemon=True)
        self.url, self.transport, self.done = url, transport, done
        self.numbers: list[int] = []
        self.position: dict[str, object] | None = None
        self.connections = 0
        self.unrecovered = 0
        self.last_wanted = -1  # set by the test when publishing is over

    def run(self) -> None:
        while not (self.done.is_set() and self.numbers and self.numbers[-1] >= self.last_wanted):
            if self.done.is_set() and self.last_wanted < 0:
                return
            try:
                self.session()
            except Exception:  # any failure: a new connection, recovering
                time.sleep(0.1)

    def session(self) -> None:
        client = client_for(self.transport, self.url)
        self.connections += 1
        try:
            if client.next_frame(timeout=5) != "o":
                return
            request = {"v": 1, "op": "subscribe", "id": 1, "channel": "feed"}
            if self.position is not None:
                request["since"] = self.position
            client.send(json.dumps(request))
            while not (self.last_wanted >= 0 and self.numbers[-1:] == [self.last_wanted]):
                frame = client.next_frame(timeout=3)
                if frame == "h" or frame.startswith("r"):
                    continue
                if not frame.startswith("a"):
                    return  # a close frame, or an "o" of a session the client did not ask for
                for text in decode_messages(frame):
                    self.envelope(json.loads(text))
        finally:
            try:
                client.abort()
            except Exception:
                pass

    def envelope(self, e: dict) -> None:
        if e["op"] == "ok":
            if e.get("recovered") is False:
                self.unrecovered += 1
            if e.get("recovered") is not True:
                self.position = {"offset": e["offset"], "epoch": e["epoch"]}
        elif e["op"] == "message":
            self.numbers.append(e["data"])
            self.position = {"offset": e["offset"], "epoch": e["epoch"]}
        elif e["op"] == "error":
            raise RuntimeError(e)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, list[Server]]]:
    redis = RedisServer(tmp_path)
    redis.start()
    config = tmp_path / "fallback.toml"
    config.write_text(CONFIG)
    servers = [Server(config, redis.url) for _ in range(3)]
    port = free_port()
    nginx = start_nginx([s.port for s in servers], port, tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http.get(url + "/acme/info", timeout=1).status == 200, 10, "nginx")
        yield url, servers
    finally:
        stop(nginx)
        for server in servers:
            server.stop()
        redis.kill()


def publish(server: Server, n: int) -> None:
    response = http.request(
        "POST",
        f"http://127.0.0.1:{server.port}/acme/api/publish",
        json.dumps({"channel": "feed", "data": n}),
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert response.status == 200, response.body


def test_nothing_lost_repeated_or_reordered_while_servers_are_killed(cluster):
    url, servers = cluster
    steady, *victims = servers
    publish(steady, 0)  # the channel's history starts
    done = threading.Event()
    subscribers = [
        Subscriber(url + "/acme", ALL_TRANSPORTS[i % len(ALL_TRANSPORTS)], done)
        for i in range(SUBSCRIBERS)
    ]
    for subscriber in subscribers:
        subscriber.start()
    wait_until(lambda: all(s.position for s in subscribers), 20, "every subscriber in")
    published = kills = 0
    started = next_kill = time.monotonic()
    while time.monotonic() - started < SECONDS:
        published += 1
        publish(steady, published)
        if time.monotonic() >= next_kill + KILL_EVERY:
            victim = victims[kills % len(victims)]
            victim.kill()
            kills += 1
            victim.start()
            next_kill = time.monotonic()
        time.sleep(0.02)
    for subscriber in subscribers:
        subscriber.last_wanted = published
    done.set()
    for subscriber in subscribers:
        subscriber.join(timeout=60)

    report = {"lost": 0, "duplicated": 0, "reordered": 0, "unrecovered": 0, "moves": 0}
    problems = []
    for s in subscribers:
        assert not s.is_alive(), f"{s.transport}: still waiting, has {len(s.numbers)}"
        # (0 may come before the subscription; after it, every number once, in order)
        numbers = [n for n in s.numbers if n > 0]
        counted = gaps_and_duplicates(numbers, published)
        for key in ("lost", "duplicated", "reordered"):
            report[key] += counted[key]
        report["unrecovered"] += s.unrecovered
        report["moves"] += s.connections - 1
        if any(counted.values()) or s.unrecovered:
            problems.append(f"{s.transport}: {counted}, unrecovered {s.unrecovered}")
    print(
        f"\nkill -9: {SUBSCRIBERS} subscribers, {SECONDS:.0f} s, {published} publications, "
        f"{kills} processes killed: {report}"
    )
    assert not problems, problems
    assert kills >= 2 and report["moves"] >= 1
