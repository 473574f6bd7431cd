"""The SockJS protocol suite's test server, written against sockjs-tornado's API.

    python -m tests.compat.protocol_server --impl fallback --port 8082
    python -m tests.compat.protocol_server --impl sockjs-tornado --port 8083

serves the routes ``sockjs-protocol.py`` expects (``/echo``, ``/close``,
``/disabled_websocket_echo``, ``/cookie_needed_echo``) with the same application code on
either implementation, so that ``make protocol-compat`` can measure both.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from types import ModuleType

import tornado.web

from tests.compat.conftest import IMPLEMENTATIONS, import_api


def make_app(api: ModuleType) -> tornado.web.Application:
    class Echo(api.SockJSConnection):  # type: ignore[name-defined,misc]
        def on_message(self, message):
            self.send(message)

    class Close(api.SockJSConnection):  # type: ignore[name-defined,misc]
        def on_open(self, info):
            self.close()

        def on_message(self, message):
            pass

    # The suite asks from other origins and expects CORS answers: open, on purpose (the
    # same key on both implementations; fallback's own default is the same origin only).
    plain = {"jsessionid": False, "websocket_allow_origin": "*"}
    routers = [
        api.SockJSRouter(Echo, "/echo", {**plain, "response_limit": 4096}),
        api.SockJSRouter(Close, "/close", plain),
        api.SockJSRouter(
            Echo, "/disabled_websocket_echo", {**plain, "disabled_transports": ["websocket"]}
        ),
        api.SockJSRouter(
            Echo, "/cookie_needed_echo", {"jsessionid": True, "websocket_allow_origin": "*"}
        ),
    ]
    routes: list = []
    for router in routers:
        router.apply_routes(routes)
    return tornado.web.Application(routes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", choices=IMPLEMENTATIONS, default="fallback")
    parser.add_argument("--port", type=int, default=8082)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    api = import_api(args.impl)

    async def run() -> None:
        make_app(api).listen(args.port, "127.0.0.1")
        await asyncio.Event().wait()

    asyncio.run(run())


if __name__ == "__main__":
    main()
