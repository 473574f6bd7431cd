"""A peer that stops answering is noticed, and its presence goes."""

from __future__ import annotations

import time

import pytest

from fallback.realtime import tokens
from tests.realtime.conftest import FAST_SECRET, EnvelopeClient
from tests.support.chaos import ChaosProxy
from tests.support.sockjs import client_for

pytestmark = pytest.mark.timeout(60)


def presence_token(user: str) -> str:
    return tokens.issue(FAST_SECRET, user, tenant="fast", channels="presence-*")


def test_frozen_websocket_peer_is_closed_and_its_presence_removed(live):
    observer = EnvelopeClient(client_for("xhr_streaming", live.url + "/fast"))
    proxy = ChaosProxy(live.port, min_life=3600, max_life=3600).start()
    try:
        observer.request("subscribe", channel="presence-room", token=presence_token("watcher"))
        frozen = EnvelopeClient(client_for("websocket", proxy.url + "/fast"))
        answer = frozen.request("subscribe", channel="presence-room", token=presence_token("ghost"))
        assert answer["op"] == "ok"
        observer.wait(lambda e: e["op"] == "join" and e["member"]["user"] == "ghost")
        started = time.monotonic()
        proxy.frozen = True  # the peer stops answering: no pong, no data, no FIN
        left = observer.wait(lambda e: e["op"] == "leave" and e["member"]["user"] == "ghost", 20)
        elapsed = time.monotonic() - started
        # Two heartbeats (0.4 s) to notice the unanswered ping, then the 1.5 s grace.
        assert left["channel"] == "presence-room"
        assert elapsed < 10, elapsed
        members = observer.request("presence", channel="presence-room")["presence"]
        assert [m["user"] for m in members] == ["watcher"]
    finally:
        proxy.stop()
        observer.close()
