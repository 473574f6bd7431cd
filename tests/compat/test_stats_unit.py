"""router.stats semantics with a fake clock: no loop, no sockets."""

from __future__ import annotations

from fallback.compat.sockjs_tornado import SockJSConnection, Stats
from fallback.info import EMPTY_INFO
from fallback.protocol import OutgoingMessage, SessionId
from fallback.registry import SessionRegistry
from fallback.session import Session
from fallback.settings import Settings
from tests.unit.test_session import FakeClock, Receiver


class Quiet(SockJSConnection):
    def on_message(self, message):
        pass


def open_session(registry: SessionRegistry, sid: str, transport: str) -> Session:
    connection = Quiet()
    session = Session(
        SessionId(sid), connection, EMPTY_INFO, Settings(), transport,
        clock=FakeClock(), counters=registry.counters,
    )
    connection._bind(session)
    registry.add(session)
    return session


def test_rates_are_ten_second_moving_averages_of_per_second_counts():
    registry = SessionRegistry(FakeClock())
    stats = Stats(registry, FakeClock())
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
    stats = Stats(registry, FakeClock())
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
    stats = Stats(registry, clock)
    session = open_session(registry, "a", "xhr")
    session.receive(["m"] * 10)
    stats._sample()
    stats._idle_since = clock.now  # what _tick does when the last session is gone
    assert stats.dump()["packets_recv_ps"] == 10.0
    clock.now += 4.5
    assert stats.dump()["packets_recv_ps"] == 2.0  # 10 over 1 + 4 seconds
    clock.now += 100
    assert stats.dump()["packets_recv_ps"] == 0.0
