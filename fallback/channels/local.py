"""The channel hub of one process: its members, local delivery, the hand-off to the broker.

`Channels` keeps which connection is in which channel (in join order), delivers a publish
to this process's members at once -- encoded once for all of them -- and hands it to its
`Broker` for the other processes. The process-wide hub and the module-level shortcuts
(``channels.join``...) are in `fallback.channels`.

Channels that match a history rule (`Channels.keep_history`) give every publication a
`Position` and keep the last ones; a member joining with ``recovering=True`` gets what it
missed since a position it had (`recover`, then `release`). The seam between reading
history and live delivery is closed by construction: from the join on, live publications
for that member are held back (not dropped) until the history read is answered; then it
gets the missed ones, the held ones that are newer than what the read returned, and from
then on live delivery skips what the read already covered (a publication may be both in
the read and still on its way through the broker). Each member's publications arrive
once each, in position order.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..app.connection import Connection, broadcast
from ..core.frames import OutgoingMessage
from ..core.logsafe import get_logger
from ..exceptions import BrokerUnavailable, ConfigurationError
from .brokers import Broker, MemoryBroker
from .brokers.base import EventKind, RemoteEvent
from .history import (
    DEFAULT_META_TTL,
    DEFAULT_RECOVERY_LIMIT,
    HistoryPolicy,
    HistoryRule,
    HistoryRules,
    Position,
    Recovery,
    Stamp,
    decide,
    unstamped,
)

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
        #: Which channels keep history (`keep_history`).
        self.history_rules = HistoryRules()
        #: channel -> members reading history: what live delivery held back for each.
        self._pending: dict[str, dict[Connection, list[tuple[Position, str]]]] = {}
        #: channel -> members whose live delivery skips up to a position (what their
        #: history read covered).
        self._floors: dict[str, dict[Connection, Position]] = {}

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

    def keep_history(
        self, pattern: str, size: int, ttl: float, *, stamp: Stamp = unstamped
    ) -> HistoryRule:
        """Channels matching `pattern` (fnmatch) keep their last `size` publications for
        `ttl` seconds, and every publication gets a `Position`.

        `stamp(text, position)` makes the text members get (the channel server adds the
        position to its envelopes); history keeps the text as published. The first
        matching rule wins; add rules before anyone publishes on the channels.
        """
        rule = HistoryRule(pattern, HistoryPolicy(size, ttl, max(DEFAULT_META_TTL, ttl)), stamp)
        self.history_rules.add(rule)
        return rule

    def join(
        self,
        connection: Connection,
        channel: str,
        info: Mapping[str, Any] | None = None,
        *,
        recovering: bool = False,
    ) -> str | None:
        """Add `connection` to `channel`; returns its member id (None if it is closed).

        `info` is what `presence` shows for this member (JSON-serializable). Joining
        twice keeps the first membership. With `recovering` (a channel with history),
        live publications wait for this member until `release`: call `recover` and then
        `release` (`join_recovering` does all three).
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
        if recovering:
            self._pending.setdefault(channel, {})[connection] = []
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
        _forget(self._pending, channel, connection)
        _forget(self._floors, channel, connection)
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
        # History keeps text publications (the envelopes channel servers send); bytes go
        # out live only, without a position.
        rule = (
            self.history_rules.rule(channel)
            if self.history_rules and kind is EventKind.MESSAGE
            else None
        )
        if rule is not None and isinstance(message, str):
            answer = self.broker.append(channel, message, rule.policy)
            if isinstance(answer, Position):
                return self._deliver(channel, message, answer)
            if answer:
                return 0  # every process, this one too, delivers it when it comes back
            return self._deliver(channel, message)
        # The broker first: its write goes out before the flush of the local fan-out below,
        # so other processes deliver while this one does, instead of after it.
        self.broker.publish(channel, kind, data)
        return self._deliver(channel, message)

    # -- history and recovery ---------------------------------------------------------

    async def recover(
        self,
        connection: Connection,
        channel: str,
        since: Position | None,
        limit: int = DEFAULT_RECOVERY_LIMIT,
    ) -> Recovery:
        """What `connection` missed on `channel` since `since` (at most `limit`
        publications), and the channel's latest position; nothing is sent yet.

        Join with ``recovering=True`` first (and await `subscribed`), then `release`
        the answer. Without `since`, only the position is read. A broker that cannot
        answer gives ``recovered=False`` at `since` (so the next try starts there again).
        """
        rule = self.history_rules.rule(channel)
        if rule is None:
            raise ConfigurationError(f"channel {channel!r} keeps no history")
        try:
            top, available = await self.broker.read_history(
                channel,
                rule.policy,
                since.offset if since is not None else None,
                limit + 1 if since is not None else 0,
            )
        except BrokerUnavailable:
            log.warning("history of %r unavailable: recovery refused", channel)
            return Recovery(False, since or Position(0, ""))
        return decide(since, top, available, limit)

    def release(self, connection: Connection, channel: str, recovery: Recovery) -> int:
        """Send `recovery`'s publications to `connection`, then what live delivery held
        back for it meanwhile (only what is newer), and deliver live from then on.
        Returns how many it got."""
        held = self._pending.get(channel)
        waiting = held.pop(connection, []) if held is not None else []
        if held is not None and not held:
            del self._pending[channel]
        members = self._members.get(channel)
        if members is None or connection not in members or connection.is_closed:
            return 0
        rule = self.history_rules.rule(channel)
        stamp = rule.stamp if rule is not None else unstamped
        top = recovery.position
        texts = [stamp(p.text, Position(p.offset, top.epoch)) for p in recovery.publications]
        for position, text in waiting:
            if not (position.epoch == top.epoch and position.offset <= top.offset):
                texts.append(text)
        self._floors.setdefault(channel, {})[connection] = top
        for text in texts:
            connection.send(text)
        self.delivered += len(texts)
        return len(texts)

    async def join_recovering(
        self,
        connection: Connection,
        channel: str,
        since: Position | None = None,
        info: Mapping[str, Any] | None = None,
        limit: int = DEFAULT_RECOVERY_LIMIT,
    ) -> Recovery | None:
        """Join `channel` and get every publication after `since` (if history still has
        them), then the live ones: none missing, none twice. None if it is closed."""
        if self.join(connection, channel, info, recovering=True) is None:
            return None
        await self.subscribed(channel)
        recovery = await self.recover(connection, channel, since, limit)
        self.release(connection, channel, recovery)
        return recovery

    async def history(
        self, channel: str, limit: int = 100, since: Position | None = None
    ) -> Recovery:
        """The last `limit` publications of `channel` (or the first `limit` after
        `since`), oldest first, as history keeps them.

        ``recovered`` tells whether they follow `since` with nothing missing between
        (True without `since`). Raises `BrokerUnavailable` when the broker cannot answer.
        """
        rule = self.history_rules.rule(channel)
        if rule is None:
            raise ConfigurationError(f"channel {channel!r} keeps no history")
        top, found = await self.broker.read_history(
            channel, rule.policy, since.offset if since is not None else None, limit
        )
        if since is None:
            return Recovery(True, top, tuple(found))
        continuous = since.epoch == top.epoch and (
            since.offset == top.offset or (bool(found) and found[0].offset == since.offset + 1)
        )
        return Recovery(continuous, top, tuple(found) if continuous else ())

    # -- internals --------------------------------------------------------------------

    def _deliver(self, channel: str, message: str | bytes, position: Position | None = None) -> int:
        members = self._members.get(channel)
        if not members:
            return 0
        targets: Iterable[Connection] = members
        if position is not None and isinstance(message, str):
            rule = self.history_rules.rule(channel)
            if rule is not None:
                message = rule.stamp(message, position)
            if channel in self._pending or channel in self._floors:
                targets = self._live_members(channel, members, position, message)
        delivered = broadcast(targets, OutgoingMessage(message))
        self.delivered += delivered
        return delivered

    def _live_members(
        self, channel: str, members: Iterable[Connection], position: Position, text: str
    ) -> list[Connection]:
        """Members that get the live publication at `position` now: not those reading
        history (it waits for them) nor those whose read covered it already."""
        held = self._pending.get(channel, {})
        floors = self._floors.get(channel, {})
        targets = []
        for member in members:
            waiting = held.get(member)
            if waiting is not None:
                waiting.append((position, text))
                continue
            floor = floors.get(member)
            if floor is not None:
                if floor.epoch == position.epoch and position.offset <= floor.offset:
                    continue
                del floors[member]
            targets.append(member)
        if channel in self._floors and not floors:
            del self._floors[channel]
        return targets

    def _run_control(self, data: str) -> None:
        for listener in self._control_listeners:
            try:
                listener(data)
            except Exception:
                log.exception("a control listener raised")

    def _on_remote(self, event: RemoteEvent) -> None:
        if event.kind is EventKind.MESSAGE:
            self._deliver(event.channel, event.data, event.position)
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


def _forget(table: dict[str, dict[Connection, Any]], channel: str, connection: Connection) -> None:
    entries = table.get(channel)
    if entries is not None:
        entries.pop(connection, None)
        if not entries:
            del table[channel]
