"""Which transport fallback.js picks on each engine, how long it takes to open, and the
round trip of an echo on each transport: the README's engine table (``make engine-table``).

    python -m tests.browser.measure_engines [--runs 5]

Prints a Markdown table; every figure is the median of the runs.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from playwright.sync_api import sync_playwright

from tests.browser import apps, engines
from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.browser.engines import CONSOLE_HOOK
from tests.browser.test_choice import NO_CORS_XHR, NO_EVENTSOURCE, NO_WEBSOCKET
from tests.support.live import LiveServer

#: (what the browser is missing, init scripts, page on another origin, service)
SCENARIOS = [
    ("nothing (the engine as it is)", [], False, "/echo"),
    ("WebSocket, page on another origin", [NO_WEBSOCKET], True, "/echo"),
    ("WebSocket and EventSource, another origin", [NO_WEBSOCKET, NO_EVENTSOURCE], True, "/echo"),
    (
        "WebSocket, EventSource, CORS XHR (IE 6-7), same origin",
        [NO_WEBSOCKET, NO_EVENTSOURCE, NO_CORS_XHR],
        False,
        "/echo",
    ),
    (
        "WebSocket, EventSource, CORS XHR (IE 6-7), another origin",
        [NO_WEBSOCKET, NO_EVENTSOURCE, NO_CORS_XHR],
        True,
        "/echo",
    ),
    ("nothing, behind a proxy that swallows WebSocket (first load)", [], False, "/silent"),
]
TRANSPORTS = ["websocket", "eventsource", "xhr_streaming", "htmlfile", "xhr", "jsonp"]

ECHO = """async (n) => {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now(), before = window.received.length;
    sock.send("x" + i);
    while (window.received.length == before) { await new Promise(r => setTimeout(r, 0)); }
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(n / 2)];
}"""


def opened(page: Any, url: str, options: dict[str, Any]) -> dict[str, Any]:
    page.evaluate("([url, options]) => openSocket(url, options)", [url, options])
    page.wait_for_function("window.events.length > 0", timeout=30_000)
    return page.evaluate("window.events[0]")  # type: ignore[no-any-return]


def measure(engine: Any, live: LiveServer, runs: int) -> dict[str, str]:
    cells: dict[str, str] = {}
    other = f"http://localhost:{live.port}"
    for label, init, cross, service in SCENARIOS:
        picked, times = set(), []
        for _ in range(runs):
            page = engine.new_page()
            try:
                page.goto(
                    (other if cross else live.url)
                    + apps.pages.add(apps.page(init=[CONSOLE_HOOK, *init]))
                )
                event = opened(page, live.url + service, {})
                picked.add(event.get("transport", "closed"))
                times.append(event.get("ms", 0))
            finally:
                page.close()
        cells[label] = f"{'/'.join(sorted(picked))}, {statistics.median(times):.0f} ms"
    for transport in TRANSPORTS:
        rtts = []
        for _ in range(runs):
            page = engine.new_page()
            try:
                page.goto(live.url + apps.pages.add(apps.page(init=[CONSOLE_HOOK])))
                opened(page, live.url + "/echo", {"transports": [transport]})
                rtts.append(page.evaluate(ECHO, 20))
            finally:
                page.close()
        cells[f"echo over {transport}"] = f"{statistics.median(rtts):.1f} ms"
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (default 5)")
    args = parser.parse_args()
    live = LiveServer(apps.make_app).start()
    columns: dict[str, dict[str, str]] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for name in engines.ENGINES:
                engine = engines.launch(name, browser)
                try:
                    columns[name] = measure(engine, live, args.runs)
                finally:
                    engine.close()
            browser.close()
    finally:
        live.stop()
    rows = list(next(iter(columns.values())))
    print("| missing in the browser | " + " | ".join(columns) + " |")
    print("| --- |" + " --- |" * len(columns))
    for row in rows:
        print(f"| {row} | " + " | ".join(columns[name][row] for name in columns) + " |")


if __name__ == "__main__":
    main()
