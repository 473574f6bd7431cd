"""Redis pub/sub broker: publish anywhere, deliver everywhere.

Layout in Redis (``ns`` is the namespace, ``fallback`` by default):

* pub/sub channel ``ns:c:<channel>`` -- one per channel with members in some process;
  a process subscribes only to channels it has members in, so a publish costs nothing in
  processes without members;
* pub/sub channel ``ns:ctl`` -- every process, so the reader always has a subscription;
* hash ``ns:p:<channel>`` -- presence: member id -> info JSON, for every process;
* key ``ns:n:<node>`` -- this process is alive (expires ``node_ttl`` after it dies, and
  presence readers then ignore and delete its members);
* stream ``ns:s:<channel>`` and hash ``ns:m:<channel>`` (``o``: last offset, ``e``:
  epoch) -- history, for channels with a history rule (`fallback.channels.history`).

Wire format of a pub/sub payload: ``<node>.<seq>|<kind>|<data>`` (``|<info>`` after a
JOIN's member id), where ``seq`` numbers this process's publishes on that channel (1, 2,
3...). Processes skip their own payloads: they delivered locally already -- except
publications with history, ``<node>.<seq>|h|<offset>|<epoch>|<data>``: one Lua script
(`APPEND`) gives them their offset, adds them to the stream and publishes them, atomically,
so every process, the publisher's too, delivers them in offset order as they come back
(one round trip, pipelined with the rest of the queue; no second write on the hot path).

The seam of a recovery: a process reads history only once its pub/sub subscription to the
channel is confirmed, so every publication is either in what the read returns or arrives
by pub/sub afterwards (or both: `fallback.channels.local` keeps each member's once).

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
import time
import uuid
from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ...exceptions import BrokerUnavailable
from ..history import HistoryPolicy, Position, Publication, new_epoch
from .base import Broker, EventKind, RemoteEvent, forget_member, member_counts
from .redis_link import RedisLink, _glob_escape, _text, log
from .redis_streams import APPEND, HISTORY_KIND, READ, parse_read_reply

#: Channels whose publish sequence a process remembers (least recently used forgotten
#: first; a forgotten channel starts again at 1, which receivers take as a new sequence).
MAX_SEQUENCES = 100_000
#: Seconds between two log lines about missed events (they are all counted).
MISSED_LOG_INTERVAL = 5.0


class RedisBroker(RedisLink, Broker):
    def __init__(self, url: str, **options: Any) -> None:
        """`options`: those of `RedisLink` (namespace, node_ttl, max_backoff, max_pending,
        command_timeout)."""
        super().__init__(url, **options)
        self.node_id = uuid.uuid4().hex[:12]
        self._channels: set[str] = set()
        #: Subscriptions Redis has not confirmed yet: channel -> waiters.
        self._pending_subscriptions: dict[str, list[asyncio.Future[None]]] = {}
        self._presence: dict[str, dict[str, str]] = {}
        #: The number of this process's last publish on each channel key.
        self._sequences: collections.OrderedDict[str, int] = collections.OrderedDict()
        #: Receiving: channel key -> publisher node -> the number of its last event seen.
        self._seen: dict[str, dict[str, int]] = {}
        self._missed_unlogged = 0
        self._missed_logged_at = 0.0
        #: The history scripts' SHA1s on the current connection (loaded by `_connected`).
        self._scripts: dict[str, str] = {}

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
        forget_member(self._presence, channel, member_id)
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

    # -- history ------------------------------------------------------------------------

    def append(self, channel: str, text: str, policy: HistoryPolicy) -> bool:
        key = self._channel_key(channel)
        sender = self._sender(key)
        sha = self._scripts.get("append")
        args = (
            sha,
            3,
            self._stream_key(channel),
            self._meta_key(channel),
            key,
            sender,
            text,
            policy.size,
            int(policy.ttl * 1000),
            int(policy.meta_ttl * 1000),
            new_epoch(),
        )
        if sha is None or not self._enqueue((True, lambda pipe: pipe.evalsha(*args))):
            self.stats.lost += 1
            return False
        return True

    async def read_history(
        self, channel: str, policy: HistoryPolicy, after: int | None, count: int
    ) -> tuple[Position, list[Publication]]:
        client, sha = self._client, self._scripts.get("read")
        if client is None or sha is None or not self.stats.connected:
            raise BrokerUnavailable(f"broker {self.url} is unavailable")
        try:
            reply = await asyncio.wait_for(
                client.evalsha(
                    sha,
                    2,
                    self._stream_key(channel),
                    self._meta_key(channel),
                    "" if after is None else str(after),
                    count,
                    new_epoch(),
                    int(policy.meta_ttl * 1000),
                    int(policy.ttl * 1000),
                ),
                self.command_timeout,
            )
        except (TimeoutError, RedisError, OSError) as error:
            raise BrokerUnavailable(
                f"history of {channel!r} from {self.url}: {self._describe(error)}"
            ) from None
        return parse_read_reply(reply)

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

    def _stream_key(self, channel: str) -> str:
        return f"{self.namespace}:s:{channel}"

    def _meta_key(self, channel: str) -> str:
        return f"{self.namespace}:m:{channel}"

    async def _connected(self, client: aioredis.Redis) -> None:
        writer = self._writer_client
        assert writer is not None
        # Loaded on every new connection: a Redis that restarted has forgotten them.
        self._scripts = {
            "append": await writer.script_load(APPEND),
            "read": await client.script_load(READ),
        }
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
        kind_text, _, data = rest.partition("|")
        own = node == self.node_id
        if own and kind_text != HISTORY_KIND:
            return None  # delivered here already (publications with history come back)
        if not own and dot and seq_text.isdigit():  # (older versions send no number)
            self._account(key, node, int(seq_text))
        if kind_text == HISTORY_KIND:
            offset, _, rest = data.partition("|")
            epoch, _, text = rest.partition("|")
            if not offset.isdigit() or not epoch:
                log.warning("ignoring a malformed broker payload on %r", channel)
                return None
            return RemoteEvent(
                channel, EventKind.MESSAGE, text, position=Position(int(offset), epoch)
            )
        try:
            kind = EventKind(kind_text)
        except ValueError:
            log.warning("ignoring a malformed broker payload on %r", channel)
            return None
        if kind is EventKind.JOIN:
            member, _, info = data.partition("|")
            return RemoteEvent(channel, kind, member, info)
        return RemoteEvent(channel, kind, data)
