"""What the sans-I/O core keeps for limits, shutdown and statistics."""

from __future__ import annotations

import asyncio

import pytest

from fallback import Connection, Router
from fallback.app.service import Service
from fallback.codes import CloseCode
from fallback.core.connection_info import EMPTY_INFO
from fallback.core.counters import Counters
from fallback.core.frames import OutgoingMessage, SessionId
from fallback.core.registry import SessionRegistry
from fallback.core.resume import ResumeState
from fallback.core.session import Session
from fallback.core.settings import Settings
from fallback.exceptions import ServiceBusy, ServiceRestarting
from fallback.server.stats import collect, prometheus_text
from tests.unit.helpers import FakeClock, Listener, Receiver


def make(counters: Counters | None = None, **settings: object) -> tuple[Session, FakeClock]:
    clock = FakeClock()
    listener = Listener()
    session = Session(
        SessionId("s"),
        listener,
        EMPTY_INFO,
        Settings.from_kwargs(settings),
        "xhr",
        clock=clock,
        counters=counters,
    )
    listener.session = session
    return session, clock


def test_a_queue_overflow_is_counted_once_and_closes_with_3008():
    counters = Counters()
    session, _ = make(counters, max_queue_bytes=10)
    session.attach(Receiver())
    assert session.take_frame() == "o"
    assert session.enqueue(OutgoingMessage("12345"))
    assert session.enqueue(OutgoingMessage("12345"))
    assert not session.enqueue(OutgoingMessage("x"))
    assert not session.enqueue(OutgoingMessage("y"))  # closed: no second count
    assert counters.overflowed == 1
    assert session.close_code == CloseCode.QUEUE_OVERFLOW
    assert session.queued == 0 and session.queued_bytes == 0


def test_close_sent_tells_whether_the_close_frame_went_out():
    session, _ = make()
    session.attach(Receiver())
    assert session.take_frame() == "o"
    session.enqueue(OutgoingMessage("last"))
    session.close(CloseCode.SERVICE_RESTART, "Server restarting, reconnect")
    assert not session.close_sent
    assert session.take_frame() == 'a["last"]'  # queued messages first
    assert not session.close_sent
    assert session.take_frame() == 'c[1012,"Server restarting, reconnect"]'
    assert session.close_sent


def test_detached_since_is_when_the_last_receiver_left():
    session, clock = make()
    receiver = Receiver()
    session.attach(receiver)
    assert session.detached_since() is None
    clock.now += 3
    session.detach(receiver)
    assert session.detached_since() == clock.now


def test_tombstones_are_forgotten_by_the_sweep_after_their_ttl():
    clock = FakeClock()
    registry = SessionRegistry(clock, tombstone_ttl=2.0)
    session = Session(
        SessionId("r"),
        Listener(),
        EMPTY_INFO,
        Settings(),
        "xhr",
        clock=clock,
        resume=ResumeState("c" * 24, 10, 1000),
    )
    registry.add(session)
    registry.remove(session)
    assert registry.has_tombstones and not len(registry)
    registry.sweep(clock.now + 1)
    assert registry.has_tombstones
    registry.sweep(clock.now + 3)
    assert not registry.has_tombstones


class Echo(Connection):
    pass


def test_service_refuses_past_max_sessions_and_while_draining():
    async def scenario() -> None:
        service = Service(Echo, "/x", Settings(max_sessions=1))
        service.open_session(SessionId("a"), EMPTY_INFO, "xhr")
        with pytest.raises(ServiceBusy) as busy:
            service.open_session(SessionId("b"), EMPTY_INFO, "xhr")
        assert busy.value.close_code == CloseCode.TRY_AGAIN_LATER
        service.draining = True
        with pytest.raises(ServiceRestarting) as restarting:
            service.open_session(SessionId("c"), EMPTY_INFO, "xhr")
        assert restarting.value.close_code == CloseCode.SERVICE_RESTART
        assert service.refused == {"max_sessions": 1, "shutting_down": 1}
        for session in list(service.registry):
            service.registry.remove(session)
        service.sweep()

    asyncio.run(scenario())


def test_statistics_of_a_quiet_router_list_every_transport_and_reason_at_zero():
    router = Router(Echo, "/q")
    stats = collect([router])["routers"]["/q"]
    assert set(stats["sessions"]["by_transport"]) == {
        "websocket",
        "xhr_streaming",
        "eventsource",
        "htmlfile",
        "xhr",
        "jsonp",
        "rawwebsocket",
    }
    assert all(n == 0 for n in stats["refusals"].values())
    text = prometheus_text([router])
    assert 'fallback_refusals_total{prefix="/q",reason="queue_overflow"} 0' in text
    assert 'fallback_draining{prefix="/q"} 0' in text


def test_refusal_details_are_logged_on_one_short_line(caplog):
    service = Service(Echo, "/x", Settings())
    service.count_refusal("origin", "origin https://" + "e" * 10_000)
    (record,) = caplog.records
    assert record.levelname == "WARNING" and record.exc_info is None
    assert len(record.getMessage()) < 400 and "\n" not in record.getMessage()
    assert service.refused == {"origin": 1}


@pytest.mark.parametrize("name", ["idle_connection_timeout", "body_timeout"])
@pytest.mark.parametrize("value", [0, -1, True, "60"])
def test_connection_deadlines_must_be_positive_seconds(name, value):
    from fallback.exceptions import ConfigurationError
    from fallback.server import make_application, make_server

    app = make_application(Router(Echo, "/x"))
    with pytest.raises(ConfigurationError, match=name):
        make_server(app, 8080, flash_policy=False, **{name: value})
