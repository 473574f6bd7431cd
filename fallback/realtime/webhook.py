"""POSTing browser-triggered events to the application's backend, with retries.

Events go out one at a time, in the order they were triggered, from a bounded queue: when
the backend is slow or down, the queue fills up to ``queue_size`` and further events are
dropped and counted rather than held in unbounded memory. Each POST carries the JSON
event and ``X-Fallback-Signature: sha256=<hex HMAC of the body with the tenant secret>``
so the backend can check it came from us.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import hashlib
import hmac
import json
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from ..core.logsafe import get_logger

log = get_logger("fallback.realtime.webhook")


@dataclasses.dataclass(slots=True)
class WebhookStats:
    delivered: int = 0
    retries: int = 0
    failed: int = 0
    dropped: int = 0


class WebhookSender:
    def __init__(
        self,
        url: str,
        secret: str,
        *,
        tenant: str,
        attempts: int = 5,
        queue_size: int = 10_000,
        timeout: float = 5.0,
        backoff: float = 0.2,
    ) -> None:
        self.url = url
        self.secret = secret.encode("utf-8")
        self.tenant = tenant
        self.attempts = attempts
        self.queue_size = queue_size
        self.timeout = timeout
        self.backoff = backoff
        self.stats = WebhookStats()
        self._queue: collections.deque[bytes] = collections.deque()
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None

    def send(self, event: dict[str, Any]) -> bool:
        """Queue `event`; False (and counted) when the queue is full."""
        if len(self._queue) >= self.queue_size:
            self.stats.dropped += 1
            if self.stats.dropped == 1 or self.stats.dropped % 1000 == 0:
                log.warning(
                    "webhook %s: queue full, %d events dropped", self.url, self.stats.dropped
                )
            return False
        self._queue.append(json.dumps(event, separators=(",", ":")).encode("utf-8"))
        if self._worker is None or self._worker.done():
            self._wakeup = asyncio.Event()
            self._worker = asyncio.get_running_loop().create_task(self._run())
        assert self._wakeup is not None
        self._wakeup.set()
        return True

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.wait([self._worker], timeout=2.0)
            self._worker = None

    async def _run(self) -> None:
        client = AsyncHTTPClient()
        assert self._wakeup is not None
        while True:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            body = self._queue[0]
            await self._deliver(client, body)
            self._queue.popleft()

    async def _deliver(self, client: AsyncHTTPClient, body: bytes) -> None:
        signature = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        request = HTTPRequest(
            self.url,
            method="POST",
            body=body,
            headers={
                "Content-Type": "application/json",
                "X-Fallback-Signature": "sha256=" + signature,
                "X-Fallback-Tenant": self.tenant,
            },
            request_timeout=self.timeout,
        )
        for attempt in range(self.attempts):
            try:
                await client.fetch(request)
            except (TimeoutError, HTTPClientError, OSError) as error:
                if attempt + 1 == self.attempts:
                    self.stats.failed += 1
                    log.warning(
                        "webhook %s: giving up on an event after %d attempts (%s)",
                        self.url,
                        self.attempts,
                        error,
                    )
                    return
                self.stats.retries += 1
                await asyncio.sleep(self.backoff * 2**attempt)
            else:
                self.stats.delivered += 1
                return
