"""sockjs-tornado's ``stats`` module: ``router.stats`` (`StatsCollector`) and `MovingAverage`.

``router.stats.dump()`` has sockjs-tornado's keys, read from fallback's own session
registry when asked: gauges are counted from the live sessions, rates are per-second
deltas of the registry's counters averaged over the last ten seconds. The one-second
sampler runs only while the router has sessions, so an idle router holds no timer (idle
seconds count as zero when it starts again).

Sessions an application runs itself (`session.BaseSession` subclasses, such as the
channels of a multiplexed connection) report through the ``on_*`` methods, as they did
on sockjs-tornado, and are counted under their handler's name (``transp_multiplex``).
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable

from tornado.ioloop import PeriodicCallback

from ...core.registry import SessionRegistry
from ...core.states import SessionState
from ._gone import Gone, unsupported

__all__ = ["MovingAverage", "StatsCollector"]

_RATE = "dump()'s connections_ps, packets_sent_ps and packets_recv_ps are these averages"

#: How often the counters are sampled while sessions exist (sockjs-tornado: every second).
SAMPLE_INTERVAL_MS = 1000


class MovingAverage:
    """The average of the last `period` values: ``add`` accumulates, ``flush`` closes
    the current value (once a second, for a per-second rate), ``last_average`` reads."""

    def __init__(self, period: int = 10) -> None:
        self.period = period
        self.stream: deque[float] = deque()
        self.sum: float = 0
        self.accumulator: float = 0
        self.last_average: float = 0

    def add(self, n: float) -> None:
        self.accumulator += n

    def flush(self) -> None:
        value, self.accumulator = self.accumulator, 0
        self.stream.append(value)
        self.sum += value
        if len(self.stream) > self.period:
            self.sum -= self.stream.popleft()
        self.last_average = self.sum / float(len(self.stream))


class StatsCollector:
    """``router.stats``: sockjs-tornado's ``dump()`` over the router's session registry.

    Built by `SockJSRouter`; read it there.
    """

    WINDOW = 10
    _RATES = ("connections_ps", "packets_sent_ps", "packets_recv_ps")

    conn_ps = Gone(_RATE)
    pack_sent_ps = Gone(_RATE)
    pack_recv_ps = Gone(_RATE)

    def __init__(
        self, registry: SessionRegistry, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not isinstance(registry, SessionRegistry):
            raise unsupported(
                "StatsCollector(io_loop)",
                "each SockJSRouter builds its own; read router.stats.dump()",
            )
        self._registry = registry
        self._clock = clock
        self._timer: PeriodicCallback | None = None
        self._totals = (0, 0, 0)
        self._windows: tuple[deque[int], ...] = tuple(
            deque(maxlen=self.WINDOW) for _ in self._RATES
        )
        self._idle_since: float | None = None
        # What application-run sessions reported (on_* methods).
        self._own_sessions: Counter[str] = Counter()
        self._own_connections = 0
        self._own_pending = [0, 0, 0]

    # -- reading -----------------------------------------------------------------------

    def dump(self) -> dict[str, int | float]:
        """sockjs-tornado's keys: gauges now, rates as ten-second moving averages."""
        if self._timer is None:
            self._catch_up()
        sessions = list(self._registry)
        open_sessions = [s for s in sessions if s.state is SessionState.OPEN]
        by_transport = Counter(s.transport for s in open_sessions)
        data: dict[str, int | float] = {
            "sessions_active": len(open_sessions) + sum(self._own_sessions.values()),
            "connections_active": sum(1 for s in sessions if s.has_receiver)
            + self._own_connections,
        }
        for name, window in zip(self._RATES, self._windows, strict=True):
            data[name] = sum(window) / float(len(window)) if window else 0
        names = set(self._registry.opened) | set(by_transport) | set(self._own_sessions)
        for transport in sorted(names):
            data["transp_" + transport] = by_transport[transport] + self._own_sessions[transport]
        return data

    @property
    def sess_active(self) -> int:
        return int(self.dump()["sessions_active"])

    @property
    def conn_active(self) -> int:
        return int(self.dump()["connections_active"])

    @property
    def sess_transports(self) -> dict[str, int]:
        return {k[7:]: int(v) for k, v in self.dump().items() if k.startswith("transp_")}

    # -- what application-run sessions report (sockjs-tornado's event methods) ---------

    def on_sess_opened(self, transport: str) -> None:
        self.wake()
        self._own_sessions[transport] += 1

    def on_sess_closed(self, transport: str) -> None:
        self._own_sessions[transport] -= 1

    def on_conn_opened(self) -> None:
        self.wake()
        self._own_connections += 1
        self._own_pending[0] += 1

    def on_conn_closed(self) -> None:
        self._own_connections -= 1

    def on_pack_sent(self, num: int) -> None:
        self._own_pending[1] += num

    def on_pack_recv(self, num: int) -> None:
        self._own_pending[2] += num

    # -- sampling ----------------------------------------------------------------------

    def wake(self) -> None:
        """A session is starting: sample every second until none is left."""
        if self._timer is not None:
            return
        self._catch_up()
        self._idle_since = None
        self._timer = PeriodicCallback(self._tick, SAMPLE_INTERVAL_MS)
        self._timer.start()

    def _tick(self) -> None:
        self._sample()
        if not len(self._registry) and not +self._own_sessions and self._timer is not None:
            self._timer.stop()
            self._timer = None
            self._idle_since = self._clock()

    def _sample(self) -> None:
        counters = self._registry.counters
        totals = (counters.attached, counters.sent, counters.received)
        pending = self._own_pending
        for i, (window, now, before) in enumerate(
            zip(self._windows, totals, self._totals, strict=True)
        ):
            window.append(now - before + pending[i])
            pending[i] = 0
        self._totals = totals

    def _catch_up(self) -> None:
        if self._idle_since is None:
            return
        seconds = int(self._clock() - self._idle_since)
        for _ in range(min(seconds, self.WINDOW)):
            for window in self._windows:
                window.append(0)
        self._idle_since += seconds
