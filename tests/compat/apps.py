"""Small applications written against sockjs-tornado's API, for both implementations.

`build` takes the module that provides ``SockJSRouter`` and ``SockJSConnection`` --
``sockjs.tornado`` (the reference) or ``fallback.compat.sockjs_tornado`` -- so one body of
application code runs on each, the way a migrating application would after changing its
import. Everything the server side sees goes into a `Recorder` the tests read.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, ClassVar

import tornado.web

from tests.server.apps import Recorder

#: Settings of the routers below, per prefix (sockjs-tornado keys).
ROUTER_SETTINGS: dict[str, dict[str, Any]] = {
    "/echo": {},
    "/chat": {},
    "/close": {},
    "/reject": {},
    "/info": {},
    "/stats": {},
    "/heartbeat": {"heartbeat_delay": 0.3},
    "/limit": {"response_limit": 300},
    "/nows": {"disabled_transports": ["websocket"]},
    "/origin": {"websocket_allow_origin": ["good.example"]},
    "/open-ip": {"verify_ip": False},
    "/nocookie": {"jsessionid": False},
    "/boom": {},
    "/deny": {},
}


def build(sockjs: ModuleType, events: Recorder) -> tuple[tornado.web.Application, dict[str, Any]]:
    """The application and its routers by prefix, on the given implementation."""
    SockJSConnection = sockjs.SockJSConnection
    SockJSRouter = sockjs.SockJSRouter

    class Echo(SockJSConnection):
        def on_message(self, message):
            if message == "send me a dict":
                self.send({"kind": "dict", "n": [1, 2.5, None, True], "text": "é\u2028"})
            elif message == "send me bytes":
                self.send("bytes ✓".encode())
            elif message == "close me":
                self.close()
            else:
                self.send(message)

    class Chat(SockJSConnection):
        participants: ClassVar[set[Any]] = set()

        def on_open(self, info):
            self.participants.add(self)

        def on_message(self, message):
            self.broadcast(self.participants, message)

        def on_close(self):
            self.participants.discard(self)
            events.add("close", "chat")

    class CloseInOpen(SockJSConnection):
        def on_open(self, info):
            events.add("open", "close")
            self.close()

        def on_message(self, message):
            events.add("message", "close", message)

        def on_close(self):
            events.add("close", "close")

    class Reject(SockJSConnection):
        def on_open(self, info):
            events.add("open", "reject")
            return False

        def on_message(self, message):
            events.add("message", "reject", message)
            self.send("got " + message)

        def on_close(self):
            events.add("close", "reject")

    class Info(SockJSConnection):
        def on_open(self, info):
            cookie = info.get_cookie("flavour")
            events.add(
                "info",
                self.session.transport_name,
                {
                    "ip": info.ip,
                    "path": info.path,
                    "get_argument": info.get_argument("a"),
                    "arguments": info.arguments.get("a"),
                    "missing_argument": info.get_argument("nope"),
                    "get_cookie": (type(cookie).__name__, cookie.value),
                    "cookies": info.cookies["flavour"].value,
                    "missing_cookie": info.get_cookie("nope"),
                    "get_header": info.get_header("X-Test"),
                    "header_any_case": info.headers.get("x-TEST"),
                    "missing_header": info.get_header("X-Nope"),
                    "session_id": self.session.session_id,
                },
            )

        def on_message(self, message):
            self.send(message)

    class Boom(SockJSConnection):
        def on_message(self, message):
            raise RuntimeError("application bug")

        def on_close(self):
            events.add("close", "boom")

    class Deny(SockJSConnection):
        def on_open(self, info):
            raise tornado.web.HTTPError(403)  # sockjs-tornado's documented way to refuse

        def on_message(self, message):
            events.add("message", "deny", message)
            self.send(message)

        def on_close(self):
            events.add("close", "deny")

    class Stats(SockJSConnection):
        def on_message(self, message):
            self.send(message)

    classes = {
        "/echo": Echo,
        "/chat": Chat,
        "/close": CloseInOpen,
        "/reject": Reject,
        "/info": Info,
        "/stats": Stats,
        "/heartbeat": Echo,
        "/limit": Echo,
        "/nows": Echo,
        "/origin": Echo,
        "/open-ip": Echo,
        "/nocookie": Echo,
        "/boom": Boom,
        "/deny": Deny,
    }
    routers = {
        prefix: SockJSRouter(cls, prefix, ROUTER_SETTINGS[prefix])
        for prefix, cls in classes.items()
    }
    routes: list[Any] = []
    for router in routers.values():
        router.apply_routes(routes)
    return tornado.web.Application(routes), routers
