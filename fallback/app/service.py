"""A SockJS service: one connection factory at one prefix, with its sessions and settings.

This is what every transport handler of a router shares. It creates sessions (binding a
fresh `Connection` to each) and runs the registry's sweep on the IOLoop -- started by the
first session, stopped when none are left, so an idle router holds no timer and a router
built before the loop runs needs no loop at construction time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tornado.ioloop import IOLoop, PeriodicCallback

from ..codes import DEFAULT_REASONS, CloseCode
from ..core.connection_info import ConnectionInfo
from ..core.frames import SessionId
from ..core.logsafe import get_logger
from ..core.registry import SessionRegistry
from ..core.resume import ResumeState, new_connection_id, parse_resume_request
from ..core.session import Clock, Session
from ..core.settings import Settings
from ..core.states import SessionState
from ..exceptions import (
    ConfigurationError,
    ResumeError,
    ServiceBusy,
    ServiceRestarting,
    StaleResume,
)
from .connection import Connection

log = get_logger("fallback.service")

ConnectionFactory = Callable[[], Connection]

#: Longest refusal detail logged (paths and headers come from the client).
MAX_DETAIL = 300


class _Refused:
    """The listener of a session that only exists to tell a client "no"."""

    def session_opened(self) -> bool:
        return False

    def session_message(self, message: str | bytes) -> None:
        return None

    def session_closed(self, opened: bool) -> None:
        return None


class Service:
    def __init__(
        self,
        connection_factory: ConnectionFactory,
        prefix: str,
        settings: Settings,
        clock: Clock = time.monotonic,
    ) -> None:
        if isinstance(connection_factory, type) and not issubclass(connection_factory, Connection):
            raise ConfigurationError(
                f"{connection_factory.__name__} must subclass fallback.Connection"
            )
        if not callable(connection_factory):
            raise ConfigurationError("the connection class must be a Connection subclass")
        self.connection_factory = connection_factory
        self.prefix = prefix
        self.settings = settings
        self.clock = clock
        self.registry = SessionRegistry(clock, tombstone_ttl=settings.resume_grace)
        #: Refusals by reason, for statistics.
        self.refused: dict[str, int] = {}
        #: Connections resumed after their transport dropped.
        self.resumed = 0
        #: Set by `fallback.server.shutdown`: new sessions are refused with 1012.
        self.draining = False
        #: Receiving responses still being written (`fallback.server.shutdown` waits for
        #: them to end before it closes connections).
        self.responding: set[object] = set()
        self._sweeper: PeriodicCallback | None = None
        self._sweeper_loop: IOLoop | None = None

    @property
    def sweep_interval(self) -> float:
        """Often enough that heartbeats and expiry land within a fifth of their delay."""
        shortest = min(self.settings.heartbeat_delay, self.settings.disconnect_delay)
        return max(0.01, min(1.0, shortest / 5))

    def find(self, session_id: SessionId) -> Session | None:
        return self.registry.get(session_id)

    def count_refusal(self, reason: str, detail: str = "") -> None:
        """Count a refusal under `reason` (a statistics label) and log it: one WARNING
        line, no traceback -- every refusal is logged exactly once, here."""
        self.refused[reason] = self.refused.get(reason, 0) + 1
        if len(detail) > MAX_DETAIL:  # the client chose most of it: keep log lines short
            detail = detail[:MAX_DETAIL] + "..."
        log.warning("%s refused %s%s", self.prefix or "/", reason, f": {detail}" if detail else "")

    def open_session(
        self,
        session_id: SessionId | None,
        info: ConnectionInfo,
        transport: str,
        *,
        framed: bool = True,
        resume_request: str | None = None,
        binary: bool = False,
    ) -> Session:
        """A session for a new receiving request: fresh, resumable, or resumed.

        `resume_request` is the ``fb_resume`` query argument (see `fallback.resume`);
        `binary`: the client asked for binary messages (``fb_binary=1``, or a raw
        WebSocket that can carry them; `fallback.core.binary`), which the ``binary``
        setting allows. A resumed connection keeps what it was opened with. A
        resume that cannot happen still yields a session -- one that answers the open
        frame and then the close frame saying why. Raises `ServiceBusy` past
        ``max_sessions``.
        """
        request = parse_resume_request(resume_request) if framed and self.settings.resume else False
        if isinstance(request, tuple):
            return self._resume(session_id, info, transport, *request)
        if self.draining:
            self.count_refusal("shutting_down", f"new {transport} session")
            raise ServiceRestarting(DEFAULT_REASONS[CloseCode.SERVICE_RESTART])
        if len(self.registry) >= self.settings.max_sessions:
            self.count_refusal(
                "max_sessions", f"{self.settings.max_sessions} sessions open, {transport} refused"
            )
            raise ServiceBusy(DEFAULT_REASONS[CloseCode.TRY_AGAIN_LATER])
        resume = (
            ResumeState(
                new_connection_id(),
                self.settings.resume_buffer,
                self.settings.resume_buffer_bytes,
            )
            if request is True
            else None
        )
        session = self.create_session(
            session_id,
            info,
            transport,
            framed=framed,
            resume=resume,
            binary=binary and self.settings.binary,
        )
        if resume is not None:
            session.announce_resumable()
        return session

    def _resume(
        self,
        session_id: SessionId | None,
        info: ConnectionInfo,
        transport: str,
        cid: str,
        client_seen: int,
        attempt: int | None = None,
    ) -> Session:
        session = self.registry.resumable(cid)
        if session is None:
            code, reason = self.registry.tombstone(cid) or (
                CloseCode.RESUME_UNKNOWN,
                DEFAULT_REASONS[CloseCode.RESUME_UNKNOWN],
            )
            self.count_refusal("resume", f"{code} {reason}")
            return self._refusal(session_id, info, transport, code, reason)
        if self.settings.resume_same_ip and info.ip != session.info.ip:
            # Answered as for an unknown id (nothing confirms the connection exists), and
            # the connection itself is left alone: its own client may still come back.
            self.count_refusal("resume_ip", f"resume from {info.ip}, not {session.info.ip}")
            return self._refusal(
                session_id,
                info,
                transport,
                CloseCode.RESUME_UNKNOWN,
                DEFAULT_REASONS[CloseCode.RESUME_UNKNOWN],
            )
        resume = session.resume
        assert resume is not None
        before = (resume.cid, resume.previous)
        try:
            replaced = session.take_over(client_seen, transport, cid, attempt)
        except StaleResume as error:
            self.count_refusal("resume", f"stale request, {error.code} {error.reason}")
            return self._refusal(session_id, info, transport, error.code, error.reason)
        except ResumeError as error:
            self.registry.remove(session)
            self.count_refusal("resume", f"{error.code} {error.reason}")
            return self._refusal(session_id, info, transport, error.code, error.reason)
        self.registry.rekey(session, before)
        if replaced is not None:
            abandon = getattr(replaced, "abandon", None)
            if abandon is not None:
                abandon()
        self.registry.move(session, session_id)
        self.resumed += 1
        return session

    def _refusal(
        self,
        session_id: SessionId | None,
        info: ConnectionInfo,
        transport: str,
        code: int,
        reason: str,
    ) -> Session:
        session = Session(
            session_id,
            _Refused(),
            info,
            self.settings,
            transport,
            clock=self.clock,
            counters=self.registry.counters,
        )
        session.refuse(code, reason)
        self.registry.add(session)
        self._ensure_sweeper()
        return session

    def create_session(
        self,
        session_id: SessionId | None,
        info: ConnectionInfo,
        transport: str,
        *,
        framed: bool = True,
        resume: ResumeState | None = None,
        binary: bool = False,
    ) -> Session:
        connection = self.connection_factory()
        if not isinstance(connection, Connection):
            raise ConfigurationError(
                f"the connection factory returned {type(connection).__name__}, "
                "not a fallback.Connection"
            )
        session = Session(
            session_id,
            connection,
            info,
            self.settings,
            transport,
            framed=framed,
            clock=self.clock,
            counters=self.registry.counters,
            resume=resume,
            binary=binary,
        )
        connection.bind_session(session)
        self.registry.add(session)
        self._ensure_sweeper()
        return session

    def forget(self, session: Session) -> None:
        """A transport is done with `session`. A resumable connection that is still open
        stays, waiting for its client; the sweep forgets it when its grace ends."""
        if session.resume is not None and session.state is SessionState.OPEN:
            return
        self.registry.remove(session)

    def sweep(self) -> None:
        try:
            self.registry.sweep()
        except Exception:
            log.exception("session sweep failed")
        if not len(self.registry) and not self.registry.has_tombstones:
            self._stop_sweeper()

    def _ensure_sweeper(self) -> None:
        loop = IOLoop.current()
        if self._sweeper is not None and self._sweeper_loop is loop:
            return
        self._stop_sweeper()
        self._sweeper = PeriodicCallback(self.sweep, self.sweep_interval * 1000)
        self._sweeper_loop = loop
        self._sweeper.start()

    def _stop_sweeper(self) -> None:
        if self._sweeper is not None:
            self._sweeper.stop()
            self._sweeper = None
            self._sweeper_loop = None
