"""The live sessions of one service, their single expiry sweep, and counters.

One sweep over all sessions replaces a timer per session: an idle session costs a dict
entry, not a scheduled callback. HTTP sessions are found by id; WebSocket sessions are
not addressable (the protocol lets two of them share an id) and are held only so that the
sweep can send their heartbeats.
"""

from __future__ import annotations

import time
from collections import Counter

from .protocol import SessionId
from .session import Clock, Counters, Session


class SessionRegistry:
    __slots__ = ("_anonymous", "_clock", "_named", "closed_by_code", "counters", "opened")

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._named: dict[SessionId, Session] = {}
        self._anonymous: set[Session] = set()
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
        if session.id is None:
            self._anonymous.add(session)
        else:
            if session.id in self._named:
                raise KeyError(f"session {session.id} already exists")
            self._named[session.id] = session
        self.opened[session.transport] += 1

    def remove(self, session: Session) -> None:
        """Forget a session (it is closed or about to be)."""
        if session.id is None:
            if session in self._anonymous:
                self._anonymous.discard(session)
                self._record_close(session)
        elif self._named.get(session.id) is session:
            del self._named[session.id]
            self._record_close(session)

    def sweep(self, now: float | None = None) -> int:
        """Send due heartbeats and forget expired sessions; returns how many expired."""
        if now is None:
            now = self._clock()
        expired = [s for s in self._named.values() if s.tick(now)]
        expired.extend(s for s in list(self._anonymous) if s.tick(now))
        for session in expired:
            self.remove(session)
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
