"""The broker interface."""

from __future__ import annotations

import abc
import dataclasses
import enum
from collections.abc import Callable, Mapping

from ..history import HistoryPolicy, Position, Publication


class EventKind(enum.Enum):
    MESSAGE = "m"
    #: A binary message; `RemoteEvent.data` holds its bytes in base64 (brokers carry text).
    BINARY = "b"
    JOIN = "j"
    LEAVE = "l"
    #: A process-to-process instruction (channel ``""``), e.g. "disconnect user X".
    CONTROL = "x"


@dataclasses.dataclass(frozen=True, slots=True)
class RemoteEvent:
    """Something another process published on a channel this process subscribed to."""

    channel: str
    kind: EventKind
    #: The message text (MESSAGE), a binary message in base64 (BINARY) or the presence
    #: member id (JOIN/LEAVE).
    data: str
    #: The member's presence info as JSON text (JOIN only).
    info: str = ""
    #: Where a MESSAGE of a channel with history sits in it (None: no history).
    position: Position | None = None


@dataclasses.dataclass(slots=True)
class BrokerStats:
    """What a broker carried and failed to carry, counted exactly on both sides.

    Every publish ends up counted once, as `published`, `lost` or `unconfirmed`; a
    receiving process counts in `missed` every event of another process, on a channel
    it listens to, that never reached it (whatever the reason: not sent, or sent while
    it was not subscribed), found by the per-channel sequence numbers publishes carry.
    """

    #: Publishes the broker took (Redis answered them).
    published: int = 0
    #: Events of other processes delivered here.
    received: int = 0
    #: Publishes that never reached the broker (it was unavailable, or the connection
    #: failed while they waited to be written).
    lost: int = 0
    #: Publishes written on a connection that failed before the broker answered: they
    #: may or may not have reached it (the receivers' `missed` says which did not).
    unconfirmed: int = 0
    #: Events of other processes on this process's channels that never arrived here.
    missed: int = 0
    reconnects: int = 0
    connected: bool = True


EventHandler = Callable[[RemoteEvent], None]


class Broker(abc.ABC):
    """Carries channel traffic between processes.

    Calls are fire-and-forget and keep their order: a publish never blocks the caller and
    publishes from one process reach every other process in the order they were made.
    """

    #: Identifies this process among all processes sharing the broker.
    node_id: str
    stats: BrokerStats

    @abc.abstractmethod
    async def start(self, on_event: EventHandler) -> None:
        """Begin carrying traffic; `on_event` gets other processes' events."""

    @abc.abstractmethod
    async def stop(self) -> None: ...

    @abc.abstractmethod
    def subscribe(self, channel: str) -> None:
        """This process has members in `channel` now (called on the first local member)."""

    async def subscribed(self, channel: str) -> None:
        """Wait until publishes from other processes on `channel` reach this one.

        A subscription takes a round trip to the broker; what other processes publish
        before it is in place is not delivered here.
        """
        return None

    @abc.abstractmethod
    def unsubscribe(self, channel: str) -> None:
        """This process has no member left in `channel`."""

    @abc.abstractmethod
    def publish(self, channel: str, kind: EventKind, data: str, info: str = "") -> None:
        """Tell the other processes; the caller has already delivered locally."""

    @abc.abstractmethod
    def append(self, channel: str, text: str, policy: HistoryPolicy) -> Position | bool:
        """Publish `text` on `channel`, which keeps history by `policy`: it gets the next
        position, shared by every process.

        A `Position` means it was appended now and the caller delivers locally with it;
        True that every process -- this one too -- gets it back through ``on_event``, with
        its position, in position order; False that the broker could not take it (it is
        unavailable): the caller delivers locally without a position, as for a channel
        without history.
        """

    @abc.abstractmethod
    async def read_history(
        self, channel: str, policy: HistoryPolicy, after: int | None, count: int
    ) -> tuple[Position, list[Publication]]:
        """The channel's latest position and up to `count` kept publications after offset
        `after` (None: the latest `count`), oldest first. A channel that never had a
        publication gets a position (offset 0) here, so that a subscriber has one to
        recover from. Raises `BrokerUnavailable` when the broker cannot answer."""

    @abc.abstractmethod
    def presence_add(self, channel: str, member_id: str, info: str) -> None: ...

    @abc.abstractmethod
    def presence_remove(self, channel: str, member_id: str) -> None: ...

    @abc.abstractmethod
    async def presence(self, channel: str) -> Mapping[str, str]:
        """Every member of `channel` in every process: member id -> info JSON."""

    @abc.abstractmethod
    def publish_control(self, data: str) -> None:
        """Send an instruction to every other process (they get a CONTROL event)."""

    @abc.abstractmethod
    async def channel_counts(self, prefix: str) -> dict[str, int]:
        """Member counts of every channel whose name starts with `prefix`, all processes."""


def forget_member(presence: dict[str, dict[str, str]], channel: str, member_id: str) -> None:
    """Remove `member_id` from this process's `presence` of `channel` (channel -> members),
    and the channel once it has no member left."""
    members = presence.get(channel)
    if members is not None:
        members.pop(member_id, None)
        if not members:
            del presence[channel]


def member_counts(presence: Mapping[str, Mapping[str, str]], prefix: str) -> dict[str, int]:
    """Channels named `prefix`... with members in `presence` (channel -> members)."""
    return {
        name: len(members)
        for name, members in presence.items()
        if name.startswith(prefix) and members
    }
