"""The demo chat: ``make demo`` serves it on http://127.0.0.1:8080.

Rooms, nicknames, a user list showing the transport each user is on, join and leave
notices, and a selector that forces the browser onto one transport. The server side uses
only the public API (`Connection`, `channels`, `Router`); the page uses ``fallback.js``
as served by the router at ``/chat/fallback.js``.

Wire format, JSON both ways:

* from the browser: ``{"type": "join", "nick": ..., "room": ...}``, then
  ``{"type": "say", "text": ...}``;
* to the browser: ``welcome`` (your nick, room and transport), ``users`` (everyone in
  the room with their transport), ``joined``/``left`` notices, ``said``, and ``error``.

Rooms are channels (`fallback.channels`); ``--broker redis://...`` lets several demo
processes share them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
from typing import Any

import tornado.web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from fallback import Connection, ConnectionInfo, Router, channels
from fallback.cli.main import StartError, check_broker, listen_or_explain
from fallback.cli.options import START_ERROR, OneLineParser, fail, port_number
from fallback.exceptions import ConfigurationError
from fallback.server import make_application

HERE = os.path.dirname(os.path.abspath(__file__))
PREFIX = "/chat"
MAX_TEXT = 2000
ROOM_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")
MAX_NICK = 24

templates = Environment(
    loader=FileSystemLoader(os.path.join(HERE, "templates")),
    autoescape=select_autoescape(["html"]),
)

log = logging.getLogger("demo")


def dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def room_channel(room: str) -> str:
    return "room:" + room


class ChatConnection(Connection):
    """One chatter. A room is a channel (`fallback.channels`): membership and the user
    list come from presence, messages from publishes, so the chat works the same across
    several processes joined by ``--broker redis://...``."""

    def __init__(self) -> None:
        super().__init__()
        self.nick: str | None = None
        self.room: str | None = None
        self._joining = False

    def on_open(self, info: ConnectionInfo) -> None:
        log.info("open %s over %s", self.session_id or "-", self.transport)

    def on_message(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            self.send(dumps({"type": "error", "text": "messages are JSON objects"}))
            return
        kind = message.get("type")
        if kind == "join" and self.room is None and not self._joining:
            self._joining = True
            asyncio.get_running_loop().create_task(
                self.join(message.get("nick"), message.get("room"))
            )
        elif kind == "say" and self.room is not None:
            said = str(message.get("text", ""))[:MAX_TEXT]
            if said:
                self.tell_room({"type": "said", "nick": self.nick, "text": said})
        else:
            self.send(dumps({"type": "error", "text": f"unexpected {kind!r} message"}))

    def on_close(self) -> None:
        if self.room is None:
            return
        channels.leave(self, room_channel(self.room))
        self.tell_room({"type": "left", "nick": self.nick})
        room = self.room
        asyncio.get_running_loop().create_task(publish_users(room))

    async def join(self, nick: Any, room: Any) -> None:
        try:
            room = str(room or "lobby")
            if not ROOM_NAME.fullmatch(room):
                self.send(
                    dumps({"type": "error", "text": "room names are 1-32 of A-Z a-z 0-9 _ -"})
                )
                return
            nick = " ".join(str(nick or "").split())[:MAX_NICK] or "guest"
            channel = room_channel(room)
            taken = {info.get("nick") for info in (await channels.presence(channel)).values()}
            unique, n = nick, 1
            while unique in taken:
                n += 1
                unique = f"{nick} {n}"
            if self.is_closed:
                return
            self.nick, self.room = unique, room
            channels.join(self, channel, {"nick": unique, "transport": self.transport})
            await channels.subscribed(channel)
            self.send(
                dumps(
                    {"type": "welcome", "nick": unique, "room": room, "transport": self.transport}
                )
            )
            self.tell_room({"type": "joined", "nick": unique, "transport": self.transport})
            await publish_users(room)
        finally:
            self._joining = False

    def tell_room(self, message: dict[str, Any]) -> None:
        channels.publish(room_channel(self.room or ""), dumps(message))


async def publish_users(room: str) -> None:
    """Everyone in the room, with their transport, from presence (all processes)."""
    members = (await channels.presence(room_channel(room))).values()
    users = sorted(
        ({"nick": m.get("nick"), "transport": m.get("transport")} for m in members),
        key=lambda user: str(user["nick"]).lower(),
    )
    channels.publish(room_channel(room), dumps({"type": "users", "users": users}))


class PageHandler(tornado.web.RequestHandler):
    async def get(self) -> None:
        counts = await channels.hub().channel_counts("room:")
        rooms = sorted(
            ((name[len("room:") :], count) for name, count in counts.items()),
            key=lambda item: (-item[1], item[0]),
        )
        self.finish(
            templates.get_template("index.html").render(
                prefix=PREFIX,
                rooms=rooms,
                nick=self.get_argument("nick", ""),
                room=self.get_argument("room", "lobby"),
                transport=self.get_argument("transport", ""),
            )
        )


def make_app() -> tornado.web.Application:
    router = Router(ChatConnection, PREFIX)
    assets_path = {"path": os.path.join(HERE, "static")}
    assets = (r"/assets/(.*)", tornado.web.StaticFileHandler, assets_path)
    return make_application(router, [(r"/", PageHandler), assets])


def main() -> int:
    parser = OneLineParser(
        prog="python -m demo.app",
        description="The fallback demo: a chat room over every transport.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=port_number, default=8080, help="port, 1-65535 (default 8080)"
    )
    parser.add_argument(
        "--broker",
        default=None,
        help="redis://host:port/db to chat across several processes (default: one process)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    async def run() -> None:
        await channels.start(args.broker)
        # Flash may open sockets for pages of any domain; the server itself then admits
        # only its own pages (same-origin by default), whatever the policy says.
        listen_or_explain(make_app(), args.port, args.host, flash_policy_domains="*")
        log.info("demo chat on http://%s:%d/", args.host, args.port)
        await asyncio.Event().wait()

    try:
        check_broker(args.broker)
        asyncio.run(run())
    except (StartError, ConfigurationError) as error:
        return fail(str(error), START_ERROR)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
