"""sockjs-tornado's settings dictionary, key by key: honoured, or refused by name."""

from __future__ import annotations

import socket
import uuid

import pytest
import websocket  # websocket-client

from fallback import ConfigurationError
from fallback.compat.sockjs_tornado import (
    SETTINGS_DEFAULTS,
    SockJSConnection,
    SockJSRouter,
    translate_settings,
)
from tests.support import http

pytestmark = pytest.mark.timeout(30)


class Echo(SockJSConnection):
    def on_message(self, message):
        self.send(message)


def native(**user):
    return translate_settings(user)[1]


# -- the mapping, without a server --------------------------------------------------------


def test_defaults_are_sockjs_tornados():
    router = SockJSRouter(Echo, "/echo")
    s = router.router.settings
    assert (s.heartbeat_delay, s.disconnect_delay, s.response_limit) == (25, 5, 128 * 1024)
    assert s.jsessionid is True and s.verify_ip is True
    assert s.sockjs_url == "https://cdn.jsdelivr.net/sockjs/0.3/sockjs.min.js"
    # The one default not taken: sockjs-tornado let any site connect; fallback keeps the
    # page's own origin unless the application says websocket_allow_origin="*".
    assert s.allowed_origins == () and s.disabled_transports == frozenset()
    assert dict(router.settings) == dict(SETTINGS_DEFAULTS)


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ({"disconnect_delay": 2}, {"disconnect_delay": 2}),
        ({"heartbeat_delay": 10}, {"heartbeat_delay": 10}),
        ({"response_limit": 4096}, {"response_limit": 4096}),
        ({"jsessionid": False}, {"jsessionid": False}),
        ({"verify_ip": False}, {"verify_ip": False}),
        ({"sockjs_url": "/static/sockjs.js"}, {"sockjs_url": "/static/sockjs.js"}),
        ({"disabled_transports": ["xhr", "jsonp"]}, {"disabled_transports": ["xhr", "jsonp"]}),
        ({"websocket_allow_origin": "*"}, {"allowed_origins": ("*",)}),
        (
            {"websocket_allow_origin": ["a.example", "b.example:8080"]},
            {"allowed_origins": ("a.example", "b.example:8080")},
        ),
        ({"websocket_allow_origin": "a.example"}, {"allowed_origins": ("a.example",)}),
        ({"immediate_flush": False}, {}),
        ({"disable_nagle": True}, {}),
        ({"session_check_interval": 5}, {}),
        ({"max_message_size": 1000}, {"max_message_size": 1000}),  # fallback's own keys
        ({"allowed_origins": ["x.example"]}, {"allowed_origins": ["x.example"]}),
    ],
)
def test_each_key_maps_to_fallback_settings(user, expected):
    result = native(**user)
    for key, value in expected.items():
        assert result[key] == value
    SockJSRouter(Echo, "/x", user)  # and the router takes it


@pytest.mark.parametrize(
    ("user", "says"),
    [
        ({"disable_nagle": False}, ["disable_nagle=False is not supported", "remove"]),
        ({"immediate_flush": "yes"}, ["immediate_flush must be True or False"]),
        (
            {"session_check_interval": 0.5},
            ["session_check_interval=0.5", "every 1 s", "lower disconnect_delay"],
        ),
        ({"session_check_interval": 0}, ["session_check_interval must be a positive"]),
        ({"websocket_allow_origin": []}, ["websocket_allow_origin must be", "allowed_origins"]),
        ({"websocket_allow_origin": ["ok.example", 3]}, ["websocket_allow_origin must be"]),
        ({"disabled_transports": ["flashsocket"]}, ["'flashsocket'", "use one of websocket"]),
        ({"heartbeat_delay": -1}, ["heartbeat_delay must be a positive number"]),
        (
            {"user_setting_of_mine": 1},
            ["unknown setting 'user_setting_of_mine'", "verify_ip", "max_message_size"],
        ),
        (
            {"websocket_allow_origin": ["a.example"], "allowed_origins": ["b.example"]},
            ["websocket_allow_origin and allowed_origins", "keep only one"],
        ),
    ],
)
def test_what_cannot_be_honoured_is_refused_at_start_up(user, says):
    with pytest.raises(ConfigurationError) as refused:
        SockJSRouter(Echo, "/x", user)
    for fragment in says:
        assert fragment in str(refused.value)


def test_session_check_interval_is_accepted_when_fallback_checks_as_often():
    # With these delays fallback sweeps every 0.06 s, more often than asked.
    SockJSRouter(Echo, "/x", {"session_check_interval": 0.1, "disconnect_delay": 0.3})


def test_a_custom_session_class_is_refused():
    with pytest.raises(ConfigurationError, match="session_kls is not supported"):
        SockJSRouter(Echo, "/x", session_kls=object)


def test_the_connection_class_must_come_from_the_compat_module():
    from fallback import Connection

    class Native(Connection):
        pass

    with pytest.raises(ConfigurationError, match="change its import too"):
        SockJSRouter(Native, "/x")


def test_settings_are_read_only_so_late_changes_cannot_be_lost():
    router = SockJSRouter(Echo, "/x", {"heartbeat_delay": 3})
    assert router.settings["heartbeat_delay"] == 3
    with pytest.raises(TypeError):
        router.settings["heartbeat_delay"] = 5  # type: ignore[index]


def test_urls_fit_fallbacks_application_builder():
    from fallback.server import make_application

    router = SockJSRouter(Echo, "/echo")
    app = make_application([], router.urls)
    assert app.settings["log_function"].__name__ == "_log_request"


def test_io_loop_is_accepted_and_unused():
    marker = object()
    router = SockJSRouter(Echo, "/x", None, marker)  # type: ignore[arg-type]
    assert router.io_loop is marker
    assert router.get_connection_class() is Echo
    routes: list = [("/", object)]
    assert router.apply_routes(routes) is routes and routes[1:] == router.urls


# -- the same dictionary on both implementations ------------------------------------------


@pytest.mark.parametrize(
    "user",
    [{}, {"heartbeat_delay": 3, "disabled_transports": ["jsonp"], "immediate_flush": False}],
)
def test_router_settings_read_as_on_sockjs_tornado(impl, user):
    def build():
        cls = type(impl.routers["/echo"])  # the implementation's SockJSRouter
        connection = impl.routers["/echo"].get_connection_class()
        return dict(cls(connection, "/settings-probe", user).settings)

    settings = impl.call(build)
    assert settings == {**SETTINGS_DEFAULTS, **user}


def test_iframe_loads_sockjs_tornados_default_client(impl):
    page = http.get(impl.url + "/echo/iframe.html").text
    assert '<script src="https://cdn.jsdelivr.net/sockjs/0.3/sockjs.min.js"></script>' in page


# -- verify_ip ---------------------------------------------------------------------------


def post_from(address: str, port: int, path: str, body: bytes = b"") -> tuple[int, bytes]:
    """One HTTP/1.1 POST from a chosen loopback address (Linux routes all of 127/8)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(address, 0))
    try:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        data = http.recv_until_closed(sock)
    finally:
        sock.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), payload


def test_verify_ip_refuses_polls_from_another_address(impl, expect_reference_errors):
    expect_reference_errors(impl)  # sockjs-tornado logs each refusal as an ERROR
    path = f"/echo/000/{uuid.uuid4().hex}"
    assert post_from("127.0.0.1", impl.live.port, path + "/xhr") == (200, b"o\n")
    assert post_from("127.0.0.2", impl.live.port, path + "/xhr") == (
        200,
        b'c[2010,"Attempted to connect to session from different IP"]\n',
    )
    status, _ = post_from("127.0.0.2", impl.live.port, path + "/xhr_send", b'["forged"]')
    if impl.reference:
        assert status == 204  # sockjs-tornado checks receiving requests only
    else:
        assert status == 404  # fallback: the session is not that address's to write to
    # The owner's session is intact.
    status, _ = post_from("127.0.0.1", impl.live.port, path + "/xhr_send", b'["mine"]')
    assert status == 204
    _, body = post_from("127.0.0.1", impl.live.port, path + "/xhr")
    expected = b'a["forged","mine"]\n' if impl.reference else b'a["mine"]\n'
    assert body == expected


def test_verify_ip_off_lets_the_session_move(impl):
    path = f"/open-ip/000/{uuid.uuid4().hex}"
    assert post_from("127.0.0.1", impl.live.port, path + "/xhr") == (200, b"o\n")
    assert post_from("127.0.0.2", impl.live.port, path + "/xhr_send", b'["moved"]')[0] == 204
    assert post_from("127.0.0.2", impl.live.port, path + "/xhr") == (200, b'a["moved"]\n')


# -- websocket_allow_origin --------------------------------------------------------------


def ws_handshake(impl, origin: str) -> int:
    url = f"{impl.live.ws_url}/origin/000/{uuid.uuid4().hex}/websocket"
    try:
        ws = websocket.create_connection(url, timeout=5, origin=origin)
    except websocket.WebSocketBadStatusException as refused:
        return refused.status_code
    ws.close()
    return 101


def test_websocket_allow_origin_guards_websocket_handshakes(impl):
    assert ws_handshake(impl, "http://good.example") == 101
    assert ws_handshake(impl, "http://evil.example") == 403
    assert ws_handshake(impl, f"http://127.0.0.1:{impl.live.port}") == 101  # own host


def test_websocket_allow_origin_guards_http_transports_too(impl):
    """sockjs-tornado applies the list to WebSocket only, so a refused page simply
    falls back to xhr-streaming; fallback applies it to every transport."""

    def poll(origin: str) -> int:
        url = f"{impl.url}/origin/000/{uuid.uuid4().hex}/xhr"
        return http.post(url, headers={"Origin": origin}).status

    assert poll("http://good.example") == 200
    assert poll(f"http://127.0.0.1:{impl.live.port}") == 200  # own host
    assert poll("http://evil.example") == (200 if impl.reference else 403)


def test_disabling_websocket_disables_the_raw_endpoint_too(impl):
    """sockjs-tornado keeps serving <prefix>/websocket when "websocket" is disabled."""
    url = f"{impl.live.ws_url}/nows/websocket"
    if impl.reference:
        ws = websocket.create_connection(url, timeout=5)
        ws.close()
        return
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, timeout=5)
    assert refused.value.status_code == 404
