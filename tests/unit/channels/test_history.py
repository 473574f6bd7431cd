"""Channel history and recovery in one process (memory broker): positions, the rules of
what a recovery answers, and the seam between the history read and live delivery."""

from __future__ import annotations

import asyncio
import json

import pytest

from fallback.channels import Channels
from fallback.channels.brokers import MemoryBroker
from fallback.channels.brokers.base import EventKind, RemoteEvent
from fallback.channels.history import (
    HistoryPolicy,
    MemoryHistory,
    Position,
    Publication,
    decide,
)
from fallback.exceptions import ConfigurationError
from tests.unit.channels.test_local import open_connection, received


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def stamp(text: str, position: Position) -> str:
    return f"{text}@{position.offset}"


def hub_with_history(size: int = 10, ttl: float = 60, clock: Clock | None = None) -> Channels:
    hub = Channels(MemoryBroker(clock or Clock()))
    hub.keep_history("news-*", size, ttl, stamp=stamp)
    return hub


# -- pure rules ---------------------------------------------------------------------------


def test_policy_refuses_sizes_and_ttls_out_of_range():
    for size, ttl in [(0, 10), (10**6, 10), (10, 0), (10, -1)]:
        with pytest.raises(ConfigurationError):
            HistoryPolicy(size, ttl)
    with pytest.raises(ConfigurationError):
        HistoryPolicy(10, 100, meta_ttl=50)


def test_memory_history_numbers_from_one_and_trims_by_size_and_age():
    clock = Clock()
    history = MemoryHistory(HistoryPolicy(3, 10), clock)
    positions = [history.append(f"m{i}", clock()) for i in range(5)]
    assert [p.offset for p in positions] == [1, 2, 3, 4, 5]
    assert len({p.epoch for p in positions}) == 1
    assert history.after(0, 10, clock()) == [Publication(o, f"m{o - 1}") for o in (3, 4, 5)]
    assert [p.offset for p in history.latest(2, clock())] == [4, 5]
    clock.now += 10
    assert history.after(0, 10, clock()) == []
    assert history.top.offset == 5  # the position outlives the publications


def test_decide_recovers_exactly_what_was_missed():
    top = Position(5, "e")
    kept = [Publication(o, f"m{o}") for o in (3, 4, 5)]
    assert decide(Position(2, "e"), top, kept, 10).publications == tuple(kept)
    assert decide(Position(2, "e"), top, kept, 10).recovered
    nothing = decide(Position(5, "e"), top, [], 10)
    assert nothing.recovered and nothing.publications == ()


@pytest.mark.parametrize(
    "since, kept, limit",
    [
        (Position(1, "e"), [3, 4, 5], 10),  # 2 was trimmed
        (Position(2, "other"), [3, 4, 5], 10),  # another epoch
        (Position(9, "e"), [], 10),  # from the future
        (Position(2, "e"), [3, 4, 5], 2),  # more missed than the limit
        (Position(2, "e"), [], 10),  # all expired
        (None, [3, 4, 5], 10),  # nothing to recover from
    ],
)
def test_decide_says_recovered_false_when_history_does_not_reach_back(since, kept, limit):
    answer = decide(since, Position(5, "e"), [Publication(o, "") for o in kept], limit)
    assert not answer.recovered
    assert answer.publications == ()
    assert answer.position == Position(5, "e")


# -- the hub -------------------------------------------------------------------------------


def test_publications_carry_their_position_and_channels_without_rules_do_not():
    hub = hub_with_history()
    a, sa = open_connection("a")
    hub.join(a, "news-1")
    hub.join(a, "chat")
    hub.publish("news-1", "x")
    hub.publish("news-1", "y")
    hub.publish("chat", "z")
    assert received(sa) == ["x@1", "y@2", "z"]


def test_a_subscriber_back_with_its_position_gets_what_it_missed_then_live():
    hub = hub_with_history()
    a, _sa = open_connection("a")
    hub.join(a, "news-1")
    hub.publish("news-1", "m1")
    position = Position(1, asyncio.run(hub.history("news-1", 1)).position.epoch)
    a.close()
    for i in range(2, 5):
        hub.publish("news-1", f"m{i}")
    b, sb = open_connection("b")
    recovery = asyncio.run(hub.join_recovering(b, "news-1", position))
    assert recovery is not None and recovery.recovered
    hub.publish("news-1", "m5")
    assert received(sb) == ["m2@2", "m3@3", "m4@4", "m5@5"]


def test_a_subscriber_whose_history_was_trimmed_gets_recovered_false_and_no_partial_past():
    hub = hub_with_history(size=2)
    hub.publish("news-1", "m1")
    epoch = asyncio.run(hub.history("news-1")).position.epoch
    for i in range(2, 6):
        hub.publish("news-1", f"m{i}")
    b, sb = open_connection("b")
    recovery = asyncio.run(hub.join_recovering(b, "news-1", Position(1, epoch)))
    assert recovery is not None and not recovery.recovered
    assert recovery.position == Position(5, epoch)
    hub.publish("news-1", "m6")
    assert received(sb) == ["m6@6"]


def test_history_idle_past_its_meta_ttl_starts_a_new_epoch():
    clock = Clock()
    hub = hub_with_history(clock=clock)
    hub.publish("news-1", "m1")
    before = asyncio.run(hub.history("news-1")).position
    clock.now += 86_400
    after = asyncio.run(hub.history("news-1")).position
    assert after.offset == 0 and after.epoch != before.epoch
    b, _ = open_connection("b")
    recovery = asyncio.run(hub.join_recovering(b, "news-1", before))
    assert recovery is not None and not recovery.recovered


def test_live_publications_during_the_history_read_wait_and_are_never_doubled():
    """The seam: what is published between the join and the end of the history read is
    held back, delivered after the history, and what the read covered is skipped."""
    hub = hub_with_history()
    for i in range(1, 4):
        hub.publish("news-1", f"m{i}")
    epoch = asyncio.run(hub.history("news-1")).position.epoch
    b, sb = open_connection("b")

    async def recover_with_publications_racing() -> None:
        hub.join(b, "news-1", recovering=True)
        hub.publish("news-1", "m4")  # after the join, before the read: held back
        recovery = await hub.recover(b, "news-1", Position(1, epoch))
        hub.publish("news-1", "m5")  # after the read, before the release: held back
        hub.release(b, "news-1", recovery)
        hub.publish("news-1", "m6")

    asyncio.run(recover_with_publications_racing())
    assert received(sb) == ["m2@2", "m3@3", "m4@4", "m5@5", "m6@6"]


def test_history_pages_from_a_position_and_tells_a_gap():
    hub = hub_with_history(size=3)
    for i in range(1, 6):
        hub.publish("news-1", f"m{i}")
    epoch = asyncio.run(hub.history("news-1")).position.epoch
    latest = asyncio.run(hub.history("news-1", 2))
    assert [p.offset for p in latest.publications] == [4, 5] and latest.recovered
    page = asyncio.run(hub.history("news-1", 1, Position(3, epoch)))
    assert [p.text for p in page.publications] == ["m4"] and page.recovered
    gap = asyncio.run(hub.history("news-1", 10, Position(1, epoch)))
    assert not gap.recovered and gap.publications == ()
    with pytest.raises(ConfigurationError):
        asyncio.run(hub.history("chat"))


def test_a_member_that_leaves_while_recovering_gets_nothing_and_is_forgotten():
    hub = hub_with_history()
    b, sb = open_connection("b")
    hub.join(b, "news-1", recovering=True)
    hub.publish("news-1", "m1")
    recovery = asyncio.run(hub.recover(b, "news-1", None))
    hub.leave(b, "news-1")
    assert hub.release(b, "news-1", recovery) == 0
    assert received(sb) == []
    assert json.dumps(hub.channels()) == "{}"


class LateBroker(MemoryBroker):
    """Like Redis: a publication comes back through the event handler, when the test says."""

    def __init__(self) -> None:
        super().__init__(Clock())
        self.handler = None
        self.sent: list[tuple[str, str, Position]] = []

    async def start(self, on_event) -> None:
        self.handler = on_event

    def append(self, channel: str, text: str, policy: HistoryPolicy) -> bool:  # type: ignore[override]
        self.sent.append((channel, text, super().append(channel, text, policy)))
        return True

    def come_back(self) -> None:
        for channel, text, position in self.sent:
            self.handler(RemoteEvent(channel, EventKind.MESSAGE, text, position=position))
        self.sent.clear()


def test_a_publication_both_in_the_history_read_and_still_on_its_way_arrives_once():
    broker = LateBroker()
    hub = Channels(broker)
    hub.keep_history("news-*", 10, 60, stamp=stamp)
    b, sb = open_connection("b")

    async def scenario() -> None:
        await hub.start()
        first = await hub.join_recovering(b, "news-1")
        hub.publish("news-1", "m1")  # in Redis now, on its way back by pub/sub
        hub.publish("news-1", "m2")
        late, sl = open_connection("late")
        recovery = await hub.join_recovering(late, "news-1", first.position)
        assert [p.offset for p in recovery.publications] == [1, 2]
        broker.come_back()  # ... arriving after the read: not again
        hub.publish("news-1", "m3")
        broker.come_back()
        assert received(sl) == ["m1@1", "m2@2", "m3@3"]

    asyncio.run(scenario())
    assert received(sb) == ["m1@1", "m2@2", "m3@3"]
