"""The live sessions of one service, their single expiry sweep, and counters.

One sweep over all sessions replaces a timer per session: an idle session costs a dict
entry, not a scheduled callback. HTTP sessions are found by id; WebSocket sessions are
not addressable (the protocol lets two of them share an id) and are held only so that the
sweep can send their heartbeats.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict

from .counters import Counters
from .frames import SessionId
from .session import Clock, Session

#: How many ended resumable connections are remembered, to tell a late client why.
MAX_TOMBSTONES = 10_000


class SessionRegistry:
    __slots__ = (
        "_anonymous",
        "_clock",
        "_named",
        "_resumable",
        "_tombstones",
        "closed_by_code",
        "counters",
        "opened",
        "tombstone_ttl",
    )

    def __init__(self, clock: Clock = time.monotonic, tombstone_ttl: float = 30.0) -> None:
        self._named: dict[SessionId, Session] = {}
        self._anonymous: set[Session] = set()
        #: Resumable connections by connection id, wherever their transport is.
        self._resumable: dict[str, Session] = {}
        #: Ended resumable connections: id -> (close code, reason, when).
        self._tombstones: OrderedDict[str, tuple[int, str, float]] = OrderedDict()
        self.tombstone_ttl = tombstone_ttl
        self._clock = clock
        #: Sessions ever added, by transport.
        self.opened: Counter[str] = Counter()
        #: Sessions forgotten, by the code they closed with.
        self.closed_by_code: Counter[int] = Counter()
        #: Messages and receivers, totalled over every session of this registry.
        self.counters = Counters()

    def __len__(self) -> int:
        return len(self._named) + len(self._anonymous)

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield from list(self._named.values())
        yield from list(self._anonymous)

    def get(self, session_id: SessionId) -> Session | None:
        return self._named.get(session_id)

    def add(self, session: Session) -> None:
        self._index(session)
        if session.resume is not None:
            self._resumable[session.resume.cid] = session
        self.opened[session.transport] += 1

    def _index(self, session: Session) -> None:
        if session.id is None:
            self._anonymous.add(session)
        else:
            if session.id in self._named:
                raise KeyError(f"session {session.id} already exists")
            self._named[session.id] = session

    def _unindex(self, session: Session) -> bool:
        if session.id is None:
            if session in self._anonymous:
                self._anonymous.discard(session)
                return True
        elif self._named.get(session.id) is session:
            del self._named[session.id]
            return True
        return False

    def remove(self, session: Session) -> None:
        """Forget a session (it is closed or about to be)."""
        if self._unindex(session):
            self._record_close(session)
        resume = session.resume
        if resume is not None and self._resumable.get(resume.cid) is session:
            ended = (session.close_code or 0, session.close_reason or "", self._clock())
            for cid in (resume.cid, resume.previous):
                if cid is not None and self._resumable.get(cid) is session:
                    del self._resumable[cid]
                    self._tombstones[cid] = ended
            while len(self._tombstones) > MAX_TOMBSTONES:
                self._tombstones.popitem(last=False)

    def move(self, session: Session, new_id: SessionId | None) -> None:
        """Give a resumed connection the address of its new SockJS session; KeyError (and
        the session keeps its address) when another session has that one."""
        if new_id is not None and self._named.get(new_id, session) is not session:
            raise KeyError(f"session {new_id} already exists")
        self._unindex(session)
        session.id = new_id
        self._index(session)

    def resumable(self, cid: str) -> Session | None:
        """The live resumable connection `cid` names: its current id, or the one it was
        resumed with while the client has yet to show it got the new one."""
        session = self._resumable.get(cid)
        if session is None or session.resume is None or not session.resume.accepts(cid):
            return None
        return session

    def rekey(self, session: Session, before: tuple[str, str | None]) -> None:
        """`session` was resumed and has a new connection id: index it, and forget the
        ids it had `before` that no longer name it (at most two ids per connection)."""
        resume = session.resume
        assert resume is not None
        for cid in before:
            if cid is not None and not resume.accepts(cid) and self._resumable.get(cid) is session:
                del self._resumable[cid]
        self._resumable[resume.cid] = session

    @property
    def has_tombstones(self) -> bool:
        """Whether ended resumable connections are still remembered (the sweep must go
        on running to forget them)."""
        return bool(self._tombstones)

    def tombstone(self, cid: str) -> tuple[int, str] | None:
        """Why the resumable connection `cid` ended, if it ended recently."""
        entry = self._tombstones.get(cid)
        return (entry[0], entry[1]) if entry is not None else None

    def sweep(self, now: float | None = None) -> int:
        """Send due heartbeats and forget expired sessions; returns how many expired."""
        if now is None:
            now = self._clock()
        expired = [s for s in list(self._named.values()) if s.tick(now)]
        expired.extend(s for s in list(self._anonymous) if s.tick(now))
        for session in expired:
            self.remove(session)
        tombstones = self._tombstones
        while tombstones:
            cid, (_, _, when) = next(iter(tombstones.items()))
            if now - when < self.tombstone_ttl:
                break
            del tombstones[cid]
        return len(expired)

    def count_by_transport(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for session in self:
            counts[session.transport] += 1
        return counts

    def close_all(self, code: int, reason: str | None = None) -> None:
        for session in self:
            session.close(code, reason)

    def _record_close(self, session: Session) -> None:
        if session.close_code is not None:
            self.closed_by_code[session.close_code] += 1
