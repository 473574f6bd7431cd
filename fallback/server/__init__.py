"""The Tornado server around the routers: what ``fallback.server`` has always offered.

* `application`: `make_application` (routers, ``fallback.js``, statistics, a 404 for
  the rest) and the access log `log_request`;
* `listen`: `listen` and `make_server` (timeouts, the Flash policy in-band and on 843);
* `shutdown`: `shutdown`, which drains and closes every session with 1012;
* `router`: `Router`, one service's URL rules; `stats`, `shimfile`, `workers`.
"""

from ..flash.server import FlashPolicyServer, InBandPolicyHTTPServer
from .application import (
    STATIC_DIR,
    NotFoundHandler,
    log_request,
    make_application,
    router_for_path,
    static_rules,
)
from .listen import (
    DEFAULT_BACKLOG,
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_BODY_SIZE,
    flash_policy_for,
    listen,
    make_server,
)
from .router import Router
from .shutdown import DEFAULT_SHUTDOWN_DRAIN, RECONNECT_WINDOW, ShutdownReport, shutdown

__all__ = [
    "DEFAULT_BACKLOG",
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_BODY_SIZE",
    "DEFAULT_SHUTDOWN_DRAIN",
    "RECONNECT_WINDOW",
    "STATIC_DIR",
    "FlashPolicyServer",
    "InBandPolicyHTTPServer",
    "NotFoundHandler",
    "Router",
    "ShutdownReport",
    "flash_policy_for",
    "listen",
    "log_request",
    "make_application",
    "make_server",
    "router_for_path",
    "shutdown",
    "static_rules",
]
