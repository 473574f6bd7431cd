"""router.stats semantics with a fake clock: no loop, no sockets."""

from __future__ import annotations

from fallback import Connection
from fallback.compat.sockjs_tornado.stats import MovingAverage, StatsCollector
from fallback.core.connection_info import EMPTY_INFO
from fallback.core.frames import OutgoingMessage, SessionId
from fallback.core.registry import SessionRegistry
from fallback.core.session import Session
from fallback.core.settings import Settings
from tests.unit.helpers import FakeClock, Receiver


def open_session(registry: SessionRegistry, sid: str, transport: str) -> Session:
    connection = Connection()
    session = Session(
        SessionId(sid),
        connection,
        EMPTY_INFO,
        Settings(),
        transport,
        clock=FakeClock(),
        counters=registry.counters,
    )
    connection.bind_session(session)
    registry.add(session)
    return session


def test_rates_are_ten_second_moving_averages_of_per_second_counts():
    registry = SessionRegistry(FakeClock())
    stats = StatsCollector(registry, FakeClock())
    assert stats.dump() == {
        "sessions_active": 0,
        "connections_active": 0,
        "connections_ps": 0,
        "packets_sent_ps": 0,
        "packets_recv_ps": 0,
    }
    session = open_session(registry, "a", "xhr_streaming")
    session.attach(Receiver())
    session.take_frame()
    session.receive(["1", "2", "3", "4"])
    stats._sample()  # second 1: 1 connection, 4 received
    stats._sample()  # second 2: nothing
    dump = stats.dump()
    assert (dump["connections_ps"], dump["packets_recv_ps"]) == (0.5, 2.0)
    for _ in range(10):
        session.enqueue(OutgoingMessage("x"))
        session.take_frame()
        stats._sample()
    dump = stats.dump()  # the window holds the last ten seconds only
    assert (dump["connections_ps"], dump["packets_recv_ps"], dump["packets_sent_ps"]) == (
        0.0,
        0.0,
        1.0,
    )


def test_gauges_count_open_sessions_and_attached_receivers_by_transport():
    registry = SessionRegistry(FakeClock())
    stats = StatsCollector(registry, FakeClock())
    streaming = open_session(registry, "a", "xhr_streaming")
    streaming.attach(Receiver())
    polling = open_session(registry, "b", "xhr")
    receiver = Receiver()
    polling.attach(receiver)
    polling.detach(receiver)
    closed = open_session(registry, "c", "jsonp")
    closed.attach(Receiver())
    closed.close()
    dump = stats.dump()
    assert dump["sessions_active"] == 2
    assert dump["connections_active"] == 2  # the stream, and the closed session's poll
    assert {k: v for k, v in dump.items() if k.startswith("transp_")} == {
        "transp_jsonp": 0,  # once used, a transport keeps its key, as in sockjs-tornado
        "transp_xhr": 1,
        "transp_xhr_streaming": 1,
    }


def test_idle_seconds_count_as_zero_when_no_timer_ran():
    clock = FakeClock()
    registry = SessionRegistry(FakeClock())
    stats = StatsCollector(registry, clock)
    session = open_session(registry, "a", "xhr")
    session.receive(["m"] * 10)
    stats._sample()
    stats._idle_since = clock.now  # what _tick does when the last session is gone
    assert stats.dump()["packets_recv_ps"] == 10.0
    clock.now += 4.5
    assert stats.dump()["packets_recv_ps"] == 2.0  # 10 over 1 + 4 seconds
    clock.now += 100
    assert stats.dump()["packets_recv_ps"] == 0.0


def test_sessions_the_application_runs_count_under_their_handlers_name():
    # sockjs-tornado's multiplex pattern: each channel is a BaseSession whose handler is
    # named "multiplex"; BaseSession reports it through on_sess_opened / on_sess_closed.
    registry = SessionRegistry(FakeClock())
    stats = StatsCollector(registry, FakeClock())
    stats._timer = object()  # type: ignore[assignment]  # as if sampling: no loop here
    open_session(registry, "a", "websocket").attach(Receiver())
    stats.on_sess_opened("multiplex")
    stats.on_sess_opened("multiplex")
    stats.on_pack_recv(3)
    stats._sample()
    dump = stats.dump()
    assert (dump["sessions_active"], dump["transp_multiplex"], dump["transp_websocket"]) == (
        3,
        2,
        1,
    )
    assert dump["packets_recv_ps"] == 3.0
    assert stats.sess_active == 3 and stats.sess_transports == {"multiplex": 2, "websocket": 1}
    stats.on_sess_closed("multiplex")
    assert stats.dump()["transp_multiplex"] == 1


def test_moving_average_keeps_the_last_period_values():
    average = MovingAverage(period=3)
    for value in (3, 6, 9, 12):
        average.add(value)
        average.flush()
    assert average.last_average == 9.0  # (6 + 9 + 12) / 3
    average.flush()
    assert average.last_average == 7.0  # (9 + 12 + 0) / 3
