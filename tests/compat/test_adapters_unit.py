"""The adapters on their own: driven through a sans-I/O Session, no server."""

from __future__ import annotations

from http.cookies import Morsel

import pytest
from tornado.web import HTTPError

from fallback.compat.sockjs_tornado import ConnectionInfo, SessionView, SockJSConnection
from fallback.info import ConnectionInfo as NativeInfo
from fallback.protocol import SessionId
from fallback.session import Session
from fallback.settings import Settings
from tests.unit.test_session import FakeClock, Receiver

NATIVE = NativeInfo(
    ip="10.0.0.1",
    headers={"x-test": "yes", "user-agent": "ua"},
    cookies={"flavour": "vanilla", "n": "1"},
    arguments={"a": ["é", "2"]},
    path="/chat/000/abc/websocket",
)


class Recording(SockJSConnection):
    def __init__(self, session=None, on_open=None):
        super().__init__(session)
        self.behaviour = on_open
        self.calls: list[str] = []

    def on_open(self, info):
        self.calls.append("open")
        if self.behaviour is not None:
            return self.behaviour(self)
        return None

    def on_message(self, message):
        self.calls.append("message")

    def on_close(self):
        self.calls.append("close")


def start(connection: SockJSConnection, session_id: str | None = "s1") -> list[str]:
    session = Session(
        SessionId(session_id) if session_id else None,
        connection,
        NATIVE,
        Settings(),
        "websocket",
        clock=FakeClock(),
    )
    connection._bind(session)
    receiver = Receiver()
    session.attach(receiver)
    frames = []
    while (frame := session.take_frame()) is not None:
        frames.append(frame)
        if frame.startswith("c"):
            break
    return frames


def test_connection_info_keeps_sockjs_tornado_types():
    info = ConnectionInfo.from_native(NATIVE)
    assert info.ip == "10.0.0.1" and info.path == NATIVE.path
    assert info.arguments == {"a": ["é".encode(), b"2"]}
    assert info.get_argument("a") == "é".encode()  # the first, as bytes
    assert info.get_argument("missing") is None
    cookie = info.get_cookie("flavour")
    assert isinstance(cookie, Morsel) and cookie.value == "vanilla"
    assert info.get_header("X-TEST") == "yes" and info.headers["User-Agent"] == "ua"
    assert info.get_header("Cookie") == "flavour=vanilla; n=1"


@pytest.mark.parametrize(
    ("behaviour", "frames", "calls"),
    [
        (None, ["o"], ["open"]),
        (lambda c: False, ["o", 'c[3001,"Connection rejected"]'], ["open", "close"]),
        (lambda c: c.close(), ["o", 'c[3000,"Go away!"]'], ["open", "close"]),
        (lambda c: c.session.close(4000, "bye"), ["o", 'c[4000,"bye"]'], ["open", "close"]),
        (lambda c: (_ for _ in ()).throw(HTTPError(403)),
         ["o", 'c[3001,"Connection rejected"]'], ["open", "close"]),
    ],
)
def test_on_close_follows_every_on_open(behaviour, frames, calls):
    connection = Recording(on_open=behaviour)
    assert start(connection) == frames
    assert connection.calls == calls


@pytest.mark.expect_errors  # the traceback of the application's bug is logged
def test_an_exception_in_on_open_closes_with_1011_then_on_close():
    def explode(connection):
        raise RuntimeError("bug")

    connection = Recording(on_open=explode)
    assert start(connection) == ["o", 'c[1011,"Internal server error"]']
    assert connection.calls == ["open", "close"]


def test_session_view_reads_the_fallback_session():
    connection = Recording(SessionView("the router"))  # type: ignore[arg-type]
    start(connection)
    view = connection.session
    assert view.server == "the router"
    assert view.session_id == "s1" and view.transport_name == "websocket"
    assert view.conn_info is view.conn_info  # built once
    assert not view.is_closed and view.get_close_reason() == (3000, "Go away!")
    view.close(4001, "done")
    assert view.is_closed and view.get_close_reason() == (4001, "done")
    assert connection.send("late") is False


def test_websocket_session_id_comes_from_the_url():
    connection = Recording()
    start(connection, session_id=None)
    assert connection.session.session_id == "abc"


def test_sockjs_tornado_internals_say_they_are_gone():
    connection = Recording()
    with pytest.raises(AttributeError, match=r"session\.handler has no counterpart"):
        connection.session.handler  # noqa: B018


def test_values_that_are_not_json_are_refused_at_the_call():
    connection = Recording()
    start(connection)
    with pytest.raises(TypeError):
        connection.send({1, 2})
