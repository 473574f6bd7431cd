"""Several channels over one SockJS connection, written against sockjs-tornado 1.0.7 in
the pattern of its multiplex example (its own code, not the example's).

The wire protocol of the channels is the example's: the client sends ``sub,<channel>``,
``msg,<channel>,<text>`` and ``uns,<channel>``; the server sends ``msg,<channel>,<text>``
and ``uns,<channel>`` (the channel closed). Each channel is a `conn.SockJSConnection`
subclass running on a `session.BaseSession` of the application's own, whose handler (a
`transports.base.BaseTransportMixin`) hands it the outer connection's information.

Channels: ``echo`` (answers ``echo: <text>``), ``shout`` (upper-cases), ``room`` (every
subscriber of a room hears who joins, speaks and leaves; the participant's name and room
are the outer connection's ``name`` and ``room`` query arguments), ``bye`` (says goodbye and closes itself), ``stats``
(``dump`` answers how many channel sessions the router's statistics count).

Run twice, unchanged but for its imports, as `tests.compat.realapps.chat` is.
"""

from __future__ import annotations

from typing import Any, ClassVar

import tornado.web
from sockjs.tornado import conn, proto, router, session, stats
from sockjs.tornado.transports import base


class ChannelHandler(base.BaseTransportMixin):
    """What a channel's session is attached to: it only knows the outer connection."""

    name = "multiplex"

    def __init__(self, conn_info: session.ConnectionInfo) -> None:
        self.conn_info = conn_info

    def get_conn_info(self) -> session.ConnectionInfo:
        return self.conn_info


class ChannelSession(session.BaseSession):
    """One channel of an outer connection: what the channel sends goes out wrapped."""

    def __init__(
        self, channel_class: type, server: Any, outer: conn.SockJSConnection, channel: str
    ) -> None:
        self.outer = outer
        self.channel = channel
        super().__init__(channel_class, server)

    def send_message(self, msg: Any, stats: bool = True, binary: bool = False) -> None:
        self.outer.send("msg," + self.channel + "," + msg)

    def close(self, code: int = 3000, message: str = "Go away!") -> None:
        # The channel closed itself: forget it, tell the client, then close.
        if self.outer.endpoints.get(self.channel) is self:
            del self.outer.endpoints[self.channel]
        self.outer.send("uns," + self.channel)
        self.end(code, message)

    def end(self, code: int = 3000, message: str = "Go away!") -> None:
        """Close without telling the client (it unsubscribed, or left)."""
        super().close(code, message)


class Multiplexer(conn.SockJSConnection):
    channels: ClassVar[dict[str, type]] = {}

    def on_open(self, info: session.ConnectionInfo) -> None:
        self.endpoints: dict[str, ChannelSession] = {}
        self.handler = ChannelHandler(self.session.conn_info)

    def on_message(self, message: str) -> None:
        op, _, rest = message.partition(",")
        name, _, payload = rest.partition(",")
        channel_class = self.channels.get(name)
        if channel_class is None:
            return
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            if op == "sub":
                endpoint = ChannelSession(channel_class, self.session.server, self, name)
                self.endpoints[name] = endpoint
                endpoint.set_handler(self.handler)
                endpoint.verify_state()
        elif op == "msg" and endpoint.conn is not None:
            endpoint.conn.on_message(payload)
        elif op == "uns":
            del self.endpoints[name]
            endpoint.end()

    def on_close(self) -> None:
        for endpoint in list(self.endpoints.values()):
            endpoint.end()
        self.endpoints.clear()

    @classmethod
    def serving(cls, **channels: type) -> type[Multiplexer]:
        return type("ServingMultiplexer", (cls,), {"channels": channels})


class EchoChannel(conn.SockJSConnection):
    def on_open(self, info: session.ConnectionInfo) -> None:
        self.send("echo ready")

    def on_message(self, message: str) -> None:
        self.send("echo: " + message)


class ShoutChannel(conn.SockJSConnection):
    def on_message(self, message: str) -> None:
        self.send(message.upper())


class RoomChannel(conn.SockJSConnection):
    rooms: ClassVar[dict[str, set[RoomChannel]]] = {}

    def on_open(self, info: session.ConnectionInfo) -> None:
        self.who = (info.get_argument("name") or b"someone").decode("utf-8")
        self.room = (info.get_argument("room") or b"lobby").decode("utf-8")
        members = self.rooms.setdefault(self.room, set())
        self.broadcast(members, self.who + " joined")
        members.add(self)
        self.send("welcome " + self.who)

    def on_message(self, message: str) -> None:
        self.broadcast(self.rooms[self.room], self.who + ": " + message)

    def on_close(self) -> None:
        members = self.rooms.get(self.room, set())
        members.discard(self)
        self.broadcast(members, self.who + " left")
        if not members:
            self.rooms.pop(self.room, None)


class ByeChannel(conn.SockJSConnection):
    def on_open(self, info: session.ConnectionInfo) -> None:
        self.send("bye")
        self.close()

    def on_message(self, message: str) -> None:
        self.send("still here?")


class StatsChannel(conn.SockJSConnection):
    def on_message(self, message: str) -> None:
        if message == "dump":
            collector: stats.StatsCollector = self.session.server.stats
            count = collector.dump().get("transp_multiplex", 0)
            self.send(proto.json_encode({"channel_sessions": count}))


def make_application() -> tornado.web.Application:
    multiplexer = Multiplexer.serving(
        echo=EchoChannel,
        shout=ShoutChannel,
        room=RoomChannel,
        bye=ByeChannel,
        stats=StatsChannel,
    )
    return tornado.web.Application(router.SockJSRouter(multiplexer, "/multiplex").urls)
