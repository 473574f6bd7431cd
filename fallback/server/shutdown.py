"""Graceful shutdown: refuse new sessions, drain what is queued, close with 1012."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Iterable

import tornado.web
from tornado.tcpserver import TCPServer

from ..app.connection import Connection
from ..app.service import Service
from ..codes import DEFAULT_REASONS, CloseCode
from ..core.logsafe import get_logger
from ..core.session import Session
from ..core.states import SessionState
from .router import Router
from .stats import ROUTERS_SETTING

log = get_logger("fallback.server")

#: Seconds `shutdown` gives clients to receive what is queued for them and the close.
DEFAULT_SHUTDOWN_DRAIN = 5.0

RECONNECT_WINDOW = 1.0

#: How often `shutdown` looks at what is left to do while it drains.
_DRAIN_POLL = 0.02


@dataclasses.dataclass
class ShutdownReport:
    """What `shutdown` did: sessions it closed, and the ones whose client did not take
    the close frame before the deadline (they were cut)."""

    closed: int = 0
    undelivered: int = 0
    seconds: float = 0.0
    timed_out: bool = False


def _routers_of(target: tornado.web.Application | Iterable[Router] | Router) -> list[Router]:
    if isinstance(target, tornado.web.Application):
        return list(target.settings.get(ROUTERS_SETTING, ()))
    if isinstance(target, Router):
        return [target]
    return list(target)


def _reachable(session: Session, service: Service) -> bool:
    """Whether the client of `session` is there to be written to: a receiver is
    attached, or left so recently that the next request is on its way."""
    since = session.detached_since()
    return since is None or service.clock() - since < RECONNECT_WINDOW


def _close_pending(session: Session, service: Service) -> bool:
    """A session `shutdown` closed whose client has yet to get the close."""
    if session.close_sent:
        return False
    if not session.framed:  # raw WebSocket: the transport closes the socket itself
        return session.has_receiver
    return _reachable(session, service)


def _handling(session: Session) -> bool:
    """Whether an ``async def`` handler of the session's connection runs or waits."""
    listener = session.listener
    return isinstance(listener, Connection) and listener.handling


async def _until(done: Callable[[], bool], end: float) -> bool:
    """Wait until `done()` (checked every few milliseconds) or the monotonic `end`."""
    while not done():
        if time.monotonic() >= end:
            return False
        await asyncio.sleep(_DRAIN_POLL)
    return True


async def shutdown(
    target: tornado.web.Application | Iterable[Router] | Router,
    servers: Iterable[TCPServer] = (),
    *,
    deadline: float = DEFAULT_SHUTDOWN_DRAIN,
) -> ShutdownReport:
    """Stop serving `target` (an application from `make_application`, or routers)
    without losing what is queued, within `deadline` seconds.

    1. `servers` stop accepting connections; the routers refuse new sessions (1012) on
       connections already open.
    2. Queued messages drain to clients that are connected (or between two polls), and
       coroutine handlers (``async def on_message``) that run or wait finish, so that
       what they send is delivered too.
    3. Every session closes with 1012 (`CloseCode.SERVICE_RESTART`: "reconnect, to
       another server"); its client gets the close after whatever was still queued.
    4. Once those responses are written and the coroutine ``on_close`` handlers have
       returned (what they tear down is torn down), or the deadline passed, the servers
       close their remaining connections.

    ``python -m fallback serve`` runs this on SIGTERM and SIGINT, then exits 0.
    """
    started = time.monotonic()
    end = started + max(0.0, deadline)
    routers = _routers_of(target)
    services = [router.service for router in routers]
    servers = list(servers)
    for server in servers:
        server.stop()
    for service in services:
        service.draining = True
    total = sum(len(service.registry) for service in services)
    log.info("shutting down: %d sessions, draining for up to %.1fs", total, deadline)

    pending = [
        (session, service)
        for service in services
        for session in service.registry
        if session.state is SessionState.OPEN and (session.queued or _handling(session))
    ]

    def drained_all() -> bool:
        nonlocal pending
        pending = [p for p in pending if (p[0].queued or _handling(p[0])) and _reachable(*p)]
        return not pending

    drained = await _until(drained_all, end)

    closed: list[tuple[Session, Service]] = []
    for service in services:
        for session in service.registry:
            if session.state is not SessionState.CLOSED:
                closed.append((session, service))
                session.close(CloseCode.SERVICE_RESTART, DEFAULT_REASONS[CloseCode.SERVICE_RESTART])
    waiting = closed

    def delivered() -> bool:
        nonlocal waiting
        waiting = [p for p in waiting if _close_pending(*p)]
        return (
            not waiting
            and not any(service.responding for service in services)
            and not any(_handling(session) for session, _ in closed)
        )

    delivered_all = await _until(delivered, end)
    for server in servers:
        close_all = getattr(server, "close_all_connections", None)
        if close_all is not None:
            try:
                await asyncio.wait_for(close_all(), timeout=1.0)
            except TimeoutError:
                log.warning("shutdown: connections still closing after 1s; leaving them")
    report = ShutdownReport(
        closed=len(closed),
        undelivered=len(waiting),
        seconds=time.monotonic() - started,
        timed_out=not (drained and delivered_all),
    )
    log.info(
        "shut down in %.2fs: %d sessions closed with 1012%s",
        report.seconds,
        report.closed,
        f", {report.undelivered} of them cut before the close reached them"
        if report.undelivered
        else "",
    )
    return report
