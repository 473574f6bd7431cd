"""A SockJS service: one connection factory at one prefix, with its sessions and settings.

This is what every transport handler of a router shares. It creates sessions (binding a
fresh `Connection` to each) and runs the registry's sweep on the IOLoop -- started by the
first session, stopped when none are left, so an idle router holds no timer and a router
built before the loop runs needs no loop at construction time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from tornado.ioloop import IOLoop, PeriodicCallback

from .connection import Connection
from .exceptions import ConfigurationError
from .info import ConnectionInfo
from .protocol import SessionId
from .registry import SessionRegistry
from .session import Clock, Session
from .settings import Settings

log = logging.getLogger("fallback.service")

ConnectionFactory = Callable[[], Connection]


class Service:
    def __init__(
        self,
        connection_factory: ConnectionFactory,
        prefix: str,
        settings: Settings,
        clock: Clock = time.monotonic,
    ) -> None:
        if isinstance(connection_factory, type) and not issubclass(
            connection_factory, Connection
        ):
            raise ConfigurationError(
                f"{connection_factory.__name__} must subclass fallback.Connection"
            )
        if not callable(connection_factory):
            raise ConfigurationError("the connection class must be a Connection subclass")
        self.connection_factory = connection_factory
        self.prefix = prefix
        self.settings = settings
        self.clock = clock
        self.registry = SessionRegistry(clock)
        self._sweeper: PeriodicCallback | None = None
        self._sweeper_loop: IOLoop | None = None

    @property
    def sweep_interval(self) -> float:
        """Often enough that heartbeats and expiry land within a fifth of their delay."""
        shortest = min(self.settings.heartbeat_delay, self.settings.disconnect_delay)
        return max(0.01, min(1.0, shortest / 5))

    def find(self, session_id: SessionId) -> Session | None:
        return self.registry.get(session_id)

    def create_session(
        self,
        session_id: SessionId | None,
        info: ConnectionInfo,
        transport: str,
        *,
        framed: bool = True,
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
        )
        connection._bind(session)
        self.registry.add(session)
        self._ensure_sweeper()
        return session

    def forget(self, session: Session) -> None:
        self.registry.remove(session)

    def sweep(self) -> None:
        try:
            self.registry.sweep()
        except Exception:
            log.exception("session sweep failed")
        if not len(self.registry):
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
