"""Assembling a Tornado application from routers, and listening."""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterable, Sequence
from typing import Any

import tornado.web
from tornado.netutil import bind_sockets
from tornado.routing import Rule
from tornado.web import RequestHandler, StaticFileHandler

from .exceptions import ConfigurationError
from .flashpolicy import DEFAULT_POLICY_TIMEOUT, FlashPolicy
from .policyserver import FlashPolicyServer, InBandPolicyHTTPServer
from .router import Router

log = logging.getLogger("fallback.server")

#: The directory holding ``fallback.js`` (installed with the package).
STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")

#: Request bodies larger than this are refused before they are read whole.
DEFAULT_MAX_BODY_SIZE = 2 * 1024 * 1024

#: Pending connections the kernel queues per listening socket (capped by somaxconn):
#: Tornado's default of 128 drops SYNs under bursts of new connections.
DEFAULT_BACKLOG = 1024

#: The `tornado.web.Application` setting where `make_application` records its routers,
#: so `listen` can derive the Flash policy's domains from their ``allowed_origins``.
ROUTERS_SETTING = "fallback_routers"


def _log_request(handler: RequestHandler) -> None:
    """Access log: INFO, and WARNING for refusals.

    SockJS answers client mistakes (broken JSON, bad callbacks) with 500, which
    Tornado's default would log as server errors; a real exception is still logged with
    its traceback by Tornado's ``log_exception``.
    """
    status = handler.get_status()
    request = handler.request
    logging.getLogger("tornado.access").log(
        logging.INFO if status < 400 else logging.WARNING,
        "%d %s %s (%s) %.2fms",
        status,
        request.method,
        request.uri,
        request.remote_ip,
        1000.0 * request.request_time(),
    )


def static_rules(path: str = "/static") -> list[Rule]:
    """Serve ``fallback.js`` (and the rest of the package's static files) at `path`."""
    return [
        tornado.web.url(
            path.rstrip("/") + r"/(.*)", StaticFileHandler, {"path": STATIC_DIR}
        )
    ]


def make_application(
    routers: Sequence[Router] | Router,
    extra_rules: Iterable[Any] = (),
    *,
    static_path: str | None = "/static",
    **app_settings: Any,
) -> tornado.web.Application:
    """An Application serving `routers` (and ``fallback.js`` at ``static_path``)."""
    if isinstance(routers, Router):
        routers = [routers]
    rules: list[Any] = []
    for router in routers:
        rules.extend(router.urls)
    if static_path:
        rules.extend(static_rules(static_path))
    rules.extend(extra_rules)
    app_settings.setdefault("log_function", _log_request)
    app_settings.setdefault(ROUTERS_SETTING, tuple(routers))
    return tornado.web.Application(rules, **app_settings)


def flash_policy_for(
    app: tornado.web.Application,
    http_port: int,
    domains: Iterable[str] | str | None = None,
    ports: Iterable[int | str] | int | str | None = None,
) -> FlashPolicy:
    """The socket policy a server on `http_port` answers: explicit `domains` and `ports`,
    else the hosts of its routers' ``allowed_origins`` and the HTTP port itself.

    Routers that allow any origin add no domain: the default is never ``*`` unless an
    ``allowed_origins`` list or `domains` says ``*``.
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
    flash_policy: bool = True,
    flash_policy_domains: Iterable[str] | str | None = None,
    flash_policy_ports: Iterable[int | str] | int | str | None = None,
    flash_policy_timeout: float = DEFAULT_POLICY_TIMEOUT,
    **server_settings: Any,
) -> InBandPolicyHTTPServer:
    """The HTTP server `listen` starts, not yet listening (tests add their own sockets).

    `http_port` is the port it will serve, which the default policy grants.
    """
    policy = (
        flash_policy_for(app, http_port, flash_policy_domains, flash_policy_ports)
        if flash_policy
        else None
    )
    return InBandPolicyHTTPServer(
        app,
        max_body_size=max_body_size,
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
