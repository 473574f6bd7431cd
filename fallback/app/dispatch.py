"""Coroutine handlers: a connection's ``async def`` handlers run one at a time, in order.

A `Connection` whose class defines any of ``on_open``, ``on_message``, ``on_binary`` or
``on_close`` as a coroutine function gets a `Dispatcher`; one with only plain functions
never does, and its session calls the handlers directly, as before (`coroutine_handlers`
decides once per class, not per message).

What the dispatcher guarantees, per connection:

* **Order.** Handlers run one at a time, in the order their events arrived: ``on_open``
  first, then ``on_message`` (or ``on_binary``) for each message, then ``on_close``. A
  message that arrives while a handler awaits waits for it; a synchronous handler among
  coroutine ones runs in its turn.
* **Back-pressure.** At most ``limit`` messages wait (`Settings.max_pending_messages`);
  one more means the client sends faster than the application handles, and the
  connection closes with 3008, as for a slow client on the way out.
* **Failures.** A handler that raises is logged once, with the connection id, and its
  connection closes with 1011; messages still waiting are dropped, and ``on_close``
  runs (unless it was ``on_open`` that raised).
* **Closing.** ``on_close`` runs after the last handler finished. Messages that arrived
  before the client closed are still handled; those waiting when the server closed
  (the application's ``close()``, a failure, an overflow) are dropped, as the
  synchronous path stops delivering at a close.
* **Rejecting.** ``on_open`` returning False closes with 3001 and ``on_close`` does not
  run (unless ``close_after_reject``, sockjs-tornado's rule); ``on_open`` returning
  anything else accepts, and ``on_close`` then always follows -- even when the
  connection closed while ``on_open`` was still awaiting, so what ``on_open`` set up is
  always torn down.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from ..codes import CloseCode
from ..core.logsafe import get_logger

__all__ = ["HANDLERS", "Dispatcher", "coroutine_handlers"]

log = get_logger("fallback.connection")

#: The handler names a dispatcher serves.
HANDLERS = ("on_open", "on_message", "on_binary", "on_close")

_cache: dict[type, bool] = {}


def coroutine_handlers(cls: type) -> bool:
    """Whether `cls` defines any of `HANDLERS` as a coroutine function (cached per
    class: classes are not expected to change their handlers after creation)."""
    found = _cache.get(cls)
    if found is None:
        found = _cache[cls] = any(
            inspect.iscoroutinefunction(getattr(cls, name, None)) for name in HANDLERS
        )
    return found


class _Open:
    """The queue entry for ``on_open``."""


class _Close:
    """The queue entry for ``on_close``."""


_OPEN, _CLOSE = _Open(), _Close()
_Item = _Open | _Close | str | bytes


class Dispatcher:
    """Runs one connection's handlers in order, awaiting those that return awaitables.

    The connection hands it events (`open`, `accepted`, `push`, `closed`); the
    dispatcher calls back `close` to close the connection with a code and `finish` once
    ``on_close`` is done (or skipped).
    """

    __slots__ = (
        "_accepted",
        "_busy",
        "_close",
        "_close_after_reject",
        "_finish",
        "_label",
        "_limit",
        "_on_close",
        "_on_message",
        "_on_open",
        "_queue",
        "_task",
    )

    def __init__(
        self,
        label: str,
        *,
        on_open: Callable[[], Any],
        on_message: Callable[[str | bytes], Any],
        on_close: Callable[[], Any],
        close: Callable[[int], object],
        finish: Callable[[], None],
        limit: int,
        close_after_reject: bool = False,
    ) -> None:
        self._label = label
        self._on_open = on_open
        self._on_message = on_message
        self._on_close = on_close
        self._close = close
        self._finish = finish
        self._limit = limit
        self._close_after_reject = close_after_reject
        #: None until ``on_open`` has answered; then whether it accepted.
        self._accepted: bool | None = None
        self._queue: collections.deque[_Item] = collections.deque()
        self._busy = False
        self._task: asyncio.Future[None] | None = None

    @property
    def busy(self) -> bool:
        """Whether a handler runs or waits to (a graceful shutdown waits for none)."""
        return self._busy or bool(self._queue)

    @property
    def pending(self) -> int:
        """Messages waiting for their handler (not counting one that runs)."""
        return sum(1 for item in self._queue if isinstance(item, str))

    # -- events from the connection ----------------------------------------------------

    def begin(self, coroutine_on_open: bool) -> bool:
        """The session opened: a coroutine ``on_open`` is queued (and the session counts
        as accepted meanwhile: True); a plain one runs now, its answer returned, as
        without a dispatcher (an exception in it reaches the session, as there)."""
        if coroutine_on_open:
            self.open()
            return True
        accepted = self._on_open() is not False
        self.accepted(accepted)
        return accepted

    def open(self) -> None:
        """Run ``on_open`` (its answer is awaited; the session counts as open meanwhile)."""
        self._queue.append(_OPEN)
        self._pump()

    def accepted(self, accepted: bool) -> None:
        """``on_open`` already ran (synchronously) and answered `accepted`."""
        if self._accepted is None:
            self._accepted = accepted

    def push(self, text: str | bytes) -> None:
        """A message from the client: handled now if nothing runs, else queued."""
        if len(self._queue) >= self._limit and self.pending >= self._limit:
            log.warning(
                "connection %s: %d messages waiting for on_message; closing it",
                self._label,
                self.pending,
            )
            self._close(CloseCode.QUEUE_OVERFLOW)
            return
        self._queue.append(text)
        self._pump()

    def closed(self, opened: bool, *, drop: bool) -> None:
        """The connection closed. `opened`: the session had accepted it; `drop`: the
        server closed it, and messages still waiting are discarded."""
        if not opened:
            self._accepted = False
        if drop:
            self._drop_messages()
        self._queue.append(_CLOSE)
        self._pump()

    # -- running handlers --------------------------------------------------------------

    def _drop_messages(self) -> None:
        kept = [item for item in self._queue if not isinstance(item, str)]
        self._queue.clear()
        self._queue.extend(kept)

    def _pump(self) -> None:
        """Run queued handlers until one returns an awaitable (then await it in a task,
        which carries on with the queue) or the queue is empty."""
        if self._busy:
            return
        self._busy = True
        try:
            following = self._next_awaitable()
        except BaseException:
            self._busy = False
            raise
        if following is None:
            self._busy = False
            return
        self._task = asyncio.ensure_future(self._wait(*following))

    async def _wait(self, item: _Item, awaitable: Awaitable[Any]) -> None:
        """Await `awaitable`, then go on with the queue in this same task (one task per
        burst of messages, not one per message) until it is empty."""
        while True:
            try:
                result = await awaitable
            except Exception:
                self._failed(item)
            else:
                self._done(item, result)
            following = self._next_awaitable()
            if following is None:
                self._busy = False
                self._task = None
                return
            item, awaitable = following

    def _next_awaitable(self) -> tuple[_Item, Awaitable[Any]] | None:
        """Run queued handlers until one returns an awaitable (returned with its item),
        or the queue is empty (None)."""
        while self._queue:
            item = self._queue.popleft()
            try:
                result = self._call(item)
            except Exception:
                self._failed(item)
                continue
            if inspect.isawaitable(result):
                return item, result
            self._done(item, result)
        return None

    def _call(self, item: _Item) -> Any:
        if isinstance(item, str):
            if self._accepted:
                return self._on_message(item)
            return None
        if item is _OPEN:
            return self._on_open()
        if self._accepted or (self._close_after_reject and self._accepted is False):
            return self._on_close()
        return None

    def _done(self, item: _Item, result: Any) -> None:
        if item is _OPEN:
            if self._accepted is None:
                self._accepted = result is not False
            if result is False:
                self._drop_messages()
                self._close(CloseCode.REJECTED)
        elif item is _CLOSE:
            self._finish()

    def _failed(self, item: _Item) -> None:
        if item is _CLOSE:
            log.exception("connection %s: on_close raised", self._label)
            self._finish()
            return
        name = "on_open" if item is _OPEN else "on_message"
        log.exception("connection %s: %s raised; closing it", self._label, name)
        if item is _OPEN and self._accepted is None:
            self._accepted = False
        self._drop_messages()
        self._close(CloseCode.INTERNAL_ERROR)
