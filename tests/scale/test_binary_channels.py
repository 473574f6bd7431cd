"""Binary messages published on channels: in one process, and across processes through a
real redis-server; members whose client takes no binary messages are skipped."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from fallback import Connection
from fallback.channels import Channels
from fallback.channels.brokers.base import EventKind, RemoteEvent
from fallback.channels.brokers.redis import RedisBroker
from fallback.core.connection_info import EMPTY_INFO
from fallback.core.frames import SessionId
from fallback.core.session import Session
from fallback.core.settings import Settings

pytestmark = pytest.mark.timeout(60)

PAYLOAD = bytes(range(256)) + b"\x00" * 3


class Member:
    """A channel member's receiver: the messages of every array frame, and an event set
    when `expected` of them have arrived."""

    def __init__(self, hub: Channels, channel: str, *, binary: bool, expected: int) -> None:
        self.connection = Connection()
        self.session = Session(
            SessionId("s"), self.connection, EMPTY_INFO, Settings(), "xhr", binary=binary
        )
        self.connection.bind_session(self.session)
        self.session.attach(self)  # type: ignore[arg-type]
        assert self.session.take_frame() == "o"
        self.messages: list[object] = []
        self.expected = expected
        self.arrived = asyncio.Event()
        hub.join(self.connection, channel)

    def wake(self) -> None:
        asyncio.get_running_loop().call_soon(self.drain)

    def drain(self) -> None:
        while (frame := self.session.take_frame()) is not None:
            if frame.startswith("a"):
                for item in json.loads(frame[1:]):
                    self.messages.append(
                        base64.b64decode(item["b"]) if isinstance(item, dict) else item
                    )
        if len(self.messages) >= self.expected:
            self.arrived.set()


def test_a_binary_publish_reaches_binary_members_of_this_process_in_order_with_text():
    async def scenario() -> None:
        hub = Channels()
        await hub.start()
        try:
            taker = Member(hub, "room", binary=True, expected=3)
            plain = Member(hub, "room", binary=False, expected=2)
            assert hub.publish("room", "before") == 2
            assert hub.publish("room", PAYLOAD) == 1  # the plain client is skipped
            assert hub.publish("room", "after") == 2
            await asyncio.wait_for(taker.arrived.wait(), 10)
            await asyncio.wait_for(plain.arrived.wait(), 10)
            assert taker.messages == ["before", PAYLOAD, "after"]
            assert plain.messages == ["before", "after"]
            assert plain.session.state.value == "open"
        finally:
            await hub.stop()

    asyncio.run(scenario())


def test_publish_refuses_what_is_neither_text_nor_bytes():
    with pytest.raises(TypeError, match="str or bytes"):
        Channels().publish("room", 42)  # type: ignore[arg-type]


def test_a_malformed_binary_event_from_the_broker_is_dropped_not_delivered():
    async def scenario() -> None:
        hub = Channels()
        await hub.start()
        try:
            member = Member(hub, "room", binary=True, expected=1)
            hub._on_remote(RemoteEvent("room", EventKind.BINARY, "not base64!"))
            hub._on_remote(RemoteEvent("room", EventKind.MESSAGE, "ok"))
            await asyncio.wait_for(member.arrived.wait(), 10)
            assert member.messages == ["ok"]
        finally:
            await hub.stop()

    asyncio.run(scenario())


def test_a_binary_publish_crosses_processes_through_redis_byte_for_byte(redis_server):
    async def scenario() -> None:
        publisher = Channels(RedisBroker(redis_server.url))
        receiver = Channels(RedisBroker(redis_server.url))
        await publisher.start()
        await receiver.start()
        try:
            member = Member(receiver, "room", binary=True, expected=3)
            await receiver.subscribed("room")
            for message in ("text", PAYLOAD, b""):
                publisher.publish("room", message)
            await asyncio.wait_for(member.arrived.wait(), 20)
            assert member.messages == ["text", PAYLOAD, b""]
        finally:
            await publisher.stop()
            await receiver.stop()

    asyncio.run(scenario())
