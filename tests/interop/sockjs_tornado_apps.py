"""The sockjs-tornado applications of tests/compat/realapps behind live servers, and the
npm sockjs-client driving them (sockjs_tornado_apps.js), in Node or in Chromium.

sockjs-client's Node build has websocket, xhr-streaming and xhr-polling (and
eventsource); its JSONP transport needs a DOM, so jsonp-polling runs the same scenario
file in headless Chromium, on sockjs-client's browser build. Used by
test_sockjs_tornado_apps.py and by ``make compat-leave`` (``python -m
tests.interop.sockjs_tornado_apps``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import tornado.web

from tests.compat.conftest import IMPLEMENTATIONS
from tests.compat.realapps import load
from tests.support.live import LiveServer

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(HERE, "sockjs_tornado_apps.js")
SOCKJS_CLIENT_DIST = os.path.join(HERE, "node_modules", "sockjs-client", "dist")

#: sockjs-client's transport name -> the one the server reports (session.transport_name).
SERVER_NAMES = {
    "websocket": "websocket",
    "xhr-streaming": "xhr_streaming",
    "xhr-polling": "xhr",
    "jsonp-polling": "jsonp",
}
TRANSPORTS = tuple(SERVER_NAMES)
#: Transports sockjs-client's Node build cannot use.
BROWSER_ONLY = {"jsonp-polling"}

PAGE = """<!doctype html><meta charset="utf-8">
<script src="/interop/sockjs-client/sockjs.min.js"></script>
<script src="/interop/sockjs_tornado_apps.js"></script>
"""


class PageHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.write(PAGE)


def serve(app: str, impl: str) -> LiveServer:
    """The application `app` on `impl`, plus the page and scripts the browser host loads."""

    def make() -> tornado.web.Application:
        application: tornado.web.Application = load(app, impl).make_application()
        application.add_handlers(
            r".*",
            [
                (r"/interop/page\.html", PageHandler),
                (
                    r"/interop/sockjs-client/(.*)",
                    tornado.web.StaticFileHandler,
                    {"path": SOCKJS_CLIENT_DIST},
                ),
                (
                    r"/interop/(sockjs_tornado_apps\.js)",
                    tornado.web.StaticFileHandler,
                    {"path": HERE},
                ),
            ],
        )
        return application

    return LiveServer(make).start()


def run_in_node(
    scenario: str, url: str, transport: str, options: dict[str, Any], timeout: float = 120
) -> dict[str, Any]:
    """Run a scenario in Node; returns {"error", "report"}."""
    result = subprocess.run(
        ["node", SCENARIOS, scenario, url, transport, json.dumps(options)],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = result.stdout.strip().split("\n")  # not splitlines(): U+2028 is in the text
    try:
        outcome: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, ValueError):
        return {
            "error": f"node exited {result.returncode}: {result.stdout}{result.stderr}",
            "report": None,
        }
    return outcome


def run_in_page(
    page: Any, scenario: str, url: str, transport: str, options: dict[str, Any]
) -> dict[str, Any]:
    """Run a scenario in a Playwright page opened on the server's ``/interop/page.html``."""
    outcome: dict[str, Any] = page.evaluate(
        "([name, url, transport, options]) => scenarios.run(name, SockJS, url, transport, options)",
        [scenario, url, transport, options],
    )
    return outcome


@contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium (Debian's, as the browser suite starts it)."""
    from playwright.sync_api import sync_playwright

    from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def summary(runs: list[dict[str, Any]]) -> str:
    heard = [r for r in runs if r["heard"]]
    times = sorted(r["leaveMs"] for r in heard)
    text = f"{len(heard)}/{len(runs)} heard the leave"
    if times:
        text += (
            f"; after {times[0]} ms min, {statistics.median(times):.0f} ms median, "
            f"{times[-1]} ms max"
        )
    return text


#: How long `main` waits for each leave: past sockjs-tornado's 25 s heartbeat, so that
#: a leave that comes late is measured rather than missed.
PATIENT_LEAVE_TIMEOUT = 45_000


def main() -> int:
    """``make compat-leave``: the leave scenario over xhr-polling, RUNS times, on each
    implementation, for each way of leaving (see sockjs_tornado_apps.js): one after the
    other, each at a random moment, except "next", whose rooms run at once (on
    sockjs-tornado each of its leaves takes ~31 s). Exits 1 if a leave was not heard
    within 12 s on fallback."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--transport", default="xhr-polling")
    args = parser.parse_args()
    failures = 0
    for impl in IMPLEMENTATIONS:
        live = serve("chat", impl)
        try:
            for leave, parallel in (("inside", False), ("next", True), ("later", False)):
                options = {
                    "runs": args.runs,
                    "leave": leave,
                    "parallel": parallel,
                    "jitter": 0 if parallel else 1000,
                    "leaveTimeout": PATIENT_LEAVE_TIMEOUT,
                }
                outcome = run_in_node(
                    "leave", live.url + "/chat", args.transport, options, timeout=args.runs * 60
                )
                if outcome["error"]:
                    print(f"{impl:15} leave={leave:6} error: {outcome['error']}")
                    failures += 1
                    continue
                runs = outcome["report"]["runs"]
                late = [r for r in runs if not r["heard"] or r["leaveMs"] > 12_000]
                print(
                    f"{impl:15} leave={leave:6} {summary(runs)}; {len(late)} after 12 s", flush=True
                )
                if impl != IMPLEMENTATIONS[0]:
                    failures += len(late)
        finally:
            live.stop()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
