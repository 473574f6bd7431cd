"""The behaviours every SockJS transport must share, run over each of them."""

from __future__ import annotations

import time

import pytest

from tests.support import http
from tests.support.sockjs import (
    ALL_TRANSPORTS,
    HTTP_TRANSPORTS,
    STREAMING,
    client_for,
    decode_close,
    decode_messages,
)

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(params=ALL_TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return request.param


def test_session_opens_with_open_frame(live, transport):
    client = client_for(transport, live.url + "/echo")
    try:
        assert client.next_frame() == "o"
    finally:
        client.close()


def test_messages_echo_in_order(live, transport):
    client = client_for(transport, live.url + "/echo")
    try:
        assert client.next_frame() == "o"
        sent = [f"message {i} ✓" for i in range(60)]
        client.send_in_batches(sent, 7)
        assert client.receive_messages(len(sent)) == sent
    finally:
        client.close()


def test_unicode_survives_the_round_trip(live, transport):
    client = client_for(transport, live.url + "/echo")
    tricky = "\u2028 \u2029 \ufeff \x00 \ud7ff 😀 \u200e </script> \"'\\"
    try:
        assert client.next_frame() == "o"
        client.send(tricky)
        assert client.receive_messages(1) == [tricky]
    finally:
        client.close()


def test_close_from_server_sends_close_frame_and_calls_on_close(live, transport, events):
    client = client_for(transport, live.url + "/recorded")
    try:
        assert client.next_frame() == "o"
        client.send("close")
        assert decode_close(client.next_data_frame()) == (4000, "asked to close")
        events.wait_for(lambda ev: any(e[0] == "close" for e in ev))
        assert events.events("close") == [("close", transport, (4000, "asked to close"))]
    finally:
        client.close()


def test_messages_sent_before_close_are_delivered_before_the_close_frame(live, transport):
    client = client_for(transport, live.url + "/recorded")
    try:
        assert client.next_frame() == "o"
        client.send("burst-then-close")
        messages: list[str] = []
        while True:
            frame = client.next_data_frame()
            if frame.startswith("c"):
                break
            messages.extend(decode_messages(frame))
        assert messages == [f"burst {i}" for i in range(5)]
        assert decode_close(frame) == (3000, "Go away!")
    finally:
        client.close()


def test_close_in_on_open_rejects_without_on_close(live, transport, events):
    client = client_for(transport, live.url + "/close")
    try:
        assert client.next_frame() == "o"
        assert decode_close(client.next_frame()) == (3000, "Go away!")
    finally:
        client.close()
    events.wait_for(lambda ev: ("open", "close-on-open", None) in ev)
    assert events.events("close") == []


def test_returning_false_from_on_open_rejects(live, transport, events):
    client = client_for(transport, live.url + "/reject")
    try:
        assert client.next_frame() == "o"
        assert decode_close(client.next_frame()) == (3001, "Connection rejected")
        if transport == "websocket":
            with pytest.raises(EOFError):
                client.next_frame(timeout=2)
        else:
            # The session refuses messages: it is closed.
            assert client.send("hello", check=False).status == 404
    finally:
        client.close()
    assert events.events("message") == []
    assert events.events("close") == []


def test_heartbeat_arrives_when_idle(live, transport):
    client = client_for(transport, live.url + "/heartbeat")
    try:
        assert client.next_frame() == "o"
        assert client.next_frame(timeout=3) == "h"
    finally:
        client.close()


@pytest.mark.expect_errors
def test_application_exception_closes_only_that_session(live, transport, events):
    victim = client_for(transport, live.url + "/recorded")
    bystander = client_for(transport, live.url + "/recorded")
    try:
        assert victim.next_frame() == "o"
        assert bystander.next_frame() == "o"
        victim.send("boom")
        assert decode_close(victim.next_data_frame()) == (1011, "Internal server error")
        bystander.send("still here")
        assert bystander.receive_messages(1) == ["still here"]
    finally:
        victim.close()
        bystander.close()


@pytest.mark.parametrize("transport", HTTP_TRANSPORTS)
def test_second_receiver_gets_2010_and_session_survives(live, transport):
    first = client_for("xhr_streaming", live.url + "/echo")
    second = client_for(transport, live.url + "/echo", first.session_url)
    try:
        assert first.next_frame() == "o"
        assert decode_close(second.next_frame()) == (2010, "Another connection still open")
        first.send("after 2010")
        assert first.receive_messages(1) == ["after 2010"]
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("transport", HTTP_TRANSPORTS)
def test_session_expires_after_disconnect_delay(live, transport, events):
    client = client_for(transport, live.url + "/expire")
    try:
        assert client.next_frame() == "o"
        if transport in STREAMING:
            client.close()  # an abrupt end: interrupted at once
        events.wait_closed(client.session_url.rsplit("/", 1)[1])
        # The id is free again: the same URL now opens a new session.
        again = client_for(transport, live.url + "/expire", client.session_url)
        assert again.next_frame() in ("o", 'c[1002,"Connection interrupted"]')
        again.close()
    finally:
        client.close()


@pytest.mark.parametrize("transport", STREAMING)
def test_streaming_response_ends_at_response_limit_and_session_continues(live, transport):
    client = client_for(transport, live.url + "/limit")
    try:
        assert client.next_frame() == "o"
        sent = [f"{i:03d}" + "x" * 60 for i in range(20)]
        for message in sent:
            client.send(message)
        assert client.receive_messages(len(sent)) == sent
        assert client.requests > 1, "the response should have ended at response_limit"
    finally:
        client.close()


def test_polling_interrupted_session_answers_1002(live):
    session_url = live.url + "/echo/000/interrupted-poll"
    assert http.post(session_url + "/xhr").text == "o\n"
    pending = http.raw_exchange(  # a poll that waits: nothing is queued
        "127.0.0.1",
        live.port,
        b"POST /echo/000/interrupted-poll/xhr HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    )
    time.sleep(0.2)  # let the poll attach before it is dropped (not a result wait)
    pending.close()
    deadline = time.monotonic() + 5
    while True:
        body = http.post(session_url + "/xhr", timeout=2).text
        if body != 'c[2010,"Another connection still open"]\n':
            break
        assert time.monotonic() < deadline, "abort was never noticed"
    assert body == 'c[1002,"Connection interrupted"]\n'
