"""Every WebSocket version old and new browsers speak, through both WebSocket transports.

The clients (`tests.support.wsclient`) are written from the specifications: RFC 6455
(version 13), hybi-08/10 (version 8: Firefox 7-10, Chrome 14-15), hybi-07 (version 7:
Firefox 6) and draft-hixie-76 (Safari 5, iOS 4-5, early Chrome and Opera). Each checks
the server's handshake answer itself.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from tests.support.wsclient import CLOSE, VERSIONS, DelayedBodyProxy, WSClient

pytestmark = pytest.mark.timeout(30)

MESSAGE = "hello \u2713 \U0001f600 </script>"


def sockjs_path(prefix: str = "/echo") -> str:
    return f"{prefix}/000/{uuid.uuid4().hex}/websocket"


@pytest.fixture(params=VERSIONS)
def version(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def proxy(live) -> Iterator[DelayedBodyProxy]:
    proxy = DelayedBodyProxy(live.port)
    yield proxy
    proxy.close()


def check_sockjs_echo(client: WSClient) -> None:
    assert client.recv_text() == "o"
    client.send_text(json.dumps([MESSAGE, "second"]))
    assert json.loads(client.recv_text()[1:]) == [MESSAGE, "second"]
    client.send_text(json.dumps("a single string"))
    assert client.recv_text() == 'a["a single string"]'


def check_raw_echo(client: WSClient) -> None:
    for text in (MESSAGE, "", "x" * 70000):
        client.send_text(text)
        assert client.recv_text() == text


def test_sockjs_websocket_echoes_in_every_version(live, version):
    client = WSClient.connect(live.port, sockjs_path(), version=version)
    try:
        check_sockjs_echo(client)
    finally:
        client.close()


def test_raw_websocket_echoes_in_every_version(live, version):
    client = WSClient.connect(live.port, "/echo/websocket", version=version)
    try:
        check_raw_echo(client)
    finally:
        client.close()


@pytest.mark.parametrize("path", ["sockjs", "raw"])
def test_every_version_works_behind_a_proxy_that_delays_the_request_body(
    live, proxy, version, path
):
    # The proxy forwards hixie-76's third key only after the response headers: a server
    # that waited for the key before answering would never complete this handshake.
    target = sockjs_path() if path == "sockjs" else "/echo/websocket"
    client = WSClient.connect(proxy.port, target, version=version, timeout=10)
    try:
        if path == "sockjs":
            check_sockjs_echo(client)
        else:
            check_raw_echo(client)
    finally:
        client.close()
    if version == "hixie-76":
        assert proxy.released == 1


def test_hixie76_key_sent_late_by_the_client_itself(live):
    client = WSClient.connect(live.port, sockjs_path(), version="hixie-76", key3_delay=0.2)
    try:
        check_sockjs_echo(client)
    finally:
        client.close()


def test_hixie76_response_headers_carry_origin_and_location(live):
    path = sockjs_path()
    client = WSClient.connect(live.port, path, version="hixie-76", origin="https://a.example")
    try:
        assert client.headers["sec-websocket-origin"] == "https://a.example"
        assert client.headers["sec-websocket-location"] == f"ws://127.0.0.1:{live.port}{path}"
        assert "content-length" not in client.headers
    finally:
        client.close()


def test_hixie76_close_handshake_is_answered_and_the_session_closes(live, events):
    client = WSClient.connect(live.port, sockjs_path("/recorded"), version="hixie-76")
    try:
        assert client.recv_text() == "o"
        client.send_close()
        assert client.recv_frame() == (CLOSE, b"")
        client.wait_closed()
    finally:
        client.close()
    events.wait_for(lambda ev: any(e[0] == "close" for e in ev))
    assert events.events("close") == [("close", "websocket", (1002, "Connection interrupted"))]


def test_hixie76_server_close_sends_close_frame_after_sockjs_close(live):
    client = WSClient.connect(live.port, sockjs_path("/close"), version="hixie-76")
    try:
        assert client.recv_text() == "o"
        assert client.recv_text() == 'c[3000,"Go away!"]'
        assert client.recv_frame() == (CLOSE, b"")
        client.send_close()
        client.wait_closed()
    finally:
        client.close()


@pytest.mark.parametrize("version", ["13", "8", "7"])
def test_client_close_code_reaches_the_session_in_every_hybi_version(live, events, version):
    client = WSClient.connect(live.port, sockjs_path("/recorded"), version=version)
    try:
        assert client.recv_text() == "o"
        client.send_close(4001, "bye")
        assert client.recv_close() == (4001, "")
        client.wait_closed()
    finally:
        client.close()
    events.wait_for(lambda ev: any(e[0] == "close" for e in ev))
    assert events.events("close") == [("close", "websocket", (4001, "bye"))]


@pytest.mark.parametrize("path", ["/origins/000/abc/websocket", "/origins/websocket"])
def test_origin_is_checked_on_every_version(live, version, path):
    good = WSClient.connect(live.port, path, version=version, origin="https://good.example")
    good.close()
    with pytest.raises(AssertionError, match="403"):
        WSClient.connect(live.port, path, version=version, origin="https://evil.example")
