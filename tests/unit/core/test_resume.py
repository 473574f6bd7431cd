"""Resume on plain data: replay buffers, take-over, and the refusals."""

from __future__ import annotations

import json

import pytest

from fallback.codes import CloseCode
from fallback.core.connection_info import EMPTY_INFO
from fallback.core.frames import OutgoingMessage, SessionId
from fallback.core.registry import SessionRegistry
from fallback.core.resume import ResumeState, parse_resume_request
from fallback.core.session import Session
from fallback.core.settings import Settings
from fallback.core.states import SessionState
from fallback.exceptions import ResumeError
from tests.unit.helpers import FakeClock, Listener, Receiver


def resumable(clock=None, buffer=1024, buffer_bytes=1 << 20, **settings):
    listener = Listener()
    session = Session(
        SessionId("s1"),
        listener,
        EMPTY_INFO,
        Settings(**settings),
        "xhr",
        clock=clock or FakeClock(),
        resume=ResumeState("c" * 20, buffer, buffer_bytes),
    )
    listener.session = session
    session.announce_resumable()
    return session, listener


def frames(session):
    out = []
    while (frame := session.take_frame()) is not None:
        out.append(frame)
        if frame.startswith("c"):
            break
    return out


def messages_in(frame_list):
    result = []
    for frame in frame_list:
        if frame.startswith("a"):
            result += json.loads(frame[1:])
    return result


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        (None, False),
        ("", False),
        ("1", True),
        ("x" * 20 + ".5", ("x" * 20, 5, None)),
        ("short.5", False),
        ("x" * 20 + ".-1", False),
        ("x" * 20 + ".5.6.7", False),
    ],
)
def test_resume_parameter(value, parsed):
    assert parse_resume_request(value) == parsed


def test_new_resumable_session_tells_the_client_its_id_after_the_open_frame():
    session, _ = resumable()
    session.attach(Receiver())
    session.enqueue(OutgoingMessage("hello"))
    assert frames(session) == [
        "o",
        'r{"cid":"cccccccccccccccccccc","resumed":false,"seen":0}',
        'a["hello"]',
    ]


def test_interrupted_transport_suspends_instead_of_closing():
    clock = FakeClock()
    session, listener = resumable(clock, resume_grace=10)
    receiver = Receiver()
    session.attach(receiver)
    frames(session)
    session.detach(receiver, interrupted=True)
    assert session.state is SessionState.OPEN
    clock.now += 9
    assert not session.tick(clock.now)
    assert ("close", None) not in listener.events
    clock.now += 2
    assert session.tick(clock.now)
    assert session.close_code == CloseCode.RESUME_EXPIRED
    assert listener.events[-1] == ("close", None)


def test_take_over_replays_exactly_what_the_client_missed_then_new_messages():
    session, listener = resumable()
    first = Receiver()
    session.attach(first)
    for text in ("m1", "m2", "m3"):
        session.enqueue(OutgoingMessage(text))
    assert messages_in(frames(session)) == ["m1", "m2", "m3"]
    session.receive_send_payload('["c1", "c2"]')
    session.detach(first, interrupted=True)
    session.enqueue(OutgoingMessage("m4"))  # sent while the client was away
    assert session.take_over(1, "xhr_streaming") is None  # the client saw m1 only
    session.attach(Receiver())
    out = frames(session)
    assert out[0] == "o"
    assert json.loads(out[1][1:]) == {"cid": session.resume.cid, "resumed": True, "seen": 2}
    assert session.resume.cid != "c" * 20  # a fresh id after every resume
    assert messages_in(out) == ["m2", "m3", "m4"]
    assert [e for e in listener.events if e[0] == "open"] == [("open", None)], "no second on_open"


def test_take_over_returns_the_receiver_it_replaces():
    session, _ = resumable()
    old = Receiver()
    session.attach(old)
    frames(session)
    assert session.take_over(0, "websocket") is old
    assert not session.owns(old)


def test_acks_free_the_replay_buffer():
    session, _ = resumable()
    session.attach(Receiver())
    for n in range(10):
        session.enqueue(OutgoingMessage(str(n)))
    frames(session)
    assert len(session.resume.replay) == 10
    session.receive_send_payload('[{"ack": 7}]')
    assert len(session.resume.replay) == 3
    session.receive_websocket_payload('["x", {"ack": 99}]')  # beyond what was sent: capped
    assert len(session.resume.replay) == 0


def test_server_acks_every_32_client_messages_and_on_heartbeats():
    clock = FakeClock()
    session, _ = resumable(clock, heartbeat_delay=5)
    receiver = Receiver()
    session.attach(receiver)
    frames(session)
    session.receive_send_payload(json.dumps([str(n) for n in range(31)]))
    assert session.take_frame() is None
    session.receive_send_payload('["31"]')
    assert receiver.wakes >= 1
    assert session.take_frame() == 'r{"ack":32}'
    assert session.take_frame() is None
    session.receive_send_payload('["32"]')
    frames(session)
    clock.now += 6
    session.tick(clock.now)
    assert session.take_frame() == 'r{"ack":33}', "a heartbeat carries the pending ack"
    clock.now += 6
    session.tick(clock.now)
    assert session.take_frame() == "h"


def test_resume_fails_when_the_buffer_dropped_what_the_client_needs():
    session, listener = resumable(buffer=2)
    receiver = Receiver()
    session.attach(receiver)
    for n in range(5):
        session.enqueue(OutgoingMessage(str(n)))
    frames(session)
    session.detach(receiver, interrupted=True)
    with pytest.raises(ResumeError) as refused:
        session.take_over(1, "xhr")
    assert refused.value.code == CloseCode.RESUME_LOST
    assert session.close_code == CloseCode.RESUME_LOST
    assert listener.events[-1] == ("close", None)


def test_resume_fails_when_the_client_claims_more_than_was_sent():
    session, _ = resumable()
    session.attach(Receiver())
    frames(session)
    with pytest.raises(ResumeError):
        session.take_over(5, "xhr")


def test_a_resume_counting_messages_that_went_back_in_the_queue_skips_them():
    # m1..m3 went out in a response; the client resumed saying it had m1 (the response
    # was still on its way), so m2 and m3 went back in the queue. Then the response
    # arrived after all, and the client's next request counts 3: that is not a lie, the
    # queued copies are skipped, and nothing is sent twice.
    session, _ = resumable()
    receiver = Receiver()
    session.attach(receiver)
    for text in ("m1", "m2", "m3"):
        session.enqueue(OutgoingMessage(text))
    assert messages_in(frames(session)) == ["m1", "m2", "m3"]
    session.detach(receiver, interrupted=True)
    session.take_over(1, "xhr", attempt=1)
    session.enqueue(OutgoingMessage("m4"))
    assert session.queued == 3
    session.take_over(3, "xhr", attempt=2)
    session.attach(Receiver())
    assert messages_in(frames(session)) == ["m4"]
    assert session.resume.sent == 4
    assert session.queued_bytes == 0


def test_a_resync_counting_requeued_messages_skips_them_too():
    session, _ = resumable()
    receiver = Receiver()
    session.attach(receiver)
    for text in ("m1", "m2", "m3"):
        session.enqueue(OutgoingMessage(text))
    frames(session)
    session.detach(receiver, interrupted=True)
    session.take_over(0, "xhr")
    assert session.resync(2)
    session.attach(Receiver())
    assert messages_in(frames(session)) == ["m3"]


def test_a_count_beyond_what_was_ever_sent_still_fails_after_a_rewind():
    session, _ = resumable()
    receiver = Receiver()
    session.attach(receiver)
    for text in ("m1", "m2"):
        session.enqueue(OutgoingMessage(text))
    frames(session)
    session.detach(receiver, interrupted=True)
    session.take_over(0, "xhr")
    session.enqueue(OutgoingMessage("never sent"))
    with pytest.raises(ResumeError) as refused:
        session.take_over(3, "xhr")
    assert refused.value.reason == "Cannot resume: the client saw messages never sent"


def test_control_objects_other_than_acks_are_broken_json():
    from fallback.exceptions import PayloadError

    session, _ = resumable()
    session.attach(Receiver())
    for payload in ('[{"nack": 1}]', '[{"ack": -1}]', '[{"ack": true}]', "[[1]]"):
        with pytest.raises(PayloadError):
            session.receive_send_payload(payload)


def test_plain_sessions_still_refuse_objects():
    from fallback.exceptions import PayloadError

    listener = Listener()
    session = Session(SessionId("p"), listener, EMPTY_INFO, Settings(), "xhr", clock=FakeClock())
    session.attach(Receiver())
    with pytest.raises(PayloadError):
        session.receive_send_payload('[{"ack": 1}]')


def test_refused_session_answers_open_then_close():
    session = Session(SessionId("r"), Listener(), EMPTY_INFO, Settings(), "xhr", clock=FakeClock())
    session.refuse(3011, "Cannot resume: unknown connection")
    session.attach(Receiver())
    assert frames(session) == ["o", 'c[3011,"Cannot resume: unknown connection"]']


def test_a_repeated_send_request_is_not_delivered_twice():
    session, listener = resumable()
    session.attach(Receiver())
    session.receive_send_payload('[{"seq": 0}, "a", "b"]')
    session.receive_send_payload('[{"seq": 0}, "a", "b"]')  # the browser retried the POST
    session.receive_send_payload('[{"seq": 1}, "b", "c"]')  # partly repeated
    assert [e[1] for e in listener.events if e[0] == "message"] == ["a", "b", "c"]
    assert session.resume.received == 3


def test_a_send_from_the_future_is_refused():
    from fallback.exceptions import PayloadError

    session, _ = resumable()
    session.attach(Receiver())
    with pytest.raises(PayloadError):
        session.receive_send_payload('[{"seq": 5}, "x"]')
    assert session.resume.received == 0


def _delivered(session, count):
    """`count` messages sent, received and acknowledged by the client."""
    receiver = Receiver()
    session.attach(receiver)
    frames(session)
    for n in range(count):
        session.enqueue(OutgoingMessage(f"m{n}"))
    frames(session)
    session.receive_send_payload(json.dumps([{"ack": count}]))
    session.detach(receiver)


def test_a_stale_resume_request_is_refused_and_the_connection_lives_on():
    # A receiving request held up in the network arrives after the client, which has
    # since acknowledged more, resumed: its count is below what the client confirmed.
    session, listener = resumable()
    _delivered(session, 5)
    with pytest.raises(ResumeError) as raised:
        session.take_over(3, "xhr")
    assert raised.value.code == CloseCode.ANOTHER_CONNECTION
    assert session.state is SessionState.OPEN
    assert ("close", None) not in listener.events
    # The client's own resume, with its real count, still works.
    session.take_over(5, "xhr")
    assert session.state is SessionState.OPEN


def test_a_stale_poll_of_the_same_session_does_not_rewind_or_close_it():
    session, _ = resumable()
    _delivered(session, 5)
    assert session.resync(2) is False
    assert session.state is SessionState.OPEN
    assert session.resync(5) is True


def test_a_count_below_what_a_full_buffer_dropped_still_cannot_resume():
    session, _ = resumable(buffer=2)
    receiver = Receiver()
    session.attach(receiver)
    frames(session)
    for n in range(5):
        session.enqueue(OutgoingMessage(f"m{n}"))
        frames(session)
    session.detach(receiver)
    with pytest.raises(ResumeError) as raised:
        session.take_over(1, "xhr")
    assert raised.value.code == CloseCode.RESUME_LOST
    assert session.state is SessionState.CLOSED


# -- connection ids are capabilities ---------------------------------------------------------


def resume_in(registry, session, client_seen=0):
    """What `Service` does on a resume: take over with the id presented, then re-index."""
    resume = session.resume
    presented, before = resume.cid, (resume.cid, resume.previous)
    session.take_over(client_seen, "xhr", presented)
    registry.rekey(session, before)
    return presented


def test_every_resume_gives_the_connection_a_new_id_and_the_old_one_dies_once_used():
    registry = SessionRegistry()
    session, _ = resumable()
    registry.add(session)
    session.attach(Receiver())
    frames(session)
    old = resume_in(registry, session)
    new = session.resume.cid
    assert new != old and len(new) >= 24
    # Until the client shows it got the new id, the old one still resumes: an answer lost
    # in transit must not end the connection.
    assert registry.resumable(old) is session and registry.resumable(new) is session
    session.receive_send_payload('[{"seq": 0}, "too early"]')  # before the id went out
    assert registry.resumable(old) is session
    session.attach(Receiver())
    out = frames(session)
    assert json.loads(out[1][1:])["cid"] == new
    session.receive_send_payload('[{"seq": 1}, "hello"]')  # the client is on the new id
    assert registry.resumable(old) is None
    assert registry.resumable(new) is session


def test_a_pong_or_a_poll_with_the_new_id_also_voids_the_old_one():
    registry = SessionRegistry()
    session, _ = resumable()
    registry.add(session)
    old = resume_in(registry, session)
    session.client_heard()  # before the announcement: nothing changes
    assert registry.resumable(old) is session
    session.attach(Receiver())
    frames(session)
    session.client_heard()
    assert registry.resumable(old) is None


def test_resuming_again_with_the_old_id_rotates_again_and_keeps_two_ids_at_most():
    registry = SessionRegistry()
    session, _ = resumable()
    registry.add(session)
    first = session.resume.cid
    resume_in(registry, session)
    lost = session.resume.cid  # this answer never reached the client
    session.take_over(0, "xhr", first)
    registry.rekey(session, (lost, first))
    latest = session.resume.cid
    assert registry.resumable(lost) is None  # never seen by the client: void at once
    assert registry.resumable(first) is session and registry.resumable(latest) is session
    assert len(registry._resumable) == 2
    registry.remove(session)
    assert registry.resumable(first) is None and registry.resumable(latest) is None
    assert registry.tombstone(latest) is not None and registry.tombstone(first) is not None


def test_a_resume_attempt_older_than_the_one_that_took_over_is_refused_alone():
    # Attempts 1 and 2 were held up in the network with the same count; 2 arrives first and
    # takes over, then 1: it must not take the connection back (and rewind its counts).
    session, listener = resumable()
    _delivered(session, 3)
    session.take_over(3, "websocket", attempt=2)
    session.enqueue(OutgoingMessage("after"))
    frames(session)  # the client got "after" on attempt 2's transport: 4 in all
    with pytest.raises(ResumeError) as raised:
        session.take_over(3, "websocket", attempt=1)
    assert raised.value.code == CloseCode.ANOTHER_CONNECTION
    assert session.resume.sent == 4
    # The client's next attempt, with its real count, resumes.
    session.take_over(4, "websocket", attempt=3)
    assert session.state is SessionState.OPEN
    assert ("close", None) not in listener.events


def test_the_same_attempt_again_may_take_over_again():
    # A browser may send a request again after a reset (the same URL, so the same attempt).
    session, _ = resumable()
    _delivered(session, 1)
    session.take_over(1, "htmlfile", attempt=4)
    session.take_over(1, "htmlfile", attempt=4)
    assert session.state is SessionState.OPEN


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("x" * 20 + ".5.7", ("x" * 20, 5, 7)),
        ("x" * 20 + ".5", ("x" * 20, 5, None)),
        ("x" * 20 + ".5.", False),
        ("x" * 20 + ".5.-1", False),
    ],
)
def test_resume_parameter_with_an_attempt_number(value, parsed):
    assert parse_resume_request(value) == parsed


def test_an_unnumbered_takeover_after_a_numbered_one_is_stale():
    # A receiving request of the session the connection left (it carries <cid>.<n> and no
    # attempt number), held up in the network, must not take the connection back.
    session, _ = resumable()
    _delivered(session, 2)
    session.take_over(2, "eventsource", attempt=1)
    with pytest.raises(ResumeError) as raised:
        session.take_over(2, "eventsource")
    assert raised.value.code == CloseCode.ANOTHER_CONNECTION
    assert session.state is SessionState.OPEN


def test_a_client_that_numbers_nothing_still_resumes():
    session, _ = resumable()
    _delivered(session, 2)
    session.take_over(2, "xhr")
    session.take_over(2, "xhr")
    assert session.state is SessionState.OPEN
