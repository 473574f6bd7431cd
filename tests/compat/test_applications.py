"""sockjs-tornado applications behave the same on the reference and on fallback.

Each test runs on both implementations (`impl`) and, where it says so, over WebSocket,
xhr-streaming and xhr-polling. Where the two differ because sockjs-tornado is wrong, the
test asserts fallback's behaviour and states the reference's (see test_reference_bugs.py
for the cases that exist only to pin those bugs down).
"""

from __future__ import annotations

import time

import pytest

from tests.compat.conftest import TRANSPORTS
from tests.support import http
from tests.support.sockjs import client_for, decode_close

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return request.param


def test_echo_returns_every_message_in_order(impl, transport):
    client = client_for(transport, impl.url + "/echo")
    sent = [f"message {i} ✓ \u2028 </script>" for i in range(30)]
    try:
        assert client.next_frame() == "o"
        client.send_in_batches(sent, 4)
        assert client.receive_messages(len(sent)) == sent
    finally:
        client.close()


def test_a_dict_is_sent_as_a_json_value(impl, transport):
    # sockjs-tornado puts the value itself in the frame (a[{...}]), so sockjs-client
    # hands the browser an object; fallback keeps that.
    client = client_for(transport, impl.url + "/echo")
    try:
        assert client.next_frame() == "o"
        client.send("send me a dict")
        assert client.receive_messages(1) == [
            {"kind": "dict", "n": [1, 2.5, None, True], "text": "é\u2028"}
        ]
        client.send("send me bytes")
        assert client.receive_messages(1) == ["bytes ✓"]
    finally:
        client.close()


def test_server_close_sends_go_away(impl, transport):
    client = client_for(transport, impl.url + "/echo")
    try:
        assert client.next_frame() == "o"
        client.send("close me")
        assert decode_close(client.next_data_frame()) == (3000, "Go away!")
    finally:
        client.close()


def test_chat_broadcast_reaches_every_participant_on_every_transport(impl):
    clients = [client_for(t, impl.url + "/chat") for t in TRANSPORTS]
    try:
        for client in clients:
            assert client.next_frame() == "o"
        for client in clients:
            client.send(f"hello from {client.transport}")
        expected = sorted(f"hello from {t}" for t in TRANSPORTS)
        for client in clients:
            assert sorted(client.receive_messages(len(TRANSPORTS))) == expected

        # The router's broadcast, called from server code, with a dict.
        def announce() -> None:
            router = impl.routers["/chat"]
            chat = router.get_connection_class()
            router.broadcast(list(chat.participants), {"announcement": 1})

        impl.call(announce)
        for client in clients:
            assert client.receive_messages(1) == [{"announcement": 1}]
    finally:
        for client in clients:
            client.close()


def test_broadcast_skips_participants_that_left(impl):
    stayer = client_for("websocket", impl.url + "/chat")
    leaver = client_for("xhr_streaming", impl.url + "/chat")
    try:
        assert stayer.next_frame() == "o"
        assert leaver.next_frame() == "o"
        leaver.send("bye")
        assert leaver.receive_messages(1) == ["bye"]
        assert stayer.receive_messages(1) == ["bye"]
        leaver.close()  # an abrupt end: the session closes with 1002 ...
        impl.events.wait_for(lambda ev: ("close", "chat", None) in ev)  # ... and on_close runs
        stayer.send("still there?")
        assert stayer.receive_messages(1) == ["still there?"]
    finally:
        stayer.close()
        leaver.close()


def test_close_in_on_open_sends_open_then_go_away_and_calls_on_close(impl, transport):
    """sockjs-tornado gets this right on streaming and WebSocket only: on xhr (and
    jsonp) polling its answer breaks, see test_reference_bugs."""
    if impl.reference and transport == "xhr":
        pytest.skip("sockjs-tornado hangs here: test_close_in_on_open_hangs_polling_on_reference")
    client = client_for(transport, impl.url + "/close")
    try:
        assert client.next_frame() == "o"
        assert decode_close(client.next_frame()) == (3000, "Go away!")
    finally:
        client.close()
    impl.events.wait_for(lambda ev: ("close", "close", None) in ev)
    assert impl.events.events("open") == [("open", "close", None)]
    assert impl.events.events("message") == []


def test_returning_false_from_on_open_rejects(impl, transport):
    client = client_for(transport, impl.url + "/reject")
    try:
        assert client.next_frame() == "o"
        if impl.reference:
            # sockjs-tornado ignores the return value: the connection stays open and
            # its messages reach on_message.
            client.send("knock knock")
            assert client.receive_messages(1) == ["got knock knock"]
            assert impl.events.events("message") == [("message", "reject", "knock knock")]
            return
        assert decode_close(client.next_frame()) == (3001, "Connection rejected")
        if transport != "websocket":
            assert client.send("knock knock", check=False).status == 404
    finally:
        client.close()
    # on_close follows on_open, as sockjs-tornado's applications expect.
    impl.events.wait_for(lambda ev: ("close", "reject", None) in ev)
    assert impl.events.events("message") == []


def test_connection_info_has_sockjs_tornado_types(impl, transport):
    session_id = f"info{transport}"
    url = f"{impl.url}/info/000/{session_id}/{transport}?a=first&a=second"
    headers = {"Cookie": "flavour=vanilla; other=1", "X-Test": "yes"}
    if transport == "websocket":
        import websocket

        ws = websocket.create_connection(
            url.replace("http://", "ws://"), header=[f"{k}: {v}" for k, v in headers.items()]
        )
        assert ws.recv() == "o"
        ws.close()
    elif transport == "xhr":
        assert http.post(url, headers=headers).text == "o\n"
    else:
        with http.Stream("POST", url, headers=headers) as stream:
            assert stream.read_until(b"\no\n")
    events = impl.events.wait_for(lambda ev: any(e[0] == "info" for e in ev))
    [(_, transport_name, seen)] = [e for e in events if e[0] == "info"]
    assert transport_name == transport
    assert seen == {
        "ip": "127.0.0.1",
        "path": f"/info/000/{session_id}/{transport}",
        "get_argument": b"first",
        "arguments": [b"first", b"second"],
        "missing_argument": None,
        "get_cookie": ("Morsel", "vanilla"),
        "cookies": "vanilla",
        "missing_cookie": None,
        "get_header": "yes",
        "header_any_case": "yes",
        "missing_header": None,
        "session_id": session_id,
    }


def _dump(impl):
    return impl.call(lambda: impl.routers["/stats"].stats.dump())


def _wait_for_stats(impl, predicate, timeout: float = 5.0) -> dict:
    """Poll dump() until `predicate` holds (rates move once a second)."""
    deadline = time.monotonic() + timeout
    while True:
        stats = _dump(impl)
        if predicate(stats):
            return stats
        assert time.monotonic() < deadline, f"stats never matched: {stats}"
        time.sleep(0.05)


def test_stats_count_sessions_connections_and_packets(impl):
    clients = {t: client_for(t, impl.url + "/stats") for t in TRANSPORTS}
    try:
        for client in clients.values():
            assert client.next_frame() == "o"
        # Once the xhr poll that carried "o" is over, the socket and the stream remain.
        stats = _wait_for_stats(
            impl, lambda s: s["sessions_active"] == 3 and s["connections_active"] == 2
        )
        assert {k: v for k, v in stats.items() if k.startswith("transp_")} == {
            "transp_websocket": 1,
            "transp_xhr_streaming": 1,
            "transp_xhr": 1,
        }
        assert set(stats) == {
            "sessions_active",
            "connections_active",
            "connections_ps",
            "packets_sent_ps",
            "packets_recv_ps",
            "transp_websocket",
            "transp_xhr_streaming",
            "transp_xhr",
        }
        for client in clients.values():
            client.send("ping", "pong")
            assert client.receive_messages(2) == ["ping", "pong"]
        stats = _wait_for_stats(
            impl, lambda s: s["packets_recv_ps"] > 0 and s["packets_sent_ps"] > 0
        )
        assert stats["connections_ps"] > 0
        for key in ("connections_ps", "packets_sent_ps", "packets_recv_ps"):
            assert isinstance(stats[key], float)
        for key in ("sessions_active", "connections_active", "transp_xhr"):
            assert type(stats[key]) is int

        clients["websocket"].close()
        clients["xhr_streaming"].close()
        stats = _wait_for_stats(impl, lambda s: s["sessions_active"] == 1)
        assert (stats["transp_websocket"], stats["transp_xhr_streaming"]) == (0, 0)
        assert stats["transp_xhr"] == 1
    finally:
        for client in clients.values():
            client.close()


def test_streaming_response_ends_at_response_limit_and_session_continues(impl):
    client = client_for("xhr_streaming", impl.url + "/limit")
    try:
        assert client.next_frame() == "o"
        sent = [f"{i:03d}" + "x" * 60 for i in range(12)]
        for message in sent:
            client.send(message)
        assert client.receive_messages(len(sent)) == sent
        assert client.requests > 1
    finally:
        client.close()


def test_heartbeat_delay_is_honoured(impl, transport):
    if impl.reference and transport == "xhr_streaming":
        pytest.skip(
            "sockjs-tornado never starts heartbeats on streaming transports: "
            "test_streaming_gets_no_heartbeat_on_reference"
        )
    client = client_for(transport, impl.url + "/heartbeat")
    try:
        assert client.next_frame() == "o"
        assert client.next_frame(timeout=3) == "h"
    finally:
        client.close()


def test_disabled_transports_are_not_served(impl):
    url = f"{impl.live.ws_url}/nows/000/abc/websocket"
    import websocket

    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, timeout=5)
    assert refused.value.status_code == 404
    client = client_for("xhr_streaming", impl.url + "/nows")
    try:
        assert client.next_frame() == "o"
    finally:
        client.close()
    info = http.get(impl.url + "/nows/info")
    assert info.status == 200 and '"websocket": false' in info.text.replace(":false", ": false")


def test_jsessionid_cookie_is_set_by_default(impl):
    response = http.post(f"{impl.url}/echo/000/{time.monotonic_ns()}/xhr")
    assert response.header("Set-Cookie").startswith("JSESSIONID=dummy")
    assert '"cookie_needed": true' in http.get(impl.url + "/echo/info").text.replace(
        ":true", ": true"
    )
    response = http.post(f"{impl.url}/nocookie/000/{time.monotonic_ns()}/xhr")
    assert response.header("Set-Cookie") is None
