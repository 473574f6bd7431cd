"""A channel server process for browser tests: tenants from a TOML file, plus test pages.

    python -m tests.realtime.channel_server --config FILE --port PORT [--broker URL]

Besides the tenants it serves ``/harness.js`` and ``/page.html`` (a page loading the shim
and the harness), so that pages come from the server's own origin and every transport,
htmlfile included, is usable.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

import tornado.web
from tornado.web import StaticFileHandler

from fallback import channels
from fallback.realtime import build_application, load_config
from fallback.server import listen, shutdown

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_STATIC = os.path.join(os.path.dirname(HERE), "browser", "static")

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>channels</title></head>
<body><script src="/static/fallback.js"></script><script src="/harness.js"></script>
</body></html>"""


class PageHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.finish(PAGE)


async def run(config_path: str, port: int, broker: str | None) -> None:
    config = load_config(config_path)
    app, runtimes = build_application(config)
    app.add_handlers(
        r".*",
        [
            (r"/page\.html", PageHandler),
            (r"/(harness\.js)", StaticFileHandler, {"path": BROWSER_STATIC}),
        ],
    )
    await channels.start(broker)
    for runtime in runtimes:
        await runtime.start()
    server = listen(app, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print("ready", flush=True)
    await stop.wait()
    await shutdown(app, [server], deadline=3.0)
    for runtime in runtimes:
        await runtime.stop()
    await channels.hub().stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--broker", default=None)
    args = parser.parse_args()
    asyncio.run(run(args.config, args.port, args.broker))


if __name__ == "__main__":
    main()
