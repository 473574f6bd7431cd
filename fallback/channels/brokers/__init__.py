"""Pub/sub engines behind `fallback.channels`: in-memory (one process) and Redis.

A broker only carries publishes and presence *between processes*; each process delivers to
its own members itself. Brokers import nothing else of fallback.
"""

from __future__ import annotations

from .base import Broker, BrokerStats, RemoteEvent
from .memory import MemoryBroker


def broker_from_url(url: str | None, **options: object) -> Broker:
    """``None``/``memory://`` -> `MemoryBroker`; ``redis://...`` -> `RedisBroker`."""
    if not url or url.startswith("memory:"):
        return MemoryBroker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from .redis import RedisBroker

        return RedisBroker(url, **options)
    raise ValueError(f"unknown broker URL {url!r}; use memory:// or redis://host:port/db")


__all__ = ["Broker", "BrokerStats", "MemoryBroker", "RemoteEvent", "broker_from_url"]
