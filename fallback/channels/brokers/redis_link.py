"""The connection to Redis under `RedisBroker`: one loop that connects, reconnects and
counts what an outage cost, and one writer that pipelines every queued command.

`RedisLink` knows nothing of channels: the broker (`fallback.channels.brokers.redis`)
queues commands (`_enqueue`), reads pub/sub (`_read`) and sets up each new connection
(`_connected`). When Redis goes away, the queue is dropped and counted (``stats.lost``);
the loop reconnects with capped exponential backoff and jitter and logs the outage once.
"""

from __future__ import annotations

import abc
import asyncio
import collections
import contextlib
import random
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ...core.logsafe import get_logger
from .base import BrokerStats, EventHandler

log = get_logger("fallback.brokers.redis")

#: A queued command: (is it a publish, how to add it to a pipeline).
_Op = tuple[bool, Callable[[Any], None]]

#: Most commands written in one pipeline round trip.
PIPELINE_BATCH = 1000


class RedisLink(abc.ABC):
    """A supervised pair of Redis connections (commands and pub/sub) plus a write queue."""

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
        self.node_ttl = node_ttl
        self.max_backoff = max_backoff
        self.max_pending = max_pending
        #: How long Redis may take to answer before it counts as gone. A Redis that hangs
        #: behind a live TCP connection fails nothing by itself; every wait is bounded by
        #: this instead (connecting, the liveness write, presence and count reads).
        self.command_timeout = command_timeout
        self.stats = BrokerStats(connected=False)
        self._on_event: EventHandler | None = None
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

    @property
    @abc.abstractmethod
    def _node_key(self) -> str: ...

    @abc.abstractmethod
    async def _forget_self(self, client: aioredis.Redis) -> None: ...

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

    def _describe(self, error: BaseException) -> str:
        if isinstance(error, TimeoutError) and not str(error):
            return f"no answer within {self.command_timeout:g} s"
        return str(error) or type(error).__name__

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
        await self._connected(client)

    @abc.abstractmethod
    async def _connected(self, client: aioredis.Redis) -> None:
        """Set up what the broker needs on a new connection (subscriptions, scripts...)."""

    @abc.abstractmethod
    async def _read(self) -> None:
        """Read pub/sub until the connection fails (or the broker stops)."""

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
