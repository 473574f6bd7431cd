"""Nothing lost across a crash: fallback.js in Chromium recovers its channels from history.

Two channel-server processes share a real redis-server behind the repository's nginx
configuration; subscribers on every transport; a publisher on the backend API at a
steady rate; the process holding subscribers is killed with SIGKILL. The subscribers
cannot resume (their server is gone), open a new connection through nginx to the other
process, and recover what was published meanwhile: 0 lost, 0 duplicated, in order. Also:
a subscriber away longer than ``resume_grace`` recovers from history, and a Redis
restarted without persistence (a new epoch) gets the page ``recovered: false``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fallback.realtime import tokens
from tests.browser.test_channels import SECRET, TRANSPORTS, ChannelServer
from tests.docs.corpus import block
from tests.scale.test_load_balancers import start_nginx
from tests.support import http
from tests.support.chaos import ChaosProxy
from tests.support.processes import RedisServer, free_port, stop, wait_until

pytestmark = pytest.mark.timeout(240)

CONFIG = f"""
[tenants.acme]
prefix = "/acme"
secret = "{SECRET}"
api_key = "browser-channels-api-key-0123"
[tenants.acme.history]
"feed-*" = {{ size = 1000, ttl = 600 }}
"news-*" = {{ size = 100, ttl = 600 }}
[tenants.acme.settings]
heartbeat_delay = 0.5
resume_grace = 3.0
disconnect_delay = 1.0
"""

SUBSCRIBE = """([url, options, channel, token]) => {
  window.got = []; window.events = []; window.answers = [];
  const sock = new FallbackSocket(url, options);
  window.sock = sock;
  sock.onclose = e => window.events.push({type: "close", code: e.code, reason: e.reason});
  sock.addEventListener("reconnect", () => window.events.push({type: "reconnect"}));
  sock.addEventListener("unrecovered", e => window.events.push({type: "unrecovered"}));
  sock.subscribe(channel, (data, e) => window.got.push([data, e.offset]),
                 {onsubscribe: a => window.answers.push(a)});
  if (token) {
    sock.subscribe("presence-away", null, {token, onsubscribe: a => window.answers.push(a)});
  }
}"""


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def cluster(tmp_path: Path, redis: RedisServer) -> Iterator[tuple[str, list[ChannelServer]]]:
    config = tmp_path / "fallback.toml"
    config.write_text(CONFIG)
    servers = [ChannelServer(config, redis.url), ChannelServer(config, redis.url)]
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


def subscribe(page, url: str, transport: str, channel: str, token: str | None = None) -> None:
    options = {"transports": [transport], "heartbeatTimeout": 1500}
    page.evaluate(SUBSCRIBE, [url + "/acme", options, channel, token])
    page.wait_for_function(f"window.answers.length == {2 if token else 1}", timeout=30_000)
    assert page.evaluate("sock.transport") == transport


class Publisher(threading.Thread):
    """Publishes 0, 1, 2... on `channel` through one process's backend API, every 40 ms."""

    def __init__(self, server: ChannelServer, channel: str, count: int) -> None:
        super().__init__(daemon=True)
        self.server, self.channel, self.count = server, channel, count
        self.sent = 0
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            for n in range(self.count):
                self.server.api("publish", {"channel": self.channel, "data": n})
                self.sent = n + 1
                time.sleep(0.04)
        except BaseException as error:  # reported by the test
            self.failure = error


def connections(server: ChannelServer) -> int:
    return int(server.api("stats")["connections"])


def test_subscribers_of_a_killed_process_recover_on_the_other_with_nothing_lost(open_page, cluster):
    url, servers = cluster
    pages = {}
    for transport in TRANSPORTS:
        page = open_page(url + "/page.html")  # from either process, through nginx
        pages[transport] = page
        subscribe(page, url, transport, "feed-crash")
    wait_until(lambda: sum(connections(s) for s in servers) == len(TRANSPORTS), 10, "counts")
    victim = max(servers, key=connections)
    survivor = next(s for s in servers if s is not victim)
    on_victim = connections(victim)
    assert on_victim >= len(TRANSPORTS) // 2
    total = 120
    publisher = Publisher(survivor, "feed-crash", total)
    publisher.start()
    wait_until(lambda: publisher.sent >= 25, 20, "the first publications")
    victim.process.kill()  # SIGKILL: no goodbye, no 1012, its sessions gone
    victim.process.wait(timeout=10)
    publisher.join(timeout=60)
    assert publisher.failure is None and publisher.sent == total, publisher.failure
    for transport, page in pages.items():
        try:
            page.wait_for_function("n => window.got.length >= n", arg=total, timeout=60_000)
        except Exception:
            state = page.evaluate("[window.got.length, window.events, window.answers]")
            pytest.fail(f"{transport}: {state}")
    moved = 0
    for transport, page in pages.items():
        got = page.evaluate("window.got")
        assert [data for data, _ in got] == list(range(total)), transport
        assert [offset for _, offset in got] == list(range(1, total + 1)), transport
        events = page.evaluate("window.events")
        assert not any(e["type"] in ("close", "unrecovered") for e in events), (transport, events)
        moved += any(e["type"] == "reconnect" for e in events)
    assert moved == on_victim  # exactly the subscribers of the killed process moved
    assert connections(survivor) == len(TRANSPORTS)


def test_a_subscriber_away_longer_than_the_resume_grace_recovers_from_history(open_page, cluster):
    _, servers = cluster
    a = servers[0]
    proxy = ChaosProxy(a.port, min_life=3600, max_life=3600).start()
    try:
        page = open_page(proxy.url + "/page.html")
        token = tokens.issue(SECRET, "walker", tenant="acme", channels="presence-*")
        subscribe(page, proxy.url, "websocket", "feed-away", token)
        a.api("publish", {"channel": "feed-away", "data": "before"})
        page.wait_for_function("window.got.length == 1", timeout=10_000)

        def present() -> bool:
            members = a.api("presence?channel=presence-away")["members"]
            return any(m["user"] == "walker" for m in members)

        assert present()
        proxy.frozen = True  # a train enters a tunnel
        for n in range(5):
            servers[n % 2].api("publish", {"channel": "feed-away", "data": f"away-{n}"})
        # the server gives up on the connection once its grace is over: it is gone
        wait_until(lambda: not present(), 20, "the server to end the connection")
        proxy.frozen = False
        a.api("publish", {"channel": "feed-away", "data": "after"})
        page.wait_for_function("window.got.length >= 7", timeout=30_000)
        got = page.evaluate("window.got")
        texts = [data for data, _ in got]
        assert sorted(texts) == sorted(["before", *(f"away-{n}" for n in range(5)), "after"])
        # in order per publisher (two processes publish: their order between them is Redis's)
        for publisher in (0, 1):
            mine = [t for t in texts if t.startswith("away-") and int(t[5:]) % 2 == publisher]
            assert mine == [f"away-{n}" for n in range(publisher, 5, 2)]
        assert texts[0] == "before" and texts[-1] == "after"
        assert [offset for _, offset in got] == list(range(1, 8))
        events = page.evaluate("window.events")
        assert [e["type"] for e in events] == ["reconnect"], events
    finally:
        proxy.stop()


def test_a_redis_restarted_without_persistence_tells_the_page_it_did_not_recover(
    open_page, cluster, redis
):
    _, servers = cluster
    a, b = servers
    proxy = ChaosProxy(a.port, min_life=3600, max_life=3600).start()
    try:
        page = open_page(proxy.url + "/page.html")
        subscribe(page, proxy.url, "xhr_streaming", "feed-epoch")
        a.api("publish", {"channel": "feed-epoch", "data": "kept"})
        page.wait_for_function("window.got.length == 1", timeout=10_000)
        old = page.evaluate("window.answers[0].epoch")
        redis.kill()
        redis.start()  # empty: no persistence
        wait_until(lambda: _connected(b), 15, "b back on Redis")
        proxy.target_port = b.port
        a.process.kill()  # the page must come back: to b, which has only a new epoch
        page.wait_for_function("window.answers.length >= 2", timeout=30_000)
        answer: dict[str, Any] = page.evaluate("window.answers[1]")
        assert answer["recovered"] is False and answer["epoch"] != old
        events = page.evaluate("window.events")
        assert [e["type"] for e in events] == ["reconnect", "unrecovered"], events
        b.api("publish", {"channel": "feed-epoch", "data": "new"})
        page.wait_for_function("window.got.length == 2", timeout=10_000)
        assert page.evaluate("window.got") == [["kept", 1], ["new", 1]]
    finally:
        proxy.stop()


def _connected(server: ChannelServer) -> bool:
    """Whether `server` answers a history read (it reaches Redis)."""
    response = http.request(
        "GET",
        f"{server.url}/acme/api/history?channel=feed-probe&limit=1",
        None,
        headers={"Authorization": "Bearer browser-channels-api-key-0123"},
    )
    return response.status == 200


def test_the_documented_saved_position_snippet_recovers_across_a_reload(open_page, cluster):
    """docs/guides/channels.md: a page that keeps its position in localStorage gets what
    was published while it was gone, and hears of it when history cannot say."""
    _, servers = cluster
    a = servers[0]
    snippet = block("A page that saves positions itself", "js")
    run = (
        """url => {
      window.shown = []; window.reloaded = 0; window.gaps = [];
      window.show = data => shown.push(data);
      window.reloadNewsFromTheBackend = () => reloaded++;
      const console = {log: (text, channel) => gaps.push(channel)};
      window.sock = new FallbackSocket(url);
      """
        + snippet
        + "window.sub = sub; }"
    )
    page = open_page(a.url + "/page.html")
    page.evaluate(run, a.url + "/acme")
    # (a subscription starts right after the position its answer gives: wait for it)
    page.wait_for_function("sub.position() !== null", timeout=30_000)
    a.api("publish", {"channel": "news-eu", "data": "seen"})
    page.wait_for_function("shown.length == 1", timeout=30_000)
    page.evaluate("sock.close()")
    for text in ("missed 1", "missed 2"):
        a.api("publish", {"channel": "news-eu", "data": text})
    page.reload()
    page.evaluate(run, a.url + "/acme")
    page.wait_for_function("shown.length == 2", timeout=30_000)
    assert page.evaluate("shown") == ["missed 1", "missed 2"]
    assert page.evaluate("reloaded") == 0
    # a position history cannot answer for: the page is told
    page.evaluate(
        "sock.close(); localStorage.newsPosition = JSON.stringify({offset: 1, epoch: 'gone'})"
    )
    page.reload()
    page.evaluate(run, a.url + "/acme")
    page.wait_for_function("reloaded == 1", timeout=30_000)
    assert page.evaluate("gaps") == ["news-eu"]
