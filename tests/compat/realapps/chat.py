"""A chat server written against sockjs-tornado 1.0.7, as its applications are written.

Rooms of named participants: ``/chat?name=alice&room=lobby``. Every participant of a
room hears who joins, what each says and who leaves; ``{"type": "say", "text": ...}``
speaks, ``{"type": "stats"}`` asks the router's statistics. Events go out as JSON text
(``proto.json_encode``), the way many sockjs-tornado applications send them.

This file is run twice, unchanged: as it is, on the real sockjs-tornado, and with its
import lines pointed at ``fallback.compat.sockjs_tornado`` (see
`tests.compat.realapps.load`) -- the migration the README describes.
"""

from __future__ import annotations

from typing import ClassVar

import tornado.web
from sockjs.tornado import conn, proto, router, session, stats


class ChatConnection(conn.SockJSConnection):
    rooms: ClassVar[dict[str, set[ChatConnection]]] = {}

    def on_open(self, info: session.ConnectionInfo) -> None:
        # What a connection keeps of its own (sockjs-tornado leaves these writable).
        self.info = info
        self.transport = self.session.transport_name
        self.name = (info.get_argument("name") or b"anonymous").decode("utf-8")
        self.room = (info.get_argument("room") or b"lobby").decode("utf-8")
        members = self.rooms.setdefault(self.room, set())
        self.broadcast(members, proto.json_encode({"event": "join", "name": self.name}))
        members.add(self)
        self.send(
            proto.json_encode(
                {
                    "event": "welcome",
                    "name": self.name,
                    "members": sorted(m.name for m in members),
                    "transport": self.transport,
                }
            )
        )

    def on_message(self, message: str) -> None:
        request = proto.json_decode(message)
        if request.get("type") == "say":
            event = {"event": "message", "name": self.name, "text": request["text"]}
            self.broadcast(self.rooms[self.room], proto.json_encode(event))
        elif request.get("type") == "stats":
            self.send(proto.json_encode(self.statistics(self.session.server.stats)))

    def statistics(self, collector: stats.StatsCollector) -> dict[str, object]:
        dump = collector.dump()
        return {
            "event": "stats",
            "sessions_active": dump["sessions_active"],
            "on_my_transport": dump.get("transp_" + self.transport, 0),
        }

    def on_close(self) -> None:
        members = self.rooms.get(self.room, set())
        members.discard(self)
        self.broadcast(members, proto.json_encode({"event": "leave", "name": self.name}))
        if not members:
            self.rooms.pop(self.room, None)


def make_application() -> tornado.web.Application:
    chat_router = router.SockJSRouter(ChatConnection, "/chat")
    return tornado.web.Application(chat_router.urls)
