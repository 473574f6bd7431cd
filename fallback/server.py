"""Assembling a Tornado application from routers, and listening."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from typing import Any

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.routing import Rule
from tornado.web import RequestHandler, StaticFileHandler

from .router import Router

log = logging.getLogger("fallback.server")

#: The directory holding ``fallback.js`` (installed with the package).
STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")

#: Request bodies larger than this are refused before they are read whole.
DEFAULT_MAX_BODY_SIZE = 2 * 1024 * 1024


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
    return tornado.web.Application(rules, **app_settings)


def listen(
    app: tornado.web.Application,
    port: int,
    address: str = "127.0.0.1",
    *,
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    **server_settings: Any,
) -> HTTPServer:
    server = HTTPServer(app, max_body_size=max_body_size, **server_settings)
    server.listen(port, address)
    return server
