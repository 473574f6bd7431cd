"""The channel hub of one process: its members, local delivery, the hand-off to the broker.

`Channels` keeps which connection is in which channel (in join order), delivers a publish
to this process's members at once -- encoded once for all of them -- and hands it to its
`Broker` for the other processes. The process-wide hub and the module-level shortcuts
(``channels.join``...) are in `fallback.channels`.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Callable, Mapping
from typing import Any

from ..app.connection import Connection, broadcast
from ..core.frames import OutgoingMessage
from ..core.logsafe import get_logger
from ..exceptions import ConfigurationError
from .brokers import Broker, MemoryBroker
from .brokers.base import EventKind, RemoteEvent

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

    @property
    def has_members(self) -> bool:
        """Whether any connection of this process is in a channel."""
        return bool(self._members)

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

    def publish(self, channel: str, message: str | bytes) -> int:
        """Send `message` to every member of `channel` in every process: text, or
        `bytes` for a binary message, which members whose client takes none
        (`Connection.binary`) do not get.

        Returns how many members of this process got it. Never raises because a member
        went away; a process with no members costs nothing but the broker hand-off.
        """
        check_channel_name(channel)
        if isinstance(message, str):
            kind, data = EventKind.MESSAGE, message
        elif isinstance(message, bytes):
            kind, data = EventKind.BINARY, base64.b64encode(message).decode("ascii")
        else:
            raise TypeError(f"publish() takes str or bytes, not {type(message).__name__}")
        self.published += 1
        # The broker first: its write goes out before the flush of the local fan-out below,
        # so other processes deliver while this one does, instead of after it.
        self.broker.publish(channel, kind, data)
        return self._deliver(channel, message)

    # -- internals --------------------------------------------------------------------

    def _deliver(self, channel: str, message: str | bytes) -> int:
        members = self._members.get(channel)
        if not members:
            return 0
        delivered = broadcast(members, OutgoingMessage(message))
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
        elif event.kind is EventKind.BINARY:
            try:
                data = base64.b64decode(event.data, validate=True)
            except ValueError:
                log.warning("ignoring a malformed binary message on %r", event.channel)
                return
            self._deliver(event.channel, data)
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
