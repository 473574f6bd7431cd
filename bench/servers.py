"""The three servers `make bench` compares, each started alone in its own process.

    python bench/servers.py KIND PORT[,PORT...]

KIND is ``fallback`` (this package, default settings), ``tornado`` (a plain Tornado
`WebSocketHandler`: the obvious echo and a ``write_message`` loop for broadcast) or
``sockjs-tornado`` (PyPI sockjs-tornado 1.0.7, default settings, its optimized
``broadcast``). Every kind serves the same two services: ``/echo`` answers each message
with itself, ``/broadcast`` sends each message to every connection of the service.
SockJS kinds serve them as SockJS prefixes; plain Tornado at those exact paths.

Prints ``listening`` once the ports are bound (several ports: more than the ~28,000
connections one client address can open to one port). The open file limit is raised to
what 100,000 connections need, or as far as the machine allows.
"""

from __future__ import annotations

import asyncio
import os
import resource
import sys
from typing import Any, ClassVar

import tornado.web
import tornado.websocket
from tornado.httpserver import HTTPServer

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def fallback_app() -> tornado.web.Application:
    from fallback import Connection, Router, broadcast
    from fallback.server import make_application

    class Echo(Connection):
        def on_message(self, text: str) -> None:
            self.send(text)

    class Broadcast(Connection):
        members: ClassVar[set[Connection]] = set()

        def on_open(self, info: Any) -> None:
            self.members.add(self)

        def on_message(self, text: str) -> None:
            broadcast(self.members, text)

        def on_close(self) -> None:
            self.members.discard(self)

    return make_application([Router(Echo, "/echo"), Router(Broadcast, "/broadcast")])


def tornado_app() -> tornado.web.Application:
    class Echo(tornado.websocket.WebSocketHandler):
        def on_message(self, message: str | bytes) -> None:
            self.write_message(message)

    class Broadcast(tornado.websocket.WebSocketHandler):
        members: ClassVar[set[tornado.websocket.WebSocketHandler]] = set()

        def open(self, *args: str, **kwargs: str) -> None:
            self.members.add(self)

        def on_message(self, message: str | bytes) -> None:
            for member in self.members:
                member.write_message(message)

        def on_close(self) -> None:
            self.members.discard(self)

    return tornado.web.Application([(r"/echo", Echo), (r"/broadcast", Broadcast)])


def sockjs_tornado_app() -> tornado.web.Application:
    from sockjs.tornado import SockJSConnection, SockJSRouter

    class Echo(SockJSConnection):  # type: ignore[misc]
        def on_message(self, message: str) -> None:
            self.send(message)

    class Broadcast(SockJSConnection):  # type: ignore[misc]
        members: ClassVar[set[Any]] = set()

        def on_open(self, info: Any) -> None:
            self.members.add(self)

        def on_message(self, message: str) -> None:
            self.broadcast(self.members, message)

        def on_close(self) -> None:
            self.members.discard(self)

    urls = SockJSRouter(Echo, "/echo").urls + SockJSRouter(Broadcast, "/broadcast").urls
    return tornado.web.Application(urls)


APPS = {"fallback": fallback_app, "tornado": tornado_app, "sockjs-tornado": sockjs_tornado_app}


#: Descriptors for the scale scenarios' connections and then some.
FILE_LIMIT = 120_000


def raise_file_limit(want: int = FILE_LIMIT) -> int:
    """Up to `want`, or the hard limit when raising that is not allowed (a container
    without CAP_SYS_RESOURCE: the scale scenarios then stop at what it allows); returns
    the open file limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def main() -> None:
    kind, ports = sys.argv[1], [int(p) for p in sys.argv[2].split(",")]
    raise_file_limit()

    async def run() -> None:
        server = HTTPServer(APPS[kind]())
        for port in ports:
            server.listen(port, "127.0.0.1", backlog=4096)
        print("listening", flush=True)
        await asyncio.Event().wait()

    asyncio.run(run())


if __name__ == "__main__":
    main()
