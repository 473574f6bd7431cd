"""Resume on plain data: replay buffers, take-over, and the refusals."""

from __future__ import annotations

import json
import re

import pytest

from fallback.codes import CloseCode
from fallback.core.connection_info import EMPTY_INFO
from fallback.core.frames import OutgoingMessage, SessionId
from fallback.core.registry import SessionRegistry
from fallback.core.resume import ResumeState, parse_resume_request, redact_uri
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


# -- redaction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "logged"),
    [
        ("/e/1/s/xhr", "/e/1/s/xhr"),
        ("/e/1/s/xhr?t=1", "/e/1/s/xhr?t=1"),
        ("/e/1/s/xhr?fb_resume=1", "/e/1/s/xhr?fb_resume=1"),
        ("/e/1/s/xhr?fb_resume=" + "c" * 20 + ".3", "/e/1/s/xhr?fb_resume=[redacted]"),
        ("/x?t=1&fb_resume=" + "c" * 20 + ".3.1&c=f", "/x?t=1&fb_resume=[redacted]&c=f"),
        ("/x?fb%5Fresume=" + "c" * 20 + ".3", "/x?fb%5Fresume=[redacted]"),
        ("/x?fb_resume", "/x?fb_resume"),
        ("/x?fb_resumex=" + "c" * 20 + ".3", "/x?fb_resumex=" + "c" * 20 + ".3"),
        ("/x?fb_resume=a=b", "/x?fb_resume=[redacted]"),
    ],
)
def test_a_logged_uri_never_shows_a_connection_id(uri, logged):
    assert redact_uri(uri) == logged


# -- accounting: sent, acked, replay_bytes, the byte cap ------------------------------------


def test_the_replay_buffer_counts_what_it_holds_in_encoded_bytes():
    state = ResumeState("c" * 20, 10, 1 << 20)
    messages = [OutgoingMessage("é"), OutgoingMessage("ab"), OutgoingMessage("\n")]
    assert state.sent_out(messages) == 0
    assert (state.sent, state.acked, len(state.replay)) == (3, 0, 3)
    assert state.replay_bytes == sum(len(m.encoded) for m in messages) == 3 + 4 + 4
    state.acknowledge(1)
    assert (state.acked, state.confirmed, state.replay_bytes) == (1, 1, 8)
    state.acknowledge(1)  # the same count again changes nothing
    assert (state.acked, state.replay_bytes, len(state.replay)) == (1, 8, 2)
    state.acknowledge(0)  # an older count neither
    assert (state.acked, state.confirmed) == (1, 1)
    state.acknowledge(3)
    assert (state.acked, state.replay_bytes, list(state.replay)) == (3, 0, [])


def test_the_byte_cap_drops_the_oldest_messages_exactly_past_it():
    state = ResumeState("c" * 20, 100, 8)  # each '"abc"' is 5 bytes encoded
    assert state.sent_out([OutgoingMessage("ab")]) == 0  # 4 bytes
    assert state.sent_out([OutgoingMessage("cd")]) == 0  # 8 bytes: at the cap, kept
    assert (state.replay_bytes, state.acked) == (8, 0)
    assert state.sent_out([OutgoingMessage("e")]) == 1  # 11 bytes: the oldest goes
    assert [m.text for m in state.replay] == ["cd", "e"]
    assert (state.replay_bytes, state.acked, state.sent) == (7, 1, 3)


def test_the_count_cap_drops_the_oldest_messages_exactly_past_it():
    state = ResumeState("c" * 20, 2, 1 << 20)
    assert state.sent_out([OutgoingMessage("a"), OutgoingMessage("b")]) == 0
    assert state.sent_out([OutgoingMessage("c"), OutgoingMessage("d")]) == 2
    assert [m.text for m in state.replay] == ["c", "d"]
    assert (state.acked, state.sent, state.replay_bytes) == (2, 4, 6)


def test_a_rewind_hands_back_the_unacknowledged_messages_and_empties_the_buffer():
    state = ResumeState("c" * 20, 10, 1 << 20)
    state.sent_out([OutgoingMessage(t) for t in ("a", "b", "c")])
    again, held = state.rewind(1)
    assert ([m.text for m in again], held) == (["b", "c"], 0)
    assert (state.sent, state.acked, state.replay_bytes, state.requeued) == (1, 1, 0, 2)
    assert state.resumes == 1 and not state.replay
    state.sent_out(again)  # they go out again
    assert (state.sent, state.requeued, state.replay_bytes) == (3, 0, 6)
    again, _ = state.rewind(3, counts_as_resume=False)
    assert again == [] and state.resumes == 1


def test_a_rewind_to_exactly_what_was_acked_or_sent_is_possible():
    state = ResumeState("c" * 20, 1, 1 << 20)
    state.sent_out([OutgoingMessage("a"), OutgoingMessage("b")])  # "a" dropped: acked 1
    assert [m.text for m in state.rewind(1)[0]] == ["b"]
    state = ResumeState("c" * 20, 10, 1 << 20)
    state.sent_out([OutgoingMessage("a")])
    assert state.rewind(1) == ([], 0)


def test_the_client_seeing_one_more_than_was_requeued_is_refused():
    state = ResumeState("c" * 20, 10, 1 << 20)
    state.sent_out([OutgoingMessage("a"), OutgoingMessage("b")])
    state.rewind(0)
    assert state.requeued == 2
    with pytest.raises(ResumeError):
        state.rewind(3)
    again, held = state.rewind(2)
    assert (again, held) == ([], 2)
    assert (state.sent, state.acked, state.confirmed, state.requeued) == (2, 2, 2, 0)


def test_acks_are_due_after_exactly_32_client_messages():
    state = ResumeState("c" * 20, 10, 1 << 20)
    from fallback.core.payloads import ResumablePayload

    _, _, ack = state.receive(ResumablePayload(["m"] * 31))
    assert ack is None and state.ack_pending and not state.ack_due
    _, _, ack = state.receive(ResumablePayload(["m"]))
    assert ack == 'r{"ack":32}' and state.reported == 32 and not state.ack_pending
    assert state.heartbeat() == "h"
    state.receive(ResumablePayload(["m"]))
    assert state.heartbeat() == 'r{"ack":33}' and state.heartbeat() == "h"


# -- the shutdown (1012) acknowledgement ----------------------------------------------------


def test_a_restart_tells_a_resumable_client_exactly_what_arrived_before_closing():
    session, _ = resumable()
    session.attach(Receiver())
    frames(session)
    session.receive_send_payload('["c1", "c2", "c3"]')
    session.close(CloseCode.SERVICE_RESTART, "Server restarting, reconnect")
    assert frames(session) == ['r{"ack":3}', 'c[1012,"Server restarting, reconnect"]']
    assert session.resume.reported == 3


def test_other_closes_send_no_final_ack():
    session, _ = resumable()
    session.attach(Receiver())
    frames(session)
    session.receive_send_payload('["c1"]')
    session.close(CloseCode.GO_AWAY)
    assert frames(session) == ['c[3000,"Go away!"]']


def test_a_plain_session_closed_for_a_restart_sends_just_the_close_frame():
    listener = Listener()
    plain = Session(SessionId("p"), listener, EMPTY_INFO, Settings(), "xhr", clock=FakeClock())
    listener.session = plain
    plain.attach(Receiver())
    plain.take_frame()
    plain.close(CloseCode.SERVICE_RESTART)
    assert frames(plain) == ['c[1012,"Server restarting, reconnect"]']


# -- the client's goodbye -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "closed_with"),
    [(1000, 1000), (1001, 1001), (3000, 3000), (4999, 4999), (1002, 1000), (2999, 1000)],
)
def test_the_clients_goodbye_closes_with_a_code_a_browser_may_send(code, closed_with):
    session, listener = resumable()
    session.attach(Receiver())
    frames(session)
    session.receive_send_payload(json.dumps(["last", {"close": [code, "bye"]}]))
    assert listener.events[-2:] == [("message", "last"), ("close", None)]
    assert (session.close_code, session.close_reason) == (closed_with, "bye")


def test_the_clients_goodbye_reason_is_cut_to_123_characters():
    session, _ = resumable()
    session.attach(Receiver())
    frames(session)
    session.receive_websocket_payload(json.dumps([{"close": [4000, "x" * 124 + "y"]}]))
    assert session.close_reason == "x" * 123


# -- resync: a later receiving request of the same session ----------------------------------


def test_resync_sends_again_what_a_dead_poll_carried():
    session, _ = resumable()
    receiver = Receiver()
    session.attach(receiver)
    frames(session)
    for text in ("m1", "m2", "m3"):
        session.enqueue(OutgoingMessage(text))
    assert messages_in(frames(session)) == ["m1", "m2", "m3"]
    session.detach(receiver)  # the poll ended; its response never arrived
    assert session.resync_request(f"{session.resume.cid}.1") is True
    assert session.queued == 2
    session.attach(Receiver())
    assert messages_in(frames(session)) == ["m2", "m3"]


def test_resync_is_ignored_while_a_receiver_is_attached_or_for_another_id():
    session, _ = resumable()
    receiver = Receiver()
    session.attach(receiver)
    frames(session)
    session.enqueue(OutgoingMessage("m1"))
    frames(session)
    assert session.resync(0) is True and session.resync_request(f"{session.resume.cid}.0")
    assert session.queued == 0
    session.detach(receiver)
    assert session.resync_request("d" * 20 + ".0") is True  # not this connection's
    assert session.resync_request("garbage") is True
    assert session.resync_request(None) is True
    assert session.queued == 0


def test_a_stale_resync_request_is_refused():
    session, _ = resumable()
    receiver = Receiver()
    session.attach(receiver)
    frames(session)
    session.enqueue(OutgoingMessage("m1"))
    session.enqueue(OutgoingMessage("m2"))
    frames(session)
    session.receive_send_payload('[{"ack": 2}]')
    session.detach(receiver)
    assert session.resync_request(f"{session.resume.cid}.1") is False
    assert session.state is SessionState.OPEN and session.queued == 0


def test_resync_to_messages_a_full_buffer_dropped_closes_with_3010():
    session, listener = resumable(buffer=1)
    receiver = Receiver()
    session.attach(receiver)
    frames(session)
    session.enqueue(OutgoingMessage("m1"))
    session.enqueue(OutgoingMessage("m2"))
    frames(session)
    session.detach(receiver)
    assert session.resync(0) is True
    assert session.close_code == CloseCode.RESUME_LOST
    assert listener.events[-1] == ("close", None)
    assert session.resync(0) is True  # closed: nothing left to resync


def test_a_resync_request_with_the_new_id_voids_the_old_one():
    session, _ = resumable()
    receiver = Receiver()
    session.attach(receiver)
    frames(session)
    session.detach(receiver)
    session.take_over(0, "xhr", presented="c" * 20)
    session.attach(receiver)
    frames(session)  # the new id went out
    session.detach(receiver)
    assert session.resume.accepts("c" * 20)
    assert session.resync_request("c" * 20 + ".0") is True
    assert session.resume.accepts("c" * 20)  # the old id does not confirm the new one
    assert session.resync_request(f"{session.resume.cid}.0") is True
    assert not session.resume.accepts("c" * 20)


def test_a_plain_session_has_nothing_to_resync():
    listener = Listener()
    plain = Session(SessionId("p"), listener, EMPTY_INFO, Settings(), "xhr", clock=FakeClock())
    assert plain.resync(5) is True and plain.resync_request("c" * 20 + ".5") is True
    plain.client_heard()  # nothing to confirm


def test_a_closed_connection_cannot_be_taken_over():
    session, _ = resumable()
    session.attach(Receiver())
    frames(session)
    session.close(4002, "done")
    with pytest.raises(ResumeError) as refused:
        session.take_over(0, "xhr")
    assert (refused.value.code, refused.value.reason) == (4002, "done")


# -- what mutation testing found untested ---------------------------------------------------


def test_connection_ids_are_144_random_bits_in_24_url_safe_characters():
    from fallback.core.resume import new_connection_id

    ids = {new_connection_id() for _ in range(50)}
    assert len(ids) == 50
    for cid in ids:
        assert len(cid) == 24 and re.fullmatch(r"[A-Za-z0-9_-]+", cid)
        assert parse_resume_request(cid + ".0") == (cid, 0, None)


def test_an_empty_id_is_no_connections_before_or_after_a_resume():
    state = ResumeState("c" * 20, 10, 1 << 20)
    assert not state.accepts("")
    state.rotate("c" * 20)
    state.announced = True
    state.confirm()
    assert not state.accepts("") and not state.accepts("c" * 20)
    assert state.accepts(state.cid)


def test_a_takeover_that_names_no_id_keeps_the_current_one_good_until_confirmed():
    state = ResumeState("c" * 20, 10, 1 << 20)
    state.take_over(0, None, None)
    assert state.cid != "c" * 20
    assert state.accepts("c" * 20) and state.previous == "c" * 20


def test_a_payload_without_seq_repeats_nothing():
    from fallback.core.payloads import ResumablePayload

    state = ResumeState("c" * 20, 10, 1 << 20)
    assert state.receive(ResumablePayload(["a", "b"])) == (["a", "b"], 0, None)
    assert state.receive(ResumablePayload([], seq=0)) == ([], 0, None)
    # the client had sent 1 before these three: the first of them (its 2nd) arrived
    assert state.receive(ResumablePayload(["b", "c", "d"], seq=1)) == (["c", "d"], 1, None)
    assert state.received == 4


def test_messages_that_claim_to_follow_missing_ones_are_refused_by_name():
    from fallback.core.payloads import ResumablePayload
    from fallback.exceptions import PayloadError

    state = ResumeState("c" * 20, 10, 1 << 20)
    with pytest.raises(PayloadError) as raised:
        state.receive(ResumablePayload(["a"], seq=1))
    assert raised.value.message == "Messages out of sequence."


def test_a_resume_past_a_full_buffer_says_why_it_failed():
    state = ResumeState("c" * 20, 1, 1 << 20)
    state.sent_out([OutgoingMessage("a"), OutgoingMessage("b")])
    with pytest.raises(ResumeError) as raised:
        state.rewind(0)
    assert (raised.value.code, raised.value.reason) == (
        CloseCode.RESUME_LOST,
        "Cannot resume: messages were dropped from a full buffer",
    )


def test_every_counted_rewind_is_one_more_resume():
    state = ResumeState("c" * 20, 10, 1 << 20)
    for expected in (1, 2, 3):
        state.rewind(0)
        assert state.resumes == expected


def test_a_rewind_to_everything_sent_empties_the_buffer():
    state = ResumeState("c" * 20, 10, 1 << 20)
    state.sent_out([OutgoingMessage("a"), OutgoingMessage("b")])
    assert state.rewind(2) == ([], 0)
    assert (list(state.replay), state.replay_bytes, state.acked, state.requeued) == ([], 0, 2, 0)


def test_a_client_holding_one_requeued_message_skips_just_that_one():
    state = ResumeState("c" * 20, 10, 1 << 20)
    state.sent_out([OutgoingMessage("a"), OutgoingMessage("b")])
    state.rewind(0)
    assert state.rewind(1) == ([], 1)
    assert (state.sent, state.requeued) == (1, 1)


def test_a_second_rewind_before_anything_went_out_keeps_the_requeued_count():
    state = ResumeState("c" * 20, 10, 1 << 20)
    state.sent_out([OutgoingMessage(t) for t in ("a", "b", "c")])
    state.rewind(1)
    assert state.rewind(1) == ([], 0)
    assert state.requeued == 2  # b and c are still at the head of the queue
    assert state.rewind(3) == ([], 2)


def test_a_fresh_connection_has_nothing_requeued_and_sent_nothing():
    state = ResumeState("c" * 20, 10, 1 << 20)
    assert (state.sent, state.acked, state.requeued, state.replay_bytes) == (0, 0, 0, 0)
    with pytest.raises(ResumeError):
        state.rewind(1)  # one message seen of none sent


def test_each_message_sent_again_counts_one_requeued_message_off():
    state = ResumeState("c" * 20, 10, 1 << 20)
    state.sent_out([OutgoingMessage(t) for t in ("a", "b", "c", "d")])
    again, _ = state.rewind(1)
    assert state.requeued == 3
    state.sent_out(again[:1])
    assert state.requeued == 2
    state.sent_out(again[1:])
    assert state.requeued == 0


@pytest.mark.parametrize(
    "uri",
    [
        "/x?a=1?fb_resume=" + "c" * 20 + ".3",  # Tornado reads this as the argument a
        "/x?a=1&b=2",
        "/x?",
    ],
)
def test_a_uri_without_an_fb_resume_argument_is_logged_as_it_is(uri):
    assert redact_uri(uri) == uri
