"""The admin page of a tenant (opt-in: ``admin = true`` and an ``api_key``).

``GET <prefix>/admin`` asks for the API key; posting it renders the dashboard, which
connects back over fallback's own transport and subscribes to the tenant's
``$fallback-admin`` channel (the server's reserved namespace: no user token reaches it)
with a short-lived token made for it. Every process
with listeners publishes its counters there once a second, so the page shows the whole
deployment, live: connections by transport, channels with member counts, messages/s.
"""

from __future__ import annotations

import hmac
import os
import re
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from tornado.web import HTTPError, RequestHandler

from ..core.logsafe import get_logger
from .runtime import ADMIN_CHANNEL, TenantRuntime
from .tokens import issue

TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "templates")
_templates = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))

ADMIN_TOKEN_TTL = 3600

log = get_logger("fallback.realtime.admin")


class AdminPageHandler(RequestHandler):
    runtime: TenantRuntime

    def initialize(self, runtime: TenantRuntime) -> None:
        self.runtime = runtime

    def check_xsrf_cookie(self) -> None:
        return None

    def prepare(self) -> None:
        tenant = self.runtime.tenant
        if not tenant.admin or not tenant.api_key:
            raise HTTPError(404)
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("Referrer-Policy", "no-referrer")

    def get(self) -> None:
        self.render_page("admin_login.html", error=None)

    def post(self) -> None:
        tenant = self.runtime.tenant
        limiter = self.runtime.limiter
        address = self.request.remote_ip or ""
        wait = limiter.retry_after(address)
        if wait:
            # Locked out (fallback.ratelimit): the key is not even looked at.
            self.set_status(429)
            self.set_header("Retry-After", str(wait))
            self.render_page(
                "admin_login.html",
                error=f"Too many wrong keys from this address: try again in {wait} s.",
            )
            return
        presented = self.get_body_argument("key", "")
        assert tenant.api_key is not None
        if not hmac.compare_digest(presented.encode(), tenant.api_key.encode()):
            if presented:
                lockout = limiter.failed(address)
                if lockout:
                    log.warning(
                        "admin page of tenant %s: %s locked out for %d s after wrong keys",
                        tenant.name,
                        address,
                        lockout,
                    )
            self.set_status(401)
            self.render_page("admin_login.html", error="That is not this tenant's API key.")
            return
        limiter.succeeded(address)
        token = issue(
            tenant.secret,
            "fallback-admin",
            tenant=tenant.name,
            channels=[ADMIN_CHANNEL],
            info={"role": "admin"},
            ttl=ADMIN_TOKEN_TTL,
        )
        self.render_page("admin.html", token=token, channel=ADMIN_CHANNEL)

    def render_page(self, name: str, **values: Any) -> None:
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(
            _templates.get_template(name).render(
                tenant=self.runtime.tenant.name, prefix=self.runtime.tenant.prefix, **values
            )
        )


def admin_rules(prefix: str, runtime: TenantRuntime) -> list[tuple[str, type, dict[str, Any]]]:
    return [(re.escape(prefix) + r"/admin", AdminPageHandler, {"runtime": runtime})]
