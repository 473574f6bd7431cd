"""Channel history in Redis Streams, shared by every process: positions, recovery, the
seam under load, and a Redis restarted without persistence (a new epoch)."""

from __future__ import annotations

import asyncio
import json

import pytest

from fallback.channels import Channels
from fallback.channels.brokers.redis import RedisBroker
from fallback.channels.history import Position
from tests.unit.channels.test_local import open_connection

pytestmark = pytest.mark.timeout(120)


def stamp(text: str, position: Position) -> str:
    return json.dumps([text, position.offset, position.epoch])


async def started_hub(url: str) -> Channels:
    hub = Channels(RedisBroker(url))
    hub.keep_history("news-*", 10_000, 600, stamp=stamp)
    await hub.start()
    return hub


def drain(session) -> list[list]:
    out = []
    while (frame := session.take_frame()) is not None:
        if frame.startswith("a"):
            out.extend(json.loads(m) for m in json.loads(frame[1:]))
    return out


async def eventually(check, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_positions_are_shared_and_a_subscriber_recovers_on_another_process(redis_server):
    async def scenario() -> None:
        a, b = await started_hub(redis_server.url), await started_hub(redis_server.url)
        try:
            on_a, sa = open_connection("a")
            on_b, sb = open_connection("b")
            assert (await a.join_recovering(on_a, "news-1")).position.offset == 0
            await b.join_recovering(on_b, "news-1")
            for i in range(1, 6):
                (a if i % 2 else b).publish("news-1", f"m{i}")
            got_a: list[list] = []
            got_b: list[list] = []

            def both() -> bool:
                got_a.extend(drain(sa))
                got_b.extend(drain(sb))
                return len(got_a) >= 5 and len(got_b) >= 5

            await eventually(both)
            assert got_a == got_b
            assert [g[1] for g in got_a] == [1, 2, 3, 4, 5]
            texts = [g[0] for g in got_a]  # in order per publisher
            assert [t for t in texts if int(t[1:]) % 2] == ["m1", "m3", "m5"]
            assert [t for t in texts if not int(t[1:]) % 2] == ["m2", "m4"]
            epoch = got_a[0][2]
            # a's member goes; it comes back on b with the last position it had seen (3)
            on_a.close()
            for i in range(6, 9):
                a.publish("news-1", f"m{i}")
            await eventually(lambda: len(got_b + drain_into(got_b, sb)) >= 8)
            back, sback = open_connection("back")
            recovery = await b.join_recovering(back, "news-1", Position(3, epoch))
            assert recovery is not None and recovery.recovered
            assert recovery.position == Position(8, epoch)
            a.publish("news-1", "m9")
            got: list[list] = []
            await eventually(lambda: len(drain_into(got, sback)) >= 6)
            assert [g[1] for g in got] == [4, 5, 6, 7, 8, 9]
            page = await b.history("news-1", 3)
            assert [p.offset for p in page.publications] == [7, 8, 9]
        finally:
            await a.stop()
            await b.stop()

    asyncio.run(scenario())


def drain_into(into: list, session) -> list:
    into.extend(drain(session))
    return into


def test_the_seam_publications_racing_recoveries_are_never_lost_or_doubled(redis_server):
    """Publishers on two processes at full speed; meanwhile subscribers keep joining on a
    third with recovery from positions behind: each sees every offset after its own, once,
    in order."""

    async def scenario() -> None:
        pub1, pub2 = await started_hub(redis_server.url), await started_hub(redis_server.url)
        sub = await started_hub(redis_server.url)
        total = 1500
        try:
            anchor, sanchor = open_connection("anchor")
            first = await sub.join_recovering(anchor, "news-seam")
            epoch = first.position.epoch
            published = 0

            async def publish() -> None:
                nonlocal published
                while published < total:
                    for _ in range(10):
                        published += 1
                        (pub1 if published % 2 else pub2).publish("news-seam", f"p{published}")
                    await asyncio.sleep(0)

            recovering = []
            anchored: list[list] = []

            async def join_many() -> None:
                for n in range(30):
                    await asyncio.sleep(0.005)
                    # some way behind the newest publication that reached Redis
                    drain_into(anchored, sanchor)
                    since = max(0, (anchored[-1][1] if anchored else 0) - 5 - n)
                    connection, session = open_connection(f"r{n}")
                    recovery = await sub.join_recovering(
                        connection, "news-seam", Position(since, epoch), limit=5000
                    )
                    assert recovery is not None and recovery.recovered, (since, recovery)
                    recovering.append((since, session, []))

            await asyncio.gather(publish(), join_many())

            def complete() -> bool:
                done = True
                for _since, session, got in recovering:
                    got.extend(drain(session))
                    done = done and (bool(got) and got[-1][1] == total)
                return done

            await eventually(complete, 30)
            for since, _session, got in recovering:
                assert [g[1] for g in got] == list(range(since + 1, total + 1)), since
            await eventually(lambda: len(drain_into(anchored, sanchor)) >= total, 30)
            assert [g[1] for g in anchored] == list(range(1, total + 1))
        finally:
            for hub in (pub1, pub2, sub):
                await hub.stop()

    asyncio.run(scenario())


def test_redis_restarted_without_persistence_is_a_new_epoch_and_recovered_false(redis_server):
    async def scenario() -> None:
        hub = await started_hub(redis_server.url)
        try:
            member, session = open_connection("m")
            await hub.join_recovering(member, "news-1")
            hub.publish("news-1", "before")
            got: list[list] = []
            await eventually(lambda: len(drain_into(got, session)) >= 1)
            old = Position(got[0][1], got[0][2])
            member.close()
            redis_server.kill()
            redis_server.start()
            await eventually(lambda: hub.broker.stats.connected and hub.broker.stats.reconnects)
            hub.publish("news-1", "after")
            back, _sback = open_connection("back")
            recovery = await hub.join_recovering(back, "news-1", old)
            assert recovery is not None and not recovery.recovered
            assert recovery.position.epoch != old.epoch
        finally:
            await hub.stop()

    asyncio.run(scenario())


def test_a_recovery_while_redis_is_away_is_refused_and_keeps_the_position(redis_server):
    async def scenario() -> None:
        hub = await started_hub(redis_server.url)
        try:
            member, _session = open_connection("m")
            first = await hub.join_recovering(member, "news-1")
            redis_server.kill()
            await eventually(lambda: not hub.broker.stats.connected)
            back, _ = open_connection("back")
            recovery = await hub.join_recovering(back, "news-1", first.position)
            assert recovery is not None and not recovery.recovered
            assert recovery.position == first.position  # the next try starts there again
        finally:
            await hub.stop()

    asyncio.run(scenario())
