"""A tenant at run time, and `ChannelConnection`: the server side of the envelope protocol.

Requests of one connection are handled strictly in order (a subscribe that waits for the
broker is finished before the publish the client sent after it): `ChannelConnection`'s
``on_message`` is a coroutine, which the connection's dispatcher awaits one at a time.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .. import channels as channels_module
from ..app.connection import Connection
from ..channels import Channels
from ..channels.history import Position, Recovery
from ..codes import EnvelopeErrorCode, TokenErrorCode
from ..core.connection_info import ConnectionInfo
from ..core.logsafe import get_logger
from ..exceptions import EnvelopeError, TokenError
from ..server.router import Router
from . import envelope
from .envelope import Op, Request
from .ratelimit import FailureLimiter
from .tenants import ChannelKind, Tenant
from .tokens import Claims, is_reserved, verify
from .webhook import WebhookSender

log = get_logger("fallback.realtime")

#: ``authorize(connection, channel, claims)`` -> bool (or awaitable bool); claims is None
#: for public channels subscribed without a token.
Authorizer = Callable[["ChannelConnection", str, "Claims | None"], "bool | Awaitable[bool]"]
#: ``on_trigger(connection, event, data)``: a browser-triggered event, in process.
TriggerHook = Callable[["ChannelConnection", str, Any], "Awaitable[None] | None"]

#: The close code for connections the backend API disconnects.
DISCONNECTED_BY_SERVER = 4100
#: The tenant's own channel the admin page listens to: in the server's reserved namespace
#: (``$``), which no token pattern reaches (`fallback.tokens.Claims.allows`).
ADMIN_CHANNEL = "$fallback-admin"
#: The reserved channels that exist; subscribing to any other ``$`` name is refused.
SERVER_FEEDS = frozenset({ADMIN_CHANNEL})


class Rate:
    """Events per second over the last few seconds (for the admin page)."""

    __slots__ = ("_marks", "total")

    def __init__(self) -> None:
        self.total = 0
        self._marks: collections.deque[tuple[float, int]] = collections.deque(maxlen=6)

    def add(self, count: int = 1) -> None:
        self.total += count

    def per_second(self) -> float:
        now = time.monotonic()
        self._marks.append((now, self.total))
        first_time, first_total = self._marks[0]
        if now - first_time <= 0:
            return 0.0
        return (self.total - first_total) / (now - first_time)


class TenantRuntime:
    """One tenant's live state in this process."""

    def __init__(
        self,
        tenant: Tenant,
        hub: Channels | None = None,
        *,
        authorize: Authorizer | None = None,
        on_trigger: TriggerHook | None = None,
        limiter: FailureLimiter | None = None,
    ) -> None:
        self.tenant = tenant
        #: Wrong API keys and admin logins per client address (shared by the tenants of
        #: one application: a guesser does not get a fresh count per tenant).
        self.limiter = limiter if limiter is not None else FailureLimiter()
        self._hub = hub
        self.authorize = authorize
        self.on_trigger = on_trigger
        self.webhook = (
            WebhookSender(
                tenant.webhook,
                tenant.secret,
                tenant=tenant.name,
                attempts=tenant.webhook_attempts,
                queue_size=tenant.webhook_queue,
            )
            if tenant.webhook
            else None
        )
        self.connections: set[ChannelConnection] = set()
        #: The router serving this tenant (set when its rules are built).
        self.router: Router | None = None
        self.messages_in = Rate()
        self.messages_out = Rate()
        self._control_registered = False
        self._admin_task: asyncio.Task[None] | None = None

    @property
    def hub(self) -> Channels:
        hub = self._hub if self._hub is not None else channels_module.hub()
        if not self._control_registered:
            hub.on_control(self._on_control)
            for pattern, policy in self.tenant.history_policies():
                hub.keep_history(
                    self.tenant.hub_channel(pattern),
                    policy.size,
                    policy.ttl,
                    stamp=envelope.stamp,
                )
            self._control_registered = True
        return hub

    def keeps_history(self, channel: str) -> bool:
        return self.hub.history_rules.rule(self.tenant.hub_channel(channel)) is not None

    # -- what the backend API and in-process code call ----------------------------------

    def publish(self, channel: str, data: Any) -> int:
        """Send `data` to `channel`'s subscribers in every process."""
        self.messages_out.add()
        return self.hub.publish(self.tenant.hub_channel(channel), envelope.message(channel, data))

    async def history(
        self, channel: str, limit: int, since: Position | None = None
    ) -> dict[str, Any]:
        """The channel's kept publications as the envelopes subscribers got (the latest
        `limit`, or the first `limit` after `since`) and its latest position.

        Raises `ConfigurationError` for a channel without history and
        `BrokerUnavailable` when the broker cannot answer."""
        limit = max(0, min(limit, self.tenant.max_recovery))
        page = await self.hub.history(self.tenant.hub_channel(channel), limit, since)
        epoch = page.position.epoch
        body: dict[str, Any] = {"channel": channel, **page.position.as_dict()}
        if since is not None:
            body["recovered"] = page.recovered
        body["publications"] = [
            json.loads(envelope.stamp(p.text, Position(p.offset, epoch))) for p in page.publications
        ]
        return body

    async def presence(self, channel: str) -> list[dict[str, Any]]:
        raw = await self.hub.presence(self.tenant.hub_channel(channel))
        return [
            envelope.member(member_id, info.get("user"), info.get("info"))
            for member_id, info in sorted(raw.items())
        ]

    async def channel_counts(self) -> dict[str, int]:
        counts = await self.hub.channel_counts(self.tenant.hub_prefix)
        skip = len(self.tenant.hub_prefix)
        return {name[skip:]: count for name, count in sorted(counts.items())}

    def disconnect_user(self, user: str) -> int:
        """Close `user`'s connections in every process; returns how many were here."""
        here = self._disconnect_local(user)
        self.hub.broker.publish_control(
            json.dumps({"op": "disconnect", "tenant": self.tenant.name, "user": user})
        )
        return here

    def local_stats(self) -> dict[str, Any]:
        by_transport: dict[str, int] = collections.Counter(c.transport for c in self.connections)
        return {
            "connections": len(self.connections),
            "by_transport": dict(sorted(by_transport.items())),
            "messages_in_per_second": round(self.messages_in.per_second(), 1),
            "messages_out_per_second": round(self.messages_out.per_second(), 1),
            "messages_in": self.messages_in.total,
            "messages_out": self.messages_out.total,
        }

    def start_admin_feed(self) -> None:
        """Publish this process's stats to the admin channel every second while anyone
        in any process listens (tenants with ``admin = true``)."""
        if not self.tenant.admin:
            return
        if self._admin_task is None or self._admin_task.done():
            self._admin_task = asyncio.get_running_loop().create_task(self._admin_feed())

    async def start(self) -> None:
        """Start what runs in the background for this tenant (call on the running loop)."""
        self.hub  # registers the control listener  # noqa: B018
        self.start_admin_feed()

    async def stop(self) -> None:
        if self._admin_task is not None:
            self._admin_task.cancel()
            await asyncio.wait([self._admin_task], timeout=1.0)
        if self.webhook is not None:
            await self.webhook.stop()

    # -- internals --------------------------------------------------------------------

    def _disconnect_local(self, user: str) -> int:
        victims = [c for c in self.connections if c.user == user]
        for connection in victims:
            connection.close(DISCONNECTED_BY_SERVER, "Disconnected by the server")
        return len(victims)

    def _on_control(self, data: str) -> None:
        try:
            command = json.loads(data)
        except ValueError:
            return
        if not isinstance(command, dict) or command.get("tenant") != self.tenant.name:
            return
        if command.get("op") == "disconnect" and isinstance(command.get("user"), str):
            self._disconnect_local(command["user"])

    async def _admin_feed(self) -> None:
        """Every second, while anyone in any process watches the admin page, publish this
        process's counters to it (one presence lookup a second otherwise)."""
        channel = self.tenant.hub_channel(ADMIN_CHANNEL)
        while True:
            await asyncio.sleep(1.0)
            try:
                if not self.hub.members(channel) and not await self.hub.presence(channel):
                    continue
                stats = self.local_stats()
                stats["node"] = self.hub.broker.node_id
                stats["channels"] = await self.channel_counts()
                self.hub.publish(channel, envelope.message(ADMIN_CHANNEL, stats))
            except Exception:
                log.exception("admin feed of tenant %s failed", self.tenant.name)


class ChannelConnection(Connection):
    """A connection that speaks the channel envelope for one tenant."""

    def __init__(self, runtime: TenantRuntime) -> None:
        super().__init__()
        self.runtime = runtime
        #: The user id of the first valid token this connection presented.
        self.user: str | None = None
        #: channel -> the member id it has there.
        self.subscriptions: dict[str, str] = {}

    @classmethod
    def factory(cls, runtime: TenantRuntime) -> Callable[[], ChannelConnection]:
        return lambda: cls(runtime)

    def on_open(self, info: ConnectionInfo) -> None:
        self.runtime.connections.add(self)
        self.runtime.start_admin_feed()

    async def on_message(self, text: str) -> None:
        """One envelope request. A coroutine handler: the connection's dispatcher
        (`fallback.app.dispatch`) awaits each before the next and bounds how many wait
        (``max_pending_messages``, then 3008), so hooks (``authorize``, ``on_trigger``)
        may await too and requests stay in order."""
        self.runtime.messages_in.add()
        request: Request | None = None
        try:
            request = envelope.parse(text)
            await self._handle(request)
        except EnvelopeError as error:
            self.send(envelope.error(error.code, error.message, error.request_id, error.channel))
        except Exception:  # a hook failed: the request gets an answer, the connection lives
            log.exception("connection %s: channel request failed", self.connection_id)
            rid = request.id if request is not None else None
            self.send(envelope.error(EnvelopeErrorCode.INTERNAL, "internal error", rid))

    def on_close(self) -> None:
        self.runtime.connections.discard(self)
        tenant = self.runtime.tenant
        for channel, member_id in list(self.subscriptions.items()):
            if tenant.kind(channel) is ChannelKind.PRESENCE:
                self._announce("leave", channel, envelope.member(member_id, self.user, None))
        self.subscriptions.clear()

    # -- requests ---------------------------------------------------------------------

    async def _handle(self, request: Request) -> None:
        handler = {
            Op.SUBSCRIBE: self._subscribe,
            Op.UNSUBSCRIBE: self._unsubscribe,
            Op.PUBLISH: self._publish,
            Op.PRESENCE: self._presence,
            Op.TRIGGER: self._trigger,
        }[request.op]
        await handler(request)

    def _fail(self, request: Request, code: int, message: str) -> EnvelopeError:
        return EnvelopeError(code, message, request.id, request.channel or None)

    async def _subscribe(self, request: Request) -> None:
        runtime, tenant, channel = self.runtime, self.runtime.tenant, request.channel
        if channel in self.subscriptions:
            self.send(envelope.ok(request.id, channel=channel))
            return
        if is_reserved(channel) and channel not in SERVER_FEEDS:
            raise self._fail(request, EnvelopeErrorCode.BAD_CHANNEL, envelope.RESERVED_RULE)
        if len(self.subscriptions) >= tenant.max_channels_per_connection:
            raise self._fail(request, EnvelopeErrorCode.TOO_MANY_CHANNELS, "too many channels")
        kind = tenant.kind(channel)
        claims: Claims | None = None
        if kind is not ChannelKind.PUBLIC or request.token:
            try:
                claims = verify(tenant.secret, request.token, tenant=tenant.name)
            except TokenError as error:
                raise self._fail(request, error.code, error.message) from None
            if not claims.allows(channel):
                raise self._fail(
                    request, TokenErrorCode.CHANNEL_NOT_ALLOWED, "token does not allow this channel"
                )
        if runtime.authorize is not None:
            verdict = runtime.authorize(self, channel, claims)
            if inspect.isawaitable(verdict):
                verdict = await verdict
            if not verdict:
                raise self._fail(
                    request, EnvelopeErrorCode.FORBIDDEN, "not authorized for this channel"
                )
        if self.is_closed:
            return
        if claims is not None and self.user is None:
            self.user = claims.user_id
        info = {"user": claims.user_id, "info": dict(claims.info)} if claims else {}
        hub_channel = tenant.hub_channel(channel)
        history = runtime.keeps_history(channel)
        member_id = runtime.hub.join(self, hub_channel, info, recovering=history)
        if member_id is None:
            return
        self.subscriptions[channel] = member_id
        await runtime.hub.subscribed(hub_channel)
        if channel == ADMIN_CHANNEL:
            runtime.start_admin_feed()
        # With history, live publications wait for this member from the join on, and the
        # position read here is the seam: what follows it comes after the ``ok``.
        recovery: Recovery | None = None
        fields: dict[str, Any] = {}
        if history:
            recovery = await runtime.hub.recover(
                self, hub_channel, request.since, tenant.max_recovery
            )
            if recovery.position.epoch:  # (none when the broker could not say)
                fields.update(recovery.position.as_dict())
        if request.since is not None:
            fields["recovered"] = recovery is not None and recovery.recovered
        if kind is ChannelKind.PRESENCE:
            assert claims is not None
            members = await runtime.presence(channel)
            fields.update(member=member_id, presence=members)
        self.send(envelope.ok(request.id, channel=channel, **fields))
        if recovery is not None:
            runtime.hub.release(self, hub_channel, recovery)
        if kind is ChannelKind.PRESENCE:
            assert claims is not None
            member = envelope.member(member_id, claims.user_id, dict(claims.info))
            self._announce("join", channel, member)

    async def _unsubscribe(self, request: Request) -> None:
        channel = request.channel
        member_id = self.subscriptions.pop(channel, None)
        if member_id is not None:
            self.runtime.hub.leave(self, self.runtime.tenant.hub_channel(channel))
            if self.runtime.tenant.kind(channel) is ChannelKind.PRESENCE:
                self._announce("leave", channel, envelope.member(member_id, self.user, None))
        self.send(envelope.ok(request.id, channel=channel))

    async def _publish(self, request: Request) -> None:
        tenant, channel = self.runtime.tenant, request.channel
        if not tenant.client_may_publish(channel):
            raise self._fail(
                request, EnvelopeErrorCode.PUBLISH_FORBIDDEN, "browsers may not publish here"
            )
        if tenant.kind(channel) is not ChannelKind.PUBLIC and channel not in self.subscriptions:
            raise self._fail(
                request, EnvelopeErrorCode.NOT_SUBSCRIBED, "subscribe before publishing here"
            )
        self.runtime.publish(channel, request.data)
        self.send(envelope.ok(request.id, channel=channel))

    async def _presence(self, request: Request) -> None:
        channel = request.channel
        if self.runtime.tenant.kind(channel) is not ChannelKind.PRESENCE:
            raise self._fail(request, EnvelopeErrorCode.BAD_CHANNEL, "not a presence channel")
        if channel not in self.subscriptions:
            raise self._fail(request, EnvelopeErrorCode.NOT_SUBSCRIBED, "subscribe before asking")
        members = await self.runtime.presence(channel)
        self.send(envelope.ok(request.id, channel=channel, presence=members))

    async def _trigger(self, request: Request) -> None:
        runtime = self.runtime
        if runtime.on_trigger is None and runtime.webhook is None:
            raise self._fail(
                request, EnvelopeErrorCode.TRIGGER_UNAVAILABLE, "this server takes no triggers"
            )
        if runtime.on_trigger is not None:
            result = runtime.on_trigger(self, request.event, request.data)
            if inspect.isawaitable(result):
                await result
        if runtime.webhook is not None:
            accepted = runtime.webhook.send(
                {
                    "tenant": runtime.tenant.name,
                    "event": request.event,
                    "data": request.data,
                    "user": self.user,
                    "session": self.session_id,
                    "transport": self.transport,
                    "time": time.time(),
                }
            )
            if not accepted:
                raise self._fail(
                    request, EnvelopeErrorCode.TRIGGER_UNAVAILABLE, "backend queue full"
                )
        self.send(envelope.ok(request.id, event=request.event))

    def _announce(self, kind: str, channel: str, member: dict[str, Any]) -> None:
        text = envelope.presence_event(kind, channel, member)
        self.runtime.hub.publish(self.runtime.tenant.hub_channel(channel), text)
