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

Guarantee: in one process, members get every publish exactly once and in publish order.
Across processes, the same holds while the broker is up (Redis pub/sub keeps one
connection's order); publishes made while it is down cannot reach other processes -- they
are counted (``hub.broker.stats.lost`` where they were published, ``stats.missed`` in each
process that did not get them) and the outage is logged.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from typing import Any

from .app.connection import Connection, broadcast
from .brokers import Broker, MemoryBroker, broker_from_url
from .brokers.base import EventKind, RemoteEvent
from .core.frames import OutgoingMessage
from .core.logsafe import get_logger
from .exceptions import ConfigurationError

log = get_logger("fallback.channels")

MAX_CHANNEL_NAME = 200

#: ``(channel, member_id, info or None)`` -- info is None when the member left.
PresenceListener = Callable[[str, str, "Mapping[str, Any] | None"], None]
#: ``(data)`` -- an instruction from `Channels.control` in any process.
ControlListener = Callable[[str], None]


def check_channel_name(channel: str) -> str:
    if not isinstance(channel, str) or not channel:
        raise ConfigurationError("a channel name must be a non-empty string")
    if len(channel) > MAX_CHANNEL_NAME:
        raise ConfigurationError(f"channel names are at most {MAX_CHANNEL_NAME} characters")
    return channel


class Channels:
    """The channel hub of one process."""

    def __init__(self, broker: Broker | None = None) -> None:
        self.broker: Broker = broker or MemoryBroker()
        #: channel -> {connection: member id}, in join order.
        self._members: dict[str, dict[Connection, str]] = {}
        #: connection -> channels it is in.
        self._joined: dict[Connection, dict[str, None]] = {}
        self._ids = itertools.count(1)
        self._listeners: list[PresenceListener] = []
        self._control_listeners: list[ControlListener] = []
        self._started = False
        self.published = 0
        self.delivered = 0

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        if not self._started:
            self._started = True
            await self.broker.start(self._on_remote)

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self.broker.stop()

    # -- membership -------------------------------------------------------------------

    def join(
        self, connection: Connection, channel: str, info: Mapping[str, Any] | None = None
    ) -> str | None:
        """Add `connection` to `channel`; returns its member id (None if it is closed).

        `info` is what `presence` shows for this member (JSON-serializable). Joining
        twice keeps the first membership.
        """
        check_channel_name(channel)
        if connection.is_closed:
            return None
        members = self._members.get(channel)
        if members is None:
            members = self._members[channel] = {}
            self.broker.subscribe(channel)
        existing = members.get(connection)
        if existing is not None:
            return existing
        member_id = f"{self.broker.node_id}-{next(self._ids)}"
        members[connection] = member_id
        joined = self._joined.get(connection)
        if joined is None:
            joined = self._joined[connection] = {}
            connection.add_close_hook(self._connection_closed)
        joined[channel] = None
        info_json = json.dumps(dict(info or {}))
        self.broker.presence_add(channel, member_id, info_json)
        self.broker.publish(channel, EventKind.JOIN, member_id, info_json)
        self._notify(channel, member_id, json.loads(info_json))
        return member_id

    async def subscribed(self, channel: str) -> None:
        """Wait until publishes made in other processes on `channel` reach this one.

        `join` takes effect locally at once; across processes it takes a broker round
        trip. Await this before telling anyone "you're in" if messages published right
        after must not be missed (``await channels.hub().subscribed("room")``).
        """
        await self.broker.subscribed(channel)

    def leave(self, connection: Connection, channel: str) -> bool:
        """Remove `connection` from `channel`; False if it was not a member."""
        members = self._members.get(channel)
        if members is None or connection not in members:
            return False
        member_id = members.pop(connection)
        if not members:
            del self._members[channel]
            self.broker.unsubscribe(channel)
        joined = self._joined.get(connection)
        if joined is not None:
            joined.pop(channel, None)
            if not joined:
                del self._joined[connection]
        self.broker.presence_remove(channel, member_id)
        self.broker.publish(channel, EventKind.LEAVE, member_id)
        self._notify(channel, member_id, None)
        return True

    def channels_of(self, connection: Connection) -> list[str]:
        return list(self._joined.get(connection, ()))

    def members(self, channel: str) -> list[Connection]:
        """This process's members of `channel`."""
        return list(self._members.get(channel, ()))

    def channels(self) -> dict[str, int]:
        """Channels with members in this process, with their local member counts."""
        return {name: len(members) for name, members in self._members.items()}

    async def presence(self, channel: str) -> dict[str, Any]:
        """Every member of `channel` in every process: member id -> info."""
        raw = await self.broker.presence(channel)
        result: dict[str, Any] = {}
        for member_id, info in raw.items():
            try:
                result[member_id] = json.loads(info)
            except ValueError:
                result[member_id] = {}
        return result

    async def channel_counts(self, prefix: str = "") -> dict[str, int]:
        """Member counts of channels named `prefix`..., across every process."""
        return await self.broker.channel_counts(prefix)

    def control(self, data: str) -> None:
        """Run every control listener with `data`, here and in every other process."""
        self._run_control(data)
        self.broker.publish_control(data)

    def on_control(self, listener: ControlListener) -> None:
        self._control_listeners.append(listener)

    def on_presence(self, listener: PresenceListener) -> None:
        """Call ``listener(channel, member_id, info)`` on every join (and with ``None``
        on every leave), in any process."""
        self._listeners.append(listener)

    # -- publishing -------------------------------------------------------------------

    def publish(self, channel: str, text: str) -> int:
        """Send `text` to every member of `channel` in every process.

        Returns how many members of this process got it. Never raises because a member
        went away; a process with no members costs nothing but the broker hand-off.
        """
        check_channel_name(channel)
        if not isinstance(text, str):
            raise TypeError(f"publish() takes str, not {type(text).__name__}")
        self.published += 1
        # The broker first: its write goes out before the flush of the local fan-out below,
        # so other processes deliver while this one does, instead of after it.
        self.broker.publish(channel, EventKind.MESSAGE, text)
        return self._deliver(channel, text)

    # -- internals --------------------------------------------------------------------

    def _deliver(self, channel: str, text: str) -> int:
        members = self._members.get(channel)
        if not members:
            return 0
        delivered = broadcast(members, OutgoingMessage(text))
        self.delivered += delivered
        return delivered

    def _run_control(self, data: str) -> None:
        for listener in self._control_listeners:
            try:
                listener(data)
            except Exception:
                log.exception("a control listener raised")

    def _on_remote(self, event: RemoteEvent) -> None:
        if event.kind is EventKind.MESSAGE:
            self._deliver(event.channel, event.data)
        elif event.kind is EventKind.CONTROL:
            self._run_control(event.data)
        elif event.kind is EventKind.JOIN:
            try:
                info = json.loads(event.info) if event.info else {}
            except ValueError:
                info = {}
            self._notify(event.channel, event.data, info)
        else:
            self._notify(event.channel, event.data, None)

    def _notify(self, channel: str, member_id: str, info: Mapping[str, Any] | None) -> None:
        for listener in self._listeners:
            try:
                listener(channel, member_id, info)
            except Exception:
                log.exception("a presence listener raised")

    def _connection_closed(self, connection: Connection) -> None:
        for channel in list(self._joined.get(connection, ())):
            self.leave(connection, channel)


# -- the process-wide hub ---------------------------------------------------------------

_hub: Channels | None = None


def hub() -> Channels:
    """The process-wide hub (in-memory until `configure` or `start` says otherwise)."""
    global _hub
    if _hub is None:
        _hub = Channels()
    return _hub


def configure(broker: Broker | str | None) -> Channels:
    """Replace the process-wide hub with one on `broker` (an instance or a URL)."""
    global _hub
    if _hub is not None and _hub._members:
        raise ConfigurationError("configure the channel broker before anyone joins")
    _hub = Channels(broker if isinstance(broker, Broker) else broker_from_url(broker))
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


def publish(channel: str, text: str) -> int:
    return hub().publish(channel, text)


def members(channel: str) -> list[Connection]:
    return hub().members(channel)


async def presence(channel: str) -> dict[str, Any]:
    return await hub().presence(channel)


async def subscribed(channel: str) -> None:
    await hub().subscribed(channel)
