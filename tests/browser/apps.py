"""The server the browser tests drive: SockJS services, test pages, and broken WebSockets.

Pages are registered by the test (`PageStore.add` returns a path) so that each test says
in one place what its page contains. The broken-network services shadow the WebSocket
URLs of an otherwise normal service: one answers the upgrade with 101 and then never says
a word (a proxy that lets the handshake through and swallows the frames), the other drops
the connection (a proxy that refuses upgrades). Both count the attempts they saw.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import os
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar

import tornado.web
from tornado.iostream import IOStream, StreamClosedError
from tornado.web import StaticFileHandler

from fallback import Connection, ConnectionInfo, Router
from fallback.server import make_application
from tests.chaos.app import ChaosEcho
from tests.server.apps import Recorder

HERE = os.path.dirname(os.path.abspath(__file__))
STATIC = os.path.join(HERE, "static")
ROOT = os.path.dirname(os.path.dirname(HERE))
SOCKJS_CLIENT_DIST = os.path.join(ROOT, "tests", "interop", "node_modules", "sockjs-client", "dist")
WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

recorder = Recorder()
#: WebSocket upgrade attempts seen by the broken endpoints, by service name.
upgrades: Counter[str] = Counter()
_upgrades_lock = threading.Lock()


class PageStore:
    """HTML pages the tests register; served at ``/p/<n>``."""

    def __init__(self) -> None:
        self._pages: dict[str, str] = {}
        self._ids = itertools.count(1)

    def add(self, html: str) -> str:
        key = str(next(self._ids))
        self._pages[key] = html
        return "/p/" + key

    def get(self, key: str) -> str | None:
        return self._pages.get(key)


pages = PageStore()


def page(
    body: str = "",
    *,
    shim: str = "/echo/fallback.js",
    attributes: str = "",
    init: Sequence[str] = (),
) -> str:
    """A page loading the shim (with these script-tag attributes) and the test harness.

    `init` scripts run first, before anything else on the page: that is how a test
    makes an old browser (``delete window.WebSocket``) on every engine alike.
    """
    first = "".join(f"<script>{script}</script>\n" for script in init)
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>test</title>\n'
        f"{first}</head><body>\n"
        f'<script src="{shim}" {attributes}></script>\n'
        '<script src="/harness.js"></script>\n'
        f"{body}\n</body></html>"
    )


class PageHandler(tornado.web.RequestHandler):
    def get(self, key: str) -> None:
        html = pages.get(key)
        if html is None:
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(html)


class Echo(Connection):
    def on_message(self, text: str) -> None:
        self.send(text)


class BinaryEcho(Connection):
    """Echoes text as text and binary messages as binary messages, in order;
    ``extensions?`` gets the WebSocket extensions the browser offered."""

    def on_message(self, text: str) -> None:
        if text == "extensions?":
            self.send(self.info.get_header("Sec-WebSocket-Extensions") or "")
            return
        self.send(text)

    def on_binary(self, data: bytes) -> None:
        self.send(data)


#: ``max_message_size`` of the ``/binary`` service (the browser tests send up to it).
BINARY_MAX = 48 * 1024


class Recorded(Connection):
    """Echoes and records which transport each message came over."""

    def on_open(self, info: ConnectionInfo) -> None:
        recorder.add("open", self.transport)

    def on_message(self, text: str) -> None:
        recorder.add("message", self.transport, text)
        if text == "close please":
            self.close(4001, "as you wish")
        else:
            self.send(text)

    def on_close(self) -> None:
        recorder.add("close", self.transport, (self.close_code, self.close_reason))


def _count(name: str) -> None:
    with _upgrades_lock:
        upgrades[name] += 1


class SilentUpgrade(tornado.web.RequestHandler):
    """Completes the WebSocket handshake, then holds the socket and never answers."""

    held: ClassVar[list[IOStream]] = []

    def initialize(self, name: str) -> None:
        self.name = name

    async def get(self, *args: str) -> None:
        _count(self.name)
        key = self.request.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(
            hashlib.sha1((key + WEBSOCKET_GUID).encode("ascii")).digest()
        ).decode("ascii")
        stream = self.detach()
        self.held.append(stream)
        try:
            await stream.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept.encode() + b"\r\n\r\n"
            )
        except StreamClosedError:
            pass


class RefusedUpgrade(tornado.web.RequestHandler):
    """Drops the connection on a WebSocket upgrade, as some proxies do."""

    def initialize(self, name: str) -> None:
        self.name = name

    def get(self, *args: str) -> None:
        _count(self.name)
        self.detach().close()


class SlowImage(tornado.web.RequestHandler):
    """An image that takes a second: the page's load event waits for it, so a page that
    opens a socket while it loads is still loading when the first frames come."""

    async def get(self) -> None:
        await asyncio.sleep(1.0)
        self.set_header("Content-Type", "image/gif")
        self.finish(base64.b64decode("R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw=="))


SESSION = r"/[^/.]+/[^/.]+"

#: The other origin of the browser tests' pages (conftest's `cross_origin`, any port).
CROSS_ORIGINS = ["http://localhost:*"]


def make_app(extra_rules: list[Any] | None = None) -> tornado.web.Application:
    rules: list[Any] = [
        (r"/silent" + SESSION + r"/websocket", SilentUpgrade, {"name": "silent"}),
        (r"/refused" + SESSION + r"/websocket", RefusedUpgrade, {"name": "refused"}),
        (r"/p/([0-9]+)", PageHandler),
        (r"/slow\.gif", SlowImage),
        (r"/(harness\.js|harness\.html)", StaticFileHandler, {"path": STATIC}),
        (r"/sockjs-client/(.*)", StaticFileHandler, {"path": SOCKJS_CLIENT_DIST}),
        (r"/flash/(.*)", StaticFileHandler, {"path": os.path.join(STATIC, "flash")}),
    ]
    # Pages come from the `cross_origin` fixture's host as well as from the server's own:
    # every service allows that origin by name (same-origin is the default).
    cross = {"allowed_origins": CROSS_ORIGINS}
    routers = [
        Router(Echo, "/echo", sockjs_url="/sockjs-client/sockjs.min.js", **cross),
        Router(Recorded, "/recorded", sockjs_url="/sockjs-client/sockjs.min.js", **cross),
        Router(Echo, "/silent", **cross),
        Router(Echo, "/refused", **cross),
        Router(Echo, "/nows", disabled_transports=["websocket"], **cross),
        Router(BinaryEcho, "/binary", max_message_size=BINARY_MAX, **cross),
        Router(BinaryEcho, "/binchaos", heartbeat_delay=1.0, disconnect_delay=2.0, **cross),
        Router(Echo, "/cookie", jsessionid=True, **cross),
        Router(Echo, "/heartbeat", heartbeat_delay=0.2, **cross),
        Router(Echo, "/limit", response_limit=600, **cross),
        Router(ChaosEcho, "/chaos", heartbeat_delay=1.0, disconnect_delay=2.0, **cross),
        # Pages opened from files have the null origin: refused unless listed.
        Router(Echo, "/files", allowed_origins=["null"]),
    ]
    # The broken endpoints must come before the routers' own WebSocket rules.
    for router in routers:
        rules.extend(router.urls)
    rules.extend(extra_rules or [])
    return make_application([], rules)
