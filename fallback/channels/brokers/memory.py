"""The default broker: one process, nothing to carry."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from .base import Broker, BrokerStats, EventHandler, EventKind, member_counts


class MemoryBroker(Broker):
    """Single-process: publishes have nobody else to reach; presence lives in a dict."""

    def __init__(self) -> None:
        self.node_id = uuid.uuid4().hex[:12]
        self.stats = BrokerStats()
        self._presence: dict[str, dict[str, str]] = {}

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

    def presence_add(self, channel: str, member_id: str, info: str) -> None:
        self._presence.setdefault(channel, {})[member_id] = info

    def presence_remove(self, channel: str, member_id: str) -> None:
        members = self._presence.get(channel)
        if members is not None:
            members.pop(member_id, None)
            if not members:
                del self._presence[channel]

    async def presence(self, channel: str) -> Mapping[str, str]:
        return dict(self._presence.get(channel, {}))

    def publish_control(self, data: str) -> None:
        return None

    async def channel_counts(self, prefix: str) -> dict[str, int]:
        return member_counts(self._presence, prefix)
