"""Fixtures of the browser suite: one Chromium for the suite, a fresh context per page.

`open_page` keeps every page a test opened; when the test fails, each is screenshotted
into ``tests/artifacts/browser/`` (gitignored) and its console is printed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.browser import apps, engines
from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.server.apps import Recorder
from tests.support.live import LiveServer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARTIFACTS = os.path.join(ROOT, "tests", "artifacts", "browser")
INTEROP = os.path.join(ROOT, "tests", "interop")
SHIM_PATH = os.path.join(ROOT, "fallback", "static", "fallback.js")
#: What a failure report shows of the page's socket (the harness's, or the demo chat's).
SOCKET_STATE = """() => {
  const s = window.sock || (window.chat && chat.socket());
  return s ? {readyState: s.readyState, transport: s.transport, attempt: s._plan.attempt,
              sending: !!s._sending, queued: s._queue.length, candidates: s._plan.candidates}
           : null;
}"""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, "report_" + report.when, report)


# Package scope, not session: while Playwright's sync API is alive, the main thread has an
# asyncio loop marked as running, and later suites calling asyncio.run() would fail.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (installs Debian's chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="package")
def live() -> Iterator[LiveServer]:
    server = LiveServer(apps.make_app).start()
    yield server
    server.stop()


@pytest.fixture(scope="package")
def cross_origin(live: LiveServer) -> str:
    """The same server under another origin: pages load from here, services from `live.url`."""
    return f"http://localhost:{live.port}"


@pytest.fixture
def events() -> Recorder:
    apps.recorder.clear()
    return apps.recorder


class Pages:
    """Opens pages, each in its own browser context unless told otherwise."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.contexts: list[BrowserContext] = []
        self.pages: list[Page] = []
        self.console: dict[int, list[str]] = {}

    def context(self, init_scripts: Sequence[str] = ()) -> BrowserContext:
        context = self.browser.new_context()
        context.set_default_timeout(15_000)
        for script in init_scripts:
            context.add_init_script(script)
        self.contexts.append(context)
        return context

    def __call__(
        self,
        url: str | None = None,
        init_scripts: Sequence[str] = (),
        context: BrowserContext | None = None,
    ) -> Page:
        page = (context or self.context(init_scripts)).new_page()
        log = self.console.setdefault(id(page), [])
        page.on("console", lambda message: log.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: log.append(f"pageerror: {error}"))
        self.pages.append(page)
        if url is not None:
            page.goto(url)
        return page

    def save_failure(self, name: str) -> None:
        for n, page in enumerate(self.pages):
            if not page.is_closed():
                report_page(
                    f"{name}-{n}",
                    f"page {n} ({page.url})",
                    lambda path, page=page: page.screenshot(path=path),
                    self.console.get(id(page), []),
                    page.evaluate,
                )

    def close(self) -> None:
        for context in self.contexts:
            context.close()


def report_page(
    name: str,
    label: str,
    screenshot: Callable[[str], object],
    console: list[str],
    evaluate: Callable[[str], object],
) -> None:
    """What a failed test leaves of one page: a screenshot in the artifacts, its console
    and its socket's state in the output (a crashed page still lets the others be saved)."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, f"{name}.png")
    try:
        screenshot(path)
        print(f"screenshot: {path}")
    except Exception as error:
        print(f"no screenshot of {label}: {error}")
    print(f"{label} console:", *console, sep="\n  ")
    try:
        print(f"{label} socket:", evaluate(SOCKET_STATE))
    except Exception as error:
        print(f"{label} socket: {error}")


def finish_pages(pages: Pages | EnginePages, request: pytest.FixtureRequest) -> None:
    """After a test: save what its pages show if it failed, then close them."""
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        pages.save_failure(re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name))
    pages.close()


@pytest.fixture
def open_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Pages]:
    pages = Pages(browser)
    yield pages
    finish_pages(pages, request)


# -- helpers for tests ------------------------------------------------------------------


def events_of(page: Page) -> list[dict[str, Any]]:
    return page.evaluate("window.events")  # type: ignore[no-any-return]


def wait_open(page: Page, timeout: float = 15_000) -> dict[str, Any]:
    """Wait for the harness socket to open (or close); return the open event."""
    page.wait_for_function("window.events.length > 0", timeout=timeout)
    first = events_of(page)[0]
    assert first["type"] == "open", events_of(page)
    return first


def wait_received(page: Page, count: int, timeout: float = 15_000) -> list[str]:
    page.wait_for_function("n => window.received.length >= n", arg=count, timeout=timeout)
    return page.evaluate("window.received")  # type: ignore[no-any-return]


def wait_closed(page: Page, timeout: float = 15_000) -> dict[str, Any]:
    page.wait_for_function("window.events.some(e => e.type == 'close')", timeout=timeout)
    return next(e for e in events_of(page) if e["type"] == "close")


def open_socket(page: Page, url: str, options: dict[str, Any] | None = None) -> None:
    page.evaluate("([url, options]) => openSocket(url, options)", [url, options or {}])


# -- the npm sockjs server ----------------------------------------------------------------


class NodeServer:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [
                "node",
                os.path.join(INTEROP, "sockjs_node_server.js"),
                os.path.dirname(SHIM_PATH),
                os.path.join(ROOT, "tests", "browser", "static"),
            ],
            cwd=INTEROP,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # bounded: the script prints or exits
        if not line:
            raise RuntimeError("the sockjs-node server did not start (is `make node-deps` done?)")
        self.port = json.loads(line)["port"]
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


@pytest.fixture(scope="package")
def sockjs_node() -> Iterator[NodeServer]:
    server = NodeServer()
    yield server
    server.stop()


# -- every engine: chromium, firefox, webkit (tests/browser/engines.py) ----------------------


@pytest.fixture(scope="package", params=engines.ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Each browser engine in turn, started once for the package."""
    name = request.param
    why = engines.missing(name)
    if why:
        pytest.fail(f"{name}: {why}")
    launched = engines.launch(
        name, request.getfixturevalue("browser") if name == "chromium" else None
    )
    yield launched
    launched.close()


class EnginePages:
    """Opens isolated pages on one engine; on failure, screenshots and console output."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.pages: list[engines.EnginePage] = []

    def __call__(self, url: str | None = None) -> engines.EnginePage:
        page = self.engine.new_page()
        self.pages.append(page)
        if url is not None:
            page.goto(url)
        return page

    def save_failure(self, name: str) -> None:
        for n, page in enumerate(self.pages):
            report_page(f"{name}-{n}", f"page {n}", page.screenshot, page.console(), page.evaluate)

    def close(self) -> None:
        for page in self.pages:
            page.close()


@pytest.fixture
def engine_page(engine: Any, request: pytest.FixtureRequest) -> Iterator[EnginePages]:
    pages = EnginePages(engine)
    yield pages
    finish_pages(pages, request)
