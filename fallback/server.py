"""Assembling a Tornado application from routers, listening, and shutting down."""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import tornado.web
from tornado.netutil import bind_sockets
from tornado.routing import Rule
from tornado.tcpserver import TCPServer
from tornado.web import RequestHandler, StaticFileHandler

from .app.service import Service
from .core.frames import DEFAULT_REASONS, CloseCode
from .core.logsafe import get_logger
from .core.resume import redact_uri
from .core.session import Session, SessionState
from .exceptions import ConfigurationError
from .flash.policy import DEFAULT_POLICY_TIMEOUT, FlashPolicy
from .flash.server import FlashPolicyServer, InBandPolicyHTTPServer
from .router import Router
from .shimfile import SHIM_DIR, ShimHandler
from .stats import DEFAULT_STATS_ALLOW, ROUTERS_SETTING, stats_rules

log = get_logger("fallback.server")

#: The directory holding ``fallback.js`` (installed with the package).
STATIC_DIR = SHIM_DIR

#: Request bodies larger than this are refused before they are read whole (requests to
#: other handlers than fallback's; ours are bounded by their router's max_message_size).
DEFAULT_MAX_BODY_SIZE = 2 * 1024 * 1024

#: Seconds a connection may wait for (the headers of) its next request: an idle
#: keep-alive connection, and a client that sends its request line and headers slowly,
#: WebSocket handshakes included. Tornado's own default is an hour.
DEFAULT_IDLE_TIMEOUT = 60.0

#: Seconds a request body may take to arrive once its headers have (Tornado: no limit).
DEFAULT_BODY_TIMEOUT = 30.0

#: Seconds `shutdown` gives clients to receive what is queued for them and the close.
DEFAULT_SHUTDOWN_DRAIN = 5.0

#: Pending connections the kernel queues per listening socket (capped by somaxconn):
#: Tornado's default of 128 drops SYNs under bursts of new connections.
DEFAULT_BACKLOG = 1024

# `ROUTERS_SETTING` (from fallback.stats): the `tornado.web.Application` setting where
# `make_application` records its routers, so that `listen` can derive the Flash policy's
# domains from their ``allowed_origins``, statistics can find them, and `shutdown` can
# close their sessions.


_access_log = get_logger("tornado.access")


def _log_request(handler: RequestHandler) -> None:
    """Access log: INFO, and WARNING for refusals; `make_application` installs it as
    Tornado's ``log_function`` (give it to your own ``Application`` the same way).

    SockJS answers client mistakes (broken JSON, bad callbacks) with 500, which
    Tornado's default would log as server errors; a real exception is still logged with
    its traceback by Tornado's ``log_exception``. A refusal fallback already logged (one
    WARNING line saying why) is logged at INFO here, so that it is warned about once.

    The URL is written without its resume capability (``fb_resume=<id>.<n>`` becomes
    ``fb_resume=[redacted]``: whoever holds the id can take the connection over), and
    escaped like every other logged argument (`fallback.logsafe`).
    """
    status = handler.get_status()
    request = handler.request
    warn = status >= 400 and not getattr(handler, "refused", False)
    _access_log.log(
        logging.WARNING if warn else logging.INFO,
        "%d %s %s (%s) %.2fms",
        status,
        request.method,
        redact_uri(request.uri or ""),
        request.remote_ip,
        1000.0 * request.request_time(),
    )


#: The access-log function, for applications not built by `make_application`.
log_request = _log_request


def static_rules(path: str = "/static") -> list[Rule]:
    """Serve ``fallback.js`` (and the rest of the package's static files) at `path`."""
    base = path.rstrip("/")
    return [
        tornado.web.url(base + r"/fallback\.js", ShimHandler),
        tornado.web.url(base + r"/(.*)", StaticFileHandler, {"path": STATIC_DIR}),
    ]


class NotFoundHandler(RequestHandler):
    """What `make_application` answers for URLs no rule matches: a plain 404, counted as
    a ``not_found`` refusal of the router whose prefix the path is under (session URLs
    whose ids the protocol does not allow end here: empty, dotted, too long)."""

    refused = False

    def check_xsrf_cookie(self) -> None:
        return None

    def prepare(self) -> None:
        owner = router_for_path(self.application, self.request.path)
        if owner is not None:
            request = self.request
            owner.service.count_refusal(
                "not_found", f"404 {request.method} {request.path} from {request.remote_ip}"
            )
            self.refused = True
        self.set_status(404)
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.finish("Not found.")


def router_for_path(app: tornado.web.Application, path: str) -> Router | None:
    """The router of `app` whose prefix is the longest one `path` is under."""
    owner: Router | None = None
    for router in app.settings.get(ROUTERS_SETTING, ()):
        prefix = router.prefix
        under = path == prefix or path.startswith(prefix + "/")
        if under and (owner is None or len(prefix) > len(owner.prefix)):
            owner = router
    return owner


def make_application(
    routers: Sequence[Router] | Router,
    extra_rules: Iterable[Any] = (),
    *,
    static_path: str | None = "/static",
    stats: str | None = None,
    stats_allow: Iterable[str] | str = DEFAULT_STATS_ALLOW,
    **app_settings: Any,
) -> tornado.web.Application:
    """An Application serving `routers` (and ``fallback.js`` at ``static_path``).

    ``stats="/_stats"`` also serves statistics there (JSON) and at ``/_stats/metrics``
    (Prometheus text) to the addresses and networks in ``stats_allow`` (loopback by
    default); see `fallback.stats`.
    """
    if isinstance(routers, Router):
        routers = [routers]
    rules: list[Any] = []
    if stats:
        rules.extend(stats_rules(stats, stats_allow))
    for router in routers:
        rules.extend(router.urls)
    if static_path:
        rules.extend(static_rules(static_path))
    rules.extend(extra_rules)
    app_settings.setdefault("log_function", _log_request)
    app_settings.setdefault(ROUTERS_SETTING, tuple(routers))
    app_settings.setdefault("default_handler_class", NotFoundHandler)
    return tornado.web.Application(rules, **app_settings)


def flash_policy_for(
    app: tornado.web.Application,
    http_port: int,
    domains: Iterable[str] | str | None = None,
    ports: Iterable[int | str] | int | str | None = None,
) -> FlashPolicy:
    """The socket policy a server on `http_port` answers: explicit `domains` and `ports`,
    else the hosts of its routers' ``allowed_origins`` and the HTTP port itself.

    Routers that allow only their own origin (the default) add no domain: the policy
    says ``*`` only when an ``allowed_origins`` list or `domains` does.
    """
    routers: Sequence[Router] = app.settings.get(ROUTERS_SETTING, ())
    policy = FlashPolicy.build(
        domains,
        http_port if ports is None else ports,
        allowed_origins=[router.settings.allowed_origins for router in routers],
    )
    if http_port >= 1024 and policy.grants_low_ports:
        log.warning(
            "Flash ignores grants of ports below 1024 in a policy served from port %d "
            "(in-band); only the one on port 843 may grant them",
            http_port,
        )
    if not policy.domains:
        log.info(
            "the Flash socket policy on port %d allows no domain; set allowed_origins "
            "or flash_policy_domains to let Flash clients connect",
            http_port,
        )
    return policy


def make_server(
    app: tornado.web.Application,
    http_port: int,
    *,
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    idle_connection_timeout: float = DEFAULT_IDLE_TIMEOUT,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    flash_policy: bool = True,
    flash_policy_domains: Iterable[str] | str | None = None,
    flash_policy_ports: Iterable[int | str] | int | str | None = None,
    flash_policy_timeout: float = DEFAULT_POLICY_TIMEOUT,
    **server_settings: Any,
) -> InBandPolicyHTTPServer:
    """The HTTP server `listen` starts, not yet listening (tests add their own sockets).

    `http_port` is the port it will serve, which the default policy grants.
    ``idle_connection_timeout`` closes connections that wait longer than that for a
    request's headers (idle keep-alive, slow or silent clients); ``body_timeout``
    those whose request body takes longer than that. Neither touches a response in
    progress: long polls and streams last as long as the protocol says.
    """
    for name, value in (
        ("idle_connection_timeout", idle_connection_timeout),
        ("body_timeout", body_timeout),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ConfigurationError(f"{name} must be a positive number of seconds")
    policy = (
        flash_policy_for(app, http_port, flash_policy_domains, flash_policy_ports)
        if flash_policy
        else None
    )
    return InBandPolicyHTTPServer(
        app,
        max_body_size=max_body_size,
        idle_connection_timeout=idle_connection_timeout,
        body_timeout=body_timeout,
        flash_policy=policy,
        flash_policy_timeout=flash_policy_timeout,
        **server_settings,
    )


def listen(
    app: tornado.web.Application,
    port: int,
    address: str = "127.0.0.1",
    *,
    backlog: int = DEFAULT_BACKLOG,
    idle_connection_timeout: float = DEFAULT_IDLE_TIMEOUT,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    flash_policy: bool = True,
    flash_policy_port: int | None = None,
    flash_policy_domains: Iterable[str] | str | None = None,
    flash_policy_ports: Iterable[int | str] | int | str | None = None,
    flash_policy_timeout: float = DEFAULT_POLICY_TIMEOUT,
    flash_policy_reuse_port: bool = False,
    **server_settings: Any,
) -> InBandPolicyHTTPServer:
    """Serve `app` on `address`:`port`, answering Flash socket policy requests too.

    ``flash_policy`` answers ``<policy-file-request/>`` in-band on the HTTP port (it costs
    one peek per new connection). ``flash_policy_port`` also starts the dedicated policy
    server there (843 is where Flash looks first; binding it needs privileges;
    ``flash_policy_reuse_port`` lets several processes share it with SO_REUSEPORT). The
    policy grants ``flash_policy_domains`` (default: the hosts of the routers'
    ``allowed_origins``) access to ``flash_policy_ports`` (default: `port`). ``stop()`` on
    the returned server stops the policy server too.

    ``idle_connection_timeout`` (60 s) closes connections that wait longer for a
    request's headers, ``body_timeout`` (30 s) those whose body is slower (see
    `make_server`); other keywords go to Tornado's `HTTPServer` (``xheaders``,
    ``ssl_options``, ``max_header_size``...).
    """
    if flash_policy_port is not None and (
        isinstance(flash_policy_port, bool)
        or not isinstance(flash_policy_port, int)
        or not 0 <= flash_policy_port < 65536
    ):
        raise ConfigurationError("flash_policy_port must be a port number (843 by default)")
    sockets = bind_sockets(port, address, backlog=backlog)
    http_port = sockets[0].getsockname()[1]
    server = make_server(
        app,
        http_port,
        idle_connection_timeout=idle_connection_timeout,
        body_timeout=body_timeout,
        flash_policy=flash_policy,
        flash_policy_domains=flash_policy_domains,
        flash_policy_ports=flash_policy_ports,
        flash_policy_timeout=flash_policy_timeout,
        **server_settings,
    )
    server.add_sockets(sockets)
    if flash_policy_port is not None:
        policy = server.flash_policy or flash_policy_for(
            app, http_port, flash_policy_domains, flash_policy_ports
        )
        policy_server = FlashPolicyServer(policy, timeout=flash_policy_timeout)
        try:
            policy_server.listen(
                flash_policy_port, address, backlog=backlog, reuse_port=flash_policy_reuse_port
            )
        except OSError as error:
            server.stop()
            if error.errno in (errno.EACCES, errno.EPERM):
                raise PermissionError(
                    error.errno,
                    f"cannot listen on Flash policy port {flash_policy_port}: ports below "
                    "1024 need root or CAP_NET_BIND_SERVICE; or listen on a high port and "
                    "redirect 843 to it (see the README)",
                ) from error
            raise
        server.policy_server = policy_server
    return server


# -- graceful shutdown ------------------------------------------------------------------

#: A session whose client left less than this long ago is expected back (a poll between
#: two requests); `shutdown` waits for it to take its messages and the close frame.
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
    2. Queued messages drain to clients that are connected (or between two polls).
    3. Every session closes with 1012 (`CloseCode.SERVICE_RESTART`: "reconnect, to
       another server"); its client gets the close after whatever was still queued.
    4. Once those responses are written, or the deadline passed, the servers close
       their remaining connections.

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
        if session.state is SessionState.OPEN and session.queued
    ]

    def drained_all() -> bool:
        nonlocal pending
        pending = [p for p in pending if p[0].queued and _reachable(*p)]
        return not pending

    drained = await _until(drained_all, end)

    closed: list[tuple[Session, Service]] = []
    for service in services:
        for session in service.registry:
            if session.state is not SessionState.CLOSED:
                closed.append((session, service))
                session.close(
                    CloseCode.SERVICE_RESTART, DEFAULT_REASONS[CloseCode.SERVICE_RESTART]
                )
    waiting = closed

    def delivered() -> bool:
        nonlocal waiting
        waiting = [p for p in waiting if _close_pending(*p)]
        return not waiting and not any(service.responding for service in services)

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
