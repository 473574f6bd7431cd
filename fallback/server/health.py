"""``GET <prefix>/health``: whether this process should get traffic, for load balancers
and orchestrators (a Kubernetes readiness probe, an HAProxy check).

* ``PATH`` -- readiness: 200 when the process takes new connections, 503 while it drains
  for a shutdown or, with ``broker_required``, while the channel broker is unreachable;
* ``PATH/live`` -- liveness: 200 whenever the process answers at all.

Both answer a small JSON object (``{"live": true, "ready": true, "draining": false,
"broker": {"kind": "redis", "connected": true, "required": true}}``) and never anything
about connections or users: a probe comes from wherever the orchestrator runs, so the
answer is for anyone. Statistics (`fallback.server.stats`) stay loopback-only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import tornado.web
from tornado.routing import Rule
from tornado.web import RequestHandler

from .. import channels
from .router import Router
from .stats import ROUTERS_SETTING

__all__ = ["HealthHandler", "health_rules", "health_state"]


def health_state(routers: Sequence[Router], broker_required: bool = False) -> dict[str, Any]:
    """What the health endpoint answers, as a dict (``ready`` decides the status)."""
    broker = channels.hub().broker
    connected = bool(broker.stats.connected)
    kind = type(broker).__name__.removesuffix("Broker").lower() or "custom"
    draining = any(router.service.draining for router in routers)
    return {
        "live": True,
        "ready": not draining and (connected or not broker_required),
        "draining": draining,
        "broker": {"kind": kind, "connected": connected, "required": broker_required},
    }


class HealthHandler(RequestHandler):
    """Readiness (``live=False``: 503 when not ready) or liveness (always 200)."""

    def initialize(self, broker_required: bool, live: bool) -> None:
        self.broker_required = broker_required
        self.live = live

    def check_xsrf_cookie(self) -> None:
        return None

    def get(self) -> None:
        routers: Sequence[Router] = self.application.settings.get(ROUTERS_SETTING, ())
        state = health_state(routers, self.broker_required)
        if not self.live and not state["ready"]:
            self.set_status(503)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(state))


def health_rules(path: str, broker_required: bool = False) -> list[Rule]:
    """Readiness at `path`, liveness at `path`/live (the routers are the application's,
    read at each request)."""
    base = "/" + path.strip("/")
    options = {"broker_required": broker_required}
    return [
        tornado.web.url(base + "/live", HealthHandler, {**options, "live": True}),
        tornado.web.url(base, HealthHandler, {**options, "live": False}),
    ]
