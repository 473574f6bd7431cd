"""The server the security tests attack: fallback's defaults, and a few explicit openings."""

from __future__ import annotations

import json

import tornado.web

from fallback import Connection, ConnectionInfo, Router
from fallback.server import make_application


class Echo(Connection):
    def on_message(self, text: str) -> None:
        self.send(text)


class Secret(Connection):
    """A cookie-authenticated service: it greets the cookie's user with their secret."""

    def on_open(self, info: ConnectionInfo) -> None:
        user = info.cookies.get("user")
        if user:
            self.send(f"secret of {user}")

    def on_message(self, text: str) -> None:
        self.send(text)


class Probe(Connection):
    """Tells what `on_open` saw of the request's query (the application's view)."""

    def on_open(self, info: ConnectionInfo) -> None:
        self.send(json.dumps(sorted(info.arguments)))


class Crashy(Connection):
    """An application bug: every message raises (the error is logged with the session id)."""

    def on_message(self, text: str) -> None:
        raise RuntimeError("the application failed")


#: Short timers where a test waits for them.
FAST = {"heartbeat_delay": 0.3, "disconnect_delay": 1.0}


def make_app() -> tornado.web.Application:
    routers = [
        Router(Secret, "/default"),
        Router(Echo, "/open", allowed_origins=["*"]),
        Router(Echo, "/partner", allowed_origins=["https://partner.example", "*.trusted.example"]),
        Router(Echo, "/files", allowed_origins=["null"]),
        Router(Echo, "/resume", resume_grace=10.0),
        Router(Echo, "/sameip", resume_same_ip=True, resume_grace=10.0),
        Router(Echo, "/limited", max_sessions=5, handshake_timeout=0.5, **FAST),
        Router(Echo, "/router50", max_sessions=50, handshake_timeout=1.0),
        Router(Echo, "/live", **FAST),
        Router(Probe, "/probe"),
        Router(Echo, "/verified", verify_ip=True),
        Router(Crashy, "/crashy"),
        Router(Echo, "/tiny", max_queue=2),
    ]
    return make_application(routers)
