"""Channels across processes through a real redis-server."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.sockjs import client_for

pytestmark = pytest.mark.timeout(120)


def joined(client, room: str) -> None:
    client.send(f"join:{room}")
    assert client.receive_messages(1) == [f"joined:{room}"]


def collect(client, count: int, timeout: float = 20) -> list[str]:
    return client.receive_messages(count, timeout=timeout)


def test_every_member_on_every_process_gets_every_publish_once_in_order(
    redis_server, start_server
):
    a = start_server(redis_server.url)
    b = start_server(redis_server.url)
    transports = ["websocket", "xhr_streaming", "eventsource", "xhr", "jsonp", "htmlfile"]
    clients = []
    for i, transport in enumerate(transports):
        server = a if i % 2 == 0 else b
        client = client_for(transport, server.url + "/chat")
        assert client.next_frame() == "o"
        joined(client, "room")
        clients.append(client)
    try:
        publishers = clients[:2]  # one on each process
        per_publisher = 25
        for n in range(per_publisher):
            for p, publisher in enumerate(publishers):
                publisher.send(f"pub:room|p{p}-{n}")
        expected_total = per_publisher * len(publishers)
        for client in clients:
            got = collect(client, expected_total)
            assert len(got) == len(set(got)) == expected_total, client.transport
            for p in range(len(publishers)):
                mine = [m for m in got if m.startswith(f"room|p{p}-")]
                assert mine == [f"room|p{p}-{n}" for n in range(per_publisher)], client.transport
    finally:
        for client in clients:
            client.close()


def test_presence_spans_processes_and_follows_leaves(redis_server, start_server):
    a = start_server(redis_server.url)
    b = start_server(redis_server.url)
    on_a = client_for("websocket", a.url + "/chat")
    on_b = client_for("xhr_streaming", b.url + "/chat")
    try:
        for client in (on_a, on_b):
            assert client.next_frame() == "o"
            joined(client, "lobby")
        on_a.send("whoami")
        pid_a = int(collect(on_a, 1)[0].split(":")[1])
        on_b.send("whoami")
        pid_b = int(collect(on_b, 1)[0].split(":")[1])
        on_a.send("presence:lobby")
        assert json.loads(collect(on_a, 1)[0].split(":", 1)[1]) == sorted([pid_a, pid_b])
        on_b.close()  # an abrupt end: the session closes, its presence goes
        deadline = time.monotonic() + 10
        while True:
            on_a.send("presence:lobby")
            pids = json.loads(collect(on_a, 1)[0].split(":", 1)[1])
            if pids == [pid_a]:
                break
            assert time.monotonic() < deadline, pids
    finally:
        on_a.close()
        on_b.close()


def test_redis_restart_keeps_local_delivery_and_resumes_cross_process(
    redis_server, start_server
):
    a = start_server(redis_server.url)
    b = start_server(redis_server.url)
    a1 = client_for("websocket", a.url + "/chat")
    a2 = client_for("xhr_streaming", a.url + "/chat")
    b1 = client_for("websocket", b.url + "/chat")
    clients = [a1, a2, b1]
    try:
        for client in clients:
            assert client.next_frame() == "o"
            joined(client, "room")
        a1.send("pub:room|before")
        for client in clients:
            assert collect(client, 1) == ["room|before"]

        redis_server.kill()
        # Local delivery never stops: a1 -> a2 on the same process.
        for n in range(5):
            a1.send(f"pub:room|during-{n}")
        assert collect(a2, 5) == [f"room|during-{n}" for n in range(5)]
        assert collect(a1, 5) == [f"room|during-{n}" for n in range(5)]

        redis_server.start()
        # Cross-process delivery resumes once both processes are back on Redis.
        deadline = time.monotonic() + 30
        n = 0
        while True:
            n += 1
            a1.send(f"pub:room|after-{n}")
            try:
                got = collect(b1, 1, timeout=0.5)
            except TimeoutError:
                assert time.monotonic() < deadline, "cross-process delivery never resumed"
                continue
            break
        assert got[0].startswith("room|after-")
        # b1 must not have received anything from the outage window.
        assert not any("during" in m for m in got)
        b1.send("pub:room|from-b")
        received_a2: list[str] = []
        while "room|from-b" not in received_a2:
            received_a2 += collect(a2, 1)
        assert "room|from-b" in received_a2
    finally:
        for client in clients:
            client.close()
    assert "reconnected" in a.output() or "connected after" in a.output(), a.output()
