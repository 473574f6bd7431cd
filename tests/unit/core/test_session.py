"""The session state machine, driven by plain calls and a fake clock."""

from __future__ import annotations

import pytest

from fallback.codes import CloseCode
from fallback.core.connection_info import EMPTY_INFO, ConnectionInfo
from fallback.core.counters import Counters
from fallback.core.frames import OutgoingMessage, SessionId
from fallback.core.registry import SessionRegistry
from fallback.core.session import Session
from fallback.core.settings import Settings
from fallback.core.states import TRANSITIONS, SessionState
from fallback.exceptions import MessageTooBig, ResumeError
from tests.unit.helpers import FakeClock, Listener, Receiver, drain, make_session


def test_first_receiver_opens_and_gets_the_open_frame_first():
    session, listener = make_session()
    assert session.state is SessionState.NEW
    assert session.attach(Receiver())
    assert session.state is SessionState.OPEN
    assert listener.events == [("open", None)]
    assert session.take_frame() == "o"
    assert session.take_frame() is None


def test_second_receiver_is_refused_while_one_is_attached():
    session, _ = make_session()
    first = Receiver()
    assert session.attach(first)
    assert not session.attach(Receiver())
    session.detach(first)
    assert session.attach(Receiver())


def test_a_hand_over_moves_the_session_to_the_new_receiver_without_detaching():
    session, listener = make_session()
    first, second = Receiver(), Receiver()
    session.attach(first)
    session.take_frame()
    assert not session.hand_over(second, first), "only the attached receiver hands over"
    assert session.hand_over(first, second)
    assert session.owns(second) and not session.owns(first)
    assert session.detached_since() is None
    session.enqueue(OutgoingMessage("after"))
    assert (first.wakes, second.wakes) == (0, 1)
    session.detach(first)  # the old one is nobody now: this changes nothing
    assert session.owns(second)
    assert listener.events == [("open", None)]


def test_messages_queued_between_writes_leave_as_one_frame_in_order():
    session, _ = make_session()
    receiver = Receiver()
    session.attach(receiver)
    session.take_frame()
    for text in ("a", "b", "c"):
        session.enqueue(OutgoingMessage(text))
    assert receiver.wakes == 1, "one wake for a batch, not one per message"
    assert session.take_frame() == 'a["a","b","c"]'
    assert session.take_frame() is None


def test_messages_wait_for_the_next_receiver():
    session, _ = make_session()
    receiver = Receiver()
    session.attach(receiver)
    session.take_frame()
    session.detach(receiver)
    session.enqueue(OutgoingMessage("later"))
    session.attach(Receiver())
    assert session.take_frame() == 'a["later"]'


def test_close_delivers_queued_messages_then_repeats_the_close_frame():
    session, listener = make_session()
    receiver = Receiver()
    session.attach(receiver)
    session.take_frame()
    session.enqueue(OutgoingMessage("last words"))
    session.close(3000, "Go away!")
    assert listener.events[-1] == ("close", None)
    assert session.take_frame() == 'a["last words"]'
    assert session.take_frame() == 'c[3000,"Go away!"]'
    session.detach(receiver)
    session.attach(Receiver())
    assert session.take_frame() == 'c[3000,"Go away!"]'
    assert not session.enqueue(OutgoingMessage("too late"))
    assert not session.close()


def test_close_inside_on_open_sends_open_then_close_and_never_calls_on_close():
    session, listener = make_session(Listener(close_in_open=True))
    session.attach(Receiver())
    assert drain(session) == ["o", 'c[4001,"no"]']
    assert listener.events == [("open", None)]


def test_on_open_returning_false_rejects_with_3001():
    session, listener = make_session(Listener(accept=False))
    session.attach(Receiver())
    assert drain(session) == ["o", 'c[3001,"Connection rejected"]']
    session.receive(["ignored"])
    assert listener.events == [("open", None)]


@pytest.mark.expect_errors
def test_exception_in_on_open_closes_with_1011():
    listener = Listener()
    listener.raise_on = "open"
    session, _ = make_session(listener)
    session.attach(Receiver())
    assert drain(session) == ["o", 'c[1011,"Internal server error"]']


@pytest.mark.expect_errors
def test_exception_in_on_message_closes_with_1011_and_stops_delivery():
    listener = Listener()
    session, _ = make_session(listener)
    session.attach(Receiver())
    listener.raise_on = "message"
    session.receive(["a", "b"])
    assert [e for e in listener.events if e[0] == "message"] == [("message", "a")]
    assert session.close_code == CloseCode.INTERNAL_ERROR


@pytest.mark.expect_errors
def test_exception_in_on_close_is_contained():
    listener = Listener()
    session, _ = make_session(listener)
    session.attach(Receiver())
    listener.raise_on = "close"
    assert session.close()
    assert session.state is SessionState.CLOSED


def test_messages_after_close_inside_a_batch_are_not_delivered():
    session, listener = make_session()
    session.attach(Receiver())
    session.receive(["a", "close", "b"])
    assert [e[1] for e in listener.events if e[0] == "message"] == ["a", "close"]


def test_interrupted_receiver_closes_the_session_with_1002():
    session, listener = make_session()
    receiver = Receiver()
    session.attach(receiver)
    session.enqueue(OutgoingMessage("lost"))
    session.detach(receiver, interrupted=True)
    assert session.close_code == CloseCode.INTERRUPTED
    assert listener.events[-1] == ("close", None)
    session.attach(Receiver())
    assert session.take_frame() == "o"  # the open frame was never taken
    assert session.take_frame() == 'c[1002,"Connection interrupted"]'


def test_detach_by_a_stranger_is_ignored():
    session, _ = make_session()
    receiver = Receiver()
    session.attach(receiver)
    session.detach(Receiver(), interrupted=True)
    assert session.state is SessionState.OPEN and session.has_receiver


def test_heartbeat_is_due_after_heartbeat_delay_of_silence():
    clock = FakeClock()
    session, _ = make_session(clock=clock, heartbeat_delay=10)
    receiver = Receiver()
    session.attach(receiver)
    session.take_frame()
    clock.now += 9.9
    assert not session.tick(clock.now) and receiver.wakes == 0
    clock.now += 0.2
    assert not session.tick(clock.now)
    assert receiver.wakes == 1
    assert session.take_frame() == "h"
    assert session.take_frame() is None


def test_messages_reset_the_heartbeat_deadline():
    clock = FakeClock()
    session, _ = make_session(clock=clock, heartbeat_delay=10)
    receiver = Receiver()
    session.attach(receiver)
    session.take_frame()
    clock.now += 8
    session.enqueue(OutgoingMessage("x"))
    session.take_frame()
    clock.now += 8
    session.tick(clock.now)
    assert session.take_frame() is None


def test_session_expires_disconnect_delay_after_its_last_receiver():
    clock = FakeClock()
    session, listener = make_session(clock=clock, disconnect_delay=5)
    receiver = Receiver()
    session.attach(receiver)
    session.take_frame()
    clock.now += 100
    assert not session.tick(clock.now), "a session with a receiver never expires"
    session.detach(receiver)
    clock.now += 4.9
    assert not session.tick(clock.now)
    clock.now += 0.2
    assert session.tick(clock.now)
    assert session.state is SessionState.CLOSED
    assert listener.events[-1] == ("close", None)


def test_queue_overflow_closes_with_3008_and_frees_the_queue():
    session, _ = make_session(max_queue=3)
    session.attach(Receiver())
    session.take_frame()
    for i in range(3):
        assert session.enqueue(OutgoingMessage(str(i)))
    assert not session.enqueue(OutgoingMessage("one too many"))
    assert session.close_code == CloseCode.QUEUE_OVERFLOW
    assert session.queued == 0
    assert session.take_frame() == 'c[3008,"Send queue overflow"]'


def test_oversized_payloads_are_refused_before_decoding():
    session, listener = make_session(max_message_size=10)
    session.attach(Receiver())
    with pytest.raises(MessageTooBig):
        session.receive_send_payload(b'["' + b"x" * 20 + b'"]')
    with pytest.raises(MessageTooBig):
        session.receive_websocket_payload('"' + "x" * 20 + '"')
    assert session.state is SessionState.OPEN
    session.receive_send_payload('["ok"]')
    assert listener.events[-1] == ("message", "ok")


def test_unframed_sessions_have_no_open_or_heartbeat_frames_but_heartbeat_checks():
    clock = FakeClock()
    listener = Listener()
    session = Session(
        None, listener, EMPTY_INFO, Settings(heartbeat_delay=1), "raw", framed=False, clock=clock
    )
    receiver = Receiver()
    session.attach(receiver)
    assert not session.take_heartbeat()
    clock.now += 5
    session.tick(clock.now)
    # The receiver is woken to check its peer (a WebSocket ping), not to send a frame.
    assert receiver.wakes == 1
    assert session.take_heartbeat() and not session.take_heartbeat()
    assert session.take_messages() == []
    session.enqueue(OutgoingMessage("a"))
    session.enqueue(OutgoingMessage("b"))
    assert [m.text for m in session.take_messages()] == ["a", "b"]
    clock.now += 0.5
    session.tick(clock.now)  # what was just sent postponed the next check
    assert receiver.wakes == 2 and not session.take_heartbeat()


def test_plain_messages_are_taken_only_while_open_with_no_heartbeat_due():
    clock = FakeClock()
    session = Session(
        None, Listener(), EMPTY_INFO, Settings(heartbeat_delay=1), "raw", framed=False, clock=clock
    )
    session.attach(Receiver())
    assert session.take_plain_messages() == []
    session.enqueue(OutgoingMessage("a"))
    assert [m.text for m in session.take_plain_messages() or []] == ["a"]
    clock.now += 5
    session.tick(clock.now)
    session.enqueue(OutgoingMessage("b"))
    assert session.take_plain_messages() is None  # the heartbeat's check comes first
    assert session.take_heartbeat()
    assert [m.text for m in session.take_plain_messages() or []] == ["b"]
    session.enqueue(OutgoingMessage("c"))
    session.close()
    assert session.take_plain_messages() is None  # closed: "c", then the close
    assert [m.text for m in session.take_messages()] == ["c"]


def test_plain_frame_is_taken_only_when_text_messages_are_all_that_is_owed():
    clock = FakeClock()
    session = Session(
        None, Listener(), EMPTY_INFO, Settings(heartbeat_delay=1), "websocket", clock=clock
    )
    session.binary = True
    session.attach(Receiver())
    session.enqueue(OutgoingMessage("a"))
    assert session.take_plain_frame() is None  # the open frame goes first
    assert session.take_frame() == "o"
    assert session.take_plain_frame() == 'a["a"]'
    assert session.take_plain_frame() is None  # nothing queued
    session.enqueue(OutgoingMessage("b"))
    session.enqueue(OutgoingMessage(b"\x00"))
    assert session.take_plain_frame() is None  # a binary message leaves alone
    assert session.take_frame(binary_frames=True) == 'a["b"]'
    assert session.take_frame(binary_frames=True).data == b"\x00"
    clock.now += 5
    session.tick(clock.now)
    session.enqueue(OutgoingMessage("c"))
    assert session.take_plain_frame() is None  # the heartbeat's check comes first
    session.close()
    assert session.take_plain_frame() is None


def test_receive_one_delivers_while_open_and_says_when_it_no_longer_is():
    session, listener = make_session()
    session.attach(Receiver())
    assert session.receive_one("a")
    assert not session.receive_one("close")  # delivered, and the session closed in it
    assert not session.receive_one("b")
    assert [e[1] for e in listener.events if e[0] == "message"] == ["a", "close"]


def test_transition_table_allows_only_forward_moves():
    assert not [new for (old, _), new in TRANSITIONS.items() if old is SessionState.CLOSED]
    assert SessionState.NEW not in TRANSITIONS.values()


def test_registry_sweep_forgets_expired_sessions_and_counts_them():
    clock = FakeClock()
    registry = SessionRegistry(clock)
    session, _ = make_session(clock=clock, disconnect_delay=1)
    registry.add(session)
    with pytest.raises(KeyError):
        registry.add(session)
    assert registry.get(SessionId("s1")) is session
    assert registry.sweep() == 0
    clock.now += 2
    assert registry.sweep() == 1
    assert registry.get(SessionId("s1")) is None
    assert len(registry) == 0
    assert registry.closed_by_code[CloseCode.INTERRUPTED] == 1


def test_every_session_has_its_own_connection_id_even_without_a_sockjs_id():
    first = Session(None, Listener(), EMPTY_INFO, Settings(), "websocket")
    second = Session(None, Listener(), EMPTY_INFO, Settings(), "websocket")
    assert first.id is None and second.id is None
    assert len(first.connection_id) == 12 and int(first.connection_id, 16) >= 0
    assert first.connection_id != second.connection_id
    assert first.connection_id in repr(first)
    assert first.log_name == first.connection_id  # no SockJS id to add


@pytest.mark.expect_errors
def test_failure_log_lines_name_the_connection_id(caplog):
    listener = Listener()
    listener.raise_on = "message"
    session, _ = make_session(listener)
    session.attach(Receiver())
    session.receive(["x"])
    assert [r.getMessage() for r in caplog.records] == [
        f"connection {session.connection_id} (session s1): on_message raised; closing it"
    ]


def test_session_exposes_its_settings_for_the_application_layer():
    session, _ = make_session(max_pending_messages=7)
    assert session.settings.max_pending_messages == 7


@pytest.mark.parametrize("value", [0, -1, True, 1.5])
def test_max_pending_messages_must_be_a_positive_integer(value):
    from fallback.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match="max_pending_messages"):
        Settings(max_pending_messages=value)


def test_repr_names_the_session_its_transport_and_state():
    session, _ = make_session()
    assert repr(session) == f"<Session {session.connection_id} xhr new>"
    ws = Session(None, Listener(), EMPTY_INFO, Settings(), "websocket", clock=FakeClock())
    assert repr(ws) == f"<Session {ws.connection_id} websocket new>"


def test_a_receiver_of_another_transport_becomes_the_sessions_transport():
    session, _ = make_session()
    first = Receiver()
    session.attach(first)
    assert session.transport == "xhr"
    session.detach(first)
    session.attach(Receiver(), "xhr_streaming")
    assert session.transport == "xhr_streaming"


def test_a_closed_session_expires_without_closing_again():
    clock = FakeClock()
    session, listener = make_session(clock=clock)
    receiver = Receiver()
    session.attach(receiver)
    session.close(4005, "app")
    session.detach(receiver)
    clock.now += 5
    assert session.tick(clock.now)
    assert (session.close_code, session.close_reason) == (4005, "app")
    assert listener.events.count(("close", None)) == 1


def test_a_refused_unframed_session_sends_no_open_frame():
    session = Session(
        None, Listener(), EMPTY_INFO, Settings(), "raw", framed=False, clock=FakeClock()
    )
    session.refuse(1013, "Try again later")
    assert session.state is SessionState.CLOSED
    assert session.take_frame() == 'c[1013,"Try again later"]'


# -- what mutation testing found untested ---------------------------------------------------


def resumable_session(buffer: int = 1024, **settings):
    from fallback.core.resume import ResumeState

    listener = Listener()
    session = Session(
        SessionId("s1"),
        listener,
        EMPTY_INFO,
        Settings(**settings),
        "xhr",
        clock=FakeClock(),
        resume=ResumeState("c" * 20, buffer, 1 << 20),
    )
    listener.session = session
    return session, listener


def test_a_new_session_keeps_its_info_and_has_no_close_reason():
    info = ConnectionInfo(ip="192.0.2.1", headers={}, cookies={}, arguments={}, path="/x")
    session = Session(SessionId("s"), Listener(), info, Settings(), "xhr", clock=FakeClock())
    assert session.info is info
    assert (session.close_code, session.close_reason) == (None, None)


@pytest.mark.expect_errors
@pytest.mark.parametrize(
    ("fail_in", "logged"),
    [
        ("open", "connection {name}: on_open raised; closing it"),
        ("message", "connection {name}: on_message raised; closing it"),
        ("close", "connection {name}: on_close raised"),
    ],
)
def test_an_application_error_is_logged_once_with_the_session_id(fail_in, logged, caplog):
    session, listener = make_session()
    listener.raise_on = fail_in
    session.attach(Receiver())
    if fail_in == "message":
        session.receive(["boom"])
    elif fail_in == "close":
        session.close()
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert [r.getMessage() for r in errors] == [logged.format(name=session.log_name)]
    assert errors[0].exc_info is not None


def test_a_slow_client_is_logged_with_what_it_left_queued(caplog):
    session, _ = make_session(max_queue=2)
    session.enqueue(OutgoingMessage("ab"))
    session.enqueue(OutgoingMessage("cde"))
    session.enqueue(OutgoingMessage("f"))
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        f"connection {session.log_name}: 2 messages (5 bytes) queued for a slow client; closing"
    ]


def test_overflows_and_bytes_are_counted_across_sessions():
    counters = Counters()
    sessions = [
        Session(
            SessionId(f"s{n}"),
            Listener(),
            EMPTY_INFO,
            Settings(max_queue=1),
            "xhr",
            clock=FakeClock(),
            counters=counters,
        )
        for n in range(2)
    ]
    for session in sessions:
        session.attach(Receiver())
        session.receive_send_payload('["abc"]')
        session.enqueue(OutgoingMessage("a"))
        session.enqueue(OutgoingMessage("b"))
    assert counters.overflowed == 2
    assert counters.bytes_received == 2 * len('["abc"]')


def test_a_payload_of_exactly_max_message_size_is_taken_and_one_byte_more_refused():
    session, listener = make_session(max_message_size=7)
    session.attach(Receiver())
    session.receive_send_payload('["abc"]')
    assert listener.events[-1] == ("message", "abc")
    with pytest.raises(MessageTooBig) as raised:
        session.receive_send_payload('["abcd"]')
    assert raised.value.message == "Message too big."


def test_send_requests_and_websocket_frames_are_decoded_by_their_own_rules():
    from fallback.exceptions import PayloadError

    session, listener = make_session()
    session.attach(Receiver())
    session.receive_websocket_payload('"lone"')  # a WebSocket frame may be one string
    assert listener.events[-1] == ("message", "lone")
    with pytest.raises(PayloadError):
        session.receive_send_payload('"lone"')  # a send body must be an array
    resumable, heard = resumable_session()
    resumable.attach(Receiver())
    resumable.receive_websocket_payload('"lone"')
    assert heard.events[-1] == ("message", "lone")
    with pytest.raises(PayloadError):
        resumable.receive_send_payload('"lone"')


def test_repeated_messages_are_counted_over_every_request():
    counters = Counters()
    from fallback.core.resume import ResumeState

    session = Session(
        SessionId("s"),
        Listener(),
        EMPTY_INFO,
        Settings(),
        "xhr",
        clock=FakeClock(),
        counters=counters,
        resume=ResumeState("c" * 20, 8, 1 << 20),
    )
    session.listener.session = session  # type: ignore[attr-defined]
    session.attach(Receiver())
    session.receive_send_payload('[{"seq": 0}, "a", "b"]')
    session.receive_send_payload('[{"seq": 0}, "a", "b"]')  # retried by the browser
    session.receive_send_payload('[{"seq": 1}, "b", "c"]')
    assert counters.repeated == 3


def test_the_heartbeat_is_not_due_at_once_after_a_receiver_attaches():
    clock = FakeClock()
    session, _ = make_session(clock=clock, heartbeat_delay=10)
    receiver = Receiver()
    session.attach(receiver)
    drain(session)
    clock.now += 9.9
    session.tick(clock.now)
    assert session.take_frame() is None and receiver.wakes == 0


def test_a_close_with_an_unknown_code_and_no_reason_has_an_empty_reason():
    session, _ = make_session()
    session.attach(Receiver())
    drain(session)
    session.close(4321)
    assert session.close_reason == ""
    assert drain(session) == ['c[4321,""]']


def test_a_heartbeat_due_for_a_receiver_that_left_is_not_sent_to_the_next():
    clock = FakeClock()
    session, _ = make_session(clock=clock, heartbeat_delay=1)
    first = Receiver()
    session.attach(first)
    drain(session)
    clock.now += 1
    session.tick(clock.now)  # a heartbeat is due for `first`...
    session.detach(first)  # ... which leaves before taking it
    session.attach(Receiver())
    assert session.take_frame() is None


def test_one_wake_per_batch_of_messages():
    session, _ = make_session()
    receiver = Receiver()
    session.attach(receiver)
    drain(session)
    for text in ("a", "b", "c"):
        session.enqueue(OutgoingMessage(text))
    assert receiver.wakes == 1
    drain(session)
    session.enqueue(OutgoingMessage("d"))
    assert receiver.wakes == 2


def test_a_resync_is_no_resume():
    session, _ = resumable_session()
    receiver = Receiver()
    session.attach(receiver)
    drain(session)
    session.enqueue(OutgoingMessage("m1"))
    drain(session)
    session.detach(receiver)
    assert session.resync(0)
    assert session.resume is not None and session.resume.resumes == 0


def test_a_resync_or_takeover_that_cannot_be_served_closes_with_its_reason():
    for attempt in ("resync", "take_over"):
        session, _ = resumable_session(buffer=1)
        receiver = Receiver()
        session.attach(receiver)
        drain(session)
        session.enqueue(OutgoingMessage("m1"))
        session.enqueue(OutgoingMessage("m2"))
        drain(session)
        session.detach(receiver)
        if attempt == "resync":
            session.resync(0)
        else:
            with pytest.raises(ResumeError):
                session.take_over(0, "xhr")
        assert (session.close_code, session.close_reason) == (
            CloseCode.RESUME_LOST,
            "Cannot resume: messages were dropped from a full buffer",
        ), attempt


def test_taking_over_a_connection_closed_with_an_empty_reason_says_so():
    session, _ = resumable_session()
    session.attach(Receiver())
    session.close(4002, "")
    with pytest.raises(ResumeError) as raised:
        session.take_over(0, "xhr")
    assert (raised.value.code, raised.value.reason) == (4002, "")


def test_a_takeover_drops_the_heartbeat_that_was_due_on_the_old_transport():
    clock = FakeClock()
    session, _ = resumable_session(heartbeat_delay=1)
    session._clock = clock  # type: ignore[misc]
    old = Receiver()
    session.attach(old)
    drain(session)
    clock.now += 5
    session.tick(clock.now)
    session.take_over(0, "xhr_streaming")
    session.attach(Receiver())
    frames = drain(session)
    assert [f.kind.name for f in frames] == ["OPEN", "CONNECTION_ID"]


def test_an_unframed_heartbeat_is_due_again_only_a_delay_later():
    clock = FakeClock()
    session = Session(
        None, Listener(), EMPTY_INFO, Settings(heartbeat_delay=1), "raw", framed=False, clock=clock
    )
    session.attach(Receiver())
    clock.now += 1
    session.tick(clock.now)
    assert session.take_heartbeat()
    session.tick(clock.now)
    assert not session.take_heartbeat()
    clock.now += 1
    session.tick(clock.now)
    assert session.take_heartbeat()


def test_attaching_makes_no_heartbeat_due_at_once():
    clock = FakeClock()
    session, _ = make_session(clock=clock, heartbeat_delay=10)
    receiver = Receiver()
    session.attach(receiver)
    session.tick(clock.now)
    assert receiver.wakes == 0


def test_a_takeover_switches_transport_and_starts_the_grace_period_again():
    session, _ = resumable_session(resume_grace=10)
    clock = FakeClock()
    session._clock = clock  # type: ignore[misc]
    receiver = Receiver()
    session.attach(receiver)
    drain(session)
    session.detach(receiver)
    clock.now += 8
    session.take_over(0, "eventsource")
    assert session.transport == "eventsource"
    clock.now += 9  # 17 s since the loss, 9 since the takeover
    assert not session.tick(clock.now)
    clock.now += 1
    assert session.tick(clock.now)
    assert session.close_code == CloseCode.RESUME_EXPIRED
