"""Redis pub/sub broker: publish anywhere, deliver everywhere.

Layout in Redis (``ns`` is the namespace, ``fallback`` by default):

* pub/sub channel ``ns:c:<channel>`` -- one per channel with members in some process;
  a process subscribes only to channels it has members in, so a publish costs nothing in
  processes without members;
* pub/sub channel ``ns:ctl`` -- every process, so the reader always has a subscription;
* hash ``ns:p:<channel>`` -- presence: member id -> info JSON, for every process;
* key ``ns:n:<node>`` -- this process is alive (expires ``node_ttl`` after it dies, and
  presence readers then ignore and delete its members).

Wire format of a pub/sub payload: ``<node>.<seq>|<kind>|<data>`` (``|<info>`` after a
JOIN's member id), where ``seq`` numbers this process's publishes on that channel (1, 2,
3...). Processes skip their own payloads: they delivered locally already.

When Redis goes away, local delivery goes on (the hub never waits for the broker); publishes
meanwhile cannot reach other processes and are counted in ``stats.lost``; the broker
reconnects with capped exponential backoff and jitter, logs the outage and what it lost,
re-subscribes, and re-writes this process's presence entries.

What an outage cost is counted exactly on both sides (`BrokerStats`): a publisher counts
what it could not hand to Redis (``lost``, or ``unconfirmed`` when the connection failed
before Redis answered); a receiver counts what never reached it (``missed``) from the
sequence numbers: a jump from n to n+k on a channel means k-1 events of that process were
lost on the way -- including those Redis dropped because this process had not
re-subscribed yet when the publisher was back. A gap is found when the next event of that
publisher on that channel arrives.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ...core.logsafe import get_logger
from .base import Broker, BrokerStats, EventHandler, EventKind, RemoteEvent, member_counts

log = get_logger("fallback.brokers.redis")

#: A queued command: (is it a publish, how to add it to a pipeline).
_Op = tuple[bool, Callable[[Any], None]]

#: Channels whose publish sequence a process remembers (least recently used forgotten
#: first; a forgotten channel starts again at 1, which receivers take as a new sequence).
MAX_SEQUENCES = 100_000
#: Seconds between two log lines about missed events (they are all counted).
MISSED_LOG_INTERVAL = 5.0

#: Most commands written in one pipeline round trip.
PIPELINE_BATCH = 1000


class RedisBroker(Broker):
    def __init__(
        self,
        url: str,
        *,
        namespace: str = "fallback",
        node_ttl: float = 15.0,
        max_backoff: float = 5.0,
        max_pending: int = 100_000,
        command_timeout: float = 3.0,
    ) -> None:
        self.url = url
        self.namespace = namespace
        self.node_id = uuid.uuid4().hex[:12]
        self.node_ttl = node_ttl
        self.max_backoff = max_backoff
        self.max_pending = max_pending
        #: How long Redis may take to answer before it counts as gone. A Redis that hangs
        #: behind a live TCP connection fails nothing by itself; every wait is bounded by
        #: this instead (connecting, the liveness write, presence and count reads).
        self.command_timeout = command_timeout
        self.stats = BrokerStats(connected=False)
        self._on_event: EventHandler | None = None
        self._channels: set[str] = set()
        #: Subscriptions Redis has not confirmed yet: channel -> waiters.
        self._pending_subscriptions: dict[str, list[asyncio.Future[None]]] = {}
        self._presence: dict[str, dict[str, str]] = {}
        self._outbox: collections.deque[_Op] = collections.deque()
        self._writing = False  # a pipeline is out, waiting for Redis's replies
        self._wakeup = asyncio.Event()
        self._client: aioredis.Redis | None = None
        #: The connection publishes (and presence writes) go out on; see `_connect`.
        self._writer_client: aioredis.Redis | None = None
        self._pubsub: Any = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self._down_since: float | None = time.monotonic()
        self._outage_logged = False
        self._lost_at_outage = 0
        self._ready = asyncio.Event()
        #: The number of this process's last publish on each channel key.
        self._sequences: collections.OrderedDict[str, int] = collections.OrderedDict()
        #: Receiving: channel key -> publisher node -> the number of its last event seen.
        self._seen: dict[str, dict[str, int]] = {}
        self._missed_unlogged = 0
        self._missed_logged_at = 0.0

    # -- lifecycle --------------------------------------------------------------------

    async def start(self, on_event: EventHandler) -> None:
        """Start the connection loop; waits up to a second for the first connection."""
        self._on_event = on_event
        self._stopping = False
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise())
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._ready.wait(), 1.0)

    async def stop(self) -> None:
        """Stop within a few seconds, whatever state the connection is in.

        Cancellation alone is not trusted to end the loops (a client library may swallow
        it mid-command), so each loop also checks ``_stopping``, and every wait is bounded.
        """
        self._stopping = True
        self._wakeup.set()
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.wait([self._supervisor], timeout=3.0)
            self._supervisor = None
        client = self._client
        if client is not None and self.stats.connected:
            with contextlib.suppress(RedisError, OSError, asyncio.TimeoutError):
                await asyncio.wait_for(self._forget_self(client), 2.0)
        await self._close_connection()

    # -- the Broker interface ------------------------------------------------------------

    def subscribe(self, channel: str) -> None:
        if channel in self._channels:
            return
        self._channels.add(channel)
        self._pending_subscriptions.setdefault(channel, [])
        if self.stats.connected and self._pubsub is not None:
            self._spawn(self._pubsub.subscribe(self._channel_key(channel)))

    async def subscribed(self, channel: str) -> None:
        """Wait for Redis to confirm the subscription (bounded: 2 s, then carry on)."""
        waiters = self._pending_subscriptions.get(channel)
        if waiters is None or not self.stats.connected:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters.append(future)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(future, 2.0)

    async def written(self, timeout: float = 2.0) -> bool:
        """Wait until everything queued so far has been answered by Redis (bounded); False
        if that did not happen in time (or the broker is down). Before a clean handover,
        say, or to know that the next publish leaves at once."""
        deadline = time.monotonic() + timeout
        while self._outbox or self._writing:
            if not self.stats.connected or time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    def unsubscribe(self, channel: str) -> None:
        if channel not in self._channels:
            return
        self._channels.discard(channel)
        # No interest any more: what is published meanwhile is not missed.
        self._seen.pop(self._channel_key(channel), None)
        for waiter in self._pending_subscriptions.pop(channel, []):
            if not waiter.done():
                waiter.set_result(None)
        if self.stats.connected and self._pubsub is not None:
            self._spawn(self._pubsub.unsubscribe(self._channel_key(channel)))

    def publish(self, channel: str, kind: EventKind, data: str, info: str = "") -> None:
        key = self._channel_key(channel)
        payload = f"{self._sender(key)}|{kind.value}|{data}"
        if kind is EventKind.JOIN:
            payload += "|" + info
        if not self._enqueue((True, lambda pipe: pipe.publish(key, payload))):
            self.stats.lost += 1

    def presence_add(self, channel: str, member_id: str, info: str) -> None:
        self._presence.setdefault(channel, {})[member_id] = info
        key = self._presence_key(channel)
        self._enqueue((False, lambda pipe: pipe.hset(key, member_id, info)))

    def presence_remove(self, channel: str, member_id: str) -> None:
        members = self._presence.get(channel)
        if members is not None:
            members.pop(member_id, None)
            if not members:
                del self._presence[channel]
        key = self._presence_key(channel)
        self._enqueue((False, lambda pipe: pipe.hdel(key, member_id)))

    def publish_control(self, data: str) -> None:
        key = f"{self.namespace}:ctl"
        payload = f"{self._sender(key)}|{EventKind.CONTROL.value}|{data}"
        if not self._enqueue((True, lambda pipe: pipe.publish(key, payload))):
            self.stats.lost += 1

    async def channel_counts(self, prefix: str) -> dict[str, int]:
        """Counts from the presence hashes (this process's own if Redis is away)."""
        local = member_counts(self._presence, prefix)
        client = self._client
        if client is None or not self.stats.connected:
            return local
        counts: dict[str, int] = {}
        key_prefix = self._presence_key(prefix)

        async def read() -> None:
            async for key in client.scan_iter(match=_glob_escape(key_prefix) + "*", count=500):
                name = _text(key)[len(self._presence_key("")) :]
                counts[name] = int(await client.hlen(key))

        try:
            await asyncio.wait_for(read(), self.command_timeout)
        except (TimeoutError, RedisError, OSError) as error:
            log.warning(
                "channel counts from Redis failed (%s); local counts only",
                self._describe(error),
            )
            return local
        return {name: count for name, count in counts.items() if count}

    async def presence(self, channel: str) -> Mapping[str, str]:
        """All members of `channel`; this process's own from memory if Redis is away."""
        client = self._client
        local = dict(self._presence.get(channel, {}))
        if client is None or not self.stats.connected:
            return local
        try:
            members = await asyncio.wait_for(
                self._read_presence(client, channel), self.command_timeout
            )
        except (TimeoutError, RedisError, OSError) as error:
            log.warning(
                "presence of %r from Redis failed (%s); local members only",
                channel,
                self._describe(error),
            )
            return local
        members.update(local)
        return members

    # -- internals --------------------------------------------------------------------

    def _sender(self, key: str) -> str:
        """``<node>.<seq>`` for the next publish on channel `key` (numbered even when it
        cannot leave: receivers then see the gap)."""
        sequences = self._sequences
        seq = sequences.get(key, 0) + 1
        sequences[key] = seq
        sequences.move_to_end(key)
        if len(sequences) > MAX_SEQUENCES:
            sequences.popitem(last=False)
        return f"{self.node_id}.{seq}"

    def _account(self, key: str, node: str, seq: int) -> None:
        """Event number `seq` of `node` on channel `key` arrived: count what it skipped."""
        seen = self._seen.get(key)
        if seen is None:
            seen = self._seen[key] = {}
        last = seen.get(node)
        seen[node] = seq
        if last is None or seq <= last:
            return  # the first we hear of it here, or a publisher that started again
        gap = seq - last - 1
        if gap:
            self.stats.missed += gap
            self._missed_unlogged += gap
            now = time.monotonic()
            if now - self._missed_logged_at >= MISSED_LOG_INTERVAL:
                log.warning(
                    "broker %s: %d events of other processes never arrived here (published "
                    "while this process was away from Redis; %d missed in all)",
                    self.url,
                    self._missed_unlogged,
                    self.stats.missed,
                )
                self._missed_unlogged = 0
                self._missed_logged_at = now

    def _describe(self, error: BaseException) -> str:
        if isinstance(error, TimeoutError) and not str(error):
            return f"no answer within {self.command_timeout:g} s"
        return str(error) or type(error).__name__

    async def _read_presence(self, client: aioredis.Redis, channel: str) -> dict[str, str]:
        """Members of `channel` in Redis, minus (and deleting) those of dead processes."""
        raw = await client.hgetall(self._presence_key(channel))
        members = {_text(k): _text(v) for k, v in raw.items()}
        nodes = sorted({m.split("-", 1)[0] for m in members})
        alive = await client.mget([self._node_key_of(n) for n in nodes]) if nodes else []
        dead = {
            n for n, flag in zip(nodes, alive, strict=True) if flag is None and n != self.node_id
        }
        stale = [m for m in members if m.split("-", 1)[0] in dead]
        if stale:
            await client.hdel(self._presence_key(channel), *stale)
            for m in stale:
                del members[m]
        return members

    async def _forget_self(self, client: aioredis.Redis) -> None:
        """Remove this process's presence entries and liveness key on a clean stop."""
        pipe = client.pipeline(transaction=False)
        pipe.delete(self._node_key)
        for channel, members in self._presence.items():
            if members:
                pipe.hdel(self._presence_key(channel), *members)
        await pipe.execute()

    @property
    def _node_key(self) -> str:
        return self._node_key_of(self.node_id)

    def _node_key_of(self, node: str) -> str:
        return f"{self.namespace}:n:{node}"

    def _channel_key(self, channel: str) -> str:
        return f"{self.namespace}:c:{channel}"

    def _presence_key(self, channel: str) -> str:
        return f"{self.namespace}:p:{channel}"

    def _enqueue(self, op: _Op) -> bool:
        if not self.stats.connected or len(self._outbox) >= self.max_pending:
            return False
        self._outbox.append(op)
        self._wakeup.set()
        return True

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        task.add_done_callback(_ignore_result)

    async def _supervise(self) -> None:
        backoff = 0.05
        while not self._stopping:
            try:
                await asyncio.wait_for(self._connect(), self.command_timeout)
            except (TimeoutError, RedisError, OSError) as connect_error:
                await self._close_connection()
                self._mark_down(connect_error)
                delay = backoff * (0.5 + random.random())
                backoff = min(backoff * 2, self.max_backoff)
                await asyncio.sleep(delay)
                continue
            backoff = 0.05
            self._mark_up()
            tasks = [
                asyncio.ensure_future(self._read()),
                asyncio.ensure_future(self._write()),
                asyncio.ensure_future(self._keep_alive()),
            ]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.wait(tasks, timeout=2.0)
            failure: BaseException | None = None
            for task in tasks:  # retrieve every outcome, so none is logged as unretrieved
                if task.done() and not task.cancelled():
                    error = task.exception()
                    if task in done and error is not None:
                        failure = error
            await self._close_connection()
            if not self._stopping:
                self._mark_down(failure)

    async def _connect(self) -> None:
        client = aioredis.Redis.from_url(
            self.url, socket_connect_timeout=2, socket_keepalive=True, health_check_interval=5
        )
        self._client = client
        await client.ping()
        # Publishes leave on a connection of their own with no socket timeout and no
        # health check: then redis-py writes a command in the very step that sends it
        # (a timeout wraps the write in a task of its own, a loop iteration later -- after
        # the flush of this process's local fan-out, which other processes would then wait
        # for). A Redis that hangs is still noticed: `_keep_alive` bounds its command by
        # `command_timeout`, and its failure restarts every task, this one too.
        writer = aioredis.Redis.from_url(
            self.url,
            socket_connect_timeout=2,
            socket_keepalive=True,
            socket_timeout=None,
            health_check_interval=0,
        )
        self._writer_client = writer
        await writer.ping()
        pubsub = client.pubsub()
        self._pubsub = pubsub
        for channel in self._channels:
            self._pending_subscriptions.setdefault(channel, [])
        keys = [f"{self.namespace}:ctl", *(self._channel_key(c) for c in self._channels)]
        await pubsub.subscribe(*keys)
        # Presence rebuilt: whatever Redis lost while we were away, we still know ours.
        pipe = client.pipeline(transaction=False)
        pipe.set(self._node_key, "1", ex=max(1, int(self.node_ttl)))
        for channel, members in self._presence.items():
            if members:
                pipe.hset(self._presence_key(channel), mapping=dict(members))  # type: ignore[arg-type]
        await pipe.execute()

    async def _close_connection(self) -> None:
        pubsub, client, writer = self._pubsub, self._client, self._writer_client
        self._pubsub = self._client = self._writer_client = None
        # Bounded too: closing politely talks to a Redis that may not answer.
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pubsub.aclose(), self.command_timeout)
        for each in (client, writer):
            if each is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(each.aclose(), self.command_timeout)

    def _mark_up(self) -> None:
        if self._outage_logged and self._down_since is not None:
            log.warning(
                "broker %s: connected after %.1f s without it; %d publishes could not reach "
                "other processes meanwhile",
                self.url,
                time.monotonic() - self._down_since,
                self.stats.lost - self._lost_at_outage,
            )
        self.stats.connected = True
        self._down_since = None
        self._outage_logged = False
        self._ready.set()

    def _mark_down(self, error: BaseException | None) -> None:
        if self.stats.connected:
            self.stats.reconnects += 1
        if not self._outage_logged:
            log.warning(
                "broker %s: unavailable (%s); local delivery continues, cross-process "
                "delivery waits until it is back",
                self.url,
                self._describe(error) if error is not None else "connection closed",
            )
            self._outage_logged = True
            if self._down_since is None:
                self._down_since = time.monotonic()
            self._lost_at_outage = self.stats.lost
        self.stats.connected = False
        self.stats.lost += sum(1 for is_publish, _ in self._outbox if is_publish)
        self._outbox.clear()

    async def _read(self) -> None:
        pubsub = self._pubsub
        assert pubsub is not None
        prefix = self.namespace + ":c:"
        control_key = self.namespace + ":ctl"
        while not self._stopping:
            message = await pubsub.get_message(timeout=1.0)
            if message is None:
                continue
            channel_key = _text(message["channel"])
            if channel_key == control_key and message.get("type") == "message":
                event = self._parse("", _text(message["data"]), control_key)
                if event is not None and event.kind is EventKind.CONTROL:
                    self._dispatch(event)
                continue
            if not channel_key.startswith(prefix):
                continue
            if message.get("type") == "subscribe":
                self._confirm(channel_key[len(prefix) :])
                continue
            if message.get("type") != "message":
                continue
            event = self._parse(channel_key[len(prefix) :], _text(message["data"]), channel_key)
            if event is not None:
                self._dispatch(event)

    def _dispatch(self, event: RemoteEvent) -> None:
        if self._on_event is None:
            return
        self.stats.received += 1
        try:
            self._on_event(event)
        except Exception:
            log.exception("delivering a remote event on %r failed", event.channel)

    def _confirm(self, channel: str) -> None:
        waiters = self._pending_subscriptions.pop(channel, None)
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def _parse(self, channel: str, payload: str, key: str) -> RemoteEvent | None:
        sender, _, rest = payload.partition("|")
        node, dot, seq_text = sender.partition(".")
        if node == self.node_id:
            return None
        if dot and seq_text.isdigit():  # (processes of older versions send no number)
            self._account(key, node, int(seq_text))
        kind_text, _, data = rest.partition("|")
        try:
            kind = EventKind(kind_text)
        except ValueError:
            log.warning("ignoring a malformed broker payload on %r", channel)
            return None
        if kind is EventKind.JOIN:
            member, _, info = data.partition("|")
            return RemoteEvent(channel, kind, member, info)
        return RemoteEvent(channel, kind, data)

    async def _write(self) -> None:
        client = self._writer_client
        assert client is not None
        while not self._stopping:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._outbox and not self._stopping:
                pipe = client.pipeline(transaction=False)
                publishes = 0
                for _ in range(min(len(self._outbox), PIPELINE_BATCH)):
                    is_publish, add = self._outbox.popleft()
                    publishes += is_publish
                    add(pipe)
                self._writing = True
                try:
                    await pipe.execute()
                except BaseException:
                    self.stats.unconfirmed += publishes
                    raise
                finally:
                    self._writing = False
                self.stats.published += publishes

    async def _keep_alive(self) -> None:
        client = self._client
        assert client is not None
        while not self._stopping:
            await asyncio.sleep(self.node_ttl / 3)
            # The one command that is always running now and then: a Redis that stops
            # answering is noticed here, and this task's failure restarts all the others.
            await asyncio.wait_for(
                client.set(self._node_key, "1", ex=max(1, int(self.node_ttl))),
                self.command_timeout,
            )


def _glob_escape(text: str) -> str:
    """Escape Redis glob metacharacters so a channel prefix matches literally."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _ignore_result(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()
