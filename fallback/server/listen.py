"""Listening: the HTTP server with its timeouts, and the Flash socket policy beside it."""

from __future__ import annotations

import errno
from collections.abc import Iterable, Sequence
from typing import Any

import tornado.web
from tornado.netutil import bind_sockets

from ..core.logsafe import get_logger
from ..exceptions import ConfigurationError
from ..flash.policy import DEFAULT_POLICY_TIMEOUT, FlashPolicy
from ..flash.server import FlashPolicyServer, InBandPolicyHTTPServer
from .router import Router
from .stats import ROUTERS_SETTING

log = get_logger("fallback.server")

#: Request bodies larger than this are refused before they are read whole (requests to
#: other handlers than fallback's; ours are bounded by their router's max_message_size).
DEFAULT_MAX_BODY_SIZE = 2 * 1024 * 1024

#: Seconds a connection may wait for (the headers of) its next request: an idle
#: keep-alive connection, and a client that sends its request line and headers slowly,
#: WebSocket handshakes included. Tornado's own default is an hour.
DEFAULT_IDLE_TIMEOUT = 60.0

#: Seconds a request body may take to arrive once its headers have (Tornado: no limit).
DEFAULT_BODY_TIMEOUT = 30.0

#: Pending connections the kernel queues per listening socket (capped by somaxconn):
#: Tornado's default of 128 drops SYNs under bursts of new connections.
DEFAULT_BACKLOG = 1024


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
