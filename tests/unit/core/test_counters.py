"""The service-wide counters sessions keep for statistics (one add per frame or batch)."""

from __future__ import annotations

from fallback.core.connection_info import EMPTY_INFO
from fallback.core.counters import Counters
from fallback.core.frames import OutgoingMessage, SessionId
from fallback.core.registry import SessionRegistry
from fallback.core.session import Session
from fallback.core.settings import Settings
from tests.unit.helpers import FakeClock, Listener, Receiver


def make(counters: Counters, sid: str = "s", framed: bool = True) -> Session:
    listener = Listener()
    session = Session(
        SessionId(sid),
        listener,
        EMPTY_INFO,
        Settings(),
        "xhr",
        framed=framed,
        clock=FakeClock(),
        counters=counters,
    )
    listener.session = session
    return session


def test_sent_counts_messages_not_frames():
    counters = Counters()
    session = make(counters)
    session.attach(Receiver())
    assert session.take_frame() == "o"
    for text in ("a", "b", "c"):
        session.enqueue(OutgoingMessage(text))
    assert session.take_frame() == 'a["a","b","c"]'
    assert (counters.sent, counters.received) == (3, 0)


def test_unframed_receivers_count_what_they_take():
    counters = Counters()
    session = make(counters, framed=False)
    session.attach(Receiver())
    session.enqueue(OutgoingMessage("x"))
    session.enqueue(OutgoingMessage("y"))
    assert [m.text for m in session.take_messages()] == ["x", "y"]
    assert counters.sent == 2


def test_received_counts_every_incoming_message():
    counters = Counters()
    session = make(counters)
    session.attach(Receiver())
    session.receive_send_payload(b'["one","two"]')
    session.receive_websocket_payload('"three"')
    assert counters.received == 3
    session.receive_one("four")
    session.close()
    session.receive(["five", "six"])  # received, though no longer delivered
    assert counters.received == 6


def test_attached_counts_refused_receivers_too():
    counters = Counters()
    session = make(counters)
    first, second = Receiver(), Receiver()
    assert session.attach(first)
    assert not session.attach(second)
    session.detach(first)
    assert session.attach(second)
    assert counters.attached == 3


def test_a_registry_totals_all_its_sessions():
    registry = SessionRegistry(FakeClock())
    one, two = make(registry.counters, "one"), make(registry.counters, "two")
    for session in (one, two):
        session.attach(Receiver())
        session.take_frame()
        session.enqueue(OutgoingMessage("m"))
        session.take_frame()
    assert (registry.counters.attached, registry.counters.sent) == (2, 2)


def test_sessions_made_without_counters_keep_their_own():
    session = Session(SessionId("s"), Listener(), EMPTY_INFO, Settings(), "xhr", clock=FakeClock())
    session.attach(Receiver())  # must not fail
