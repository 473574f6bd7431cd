"""Channel history: positions, retention rules, and what a recovery may answer.

A channel with history keeps its last publications for a while: at most ``size`` of them,
none older than ``ttl`` seconds. Each publication gets a `Position`: an ``offset`` that
counts the channel's publications from 1 and an ``epoch`` that names one unbroken run of
offsets. The epoch changes whenever history is lost as a whole -- a broker without
persistence restarted, a stream deleted, or a channel idle for longer than its meta TTL --
so a position of an old epoch can never be mistaken for one of the new.

A subscriber that comes back with the position of the last publication it got asks to
*recover*: the history answers every publication after it, in order, if it still has all
of them (`Recovery.recovered`); otherwise it says so, and the subscriber knows it has a gap
to fill some other way (reload the page's state from the application, say).

Nothing here does I/O: the memory broker keeps a `MemoryHistory` per channel, the Redis
broker keeps a stream per channel and reads the same answers out of it (`decide`).
"""

from __future__ import annotations

import collections
import dataclasses
import fnmatch
import secrets
import time
from collections.abc import Callable, Iterable, Sequence

from ..exceptions import ConfigurationError

#: The most publications one channel's history may keep, whoever configures it.
MAX_SIZE = 100_000
#: The most publications one recovery answers unless its caller says otherwise (more
#: missed than that: ``recovered`` is False).
DEFAULT_RECOVERY_LIMIT = 1_000
#: How long a history's position (its epoch and last offset) outlives its publications: a
#: subscriber back after an idle hour with nothing missed still recovers (seconds).
DEFAULT_META_TTL = 86_400.0


@dataclasses.dataclass(frozen=True, slots=True)
class Position:
    """Where a publication sits in its channel's history."""

    offset: int
    epoch: str

    def as_dict(self) -> dict[str, int | str]:
        return {"offset": self.offset, "epoch": self.epoch}


@dataclasses.dataclass(frozen=True, slots=True)
class Publication:
    """One publication as history keeps it: its position and the text members got."""

    offset: int
    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class HistoryPolicy:
    """How much of a channel's past to keep: `size` publications, for `ttl` seconds."""

    size: int
    ttl: float
    meta_ttl: float = DEFAULT_META_TTL

    def __post_init__(self) -> None:
        if not isinstance(self.size, int) or not 1 <= self.size <= MAX_SIZE:
            raise ConfigurationError(f"history size must be 1-{MAX_SIZE}, not {self.size!r}")
        if not isinstance(self.ttl, (int, float)) or self.ttl <= 0:
            raise ConfigurationError(f"history ttl must be a positive number, not {self.ttl!r}")
        if self.meta_ttl < self.ttl:
            raise ConfigurationError("history meta_ttl must be at least its ttl")


#: ``stamp(text, position)``: the text members get for a publication at `position`.
Stamp = Callable[[str, Position], str]


def unstamped(text: str, position: Position) -> str:
    return text


@dataclasses.dataclass(frozen=True, slots=True)
class HistoryRule:
    """Channels matching `pattern` (fnmatch, case-sensitive) keep history by `policy`."""

    pattern: str
    policy: HistoryPolicy
    stamp: Stamp = unstamped


class HistoryRules:
    """Which channels keep history: the first rule whose pattern matches decides."""

    def __init__(self, rules: Iterable[HistoryRule] = ()) -> None:
        self._rules: list[HistoryRule] = list(rules)
        self._cache: dict[str, HistoryRule | None] = {}

    def add(self, rule: HistoryRule) -> None:
        self._rules.append(rule)
        self._cache.clear()

    def __bool__(self) -> bool:
        return bool(self._rules)

    def rule(self, channel: str) -> HistoryRule | None:
        try:
            return self._cache[channel]
        except KeyError:
            pass
        found = next((r for r in self._rules if fnmatch.fnmatchcase(channel, r.pattern)), None)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[channel] = found
        return found


@dataclasses.dataclass(frozen=True, slots=True)
class Recovery:
    """What a subscriber coming back with `since` gets.

    `recovered` is True when `publications` are every publication after `since` (none
    missing, at most the limit asked for); False when history no longer reaches back that
    far (trimmed, expired, another epoch) or more were missed than the limit -- then
    `publications` is empty. `position` is the channel's latest position: what to recover
    from next time when nothing newer arrives.
    """

    recovered: bool
    position: Position
    publications: tuple[Publication, ...] = ()


def new_epoch() -> str:
    return secrets.token_hex(4)


def decide(
    since: Position | None, top: Position, available: Sequence[Publication], limit: int
) -> Recovery:
    """The answer to a recovery from `since`, given the channel's latest position `top` and
    the oldest publications after ``since.offset`` history still has (`available`, in order,
    at most ``limit + 1`` of them)."""
    if since is None:
        return Recovery(False, top)
    if since.epoch != top.epoch or since.offset > top.offset or since.offset < 0:
        return Recovery(False, top)
    missed = top.offset - since.offset
    if missed == 0:
        return Recovery(True, top)
    if missed > limit or not available or available[0].offset != since.offset + 1:
        return Recovery(False, top)
    wanted = tuple(p for p in available if p.offset <= top.offset)
    if len(wanted) != missed:
        return Recovery(False, top)
    return Recovery(True, top, wanted)


class MemoryHistory:
    """One channel's history in this process (the memory broker's, and the model of the
    Redis broker's: the same answers to the same calls)."""

    __slots__ = ("_entries", "_touched", "epoch", "offset", "policy")

    def __init__(self, policy: HistoryPolicy, clock: Callable[[], float] = time.monotonic):
        self.policy = policy
        self.epoch = new_epoch()
        self.offset = 0
        #: (offset, text, when)
        self._entries: collections.deque[tuple[int, str, float]] = collections.deque()
        self._touched = clock()

    def expired(self, now: float) -> bool:
        """Whether the whole history (its position too) is gone by its meta TTL."""
        return now - self._touched >= self.policy.meta_ttl

    def append(self, text: str, now: float) -> Position:
        self.offset += 1
        self._touched = now
        self._entries.append((self.offset, text, now))
        self._trim(now)
        return Position(self.offset, self.epoch)

    @property
    def top(self) -> Position:
        return Position(self.offset, self.epoch)

    def after(self, offset: int, count: int, now: float) -> list[Publication]:
        """Up to `count` kept publications after `offset`, oldest first."""
        self._trim(now)
        found = []
        for entry_offset, text, _ in self._entries:
            if entry_offset > offset:
                found.append(Publication(entry_offset, text))
                if len(found) >= count:
                    break
        return found

    def latest(self, count: int, now: float) -> list[Publication]:
        """The last `count` kept publications, oldest first."""
        self._trim(now)
        entries = list(self._entries)[-count:] if count else []
        return [Publication(o, t) for o, t, _ in entries]

    def _trim(self, now: float) -> None:
        entries, policy = self._entries, self.policy
        while len(entries) > policy.size:
            entries.popleft()
        while entries and now - entries[0][2] >= policy.ttl:
            entries.popleft()
