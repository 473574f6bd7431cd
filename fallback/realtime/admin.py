"""The admin page of a tenant (opt-in: ``admin = true`` and an ``api_key``).

``GET <prefix>/admin`` asks for the API key; posting it renders the dashboard, which
connects back over fallback's own transport and subscribes to the tenant's
``$fallback-admin`` channel (the server's reserved namespace: no user token reaches it)
with a short-lived token made for it. Every process
with listeners publishes its counters there once a second, so the page shows the whole
deployment, live: charts of connections by transport and messages in/out per second over
the last five minutes, channels with member counts.

The page also acts, as the CLI does: it looks up a channel's presence, publishes, and
disconnects a user, through the tenant's backend API (`fallback.realtime.api`). It does
not hold the API key for that: the login gives it an *admin session* -- a token signed
with a key derived from the tenant's secret for this one purpose (`session_key`), so that
no user token the application issues with that secret can pass for one -- valid for an
hour, which the API accepts in place of the key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from tornado.web import HTTPError, RequestHandler

from ..core.logsafe import get_logger
from ..exceptions import TokenError
from .runtime import ADMIN_CHANNEL, TenantRuntime
from .tenants import Tenant
from .tokens import issue, verify

TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "templates")
_templates = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))

ADMIN_TOKEN_TTL = 3600

#: What an admin session token starts with, in ``Authorization: Bearer`` (an API key is
#: compared as it is when the token does not verify).
ADMIN_SESSION_PREFIX = "fbadmin:"
_SESSION_USER = "fallback-admin-session"


def session_key(tenant: Tenant) -> bytes:
    """The key admin sessions are signed with: derived from the tenant's secret, and
    different from it, so a user token signed with the secret is never a session."""
    return hmac.new(
        tenant.secret.encode("utf-8"), b"fallback admin session", hashlib.sha256
    ).digest()


def issue_session(tenant: Tenant, ttl: float = ADMIN_TOKEN_TTL) -> str:
    """An admin session for the page a correct API key opened."""
    token = issue(session_key(tenant), _SESSION_USER, tenant=tenant.name, channels=[], ttl=ttl)
    return ADMIN_SESSION_PREFIX + token


def session_valid(tenant: Tenant, presented: str) -> bool:
    """Whether `presented` is an admin session of `tenant` that has not expired."""
    if not tenant.admin or not presented.startswith(ADMIN_SESSION_PREFIX):
        return False
    try:
        claims = verify(
            session_key(tenant), presented[len(ADMIN_SESSION_PREFIX) :], tenant=tenant.name
        )
    except TokenError:
        return False
    return claims.user_id == _SESSION_USER


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
        self.render_page(
            "admin.html", token=token, channel=ADMIN_CHANNEL, session=issue_session(tenant)
        )

    def render_page(self, name: str, **values: Any) -> None:
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(
            _templates.get_template(name).render(
                tenant=self.runtime.tenant.name, prefix=self.runtime.tenant.prefix, **values
            )
        )


def admin_rules(prefix: str, runtime: TenantRuntime) -> list[tuple[str, type, dict[str, Any]]]:
    return [(re.escape(prefix) + r"/admin", AdminPageHandler, {"runtime": runtime})]
