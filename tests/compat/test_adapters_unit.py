"""The adapters on their own: driven through a sans-I/O fallback Session, no server."""

from __future__ import annotations

from http.cookies import Morsel

import pytest
from tornado.web import HTTPError

from fallback.compat.sockjs_tornado import ConnectionInfo, SockJSConnection, SockJSRouter
from fallback.compat.sockjs_tornado import session as compat_session
from fallback.core.connection_info import ConnectionInfo as NativeInfo
from fallback.core.frames import SessionId
from fallback.core.session import Session
from fallback.core.settings import Settings
from fallback.exceptions import UnsupportedError
from tests.unit.helpers import FakeClock, Receiver

NATIVE = NativeInfo(
    ip="10.0.0.1",
    headers={"x-test": "yes", "user-agent": "ua"},
    cookies={"flavour": "vanilla", "n": "1"},
    arguments={"a": ["é", "2"]},
    path="/chat/000/abc/websocket",
)


class Recording(SockJSConnection):
    behaviour = None

    def __init__(self, session):
        super().__init__(session)
        self.calls: list[str] = []

    def on_open(self, info):
        self.calls.append("open")
        if self.behaviour is not None:
            return type(self).behaviour(self)
        return None

    def on_message(self, message):
        self.calls.append("message " + message)

    def on_close(self):
        self.calls.append("close")


def connect(
    connection_class: type[SockJSConnection] = Recording, session_id: str | None = "s1"
) -> tuple[SockJSConnection, Session, list[str]]:
    """A connection of `connection_class` on a router's session, opened by a receiver;
    returns it, its fallback session and the frames the receiver took."""
    router = SockJSRouter(connection_class, "/chat")
    compat = compat_session.Session(connection_class, router)
    connection = compat.conn
    native = Session(
        SessionId(session_id) if session_id else None,
        compat.fallback_connection,
        NATIVE,
        Settings(),
        "websocket",
        clock=FakeClock(),
    )
    compat.fallback_connection.bind_session(native)
    native.attach(Receiver())
    frames = []
    while (frame := native.take_frame()) is not None:
        frames.append(frame)
        if frame.startswith("c"):
            break
    return connection, native, frames


def opened_with(behaviour) -> tuple[Recording, list[str]]:
    connection, _, frames = connect(type("Behaving", (Recording,), {"behaviour": behaviour}))
    return connection, frames


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
        (
            lambda c: (_ for _ in ()).throw(HTTPError(403)),
            ["o", 'c[3001,"Connection rejected"]'],
            ["open", "close"],
        ),
    ],
)
def test_on_close_follows_every_on_open(behaviour, frames, calls):
    connection, seen = opened_with(behaviour)
    assert seen == frames
    assert connection.calls == calls


@pytest.mark.expect_errors  # the traceback of the application's bug is logged
def test_an_exception_in_on_open_closes_with_1011_then_on_close():
    def explode(connection):
        raise RuntimeError("bug")

    connection, frames = opened_with(explode)
    assert frames == ["o", 'c[1011,"Internal server error"]']
    assert connection.calls == ["open", "close"]


def test_the_session_reads_the_fallback_session():
    connection, native, _ = connect()
    session = connection.session
    assert isinstance(session, compat_session.BaseSession)
    assert session.session_id == "s1" and session.transport_name == "websocket"
    assert session.conn_info.ip == "10.0.0.1" and session.conn_info is session.conn_info
    assert session.fallback_connection.info is NATIVE
    assert not session.is_closed and session.get_close_reason() == (3000, "Go away!")
    native.receive(["hi"])
    assert connection.calls == ["open", "message hi"]
    session.close(4001, "done")
    assert session.is_closed and session.get_close_reason() == (4001, "done")
    assert connection.calls[-1] == "close" and session.conn is None
    connection.send("late")  # dropped, as on sockjs-tornado
    assert native.queued == 0


def test_websocket_session_id_comes_from_the_url():
    connection, _, _ = connect(session_id=None)
    assert connection.session.session_id == "abc"


def test_applications_may_add_attributes_to_the_session():
    connection, _, _ = connect()
    connection.session.user_profile = "alice"  # as Zulip's connection did
    assert connection.session.user_profile == "alice"


def test_sockjs_tornado_internals_say_what_to_use_instead_when_used():
    connection, _, _ = connect()
    session = connection.session
    with pytest.raises(UnsupportedError, match=r"Session\.handler has no counterpart.*conn_info"):
        session.handler  # noqa: B018
    with pytest.raises(AttributeError):  # an AttributeError too: hasattr says no
        session.send_queue  # noqa: B018
    assert not hasattr(session, "start_heartbeat")
    with pytest.raises(UnsupportedError, match=r"subclass session\.BaseSession"):
        session.set_handler(object())
    session.handler = "mine"  # what an application assigns is its own
    assert session.handler == "mine"


def test_values_that_are_not_json_are_refused_at_the_call():
    connection, _, _ = connect()
    with pytest.raises(TypeError):
        connection.send({1, 2})


def test_send_takes_text_bytes_and_json_values():
    connection, native, _ = connect()
    connection.send("é \u2028")
    connection.send("✓".encode())
    connection.send({"k": [1, None]})
    connection.session.send_jsonified('"pre\u2028encoded"')
    assert native.take_frame() == 'a["é \\u2028","✓",{"k":[1,null]},"pre\\u2028encoded"]'
