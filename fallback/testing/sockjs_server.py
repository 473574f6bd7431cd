"""The conformance server the official SockJS protocol suite and sockjs-client tests use.

    python -m fallback.testing.sockjs_server --port 8081 [--sockjs-url URL]

Services: ``/echo`` (response_limit 4096), ``/close`` (closes in ``on_open``),
``/disabled_websocket_echo``, ``/cookie_needed_echo``, and the ``/ticker``, ``/amplify``
and ``/broadcast`` services of sockjs-client's browser tests.

Every service allows every origin (``allowed_origins=["*"]``): the suites' pages live
elsewhere. Never use it as a template for a real server.

``/autobahn`` is not SockJS: it is a bare WebSocket echo on fallback's engine (text and
binary messages echoed as they came, 64 MiB limit) for the Autobahn|Testsuite fuzzing
client (``make autobahn``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any, ClassVar

import tornado.ioloop
import tornado.web

from fallback.app.connection import Connection, broadcast
from fallback.codes import CloseCode
from fallback.core.connection_info import ConnectionInfo
from fallback.server import listen, make_application
from fallback.server.router import Router
from fallback.transports.links import WebSocketLink
from fallback.transports.websocket import WebSocketEndpoint
from fallback.wsengine import BinaryMessage, Event, Protocol, TextMessage
from fallback.wsengine.deflate import DeflateOptions

from ..core.logsafe import get_logger

#: The ticker's period (the protocol suite's ticker service ticks every second).
TICK_MS = 1000


class EchoConnection(Connection):
    def on_message(self, text: str) -> None:
        self.send(text)


class CloseConnection(Connection):
    def on_open(self, info: ConnectionInfo) -> None:
        self.close(CloseCode.GO_AWAY, "Go away!")


class TickerConnection(Connection):
    """Sends ``tick!`` every second."""

    def on_open(self, info: ConnectionInfo) -> None:
        self._ticker = tornado.ioloop.PeriodicCallback(self._tick, TICK_MS)
        self._ticker.start()

    def _tick(self) -> None:
        self.send("tick!")

    def on_close(self) -> None:
        self._ticker.stop()


class AmplifyConnection(Connection):
    """Answers ``n`` with 2**n ``x`` characters (1 <= n <= 18)."""

    def on_message(self, text: str) -> None:
        try:
            n = int(float(text))
        except ValueError:
            n = 1
        if not 0 < n < 19:
            n = 1
        self.send("x" * 2**n)


class BroadcastConnection(Connection):
    members: ClassVar[set[BroadcastConnection]] = set()

    def on_open(self, info: ConnectionInfo) -> None:
        self.members.add(self)

    def on_message(self, text: str) -> None:
        broadcast(self.members, text)

    def on_close(self) -> None:
        self.members.discard(self)


class EchoLink(WebSocketLink):
    """Echoes every message at the engine level, with no session behind it."""

    __slots__ = ()

    def handle_events(self, events: list[Event]) -> None:
        protocol = self.protocol
        for event in events:
            if not protocol.can_send:
                return
            if isinstance(event, TextMessage):
                protocol.send_text(event.text)
            elif isinstance(event, BinaryMessage):
                protocol.send_binary(event.data)


class AutobahnEchoHandler(WebSocketEndpoint):
    """``/autobahn``: the engine-level echo endpoint Autobahn|Testsuite runs against."""

    max_message_size = 64 * 1024 * 1024
    #: Sections 12 and 13 (permessage-deflate) need the extension offered.
    compression = DeflateOptions()

    def create_link(self, protocol: Protocol) -> WebSocketLink:
        return EchoLink(protocol)


def routers(sockjs_url: str | None = None, **overrides: Any) -> list[Router]:
    # The suites are pages of other origins (the protocol suite sends CORS requests and
    # expects its Origin echoed, null included; sockjs-client's tests serve their pages
    # elsewhere): this server opens every service to every origin, on purpose.
    common: dict[str, Any] = {"allowed_origins": ["*"], **overrides}
    if sockjs_url:
        common["sockjs_url"] = sockjs_url
    return [
        Router(EchoConnection, "/echo", response_limit=4096, **common),
        Router(CloseConnection, "/close", **common),
        Router(
            EchoConnection,
            "/disabled_websocket_echo",
            disabled_transports=["websocket"],
            **common,
        ),
        Router(EchoConnection, "/cookie_needed_echo", jsessionid=True, **common),
        Router(TickerConnection, "/ticker", **common),
        Router(AmplifyConnection, "/amplify", **common),
        Router(BroadcastConnection, "/broadcast", **common),
    ]


def make_app(sockjs_url: str | None = None, **overrides: Any) -> tornado.web.Application:
    return make_application(
        routers(sockjs_url, **overrides),
        [tornado.web.url(r"/autobahn", AutobahnEchoHandler)],
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--sockjs-url", default=None, help="script iframe.html loads")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    async def run() -> None:
        listen(make_app(args.sockjs_url), args.port, args.host)
        get_logger("fallback").info(
            "SockJS conformance server on http://%s:%d", args.host, args.port
        )
        await asyncio.Event().wait()

    asyncio.run(run())


if __name__ == "__main__":
    main()
