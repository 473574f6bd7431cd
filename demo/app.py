"""The demo chat: ``make demo`` serves it on http://127.0.0.1:8080."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from typing import ClassVar

import tornado.web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from fallback import Connection, ConnectionInfo, Router, broadcast
from fallback.server import listen, make_application

HERE = os.path.dirname(os.path.abspath(__file__))
templates = Environment(
    loader=FileSystemLoader(os.path.join(HERE, "templates")),
    autoescape=select_autoescape(["html"]),
)


class ChatConnection(Connection):
    """Everyone in one room: every message goes to everybody."""

    members: ClassVar[set[ChatConnection]] = set()

    def on_open(self, info: ConnectionInfo) -> None:
        self.members.add(self)
        broadcast(self.members, f"* someone joined over {self.transport}")

    def on_message(self, text: str) -> None:
        broadcast(self.members, text[:2000])

    def on_close(self) -> None:
        self.members.discard(self)
        broadcast(self.members, "* someone left")


class PageHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.finish(templates.get_template("index.html").render(prefix="/chat"))


def make_app() -> tornado.web.Application:
    router = Router(ChatConnection, "/chat")
    return make_application(router, [(r"/", PageHandler)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    async def run() -> None:
        listen(make_app(), args.port, args.host)
        logging.getLogger("demo").info("demo chat on http://%s:%d/", args.host, args.port)
        await asyncio.Event().wait()

    asyncio.run(run())


if __name__ == "__main__":
    main()
