"""The registry: sessions found by id, WebSocket ones held only for the sweep, resumable
connections by connection id, and the tombstones of the ones that ended."""

from __future__ import annotations

import pytest

from fallback.codes import CloseCode
from fallback.core import registry as registry_module
from fallback.core.connection_info import EMPTY_INFO
from fallback.core.frames import SessionId
from fallback.core.registry import SessionRegistry
from fallback.core.resume import ResumeState
from fallback.core.session import Session
from fallback.core.settings import Settings
from tests.unit.helpers import FakeClock, Listener, Receiver


def session(
    session_id: str | None = "s1",
    transport: str = "xhr",
    clock: FakeClock | None = None,
    cid: str | None = None,
    **settings: object,
) -> Session:
    listener = Listener()
    made = Session(
        None if session_id is None else SessionId(session_id),
        listener,
        EMPTY_INFO,
        Settings.from_kwargs(settings),
        transport,
        clock=clock or FakeClock(),
        resume=None if cid is None else ResumeState(cid, 16, 1 << 16),
    )
    listener.session = made
    return made


def test_named_sessions_are_found_by_id_and_websocket_ones_are_not():
    registry = SessionRegistry()
    named, anonymous = session("a"), session(None, "websocket")
    registry.add(named)
    registry.add(anonymous)
    assert len(registry) == 2
    assert registry.get(SessionId("a")) is named
    assert registry.get(SessionId("b")) is None
    assert list(registry) == [named, anonymous]
    assert registry.opened == {"xhr": 1, "websocket": 1}
    assert registry.count_by_transport() == {"xhr": 1, "websocket": 1}


def test_a_second_session_with_a_taken_id_is_refused_and_the_first_kept():
    registry = SessionRegistry()
    first = session("a")
    registry.add(first)
    with pytest.raises(KeyError, match="session a already exists"):
        registry.add(session("a"))
    assert registry.get(SessionId("a")) is first and len(registry) == 1


def test_remove_counts_each_session_by_its_close_code_once():
    registry = SessionRegistry()
    named, anonymous, still_open = session("a"), session(None), session("b")
    for each in (named, anonymous, still_open):
        registry.add(each)
    named.close(CloseCode.GO_AWAY)
    anonymous.close(CloseCode.INTERRUPTED)
    for _ in range(2):  # a second remove finds nothing to forget and counts nothing
        registry.remove(named)
        registry.remove(anonymous)
    registry.remove(still_open)  # not closed: forgotten, not counted
    assert len(registry) == 0
    assert registry.closed_by_code == {CloseCode.GO_AWAY: 1, CloseCode.INTERRUPTED: 1}


def test_removing_a_stranger_with_a_taken_id_leaves_the_registered_one():
    registry = SessionRegistry()
    kept, stranger = session("a"), session("a")
    registry.add(kept)
    stranger.close()
    registry.remove(stranger)
    assert registry.get(SessionId("a")) is kept
    assert not registry.closed_by_code


def test_move_gives_a_session_a_new_id_or_none():
    registry = SessionRegistry()
    moving, other = session("a"), session("b")
    registry.add(moving)
    registry.add(other)
    registry.move(moving, SessionId("c"))
    assert moving.id == "c" and registry.get(SessionId("c")) is moving
    assert registry.get(SessionId("a")) is None
    registry.move(other, None)  # a resume over WebSocket: no longer addressable
    assert other.id is None and registry.get(SessionId("b")) is None
    assert len(registry) == 2 and set(registry) == {moving, other}


def test_moving_a_session_onto_a_taken_id_is_refused():
    registry = SessionRegistry()
    moving, other = session("a"), session("b")
    registry.add(moving)
    registry.add(other)
    with pytest.raises(KeyError, match="session b already exists"):
        registry.move(moving, SessionId("b"))
    assert registry.get(SessionId("b")) is other and other.id == "b"
    assert moving.id == "a"  # a refused move leaves the session its id
    assert registry.get(SessionId("a")) is moving, "and its place in the registry"
    registry.move(moving, SessionId("a"))  # onto its own id: nothing changes
    assert registry.get(SessionId("a")) is moving and len(registry) == 2


def test_resumable_connections_are_found_by_their_current_or_previous_id():
    registry = SessionRegistry()
    connection = session("a", cid="first-id-0123456789")
    registry.add(connection)
    assert registry.resumable("first-id-0123456789") is connection
    assert registry.resumable("unknown-id-01234567") is None
    assert registry.resumable("a") is None  # a session id is not a connection id
    resume = connection.resume
    assert resume is not None
    before = (resume.cid, resume.previous)
    resume.rotate(resume.cid)
    registry.rekey(connection, before)
    assert registry.resumable(resume.cid) is connection
    assert registry.resumable("first-id-0123456789") is connection  # until confirmed
    resume.announced = True  # the new id went out...
    resume.confirm()  # ... and the client showed it has it
    assert registry.resumable("first-id-0123456789") is None
    before = (resume.cid, resume.previous)
    resume.rotate(resume.cid)
    resume.announced = True
    resume.confirm()
    registry.rekey(connection, before)  # the id it had is void: forgotten
    assert registry.resumable(before[0]) is None
    assert registry.resumable(resume.cid) is connection


def test_a_plain_session_is_no_resumable_connection():
    registry = SessionRegistry()
    registry.add(session("a"))
    registry.remove(session("b"))
    assert not registry.has_tombstones


def test_an_ended_resumable_connection_leaves_a_tombstone_under_both_its_ids():
    clock = FakeClock()
    registry = SessionRegistry(clock=clock)  # tombstones last 30 s by default
    connection = session("a", cid="first-id-0123456789")
    registry.add(connection)
    resume = connection.resume
    assert resume is not None
    resume.rotate(resume.cid)
    registry.rekey(connection, ("first-id-0123456789", None))
    connection.close(CloseCode.RESUME_EXPIRED, "gone")
    registry.remove(connection)
    assert registry.has_tombstones
    assert registry.tombstone(resume.cid) == (CloseCode.RESUME_EXPIRED, "gone")
    assert registry.tombstone("first-id-0123456789") == (CloseCode.RESUME_EXPIRED, "gone")
    assert registry.tombstone("unknown-id-01234567") is None
    assert registry.resumable(resume.cid) is None
    clock.now += 29.9
    registry.sweep()
    assert registry.tombstone(resume.cid) is not None
    clock.now += 0.1  # the ttl, to the dot: forgotten
    registry.sweep()
    assert registry.tombstone(resume.cid) is None and not registry.has_tombstones


def test_a_connection_that_ended_open_leaves_code_zero_and_no_reason():
    registry = SessionRegistry()
    connection = session("a", cid="first-id-0123456789")
    registry.add(connection)
    registry.remove(connection)
    assert registry.tombstone("first-id-0123456789") == (0, "")


def test_only_the_newest_tombstones_are_kept(monkeypatch):
    monkeypatch.setattr(registry_module, "MAX_TOMBSTONES", 2)
    registry = SessionRegistry()
    ids = [f"connection-id-{n:06d}" for n in range(3)]
    for n, cid in enumerate(ids):
        connection = session(f"s{n}", cid=cid)
        registry.add(connection)
        connection.close()
        registry.remove(connection)
    assert registry.tombstone(ids[0]) is None
    assert registry.tombstone(ids[1]) is not None and registry.tombstone(ids[2]) is not None


def test_the_sweep_forgets_expired_sessions_of_both_kinds_and_keeps_live_ones():
    clock = FakeClock()
    registry = SessionRegistry(clock=clock)
    idle, idle_ws, busy = (
        session("a", clock=clock),
        session(None, "websocket", clock=clock),
        session("b", clock=clock),
    )
    for each in (idle, idle_ws, busy):
        registry.add(each)
    busy.attach(Receiver())
    clock.now += 4.9
    assert registry.sweep() == 0
    assert registry.sweep(clock.now + 0.1) == 2  # disconnect_delay: 5 s
    assert list(registry) == [busy]
    assert registry.closed_by_code == {CloseCode.INTERRUPTED: 2}


def test_close_all_closes_every_session_with_the_code_given():
    registry = SessionRegistry()
    sessions = [session("a"), session(None)]
    for each in sessions:
        registry.add(each)
    registry.close_all(CloseCode.SERVICE_RESTART, "restart")
    assert [(s.close_code, s.close_reason) for s in sessions] == [
        (CloseCode.SERVICE_RESTART, "restart")
    ] * 2


def test_sessions_are_counted_by_transport_one_by_one():
    registry = SessionRegistry()
    for n in range(3):
        registry.add(session(f"s{n}", "xhr_streaming"))
    registry.add(session(None, "websocket"))
    assert registry.opened == {"xhr_streaming": 3, "websocket": 1}
    assert registry.count_by_transport() == {"xhr_streaming": 3, "websocket": 1}


def test_an_id_that_never_named_the_connection_gets_no_tombstone():
    registry = SessionRegistry()
    connection = session("a", cid="first-id-0123456789")
    registry.add(connection)
    resume = connection.resume
    assert resume is not None
    resume.rotate("never-indexed-01234")  # a resume with an id the registry never held
    registry.rekey(connection, ("first-id-0123456789", None))
    registry.remove(connection)
    assert registry.tombstone(resume.cid) is not None
    assert registry.tombstone("never-indexed-01234") is None


def test_the_sweep_counts_what_expired_while_tombstones_remain():
    clock = FakeClock()
    registry = SessionRegistry(clock=clock)
    ended = session("a", clock=clock, cid="first-id-0123456789")
    registry.add(ended)
    ended.close()
    registry.remove(ended)
    registry.add(session("b", clock=clock))
    clock.now += 5
    assert registry.sweep() == 1
    assert registry.has_tombstones
