"""The default broker: one process, nothing to carry."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping

from ..history import HistoryPolicy, MemoryHistory, Position, Publication
from .base import Broker, BrokerStats, EventHandler, EventKind, forget_member, member_counts

#: Channels with history past which a new one first drops those that expired.
SWEEP_AT = 1_000


class MemoryBroker(Broker):
    """Single-process: publishes have nobody else to reach; presence lives in a dict, and
    history in a `MemoryHistory` per channel (forgotten, with a new epoch next time, once
    idle for its meta TTL)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.node_id = uuid.uuid4().hex[:12]
        self.stats = BrokerStats()
        self._presence: dict[str, dict[str, str]] = {}
        self._histories: dict[str, MemoryHistory] = {}
        self._clock = clock

    async def start(self, on_event: EventHandler) -> None:
        return None

    async def stop(self) -> None:
        return None

    def subscribe(self, channel: str) -> None:
        return None

    def unsubscribe(self, channel: str) -> None:
        return None

    def publish(self, channel: str, kind: EventKind, data: str, info: str = "") -> None:
        self.stats.published += 1

    def append(self, channel: str, text: str, policy: HistoryPolicy) -> Position:
        self.stats.published += 1
        now = self._clock()
        return self._history(channel, policy, now).append(text, now)

    async def read_history(
        self, channel: str, policy: HistoryPolicy, after: int | None, count: int
    ) -> tuple[Position, list[Publication]]:
        now = self._clock()
        history = self._history(channel, policy, now)
        found = history.latest(count, now) if after is None else history.after(after, count, now)
        return history.top, found

    def _history(self, channel: str, policy: HistoryPolicy, now: float) -> MemoryHistory:
        history = self._histories.get(channel)
        if history is None or history.expired(now):
            if len(self._histories) > SWEEP_AT:  # drop what expired, now and then
                for name in [n for n, h in self._histories.items() if h.expired(now)]:
                    del self._histories[name]
            history = self._histories[channel] = MemoryHistory(policy, self._clock)
        history.policy = policy
        return history

    def presence_add(self, channel: str, member_id: str, info: str) -> None:
        self._presence.setdefault(channel, {})[member_id] = info

    def presence_remove(self, channel: str, member_id: str) -> None:
        forget_member(self._presence, channel, member_id)

    async def presence(self, channel: str) -> Mapping[str, str]:
        return dict(self._presence.get(channel, {}))

    def publish_control(self, data: str) -> None:
        return None

    async def channel_counts(self, prefix: str) -> dict[str, int]:
        return member_counts(self._presence, prefix)
