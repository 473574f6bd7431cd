"""The channel hub in one process (in-memory broker), over real sessions."""

from __future__ import annotations

import asyncio
import json

import pytest

from fallback import Connection
from fallback.channels import Channels
from fallback.core.connection_info import EMPTY_INFO
from fallback.core.frames import SessionId
from fallback.core.session import Session
from fallback.core.settings import Settings
from fallback.exceptions import ConfigurationError
from tests.unit.helpers import Receiver


def open_connection(name: str = "c") -> tuple[Connection, Session]:
    connection = Connection()
    session = Session(SessionId(name), connection, EMPTY_INFO, Settings(), "xhr")
    connection.bind_session(session)
    session.attach(Receiver())
    assert session.take_frame() == "o"
    return connection, session


def received(session: Session) -> list[str]:
    frame = session.take_frame()
    if frame is None:
        return []
    return json.loads(frame[1:])


def test_publish_reaches_every_member_once_in_order():
    hub = Channels()
    a, sa = open_connection("a")
    b, sb = open_connection("b")
    _outsider, so = open_connection("o")
    hub.join(a, "room")
    hub.join(b, "room")
    hub.join(b, "room")  # twice is once
    for i in range(3):
        assert hub.publish("room", f"m{i}") == 2
    assert received(sa) == ["m0", "m1", "m2"]
    assert received(sb) == ["m0", "m1", "m2"]
    assert received(so) == []


def test_publish_to_an_empty_channel_delivers_nothing():
    assert Channels().publish("nobody-here", "x") == 0


def test_members_leave_every_channel_when_their_connection_closes():
    hub = Channels()
    a, sa = open_connection("a")
    b, _ = open_connection("b")
    hub.join(a, "one")
    hub.join(a, "two")
    hub.join(b, "two")
    sa.close()
    assert hub.members("one") == [] and hub.members("two") == [b]
    assert hub.channels() == {"two": 1}
    assert hub.channels_of(a) == []


def test_leave_stops_delivery_and_reports_membership():
    hub = Channels()
    a, sa = open_connection("a")
    hub.join(a, "room")
    assert hub.leave(a, "room")
    assert not hub.leave(a, "room")
    hub.publish("room", "x")
    assert received(sa) == []


def test_presence_lists_members_with_their_info_and_notifies_listeners():
    hub = Channels()
    seen = []
    hub.on_presence(lambda channel, member, info: seen.append((channel, info)))
    a, _ = open_connection("a")
    b, sb = open_connection("b")
    hub.join(a, "room", {"nick": "ann"})
    hub.join(b, "room", {"nick": "bob"})
    presence = asyncio.run(hub.presence("room"))
    assert sorted(info["nick"] for info in presence.values()) == ["ann", "bob"]
    sb.close()
    presence = asyncio.run(hub.presence("room"))
    assert [info["nick"] for info in presence.values()] == ["ann"]
    assert seen == [("room", {"nick": "ann"}), ("room", {"nick": "bob"}), ("room", None)]


def test_closed_connections_cannot_join():
    hub = Channels()
    a, sa = open_connection("a")
    sa.close()
    assert hub.join(a, "room") is None
    assert hub.members("room") == []


def test_a_member_closing_during_publish_does_not_stop_the_others():
    hub = Channels()
    a, sa = open_connection("a")
    b, sb = open_connection("b")
    hub.join(a, "room")
    hub.join(b, "room")
    sa.close()
    assert hub.publish("room", "still") == 1
    assert received(sb) == ["still"]


@pytest.mark.parametrize("name", ["", "x" * 201])
def test_bad_channel_names_are_refused(name):
    a, _ = open_connection("a")
    with pytest.raises(ConfigurationError):
        Channels().join(a, name)


def test_publish_takes_text_only():
    with pytest.raises(TypeError):
        Channels().publish("room", {"not": "text"})  # type: ignore[arg-type]
