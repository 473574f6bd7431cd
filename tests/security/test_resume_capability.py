"""Resume ids are capabilities: never logged, replaced after every resume (the old one
is then refused with 3011), and optionally bound to the connection's IP address."""

from __future__ import annotations

import json

import pytest

from tests.security import raw
from tests.security.raw import XhrSession
from tests.support.wsclient import WSClient

UNKNOWN = 'c[3011,"Cannot resume: unknown connection"]'


def control(frame: str) -> dict:
    assert frame.startswith("r"), frame
    return json.loads(frame[1:])  # type: ignore[no-any-return]


def open_resumable(port: int, prefix: str = "/resume", source: str | None = None):
    """A new resumable connection over XHR polling: (session, its connection id)."""
    session = XhrSession(port, prefix, source)
    assert session.poll("fb_resume=1") == "o"
    first = control(session.poll("fb_resume=1"))
    assert first["resumed"] is False
    return session, first["cid"]


def resume(port: int, cid: str, seen: int, prefix: str = "/resume", source: str | None = None):
    """Resume `cid` on a new session: (session, the frame after the open frame)."""
    session = XhrSession(port, prefix, source)
    query = f"fb_resume={cid}.{seen}"
    assert session.poll(query) == "o"
    return session, session.poll(query)


def test_every_resume_hands_out_a_new_id_and_the_old_one_is_refused_afterwards(live):
    session, first = open_resumable(live.port)
    assert session.send('[{"seq": 0}, "one"]') == 204
    assert session.poll(f"fb_resume={first}.0") == 'a["one"]'
    # The transport drops; the client resumes on a new session with its id.
    again, answer = resume(live.port, first, 1)
    second = control(answer)
    assert second["resumed"] is True and second["seen"] == 1
    assert second["cid"] != first
    # The client goes on with the new id (it sends, it polls with it)...
    assert again.send('[{"seq": 1}, "two"]') == 204
    assert again.poll(f"fb_resume={second['cid']}.1") == 'a["two"]'
    # ... and the old id is worthless now: a copy of it (a log, a proxy) takes nothing.
    thief = XhrSession(live.port, "/resume")
    assert thief.poll(f"fb_resume={first}.0") == "o"
    assert thief.poll(f"fb_resume={first}.0") == UNKNOWN
    # The client's connection is untouched, and its new id resumes once more.
    assert again.send('[{"seq": 2}, "three"]') == 204
    assert again.poll(f"fb_resume={second['cid']}.2") == 'a["three"]'
    _, answer = resume(live.port, second["cid"], 3)
    third = control(answer)
    assert third["resumed"] is True and third["cid"] not in (first, second["cid"])


def test_the_old_id_is_refused_after_a_websocket_resume_too(live):
    old = WSClient.connect(live.port, "/resume/000/a1/websocket?fb_resume=1")
    assert old.recv_text() == "o"
    first = control(old.recv_text())["cid"]
    old.close()
    new = WSClient.connect(live.port, f"/resume/000/a2/websocket?fb_resume={first}.0")
    try:
        assert new.recv_text() == "o"
        second = control(new.recv_text())
        assert second["resumed"] is True and second["cid"] != first
        new.send_text('[{"seq": 0}, "here"]')  # the client is on the new id
        assert new.recv_text() == 'a["here"]'
        thief = WSClient.connect(live.port, f"/resume/000/a3/websocket?fb_resume={first}.0")
        assert thief.recv_text() == "o"
        assert thief.recv_text() == UNKNOWN
        thief.close()
        new.send_text('[{"seq": 1}, "still mine"]')
        assert new.recv_text() == 'a["still mine"]'
    finally:
        new.close()


def test_a_resume_answer_lost_in_transit_does_not_end_the_connection(live):
    _, first = open_resumable(live.port)
    # The resume's first poll brings the open frame; the one that would have brought the
    # new id is lost, and the client tries again with the id it has.
    lost = XhrSession(live.port, "/resume")
    assert lost.poll(f"fb_resume={first}.0") == "o"
    _, answer = resume(live.port, first, 0)
    assert control(answer)["resumed"] is True


def test_resume_ids_never_reach_the_log(live, log_lines):
    session, first = open_resumable(live.port)
    assert session.send('[{"seq": 0}, "one"]') == 204
    session.poll(f"fb_resume={first}.0&t=1")  # a poll carries the id in its URL
    resumed, answer = resume(live.port, first, 1)
    second = control(answer)["cid"]
    assert resumed.send('[{"seq": 1}, "two"]') == 204
    resumed.poll(f"fb%5Fresume={second}.1")  # the name percent-encoded: Tornado decodes it
    refused = XhrSession(live.port, "/resume")
    refused.poll("fb_resume=" + "x" * 24 + ".0")
    refused.poll("fb_resume=" + "x" * 24 + ".0")
    access = [line for line in log_lines.lines if "tornado.access" in line]
    assert any("fb_resume=[redacted]" in line for line in access), log_lines.text
    assert any("fb%5Fresume=[redacted]" in line for line in access), log_lines.text
    for secret in (first, second, "x" * 24):
        assert secret not in log_lines.text


def test_the_application_does_not_see_the_resume_id(live):
    session = XhrSession(live.port, "/probe")
    assert session.poll("fb_resume=1&room=7") == "o"
    frames = [session.poll("fb_resume=1&room=7") for _ in range(2)]
    assert 'a["[\\"room\\"]"]' in frames, frames


def test_resume_works_across_an_address_change_by_default(live):
    # Phones change networks: by default a connection resumes from a new address.
    _, cid = open_resumable(live.port, "/resume", source="127.0.0.1")
    _, answer = resume(live.port, cid, 0, "/resume", source="127.0.0.2")
    assert control(answer)["resumed"] is True


def test_resume_same_ip_refuses_another_address_and_spares_the_connection(live):
    _, cid = open_resumable(live.port, "/sameip", source="127.0.0.1")
    _, answer = resume(live.port, cid, 0, "/sameip", source="127.0.0.2")
    assert answer == UNKNOWN  # nothing tells the other address the connection exists
    _, answer = resume(live.port, cid, 0, "/sameip", source="127.0.0.1")
    assert control(answer)["resumed"] is True


@pytest.mark.parametrize("source", ["127.0.0.2"])
def test_loopback_aliases_are_usable_as_client_addresses(live, source):
    status, _, text = raw.http_request(live.port, "GET", "/resume", source=source)
    assert (status, text) == (200, "Welcome to SockJS!\n")
