"""Assembling tenants into one Tornado application."""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import tornado.web
from tornado.web import HTTPError, RequestHandler

from ..router import Router
from ..server import make_application
from .admin import admin_rules
from .api import api_rules
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

    def initialize(self, admin_key: str | None, runtimes: list[TenantRuntime]) -> None:
        self.admin_key = admin_key
        self.runtimes = runtimes

    def get(self) -> None:
        header = self.request.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        if self.admin_key is None:
            raise HTTPError(404)
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), self.admin_key.encode()
        ):
            self.set_status(401)
            self.finish({"error": {"code": 401, "message": "missing or wrong admin key"}})
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
        self.finish(json.dumps({"error": {"code": status_code, "message": self._reason}}))


def build_application(
    config: ServerConfig | Iterable[Tenant],
    *,
    authorize: Mapping[str, Authorizer] | None = None,
    on_trigger: Mapping[str, TriggerHook] | None = None,
    **app_settings: Any,
) -> tuple[tornado.web.Application, list[TenantRuntime]]:
    """An Application serving every tenant; hooks are per tenant name."""
    tenants = config.tenants if isinstance(config, ServerConfig) else tuple(config)
    admin_key = config.admin_key if isinstance(config, ServerConfig) else None
    runtimes = [
        TenantRuntime(
            tenant,
            authorize=(authorize or {}).get(tenant.name),
            on_trigger=(on_trigger or {}).get(tenant.name),
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
            {"admin_key": admin_key, "runtimes": runtimes},
        )
    )
    app = make_application([], rules, **app_settings)
    # The Flash policy derives its default domains from the routers' allowed origins.
    app.settings["fallback_routers"] = [r.router for r in runtimes if r.router is not None]
    return app, runtimes
