"""Channels across processes through a real redis-server."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time

import pytest

from fallback import Connection
from fallback.channels import Channels
from fallback.channels.brokers.base import BrokerStats
from fallback.channels.brokers.redis import RedisBroker
from fallback.core.connection_info import EMPTY_INFO
from fallback.core.frames import SessionId
from fallback.core.session import Session
from fallback.core.settings import Settings
from tests.support.sockjs import client_for

pytestmark = pytest.mark.timeout(120)


def joined(client, room: str) -> None:
    client.send(f"join:{room}")
    assert client.receive_messages(1) == [f"joined:{room}"]


def collect(client, count: int, timeout: float = 20) -> list[str]:
    return client.receive_messages(count, timeout=timeout)


def test_every_member_on_every_process_gets_every_publish_once_in_order(redis_server, start_server):
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


def test_redis_restart_keeps_local_delivery_and_resumes_cross_process(redis_server, start_server):
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


class RawSubscriber:
    """A bare RESP connection subscribed to one channel key: it sees what reached Redis,
    read with blocking calls (so it can look while the event loop is held up)."""

    def __init__(self, port: int, key: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.sendall(f"SUBSCRIBE {key}\r\n".encode())
        self.data = b""
        assert self.wait_for(b"subscribe", 5)

    def wait_for(self, needle: bytes, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while needle not in self.data:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                return False
            if not chunk:
                return False
            self.data += chunk
        return True

    def close(self) -> None:
        self.sock.close()


def join_member(hub: Channels, channel: str, receiver: object, info: dict | None = None) -> None:
    """An open WebSocket-transport member of `channel`, its frames going to `receiver`."""
    member = Connection()
    session = Session(SessionId("s"), member, EMPTY_INFO, Settings(), "websocket")
    member.bind_session(session)
    session.attach(receiver)  # type: ignore[arg-type]
    assert session.take_frame() == "o"
    hub.join(member, channel, info)


class NullReceiver:
    def wake(self) -> None:
        pass


def test_a_publish_is_on_its_way_to_other_processes_before_the_local_flush(redis_server):
    # A transport flushes what a publish queued in a loop callback of its own (the
    # WebSocket flusher does). That flush -- the local fan-out, possibly thousands of
    # writes -- must not run before the publish is written to Redis, or every other
    # process waits for it. The flush here holds the loop and looks at Redis: if the
    # PUBLISH were not sent yet, it could not be sent while the loop is held.
    subscriber = RawSubscriber(redis_server.port, "fallback:c:room")
    seen_at_flush: list[bool] = []

    class FlushingReceiver:
        def wake(self) -> None:
            asyncio.get_running_loop().call_soon(
                lambda: seen_at_flush.append(subscriber.wait_for(b"|m|hello", 2.0))
            )

    async def scenario() -> None:
        broker = RedisBroker(redis_server.url)
        hub = Channels(broker)
        await hub.start()
        try:
            join_member(hub, "room", FlushingReceiver())
            await hub.subscribed("room")
            # The join's presence write answered: the writer is idle, as it is between
            # publishes (one still waiting for its reply delays the next; under load in
            # CI that made this test flaky).
            assert await broker.written()
            assert hub.publish("room", "hello") == 1
            deadline = time.monotonic() + 10
            while not seen_at_flush:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
        finally:
            await hub.stop()

    try:
        asyncio.run(scenario())
    finally:
        subscriber.close()
    assert seen_at_flush == [True]


def test_a_frozen_redis_is_noticed_and_does_not_hold_up_presence_or_counts(redis_server):
    # A Redis that stops answering (SIGSTOP, a stuck host behind a live TCP connection)
    # is not a closed connection: nothing fails by itself. The broker must still notice
    # it, say so, count what cannot travel, answer presence and counts from what it knows
    # -- and come back when Redis does.
    async def scenario() -> None:
        broker = RedisBroker(redis_server.url, node_ttl=1.5, command_timeout=1.0)
        hub = Channels(broker)
        await hub.start()
        try:
            join_member(hub, "room", NullReceiver(), {"nick": "ann"})
            await hub.subscribed("room")
            assert broker.stats.connected

            redis_server.freeze()
            try:
                # Asked at once, before anything has noticed: answered from memory after
                # command_timeout, not when (or if) the connection finally fails.
                presence = await asyncio.wait_for(hub.presence("room"), 3)
                assert [m["nick"] for m in presence.values()] == ["ann"]
                assert await asyncio.wait_for(hub.channel_counts(), 3) == {"room": 1}
                deadline = time.monotonic() + 10
                while broker.stats.connected:
                    assert time.monotonic() < deadline, "a frozen Redis went unnoticed"
                    await asyncio.sleep(0.05)
                lost_before = broker.stats.lost
                assert hub.publish("room", "while frozen") == 1  # local delivery goes on
                assert broker.stats.lost == lost_before + 1
            finally:
                redis_server.thaw()

            deadline = time.monotonic() + 15
            while not broker.stats.connected:
                assert time.monotonic() < deadline, "never reconnected after Redis came back"
                await asyncio.sleep(0.05)
            presence = await asyncio.wait_for(hub.presence("room"), 5)
            assert [m["nick"] for m in presence.values()] == ["ann"]
        finally:
            await asyncio.wait_for(hub.stop(), 10)

    asyncio.run(scenario())


def test_a_process_stops_in_bounded_time_while_redis_is_frozen(redis_server):
    # SIGTERM during a Redis hang: shutdown must not wait for answers that never come.
    async def scenario() -> None:
        hub = Channels(RedisBroker(redis_server.url, node_ttl=1.5, command_timeout=1.0))
        await hub.start()
        join_member(hub, "room", NullReceiver(), {"nick": "ann"})
        await hub.subscribed("room")
        redis_server.freeze()
        hub.publish("room", "into the void")
        await asyncio.wait_for(hub.stop(), 10)

    try:
        asyncio.run(scenario())
    finally:
        redis_server.thaw()


class Gate:
    """A TCP proxy in front of Redis, for one process: shut, it cuts that process's
    connections and refuses new ones, so its broker stays away while others are back."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.open = True
        self.port = 0
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def shut(self) -> None:
        self.open = False
        for writer in list(self._writers):
            writer.transport.abort()

    async def stop(self) -> None:
        self.shut()
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.open:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                sink.transport.abort()
                self._writers.discard(sink)

        for task in (
            asyncio.ensure_future(pipe(reader, up_writer)),
            asyncio.ensure_future(pipe(up_reader, writer)),
        ):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


class Collector:
    """A member's receiver that takes every message frame as it comes."""

    def __init__(self) -> None:
        self.session: Session | None = None
        self.messages: list[str] = []

    def wake(self) -> None:
        asyncio.get_running_loop().call_soon(self.drain)

    def drain(self) -> None:
        assert self.session is not None
        while (frame := self.session.take_frame()) is not None:
            if frame.startswith("a"):
                self.messages.extend(json.loads(frame[1:]))


async def until(condition, what: str, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def outage_with_a_late_receiver(redis_server) -> tuple[BrokerStats, BrokerStats, int, list[int]]:  # type: ignore[no-untyped-def]
    """A real redis-server restart, with the receiving process kept away from Redis a
    while longer (its own path to Redis is shut): what the publisher sends after it is
    back and before the receiver is goes to Redis with no subscriber from the receiver.
    Returns the publisher's and the receiver's stats, how many were published, and the
    numbers the receiver got."""

    async def scenario() -> tuple[BrokerStats, BrokerStats, int, list[int]]:
        gate = Gate(redis_server.port)
        await gate.start()
        options = {"node_ttl": 1.5, "command_timeout": 1.0, "max_backoff": 0.2}
        publisher = RedisBroker(redis_server.url, **options)  # type: ignore[arg-type]
        receiver = RedisBroker(f"redis://127.0.0.1:{gate.port}/0", **options)  # type: ignore[arg-type]
        hub_a, hub_b = Channels(publisher), Channels(receiver)
        await hub_a.start()
        await hub_b.start()
        collector = Collector()
        member = Connection()
        session = Session(SessionId("b"), member, EMPTY_INFO, Settings(), "websocket")
        member.bind_session(session)
        collector.session = session
        session.attach(collector)  # type: ignore[arg-type]
        session.take_frame()  # the open frame
        hub_b.join(member, "room")
        await hub_b.subscribed("room")
        sent = 0

        async def publish(count: int) -> None:
            nonlocal sent
            for _ in range(count):
                sent += 1
                hub_a.publish("room", f"m{sent}")
                await asyncio.sleep(0.002)

        try:
            await publish(50)
            await until(lambda: len(collector.messages) == 50, "the first 50")
            redis_server.kill()
            await until(lambda: not publisher.stats.connected, "the publisher to notice")
            await publish(40)  # Redis is down: lost on the publisher's side
            gate.shut()  # the receiver will stay away once Redis is back
            redis_server.start()
            await until(lambda: publisher.stats.connected, "the publisher to reconnect")
            await publish(60)  # reach Redis, which has no subscriber from the receiver
            assert not receiver.stats.connected
            gate.open = True
            await until(lambda: receiver.stats.connected, "the receiver to reconnect")
            await hub_b.subscribed("room")
            await publish(50)
            await until(lambda: f"m{sent}" in collector.messages, "the last publish")
            await until(
                lambda: (
                    publisher.stats.published + publisher.stats.lost + publisher.stats.unconfirmed
                    == sent
                ),
                "every publish counted",
            )
        finally:
            await hub_a.stop()
            await hub_b.stop()
            await gate.stop()
        return publisher.stats, receiver.stats, sent, [int(m[1:]) for m in collector.messages]

    return asyncio.run(scenario())


def test_an_outage_is_counted_exactly_by_publisher_and_receiver(redis_server):
    # Those publishes that Redis dropped for want of a subscriber used to be counted
    # nowhere. Now every publish is counted once by the publisher (published, lost or
    # unconfirmed), and every one the receiver did not get is in its missed count.
    a, b, sent, got = outage_with_a_late_receiver(redis_server)
    assert got == sorted(set(got)), "in order, no duplicates"
    assert a.lost >= 40  # at least what was published while Redis was down
    assert b.missed == sent - len(got) >= 100  # exactly what never arrived
    assert b.missed >= a.lost  # everything the publisher lost, and what Redis dropped
    assert a.published + a.lost + a.unconfirmed == sent


def test_publishes_carry_a_sequence_per_channel_and_old_payloads_still_arrive(redis_server):
    subscriber = RawSubscriber(redis_server.port, "fallback:c:room")

    async def scenario() -> None:
        broker = RedisBroker(redis_server.url)
        hub = Channels(broker)
        await hub.start()
        collector = Collector()
        member = Connection()
        session = Session(SessionId("m"), member, EMPTY_INFO, Settings(), "websocket")
        member.bind_session(session)
        collector.session = session
        session.attach(collector)  # type: ignore[arg-type]
        session.take_frame()
        try:
            hub.join(member, "room")
            await hub.subscribed("room")
            hub.publish("room", "first")
            hub.publish("other", "elsewhere")  # numbered on its own channel
            hub.publish("room", "second")
            assert await broker.written()
            # A process of an older version sends no number: delivered, nothing counted.
            publisher = socket.create_connection(("127.0.0.1", redis_server.port), timeout=5)
            try:
                publisher.sendall(b"PUBLISH fallback:c:room oldnode|m|from-an-old-process\r\n")
                await until(lambda: "from-an-old-process" in collector.messages, "old payload")
            finally:
                publisher.close()
            assert broker.stats.missed == 0
        finally:
            await hub.stop()

    try:
        asyncio.run(scenario())
        assert subscriber.wait_for(b"|m|second", 5)
        first = re.search(rb"([0-9a-f]{12})\.([0-9]+)\|m\|first", subscriber.data)
        assert first is not None, subscriber.data
        node, number = first.group(1), int(first.group(2))
        assert node + b".%d|m|second" % (number + 1) in subscriber.data
    finally:
        subscriber.close()
