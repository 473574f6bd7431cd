"""Assembling tenants into one Tornado application."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import tornado.web
from tornado.web import HTTPError, RequestHandler

from ..server import make_application
from ..server.router import Router
from ..transports.base import error_reason
from .admin import admin_rules
from .api import api_rules, check_key
from .ratelimit import Backoff, FailureLimiter
from .runtime import Authorizer, ChannelConnection, TenantRuntime, TriggerHook
from .tenants import ServerConfig, Tenant


def tenant_rules(runtime: TenantRuntime) -> list[Any]:
    """The SockJS endpoints, backend API and admin page of one tenant."""
    tenant = runtime.tenant
    router = Router(ChannelConnection.factory(runtime), tenant.prefix, **dict(tenant.settings))
    runtime.router = router
    return [*router.urls, *api_rules(router.prefix, runtime), *admin_rules(router.prefix, runtime)]


class TenantsHandler(RequestHandler):
    """``GET /_fallback/tenants`` with the server's ``admin_key``: every tenant's prefix."""

    def initialize(
        self, admin_key: str | None, runtimes: list[TenantRuntime], limiter: FailureLimiter
    ) -> None:
        self.admin_key = admin_key
        self.runtimes = runtimes
        self.limiter = limiter

    def fail(self, status: int, message: str) -> None:
        self.set_status(status)
        self.finish({"error": {"code": status, "message": message}})

    def get(self) -> None:
        if self.admin_key is None:
            raise HTTPError(404)
        if not check_key(self, self.limiter, self.admin_key, "server admin key", "admin key"):
            return
        self.finish(
            {
                "tenants": [
                    {
                        "name": r.tenant.name,
                        "prefix": r.tenant.prefix,
                        "api": r.tenant.api_key is not None,
                        "admin": r.tenant.admin,
                        "connections": len(r.connections),
                    }
                    for r in self.runtimes
                ]
            }
        )

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish(
            json.dumps(
                {"error": {"code": status_code, "message": error_reason(status_code, kwargs)}}
            )
        )


def build_application(
    config: ServerConfig | Iterable[Tenant],
    *,
    authorize: Mapping[str, Authorizer] | None = None,
    on_trigger: Mapping[str, TriggerHook] | None = None,
    login_limits: Backoff | None = None,
    **app_settings: Any,
) -> tuple[tornado.web.Application, list[TenantRuntime]]:
    """An Application serving every tenant; hooks are per tenant name.

    `login_limits` bounds wrong keys per client address (`fallback.ratelimit`; default:
    the configuration's ``[server.login_limits]``, else `Backoff`'s defaults).
    """
    tenants = config.tenants if isinstance(config, ServerConfig) else tuple(config)
    admin_key = config.admin_key if isinstance(config, ServerConfig) else None
    if login_limits is None:
        login_limits = config.login_limits if isinstance(config, ServerConfig) else Backoff()
    # One count per client address for every key of this application: the tenants' API
    # keys and admin pages, and the server's admin key.
    limiter = FailureLimiter(login_limits)
    runtimes = [
        TenantRuntime(
            tenant,
            authorize=(authorize or {}).get(tenant.name),
            on_trigger=(on_trigger or {}).get(tenant.name),
            limiter=limiter,
        )
        for tenant in tenants
    ]
    rules: list[Any] = []
    for runtime in runtimes:
        rules.extend(tenant_rules(runtime))
    rules.append(
        (
            re.escape("/_fallback/tenants"),
            TenantsHandler,
            {"admin_key": admin_key, "runtimes": runtimes, "limiter": limiter},
        )
    )
    app = make_application([], rules, **app_settings)
    # The Flash policy derives its default domains from the routers' allowed origins.
    app.settings["fallback_routers"] = [r.router for r in runtimes if r.router is not None]
    return app, runtimes
