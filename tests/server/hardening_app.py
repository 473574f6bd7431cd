"""Applications for the limits, statistics and fuzzing tests (one live server each)."""

from __future__ import annotations

import tornado.web

from fallback import Connection, Router
from fallback.server import make_application
from fallback.server.stats import stats_rules
from tests.server.apps import recorder

#: Largest body the ``/h/echo`` router takes.
LIMIT = 1024


class Echo(Connection):
    def on_message(self, text: str) -> None:
        self.send(text)


class Flooder(Echo):
    """``flood N SIZE`` sends N messages at once: more than the session may queue."""

    def on_message(self, text: str) -> None:
        if text.startswith("flood "):
            count, size = (int(n) for n in text.split()[1:])
            for i in range(count):
                if not self.send(f"{i:08d}" + "x" * size):
                    break
            return
        self.send(text)

    def on_close(self) -> None:
        recorder.add("close", self.transport, (self.close_code, self.close_reason), self.session_id)


def make_app() -> tornado.web.Application:
    routers = [
        Router(Echo, "/h/echo", disconnect_delay=0.3, max_message_size=LIMIT, heartbeat_delay=2),
        Router(Echo, "/h/origins", allowed_origins=["https://good.example"]),
        Router(Echo, "/h/busy", max_sessions=2, disconnect_delay=0.3),
        Router(Flooder, "/h/queue", max_queue_bytes=4096, disconnect_delay=0.3),
        Router(Echo, "/h/fuzz", disconnect_delay=0.2, heartbeat_delay=0.5),
        Router(Echo, "/h/slowpoll", heartbeat_delay=0.8),
    ]
    return make_application(
        routers,
        stats_rules("/_stats_denied", "10.0.0.0/8"),
        stats="/_stats",
    )
