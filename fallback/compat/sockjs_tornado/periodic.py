"""sockjs-tornado's ``periodic`` module: `Callback`, a periodic callback whose next run
can be pushed back (``delay``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tornado.ioloop import IOLoop

__all__ = ["Callback"]


class Callback:
    """Run `callback` every `callback_time` milliseconds on `io_loop` while started.

    ``delay()`` moves the next run to a full period from now (a heartbeat that real
    traffic made unnecessary). A callback that returns a number sets its next run at
    that loop time (``io_loop.time()``). Exceptions are logged by the loop and the
    callback keeps running.
    """

    def __init__(
        self, callback: Callable[[], Any], callback_time: float, io_loop: IOLoop | None = None
    ) -> None:
        self.callback = callback
        self.callback_time = callback_time
        self.io_loop = io_loop if io_loop is not None else IOLoop.current()
        self.next_run: float | None = None
        self._running = False
        self._handle: object | None = None

    def calculate_next_run(self) -> float:
        """A full period from now, on the loop's clock."""
        return self.io_loop.time() + self.callback_time / 1000.0

    def start(self, timeout: float | None = None) -> None:
        """Start (or restart): the first run is at `timeout`, or a period from now."""
        self._running = True
        self._schedule(self.calculate_next_run() if timeout is None else timeout)

    def stop(self) -> None:
        self._running = False
        if self._handle is not None:
            self.io_loop.remove_timeout(self._handle)
            self._handle = None

    def delay(self) -> None:
        """Push the next run back to a full period from now."""
        self.next_run = self.calculate_next_run()

    def _schedule(self, when: float) -> None:
        if self._handle is not None:
            self.io_loop.remove_timeout(self._handle)
        self._handle = self.io_loop.call_at(when, self._run)

    def _run(self) -> None:
        self._handle = None
        if not self._running:
            return
        if self.next_run is not None and self.io_loop.time() < self.next_run:
            when, self.next_run = self.next_run, None
            self._schedule(when)
            return
        result: Any = None
        try:
            result = self.callback()
        finally:
            if self._running:
                is_time = isinstance(result, (int, float)) and not isinstance(result, bool)
                self._schedule(result if is_time else self.calculate_next_run())
