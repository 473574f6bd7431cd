"""Assembling a Tornado application from routers: their rules, the shim, a 404 for the
rest, and an access log that a client cannot forge and that shows no resume id."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import tornado.web
from tornado.routing import Rule
from tornado.web import RequestHandler, StaticFileHandler

from ..transports.base import log_access
from .health import health_rules
from .router import Router
from .shimfile import SHIM_DIR, ShimHandler
from .site import site_rules
from .stats import DEFAULT_STATS_ALLOW, ROUTERS_SETTING, stats_rules

#: The directory holding ``fallback.js`` (installed with the package).
STATIC_DIR = SHIM_DIR

# `ROUTERS_SETTING` (from fallback.server.stats): the `tornado.web.Application` setting
# where `make_application` records its routers, so that `listen` can derive the Flash
# policy's domains from their ``allowed_origins``, statistics can find them, and
# `shutdown` can close their sessions.


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
    request = handler.request
    log_access(
        handler.get_status(),
        request.method or "",
        request.uri or "",
        request.remote_ip,
        request.request_time(),
        getattr(handler, "refused", False),
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
    pages: str | None = None,
    health: str | None = None,
    broker_required: bool = False,
    **app_settings: Any,
) -> tornado.web.Application:
    """An Application serving `routers` (and ``fallback.js`` at ``static_path``).

    ``stats="/_stats"`` also serves statistics there (JSON) and at ``/_stats/metrics``
    (Prometheus text) to the addresses and networks in ``stats_allow`` (loopback by
    default); see `fallback.stats`. ``pages="site/"`` serves that folder's files at
    ``/`` (`fallback.server.site`); ``health="/health"`` answers readiness there and
    liveness at ``/health/live`` (`fallback.server.health`; ``broker_required``: not
    ready while the channel broker is unreachable). All are off unless given.
    """
    if isinstance(routers, Router):
        routers = [routers]
    rules: list[Any] = []
    site_root, site_rest = site_rules(pages) if pages else ([], [])
    rules.extend(site_root)
    if health:
        rules.extend(health_rules(health, broker_required))
    if stats:
        rules.extend(stats_rules(stats, stats_allow))
    for router in routers:
        rules.extend(router.urls)
    if static_path:
        rules.extend(static_rules(static_path))
    rules.extend(extra_rules)
    rules.extend(site_rest)
    app_settings.setdefault("log_function", _log_request)
    app_settings.setdefault(ROUTERS_SETTING, tuple(routers))
    app_settings.setdefault("default_handler_class", NotFoundHandler)
    return tornado.web.Application(rules, **app_settings)
