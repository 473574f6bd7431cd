"""Channels: rooms, topics, users -- publish to a name, deliver to every member.

    from fallback import channels

    class Room(Connection):
        def on_open(self, info):
            channels.join(self, "lobby", {"nick": info.get_argument("nick")})

        def on_message(self, text):
            channels.publish("lobby", text)

A publish hands the text to the broker, which carries it to the other processes that
have members, and delivers to this process's members at once (the message is JSON-encoded
once for all of them); the other processes deliver it the same way, meanwhile. Members
leave every channel when their connection closes.

With the default in-memory broker everything stays in one process. Point the hub at Redis
(``python -m fallback serve ... --broker redis://127.0.0.1:6379/0``, or
``await channels.start("redis://...")``) and publishes reach every process, presence is
shared, and a process with no member in a channel never hears of it.

History (``channels.keep_history("news-*", size=100, ttl=600)``): every publication of a
matching channel gets a position (offset and epoch, shared by every process through Redis
Streams), the last ones are kept, and ``join_recovering(connection, channel, since)``
delivers what a member missed since a position before the live stream, with nothing lost
or doubled at the seam; ``history(channel, limit, since)`` reads them.

Guarantee: in one process, members get every publish exactly once and in publish order.
Across processes, the same holds while the broker is up (Redis pub/sub keeps one
connection's order); publishes made while it is down cannot reach other processes -- they
are counted (``hub.broker.stats.lost`` where they were published, ``stats.missed`` in each
process that did not get them) and the outage is logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..app.connection import Connection
from ..exceptions import ConfigurationError
from .brokers import Broker, broker_from_url
from .history import Position, Recovery
from .local import (
    MAX_CHANNEL_NAME,
    Channels,
    ControlListener,
    PresenceListener,
    check_channel_name,
)

__all__ = [
    "MAX_CHANNEL_NAME",
    "Channels",
    "ControlListener",
    "PresenceListener",
    "check_channel_name",
    "configure",
    "history",
    "hub",
    "join",
    "join_recovering",
    "keep_history",
    "leave",
    "members",
    "presence",
    "publish",
    "start",
    "subscribed",
]


# -- the process-wide hub ---------------------------------------------------------------

_hub: Channels | None = None


def hub() -> Channels:
    """The process-wide hub (in-memory until `configure` or `start` says otherwise)."""
    global _hub
    if _hub is None:
        _hub = Channels()
    return _hub


def configure(broker: Broker | str | None) -> Channels:
    """Replace the process-wide hub with one on `broker` (an instance or a URL); the
    history rules given so far (`Channels.keep_history`) carry over."""
    global _hub
    if _hub is not None and _hub.has_members:
        raise ConfigurationError("configure the channel broker before anyone joins")
    old = _hub
    _hub = Channels(broker if isinstance(broker, Broker) else broker_from_url(broker))
    if old is not None:
        _hub.history_rules = old.history_rules
    return _hub


async def start(broker: Broker | str | None = None) -> Channels:
    """Configure (if `broker` is given) and start the process-wide hub."""
    channels = configure(broker) if broker is not None else hub()
    await channels.start()
    return channels


def join(connection: Connection, channel: str, info: Mapping[str, Any] | None = None) -> str | None:
    return hub().join(connection, channel, info)


def leave(connection: Connection, channel: str) -> bool:
    return hub().leave(connection, channel)


def publish(channel: str, message: str | bytes) -> int:
    """`Channels.publish` on the hub: text, or `bytes` for a binary message."""
    return hub().publish(channel, message)


def members(channel: str) -> list[Connection]:
    return hub().members(channel)


async def presence(channel: str) -> dict[str, Any]:
    return await hub().presence(channel)


async def subscribed(channel: str) -> None:
    await hub().subscribed(channel)


def keep_history(pattern: str, size: int, ttl: float) -> None:
    """Channels matching `pattern` keep their last `size` publications for `ttl` s."""
    hub().keep_history(pattern, size, ttl)


async def join_recovering(
    connection: Connection,
    channel: str,
    since: Position | None = None,
    info: Mapping[str, Any] | None = None,
) -> Recovery | None:
    """Join `channel` and get what was published after `since` first (`Channels`)."""
    return await hub().join_recovering(connection, channel, since, info)


async def history(channel: str, limit: int = 100, since: Position | None = None) -> Recovery:
    """The publications `channel` keeps: the last `limit`, or the first after `since`."""
    return await hub().history(channel, limit, since)
