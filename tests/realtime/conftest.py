"""Two tenants in one live server, a webhook receiver, and an envelope client."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import tornado.web

from fallback.realtime import Tenant, build_application
from fallback.realtime.runtime import ChannelConnection
from tests.support.live import LiveServer
from tests.support.sockjs import Client, client_for

ACME_SECRET = "acme-secret-0123456789"
GLOBEX_SECRET = "globex-secret-0123456789"
ACME_KEY = "acme-api-key-0123456789"
GLOBEX_KEY = "globex-api-key-0123456789"
FAST_SECRET = "fast-secret-0123456789"
KEEPER_SECRET = "keeper-secret-0123456789"
KEEPER_KEY = "keeper-api-key-0123456789"


class WebhookReceiver(tornado.web.RequestHandler):
    """Fails the first two deliveries with 503, then records every event."""

    failures_left = 2
    events: list[dict[str, Any]] = []  # noqa: RUF012 - test state
    headers_seen: list[dict[str, str]] = []  # noqa: RUF012 - test state
    lock = threading.Lock()

    def post(self) -> None:
        with WebhookReceiver.lock:
            if WebhookReceiver.failures_left > 0:
                WebhookReceiver.failures_left -= 1
                self.set_status(503)
                self.finish("try later")
                return
            WebhookReceiver.events.append(json.loads(self.request.body))
            WebhookReceiver.headers_seen.append(dict(self.request.headers))
        self.finish("ok")


def authorize(connection: ChannelConnection, channel: str, claims: Any) -> bool:
    return channel != "forbidden-by-app"


@pytest.fixture(scope="session")
def live() -> Iterator[LiveServer]:
    server: LiveServer

    def factory() -> tornado.web.Application:
        acme = Tenant(
            name="acme",
            prefix="/acme",
            secret=ACME_SECRET,
            api_key=ACME_KEY,
            client_publish=("chat-*", "private-chat-*"),
            webhook=f"http://127.0.0.1:{server.port}/hook",
            webhook_attempts=5,
            max_channels_per_connection=5,
            admin=True,
            settings={"disconnect_delay": 0.5},
        )
        globex = Tenant(name="globex", prefix="/globex", secret=GLOBEX_SECRET, api_key=GLOBEX_KEY)
        quiet = Tenant(name="quiet", prefix="/quiet", secret="quiet-secret-0123456789")
        fast = Tenant(  # quick heartbeats and a short grace: dead-peer tests
            name="fast",
            prefix="/fast",
            secret=FAST_SECRET,
            settings={"heartbeat_delay": 0.4, "resume_grace": 1.5, "disconnect_delay": 1.0},
        )
        keeper = Tenant(  # channels with history (tests/realtime/test_history.py)
            name="keeper",
            prefix="/keeper",
            secret=KEEPER_SECRET,
            api_key=KEEPER_KEY,
            client_publish=("feed-*",),
            history={"feed-*": {"size": 5, "ttl": 600}, "presence-feed-*": {"size": 50, "ttl": 60}},
            max_recovery=20,
        )
        app, _ = build_application(
            [acme, globex, quiet, fast, keeper], authorize={"acme": authorize}
        )
        app.add_handlers(r".*", [(r"/hook", WebhookReceiver)])
        return app

    server = LiveServer(factory)
    server.start()
    yield server
    server.stop()


class EnvelopeClient:
    """Speaks the channel envelope over any SockJS transport client."""

    _ids = itertools.count(1)

    def __init__(self, client: Client) -> None:
        self.client = client
        self.pending: list[dict[str, Any]] = []
        assert client.next_frame() == "o"

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        request_id = next(self._ids)
        self.client.send(json.dumps({"v": 1, "op": op, "id": request_id, **fields}))
        return self.wait(lambda e: e.get("id") == request_id and e["op"] in ("ok", "error"))

    def send_raw(self, text: str) -> None:
        self.client.send(text)

    def wait(self, predicate: Any, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for index, event in enumerate(self.pending):
                if predicate(event):
                    return self.pending.pop(index)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no matching envelope; have {self.pending}")
            for text in self.client.receive_messages(1, timeout=remaining):
                self.pending.append(json.loads(text))

    def messages(self, channel: str, count: int, timeout: float = 10.0) -> list[Any]:
        return [
            self.wait(lambda e: e["op"] == "message" and e["channel"] == channel, timeout)["data"]
            for _ in range(count)
        ]

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def connect(live: LiveServer) -> Iterator[Any]:
    opened: list[EnvelopeClient] = []

    def open_client(tenant: str = "acme", transport: str = "websocket") -> EnvelopeClient:
        client = EnvelopeClient(client_for(transport, f"{live.url}/{tenant}"))
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()
