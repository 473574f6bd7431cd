"""Channels from the browser: fallback.js in Chromium against two server processes joined
by a real redis-server -- every transport, presence, client publishing, a server restart,
a frozen network, and the admin page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fallback.realtime import tokens
from tests.realtime.conftest import EnvelopeClient
from tests.support import http
from tests.support.chaos import ChaosProxy
from tests.support.processes import ROOT, RedisServer, free_port, stop, wait_until
from tests.support.sockjs import client_for

pytestmark = pytest.mark.timeout(180)

SECRET = "browser-channels-secret-0123"
API_KEY = "browser-channels-api-key-0123"
TRANSPORTS = ["websocket", "eventsource", "xhr_streaming", "htmlfile", "xhr", "jsonp"]

CONFIG = f"""
[tenants.acme]
prefix = "/acme"
secret = "{SECRET}"
api_key = "{API_KEY}"
client_publish = ["chat-*"]
admin = true
[tenants.acme.settings]
heartbeat_delay = 0.5
resume_grace = 2.0
disconnect_delay = 1.0
"""


class ChannelServer:
    def __init__(self, config: Path, broker: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.realtime.channel_server",
                "--config",
                str(config),
                "--port",
                str(self.port),
                "--broker",
                broker,
            ],
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # bounded: "ready", or the process exits
        assert line.strip() == "ready", line + self.process.stdout.read()
        self.url = f"http://127.0.0.1:{self.port}"

    def api(self, path: str, body: Any = None) -> Any:
        response = http.request(
            "GET" if body is None else "POST",
            f"{self.url}/acme/api/{path}",
            None if body is None else json.dumps(body),
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        assert response.status == 200, response.body
        return json.loads(response.body)

    def stop(self) -> int:
        return stop(self.process, timeout=15)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.kill()


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "fallback.toml"
    path.write_text(CONFIG)
    return path


@pytest.fixture(scope="module")
def pair(config: Path, redis_url: str) -> Iterator[tuple[ChannelServer, ChannelServer]]:
    a, b = ChannelServer(config, redis_url), ChannelServer(config, redis_url)
    yield a, b
    for server in (a, b):
        server.stop()


def token(user: str, channels: str = "presence-*", **info: Any) -> str:
    return tokens.issue(SECRET, user, tenant="acme", channels=channels, info=info)


OPEN_CHANNELS = """([url, options, presenceToken]) => {
  window.news = []; window.joins = []; window.leaves = []; window.answers = {};
  window.subscribed = 0;
  const sock = new FallbackSocket(url, options);
  window.sock = sock;
  window.events = [];
  sock.onopen = () => window.events.push({type: "open", transport: sock.transport});
  sock.onclose = e => window.events.push({type: "close", code: e.code, reason: e.reason});
  sock.addEventListener("reconnect", () => window.events.push({type: "reconnect"}));
  sock.addEventListener("resume", () => window.events.push({type: "resume"}));
  sock.subscribe("news", data => window.news.push(data), {onsubscribe: () => window.subscribed++});
  sock.subscribe("presence-team", null, {
    token: presenceToken,
    onsubscribe: a => { window.subscribed++; window.answers.presence = a.presence; },
    onjoin: m => window.joins.push(m.user), onleave: m => window.leaves.push(m.user),
    onerror: e => window.answers.error = e});
}"""


def open_channels(page, url: str, options: dict[str, Any], who: str = "ann") -> None:
    page.evaluate(OPEN_CHANNELS, [url, options, token(who, name=who.title())])
    page.wait_for_function("window.subscribed == 2", timeout=20_000)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_every_transport_gets_the_other_process_publishes_once_in_order(open_page, pair, transport):
    a, b = pair
    page = open_page(a.url + "/page.html")
    open_channels(page, a.url + "/acme", {"transports": [transport]})
    assert page.evaluate("sock.transport") == transport
    for n in range(10):
        b.api("publish", {"channel": "news", "data": {"n": n}})
    b.api("publish", {"channel": "news", "data": "end"})
    page.wait_for_function("window.news.length >= 11", timeout=20_000)
    assert page.evaluate("window.news") == [{"n": n} for n in range(10)] + ["end"]

    # Presence across processes: bob joins on the other process, then leaves.
    bob = EnvelopeClient(client_for("websocket", b.url + "/acme"))
    joined = bob.request("subscribe", channel="presence-team", token=token("bob", name="Bob"))
    assert sorted(m["user"] for m in joined["presence"]) == ["ann", "bob"]
    page.wait_for_function("window.joins.includes('bob')", timeout=10_000)
    bob.client.ws.close(status=1000)  # a goodbye: the connection ends now
    page.wait_for_function("window.leaves.includes('bob')", timeout=10_000)

    # Browsers publish only where the tenant allows it.
    page.evaluate("sock.publish('news', 'spam', a => window.answers.news = a)")
    page.wait_for_function("window.answers.news", timeout=10_000)
    assert page.evaluate("window.answers.news.code") == 4020
    listener = EnvelopeClient(client_for("xhr_streaming", b.url + "/acme"))
    listener.request("subscribe", channel="chat-room")
    page.evaluate("sock.publish('chat-room', {hello: 'from the browser'})")
    assert listener.messages("chat-room", 1) == [{"hello": "from the browser"}]
    listener.close()
    assert [e["type"] for e in page.evaluate("window.events")] == ["open"]


def test_a_token_for_another_channel_is_refused_with_its_code(open_page, pair):
    a, _ = pair
    page = open_page(a.url + "/page.html")
    page.evaluate(
        OPEN_CHANNELS, [a.url + "/acme", {"transports": ["xhr"]}, token("eve", "private-*")]
    )
    page.wait_for_function("window.answers.error", timeout=20_000)
    assert page.evaluate("window.answers.error.code") == 4014


def test_a_restarting_server_sends_its_clients_elsewhere_and_they_subscribe_again(
    open_page, config, redis_url
):
    a, b = ChannelServer(config, redis_url), ChannelServer(config, redis_url)
    proxy = ChaosProxy(a.port, min_life=3600, max_life=3600).start()
    try:
        page = open_page(proxy.url + "/page.html")
        open_channels(page, proxy.url + "/acme", {"transports": ["xhr_streaming"]})
        b.api("publish", {"channel": "news", "data": "before"})
        page.wait_for_function("window.news.length == 1", timeout=10_000)
        proxy.target_port = b.port  # the load balancer's other backend
        assert a.stop() == 0  # drains, then 1012: reconnect elsewhere
        page.wait_for_function(
            "window.events.some(e => e.type == 'reconnect') && window.subscribed >= 4",
            timeout=20_000,
        )
        b.api("publish", {"channel": "news", "data": "after"})
        page.wait_for_function("window.news.length == 2", timeout=10_000)
        assert page.evaluate("window.news") == ["before", "after"]
        assert not any(e["type"] == "close" for e in page.evaluate("window.events"))
    finally:
        proxy.stop()
        a.stop()
        b.stop()


def test_a_frozen_network_is_noticed_by_the_page_and_its_presence_goes(open_page, pair):
    a, b = pair
    proxy = ChaosProxy(a.port, min_life=3600, max_life=3600).start()
    try:
        page = open_page(proxy.url + "/page.html")
        open_channels(
            page,
            proxy.url + "/acme",
            {"transports": ["websocket"], "heartbeatTimeout": 1500},
            who="frozen",
        )

        def users() -> list[str]:
            return sorted(m["user"] for m in b.api("presence?channel=presence-team")["members"])

        assert "frozen" in users()
        started = time.monotonic()
        proxy.frozen = True
        # The page: no heartbeat for 1.5 s, resume attempts into the frozen network, and
        # the close once the 2 s grace is over.
        page.wait_for_function("window.events.some(e => e.type == 'close')", timeout=20_000)
        close = next(e for e in page.evaluate("window.events") if e["type"] == "close")
        assert close["code"] == 3009
        # The server: unanswered pings close the socket; the grace ends; presence goes.
        wait_until(lambda: "frozen" not in users(), 15, "presence to go")
        assert time.monotonic() - started < 20
    finally:
        proxy.stop()


def test_the_admin_page_shows_live_counts(open_page, pair):
    a, b = pair
    # (HTTP streams: an idle WebSocket client that never reads would not answer pings,
    # and the server would rightly close it as a dead peer.)
    watchers = [
        EnvelopeClient(client_for("eventsource", a.url + "/acme")),
        EnvelopeClient(client_for("xhr_streaming", b.url + "/acme")),
    ]
    for watcher in watchers:
        watcher.request("subscribe", channel="dashboard-test")
    page = open_page(a.url + "/acme/admin")
    page.fill("#key", "not the key")
    page.click("button")
    assert page.text_content("#error") == "That is not this tenant's API key."
    page.fill("#key", API_KEY)
    page.click("button")
    page.wait_for_selector("#status >> text=live over", timeout=20_000)
    page.wait_for_function(
        "document.getElementById('total-nodes').textContent == '2'", timeout=20_000
    )
    # One watcher on each process: the count is the channel's, across processes.
    page.wait_for_function(
        """() => { const cell = document.querySelector(
                     "#channels tr[data-name='dashboard-test'] td.n");
                   return cell && cell.textContent == '2'; }""",
        timeout=20_000,
    )
    assert int(page.text_content("#total-connections")) >= 3  # the two watchers and the page
    transports = page.eval_on_selector_all(
        "#transports tr[data-name]", "rows => rows.map(r => r.dataset.name)"
    )
    assert "eventsource" in transports and "xhr_streaming" in transports
    for watcher in watchers:
        watcher.close()


def log_in_to_admin(open_page, server):
    page = open_page(server.url + "/acme/admin")
    page.fill("#key", API_KEY)
    page.click("button")
    page.wait_for_selector("#status >> text=live over", timeout=20_000)
    return page


def test_the_admin_page_charts_and_acts_on_the_whole_deployment(open_page, pair):
    a, b = pair
    user = open_page(b.url + "/page.html")  # on the other process: actions cross the broker
    open_channels(user, b.url + "/acme", {"transports": ["xhr_streaming"]}, who="zoe")
    page = log_in_to_admin(open_page, a)
    page.on("dialog", lambda dialog: dialog.accept())

    # Charts: a line per transport seen, and in/out rates, drawn from the live feed.
    page.wait_for_function(
        """() => !!document.querySelector("#chart-transports polyline[data-name='xhr_streaming']")""",
        timeout=20_000,
    )
    rates = page.eval_on_selector_all(
        "#chart-rates polyline", "lines => lines.map(l => l.dataset.name)"
    )
    assert rates == ["in", "out"]
    page.wait_for_function(
        "document.querySelector('#chart-rates polyline').getAttribute('points').split(' ').length >= 3",
        timeout=20_000,
    )

    # Presence of a channel, from every process.
    page.fill("#presence-channel", "presence-team")
    page.click("#presence-form button")
    page.wait_for_selector("#presence-members li[data-user='zoe']", timeout=20_000)
    assert "1 member in presence-team" in page.text_content("#presence-result")
    assert '"name":"Zoe"' in page.text_content("#presence-members li[data-user='zoe'] code")

    # Bad input gets a clear answer, and nothing is sent.
    page.fill("#publish-channel", "news")
    page.fill("#publish-data", "{not json")
    page.click("#publish-form button")
    assert page.text_content("#publish-result").startswith("The data is not JSON")
    page.fill("#publish-channel", "$fallback-admin")
    page.fill("#publish-data", '{"forged": true}')
    page.click("#publish-form button")
    page.wait_for_selector("#publish-result.error", timeout=20_000)

    # Publish reaches the subscriber on the other process.
    page.fill("#publish-channel", "news")
    page.fill("#publish-data", '{"text": "from the admin page"}')
    page.click("#publish-form button")
    user.wait_for_function("window.news.length >= 1", timeout=20_000)
    assert user.evaluate("window.news") == [{"text": "from the admin page"}]
    page.wait_for_selector("#publish-result >> text=Published to news", timeout=20_000)

    # Disconnect closes every connection of the user, on every process.
    page.fill("#disconnect-user", "zoe")
    page.click("#disconnect-form button")
    user.wait_for_function("window.events.some(e => e.type == 'close')", timeout=20_000)
    page.wait_for_selector("#disconnect-result >> text=Disconnected zoe", timeout=20_000)
    os.makedirs(os.path.join(ROOT, "tests", "artifacts", "browser"), exist_ok=True)
    page.screenshot(path=os.path.join(ROOT, "tests", "artifacts", "browser", "admin-page.png"))
