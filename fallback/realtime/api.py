"""The backend HTTP API of a tenant: JSON over HTTP, ``Authorization: Bearer <api_key>``.

Off unless the tenant has an ``api_key``. Everything acts across processes through the
broker. Endpoints, under the tenant's prefix:

=======================  ================================================  =================================
request                  body / query                                      answer
=======================  ================================================  =================================
``POST api/publish``     ``{"channel": "news", "data": <any JSON>}``       ``{"ok": true, "local": n}``
``POST api/broadcast``   ``{"channels": ["a", "b"], "data": <any JSON>}``  ``{"ok": true, "local": n}``
``GET api/presence``     ``?channel=presence-room``                        ``{"channel", "members": [...]}``
``GET api/history``      ``?channel=news&limit=100`` (+ ``&offset=n``        ``{"channel", "offset",``
                         ``&epoch=e``: the first after that position)       ``"epoch", "publications"}``
``GET api/channels``                                                       ``{"channels": {"name": count}}``
``POST api/disconnect``  ``{"user": "42"}``                                ``{"ok": true, "local": n}``
``GET api/stats``                                                          this process's counters
=======================  ================================================  =================================

``history`` answers the publications a channel with history keeps, oldest first, as the
envelopes subscribers got (``message``, ``join``, ``leave`` with their ``offset``); at most
``limit`` (default 100, capped by the tenant's ``max_recovery``). With ``offset`` and
``epoch`` it answers the first ones after that position and ``"recovered"``: whether they
follow it with nothing missing (false: trimmed, expired or another epoch; then none).
A channel without history is 400; a broker that cannot answer, 503.

Errors: ``{"error": {"code": ..., "message": ...}}`` with 400 (bad request), 401 (no or
wrong key), 404 (API off), 405, 413, and 429 with ``Retry-After`` for an address locked out
after too many wrong keys (`fallback.ratelimit`). The admin page's session token
(`fallback.realtime.admin`) is accepted in place of the key.
"""

from __future__ import annotations

import hmac
import json
import re
from typing import Any, Protocol

from tornado.httputil import HTTPServerRequest
from tornado.web import HTTPError, RequestHandler

from ..channels.history import Position
from ..core.logsafe import get_logger
from ..exceptions import BrokerUnavailable
from ..transports.base import error_reason
from .admin import session_valid
from .envelope import CHANNEL_RULE, MAX_OFFSET, RESERVED_RULE, SINCE_RULE, valid_channel
from .ratelimit import FailureLimiter
from .runtime import TenantRuntime
from .tokens import is_reserved

log = get_logger("fallback.realtime.api")

MAX_BODY = 256 * 1024


class _KeyedHandler(Protocol):
    request: HTTPServerRequest

    def set_header(self, name: str, value: str) -> None: ...

    def fail(self, status: int, message: str) -> None: ...


def check_key(
    handler: _KeyedHandler, limiter: FailureLimiter, key: str, what: str, noun: str = "API key"
) -> bool:
    """Whether the request's ``Authorization: Bearer`` is `key`; answers it otherwise.

    An address locked out for wrong keys (`fallback.ratelimit`) gets 429 with
    ``Retry-After`` before its key is looked at; a wrong key is 401 and counts against
    its address, a missing one is 401 and does not; the right one clears the count.
    """
    address = handler.request.remote_ip or ""
    wait = limiter.retry_after(address)
    if wait:
        handler.set_header("Retry-After", str(wait))
        handler.fail(429, f"too many wrong keys from this address; retry in {wait} s")
        return False
    header = handler.request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    presented = presented.strip()
    if scheme.lower() == "bearer" and hmac.compare_digest(presented.encode(), key.encode()):
        limiter.succeeded(address)
        return True
    if presented:
        lockout = limiter.failed(address)
        if lockout:
            log.warning("%s: %s locked out for %d s after wrong keys", what, address, lockout)
    handler.set_header("WWW-Authenticate", 'Bearer realm="fallback"')
    handler.fail(401, f"missing or wrong {noun}")
    return False


MAX_BROADCAST_CHANNELS = 1000


class ApiHandler(RequestHandler):
    runtime: TenantRuntime
    methods: tuple[str, ...] = ("POST",)

    def initialize(self, runtime: TenantRuntime) -> None:
        self.runtime = runtime

    def check_xsrf_cookie(self) -> None:
        return None

    def compute_etag(self) -> str | None:
        return None

    def prepare(self) -> None:
        if self.request.method not in self.methods:
            raise HTTPError(405)
        key = self.runtime.tenant.api_key
        if key is None:
            self.fail(404, "the backend API is off for this tenant")
            return
        tenant = self.runtime.tenant
        scheme, _, presented = self.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and session_valid(tenant, presented.strip()):
            pass  # the admin page, opened with the key within the hour
        elif not check_key(self, self.runtime.limiter, key, f"API key of tenant {tenant.name}"):
            return
        if len(self.request.body) > MAX_BODY:
            self.fail(413, "request body too large")

    def fail(self, status: int, message: str) -> None:
        """Answer an error as JSON: ``{"error": {"code": status, "message": ...}}``."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps({"error": {"code": status, "message": message}}))

    def answer(self, body: dict[str, Any]) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(body))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if status_code == 405:
            self.set_header("Allow", ", ".join(self.methods))
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        message = error_reason(status_code, kwargs) if status_code != 500 else "internal error"
        self.finish(json.dumps({"error": {"code": status_code, "message": message}}))

    def json_body(self) -> dict[str, Any] | None:
        try:
            body = json.loads(self.request.body or b"null")
        except (ValueError, UnicodeDecodeError, RecursionError):
            self.fail(400, "body is not JSON")
            return None
        if not isinstance(body, dict):
            self.fail(400, "body must be a JSON object")
            return None
        return body

    def channel_name(self, value: object) -> str | None:
        if isinstance(value, str) and valid_channel(value):
            if is_reserved(value):
                self.fail(400, RESERVED_RULE)  # the server's feeds are the server's to write
                return None
            return value
        self.fail(400, CHANNEL_RULE)
        return None


class PublishHandler(ApiHandler):
    def post(self) -> None:
        body = self.json_body()
        if body is None:
            return
        channel = self.channel_name(body.get("channel"))
        if channel is None:
            return
        if "data" not in body:
            self.fail(400, 'publish needs "data"')
            return
        self.answer({"ok": True, "local": self.runtime.publish(channel, body["data"])})


class BroadcastHandler(ApiHandler):
    def post(self) -> None:
        body = self.json_body()
        if body is None:
            return
        names = body.get("channels")
        if not isinstance(names, list) or not names or len(names) > MAX_BROADCAST_CHANNELS:
            self.fail(400, f'"channels" must be a list of 1-{MAX_BROADCAST_CHANNELS} names')
            return
        channels = []
        for name in names:
            channel = self.channel_name(name)
            if channel is None:
                return
            channels.append(channel)
        if "data" not in body:
            self.fail(400, 'broadcast needs "data"')
            return
        local = sum(self.runtime.publish(channel, body["data"]) for channel in channels)
        self.answer({"ok": True, "local": local})


class PresenceHandler(ApiHandler):
    methods = ("GET",)

    async def get(self) -> None:
        channel = self.channel_name(self.get_query_argument("channel", None))
        if channel is None:
            return
        members = await self.runtime.presence(channel)
        self.answer({"channel": channel, "members": members})


class HistoryHandler(ApiHandler):
    methods = ("GET",)

    async def get(self) -> None:
        channel = self.channel_name(self.get_query_argument("channel", None))
        if channel is None:
            return
        if not self.runtime.keeps_history(channel):
            self.fail(400, "this channel keeps no history")
            return
        limit_text = self.get_query_argument("limit", "100")
        if not limit_text.isdigit() or len(limit_text) > 9:
            self.fail(400, '"limit" must be a number')
            return
        offset = self.get_query_argument("offset", None)
        epoch = self.get_query_argument("epoch", None)
        since = None
        if offset is not None or epoch is not None:
            if offset is None or not offset.isdigit() or int(offset) > MAX_OFFSET or not epoch:
                self.fail(400, SINCE_RULE.replace("since", '"offset" and "epoch"'))
                return
            since = Position(int(offset), epoch)
        try:
            body = await self.runtime.history(channel, int(limit_text), since)
        except BrokerUnavailable as error:
            self.fail(503, str(error))
            return
        self.answer(body)


class ChannelsHandler(ApiHandler):
    methods = ("GET",)

    async def get(self) -> None:
        self.answer({"channels": await self.runtime.channel_counts()})


class DisconnectHandler(ApiHandler):
    def post(self) -> None:
        body = self.json_body()
        if body is None:
            return
        user = body.get("user")
        if not isinstance(user, str) or not user or len(user) > 256:
            self.fail(400, '"user" must be a user id string')
            return
        self.answer({"ok": True, "local": self.runtime.disconnect_user(user)})


class StatsHandler(ApiHandler):
    methods = ("GET",)

    async def get(self) -> None:
        stats = self.runtime.local_stats()
        stats["node"] = self.runtime.hub.broker.node_id
        stats["channels"] = await self.runtime.channel_counts()
        webhook = self.runtime.webhook
        if webhook is not None:
            stats["webhook"] = {
                "delivered": webhook.stats.delivered,
                "retries": webhook.stats.retries,
                "failed": webhook.stats.failed,
                "dropped": webhook.stats.dropped,
                "pending": webhook.pending,
            }
        self.answer(stats)


def api_rules(prefix: str, runtime: TenantRuntime) -> list[tuple[str, type, dict[str, Any]]]:
    escaped = re.escape(prefix)
    kwargs = {"runtime": runtime}
    return [
        (escaped + r"/api/publish", PublishHandler, kwargs),
        (escaped + r"/api/broadcast", BroadcastHandler, kwargs),
        (escaped + r"/api/presence", PresenceHandler, kwargs),
        (escaped + r"/api/history", HistoryHandler, kwargs),
        (escaped + r"/api/channels", ChannelsHandler, kwargs),
        (escaped + r"/api/disconnect", DisconnectHandler, kwargs),
        (escaped + r"/api/stats", StatsHandler, kwargs),
    ]
