"""Where sockjs-tornado 1.0.7 (on Tornado 6.6) is wrong, and fallback is not.

Each test runs on both implementations: it asserts fallback's behaviour and pins down the
reference's, so that the README's list of differences stays true. A reference leg that
stopped showing its bug would fail here and send someone to update that list.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import uuid
from collections.abc import Iterator

import pytest

from tests.compat.conftest import Deployment
from tests.support import http
from tests.support.sockjs import client_for, decode_close

pytestmark = pytest.mark.timeout(30)

#: How long a reference leg waits to show that something never happens.
NEVER = 1.5


def new_session(impl: Deployment, prefix: str) -> str:
    return f"{impl.url}{prefix}/000/{uuid.uuid4().hex}"


@contextlib.contextmanager
def loop_held(impl: Deployment) -> Iterator[None]:
    """Keep the server's loop busy while the block runs, so that the server sees what
    the clients did meanwhile in one go, in the order they did it."""
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        entered.set()
        release.wait(10)

    holder = threading.Thread(target=impl.live.call, args=(hold,), kwargs={"timeout": 15})
    holder.start()
    assert entered.wait(5)
    try:
        yield
    finally:
        release.set()
        holder.join(15)


def read_until(sock: socket.socket, marker: bytes, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError(f"closed before {marker!r}: {data!r}")
        data += chunk
    return data


# -- close() in on_open ------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["xhr", "jsonp"])
def test_close_in_on_open_answers_polling_with_go_away(impl, transport, expect_reference_errors):
    """sockjs-tornado writes the close frame into the response that already carries
    "o" with its Content-Length; Tornado raises, the response is cut, the session stays
    half-open and the next poll never gets an answer."""
    expect_reference_errors(impl)
    url = new_session(impl, "/close") + ("/xhr" if transport == "xhr" else "/jsonp?c=cb")

    def poll(timeout: float = 5.0) -> str:
        if transport == "xhr":
            return http.post(url, timeout=timeout).text
        return http.get(url, timeout=timeout).text

    if transport == "xhr":
        assert poll() == "o\n"
    else:
        assert poll() in ('/**/cb("o");\r\n', 'cb("o");\r\n')
    if impl.reference:
        with pytest.raises(TimeoutError):
            poll(timeout=NEVER)
        return
    if transport == "xhr":
        assert poll() == 'c[3000,"Go away!"]\n'
    else:
        assert poll() == '/**/cb("c[3000,\\"Go away!\\"]");\r\n'
    impl.events.wait_for(lambda ev: ("close", "close", None) in ev)


# -- broadcast ---------------------------------------------------------------------------


def test_broadcast_meeting_a_just_closed_websocket_spares_the_sender(impl, expect_reference_errors):
    """The window between a WebSocket's end and its on_close: sockjs-tornado's write
    raises WebSocketClosedError, it catches only IOError, and the exception unwinds
    through the *sender's* on_message, whose connection it then aborts."""
    expect_reference_errors(impl)
    sender = client_for("websocket", impl.url + "/chat")
    gone = client_for("websocket", impl.url + "/chat")
    try:
        assert sender.next_frame() == "o"
        assert gone.next_frame() == "o"
        with loop_held(impl):
            sender.send("hello")  # waits in the server's socket buffer ...
            gone.ws.sock.shutdown(socket.SHUT_RDWR)  # ... and then the other one ends
        if impl.reference:
            with pytest.raises(EOFError):
                for _ in range(3):  # "hello" may or may not come before the end
                    sender.next_frame(timeout=5)
            return
        assert sender.receive_messages(1) == ["hello"]
        sender.send("still here")
        assert sender.receive_messages(1) == ["still here"]
    finally:
        sender.close()
        with contextlib.suppress(Exception):
            gone.close()


# -- a poll whose client left with it ------------------------------------------------------


def raw_poll(sock: socket.socket, impl: Deployment, path: str) -> None:
    host = impl.url.removeprefix("http://")
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n".encode())


def test_a_poll_whose_client_quit_as_it_sent_it_ends_the_session_at_once(impl):
    """A client that sends its next poll on a kept-alive connection and closes at once
    (sockjs-client does, when the page closes it while it re-polls): the request and the
    close reach the server together, and Tornado never calls the handler's
    ``on_connection_close`` -- the stream was already closed when the request was
    dispatched. sockjs-tornado's poll then holds the session until its next heartbeat
    (25 s) and ``on_close`` -- a chat's "Someone left." -- comes some 30 s late; fallback
    sees the closed stream and closes the session (1002) as for any interrupted poll."""
    path = new_session(impl, "/chat").removeprefix(impl.url) + "/xhr"
    sock = socket.create_connection(("127.0.0.1", impl.live.port))
    try:
        raw_poll(sock, impl, path)
        assert read_until(sock, b"\r\n\r\no\n").endswith(b"o\n")  # the session is open
        with loop_held(impl):  # the next poll and the end of the connection, together
            raw_poll(sock, impl, path)
            sock.close()
        if impl.reference:
            with pytest.raises(TimeoutError):
                impl.events.wait_for(lambda ev: ("close", "chat", None) in ev, timeout=NEVER)
            return
        impl.events.wait_for(lambda ev: ("close", "chat", None) in ev)
    finally:
        sock.close()


# -- JSONP -------------------------------------------------------------------------------


@pytest.mark.expect_errors  # Tornado's access log shows the 500 the protocol asks for
def test_jsonp_callback_is_checked_not_echoed(impl):
    response = http.get(new_session(impl, "/echo") + "/jsonp?c=alert(1)//")
    if impl.reference:
        assert (response.status, response.text) == (200, 'alert(1)//("o");\r\n')
        return
    assert (response.status, response.text) == (500, 'invalid "callback" parameter')


def test_htmlfile_keeps_sockjs_clients_callback_name(impl):
    """sockjs-client 1.x names its htmlfile callbacks ``_jp.<id>``; sockjs-tornado strips
    every ``_`` and ``.`` from the name, so the page calls a function that does not
    exist and the transport never opens."""
    with http.Stream("GET", new_session(impl, "/echo") + "/htmlfile?c=_jp.a1b2") as stream:
        head = stream.read_until(b"c.start();")
    expected = b"var c = parent.jpa1b2;" if impl.reference else b"var c = parent._jp.a1b2;"
    assert expected in head


# -- HTTP/1.0 ----------------------------------------------------------------------------


def test_http10_streaming_response_ends_at_response_limit(impl):
    """HTTP/1.0 without Content-Length: the end of the body is the end of the
    connection. sockjs-tornado finishes the response but leaves the socket open, so the
    client waits forever for the rest."""
    base = new_session(impl, "/limit")  # response_limit=300
    path = base[len(impl.url) :] + "/xhr_streaming"
    sock = http.raw_exchange(
        "127.0.0.1",
        impl.live.port,
        f"POST {path} HTTP/1.0\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n".encode(),
    )
    try:
        head = read_until(sock, b"\no\n")
        for i in range(4):
            http.post(base + "/xhr_send", json.dumps([f"{i}" + "x" * 99]))
        frames = head.partition(b"\r\n\r\n")[2].partition(b"\no\n")[2]
        sock.settimeout(5)
        while len(frames) < 300:  # past response_limit: the response is complete
            chunk = sock.recv(65536)
            assert chunk, f"ended before response_limit: {frames!r}"
            frames += chunk
        if impl.reference:
            with pytest.raises(TimeoutError):
                http.recv_until_closed(sock, timeout=NEVER)
            return
        assert http.recv_until_closed(sock) == b""
    finally:
        sock.close()


# -- heartbeats --------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["xhr_streaming", "eventsource", "htmlfile"])
def test_streaming_gets_heartbeats(impl, transport):
    """sockjs-tornado starts its heartbeat timer only for polling and WebSocket
    sessions; an idle stream stays silent, and proxies cut silent streams."""
    client = client_for(transport, impl.url + "/heartbeat")  # heartbeat_delay=0.3
    try:
        assert client.next_frame() == "o"
        if impl.reference:
            with pytest.raises(TimeoutError):
                client.next_frame(timeout=NEVER)
            return
        assert client.next_frame(timeout=3) == "h"
    finally:
        client.close()


# -- WebSocket handshakes ----------------------------------------------------------------


@pytest.mark.parametrize("version", ["7", "8"])
def test_hybi_07_and_08_handshakes_are_accepted(impl, version):
    """Tornado speaks only RFC 6455 version 13 and sockjs-tornado nothing else, so
    browsers of the hybi-07/08 era (Firefox 6-10, Chrome 14-15) get 426."""
    path = new_session(impl, "/echo")[len(impl.url) :] + "/websocket"
    request_bytes = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{impl.live.port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        f"Sec-WebSocket-Origin: http://127.0.0.1:{impl.live.port}\r\n"
        f"Sec-WebSocket-Version: {version}\r\n\r\n"
    ).encode()
    sock = http.raw_exchange("127.0.0.1", impl.live.port, request_bytes)
    try:
        head = read_until(sock, b"\r\n\r\n")
    finally:
        sock.close()
    status = head.split(b" ", 2)[1]
    if impl.reference:
        assert status == b"426"
        return
    assert status == b"101"
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head


# -- unhandled exceptions ----------------------------------------------------------------


@pytest.mark.parametrize("transport", ["websocket", "xhr_streaming", "xhr"])
def test_exception_in_on_message_closes_with_1011(impl, transport, request):
    """sockjs-tornado aborts a WebSocket without a close frame, and closes HTTP
    sessions with 3000 "Go away!" -- the code of a deliberate close -- answering the
    send with 500. fallback closes that session only, with 1011, on every transport."""
    request.node.add_marker(pytest.mark.expect_errors)  # the traceback is the point
    client = client_for(transport, impl.url + "/boom")
    try:
        assert client.next_frame() == "o"
        response = client.send("trigger", check=False)
        if impl.reference:
            if transport == "websocket":
                with pytest.raises(EOFError):
                    client.next_frame()
            else:
                assert response.status == 500
                assert decode_close(client.next_data_frame()) == (3000, "Go away!")
        else:
            if response is not None:
                assert response.status == 204
            assert decode_close(client.next_data_frame()) == (1011, "Internal server error")
    finally:
        client.close()
    impl.events.wait_for(lambda ev: ("close", "boom", None) in ev)


@pytest.mark.parametrize("transport", ["websocket", "xhr_streaming", "xhr"])
def test_http_error_in_on_open_rejects(impl, transport, expect_reference_errors):
    """sockjs-tornado documents raising HTTPError in on_open to refuse a connection;
    what happens depends on the transport (WebSocket: dropped; xhr-streaming: a broken
    session; xhr: the session opens and works). fallback rejects with 3001 everywhere."""
    expect_reference_errors(impl)
    client = client_for(transport, impl.url + "/deny")
    try:
        assert client.next_frame() == "o"
        if impl.reference:
            if transport == "xhr":
                client.send("let me in")
                assert client.receive_messages(1) == ["let me in"]
            return
        assert decode_close(client.next_frame()) == (3001, "Connection rejected")
    finally:
        client.close()
    impl.events.wait_for(lambda ev: ("close", "deny", None) in ev)
    assert impl.events.events("message") == []
