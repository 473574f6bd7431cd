"""One way to drive a page in each browser engine the suite runs on.

* ``chromium`` -- Debian's Chromium through Playwright (as the rest of the suite);
* ``firefox`` -- Debian's Firefox ESR over WebDriver BiDi, which Firefox speaks itself
  (no geckodriver): a small client here, on websocket-client;
* ``webkit`` -- WebKitGTK (Safari's engine) through Debian's WebKitWebDriver and
  selenium, on an Xvfb display the suite starts (WebKitWebDriver has no BiDi).

Every engine gives the same `EnginePage`: ``goto``, ``evaluate`` and ``wait_for_function``
with Playwright's meaning (a string that evaluates to a function is called with the
argument; values travel as JSON), ``wait_for_timeout``, ``screenshot``, ``console``. A
page is isolated from every other (its own cookies and storage). Scripts that must run
before the page's own (simulated old browsers) are put into the page by the test (see
`tests.browser.apps.page`), which works the same on every engine.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from typing import Any

import websocket

from tests.browser.chromium import CHROMIUM

ENGINES = ("chromium", "firefox", "webkit")
FIREFOX = os.environ.get("FALLBACK_FIREFOX", "/usr/bin/firefox-esr")
WEBKIT_DRIVER = os.environ.get("FALLBACK_WEBKIT_DRIVER", "/usr/bin/WebKitWebDriver")
MINIBROWSER = os.environ.get(
    "FALLBACK_MINIBROWSER", "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
)
XVFB = "/usr/bin/Xvfb"

#: Evaluates `source` in the page as Playwright does: a function is called with `arg`.
#: The result (or the error) comes back as a JSON string.
_EVALUATE = """
function (source, arg, done) {
  Promise.resolve().then(function () {
    var value = (0, eval)("(" + source + "\\n)");
    return typeof value === "function" ? value(JSON.parse(arg)) : value;
  }).then(function (value) {
    done(JSON.stringify({ value: value === undefined ? null : value }));
  }, function (error) {
    done(JSON.stringify({ error: String(error && error.stack || error) }));
  });
}
"""

#: Collects the page's console output where the engine cannot report it.
CONSOLE_HOOK = """
(function () {
  var log = window.__console = [];
  ["log", "info", "warn", "error"].forEach(function (level) {
    var original = console[level];
    console[level] = function () {
      log.push(level + ": " + Array.prototype.join.call(arguments, " "));
      return original.apply(console, arguments);
    };
  });
  window.addEventListener("error", function (e) { log.push("pageerror: " + e.message); });
})();
"""


class EvaluationError(Exception):
    pass


def missing(engine: str) -> str | None:
    """Why `engine` cannot run here (what to install), or None."""
    need = {
        "chromium": [CHROMIUM],
        "firefox": [FIREFOX],
        "webkit": [WEBKIT_DRIVER, MINIBROWSER, XVFB],
    }[engine]
    absent = [path for path in need if not os.path.exists(path)]
    if absent:
        return f"{', '.join(absent)} missing: run `make system-deps`"
    return None


class EnginePage:
    """A page in one engine; see the module docstring."""

    engine = ""

    def goto(self, url: str) -> None:
        raise NotImplementedError

    def _run(self, source: str, arg_json: str) -> str:
        raise NotImplementedError

    def evaluate(self, expression: str, arg: Any = None) -> Any:
        answer = json.loads(self._run(expression, json.dumps(arg)))
        if "error" in answer:
            raise EvaluationError(f"{self.engine}: {expression[:80]!r}: {answer['error']}")
        return answer["value"]

    def wait_for_function(self, expression: str, arg: Any = None, timeout: float = 15_000) -> Any:
        """Poll until `expression` is truthy (bounded); return its value."""
        deadline = time.monotonic() + timeout / 1000
        while True:
            value = self.evaluate(expression, arg)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.engine}: {expression!r} not true within {timeout} ms")
            time.sleep(0.05)

    def wait_for_timeout(self, ms: float) -> None:
        time.sleep(ms / 1000)

    def screenshot(self, path: str) -> None:
        raise NotImplementedError

    def console(self) -> list[str]:
        try:
            return list(self.evaluate("window.__console || []"))
        except Exception as error:  # a crashed or closed page
            return [f"(console unavailable: {error})"]

    def close(self) -> None:
        raise NotImplementedError


# -- Chromium (Playwright) ----------------------------------------------------------------


class ChromiumPage(EnginePage):
    engine = "chromium"

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context()
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.log: list[str] = []
        self.page.on("console", lambda m: self.log.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.log.append(f"pageerror: {e}"))

    def goto(self, url: str) -> None:
        # Not "load": a JSONP poll the shim starts early can hold the load event.
        self.page.goto(url, wait_until="domcontentloaded")

    def evaluate(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def wait_for_function(self, expression: str, arg: Any = None, timeout: float = 15_000) -> Any:
        return self.page.wait_for_function(expression, arg=arg, timeout=timeout).json_value()

    def screenshot(self, path: str) -> None:
        self.page.screenshot(path=path)

    def console(self) -> list[str]:
        return list(self.log)

    def close(self) -> None:
        self.context.close()


class Chromium:
    """Chromium through the suite's Playwright browser (one Playwright per process)."""

    name = "chromium"

    def __init__(self, browser: Any) -> None:
        self.browser = browser

    def new_page(self) -> EnginePage:
        return ChromiumPage(self.browser)

    def close(self) -> None:
        pass  # the browser fixture owns it


# -- Firefox (WebDriver BiDi) ---------------------------------------------------------------

#: Preferences for a quiet, test-only profile: no updates, telemetry or background
#: connections (this machine has no network but loopback), no first-run pages.
FIREFOX_PREFS = {
    "app.update.auto": False,
    "app.update.enabled": False,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "extensions.update.enabled": False,
    "browser.ping-centre.telemetry": False,
    "dom.disable_beforeunload": True,
}


class Bidi:
    """A WebDriver BiDi connection: commands answered in order, events dispatched."""

    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(url, timeout=30, suppress_origin=True)
        # The 30 s bound the connecting only: the reader waits for as long as the browser
        # says nothing (a test may sleep a minute while its pages run), and every command
        # has its own deadline. (With the timeout left on, a silent minute killed the reader
        # and every later command failed with "no answer".)
        self.ws.settimeout(None)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._answers: dict[int, dict[str, Any]] = {}
        self._answered = threading.Condition(self._lock)
        self.listeners: dict[str, list[Any]] = {}
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="bidi", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            while True:
                message = json.loads(self.ws.recv())
                if "id" in message:
                    with self._answered:
                        self._answers[message["id"]] = message
                        self._answered.notify_all()
                else:
                    for listener in self.listeners.get(message.get("method", ""), []):
                        listener(message.get("params", {}))
        except Exception:
            with self._answered:
                self._closed = True
                self._answered.notify_all()

    def command(self, method: str, params: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
        number = next(self._ids)
        self.ws.send(json.dumps({"id": number, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        with self._answered:
            while number not in self._answers:
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    raise TimeoutError(f"BiDi {method}: no answer")
                self._answered.wait(remaining)
            answer = self._answers.pop(number)
        if answer.get("type") == "error":
            raise EvaluationError(f"BiDi {method}: {answer.get('error')}: {answer.get('message')}")
        return answer["result"]  # type: ignore[no-any-return]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()


class FirefoxPage(EnginePage):
    engine = "firefox"

    def __init__(self, engine: Firefox) -> None:
        self.bidi = engine.bidi
        self.user_context = self.bidi.command("browser.createUserContext", {})["userContext"]
        self.context = self.bidi.command(
            "browsingContext.create", {"type": "tab", "userContext": self.user_context}
        )["context"]
        self.log: list[str] = []
        engine.logs[self.context] = self.log

    def goto(self, url: str) -> None:
        self.bidi.command(
            "browsingContext.navigate",
            {"context": self.context, "url": url, "wait": "interactive"},
        )

    def _run(self, source: str, arg_json: str) -> str:
        result = self.bidi.command(
            "script.callFunction",
            {
                "functionDeclaration": (
                    "(source, arg) => new Promise(done => (" + _EVALUATE + ")(source, arg, done))"
                ),
                "arguments": [
                    {"type": "string", "value": source},
                    {"type": "string", "value": arg_json},
                ],
                "target": {"context": self.context},
                "awaitPromise": True,
            },
        )
        if result.get("type") == "exception":
            details = result.get("exceptionDetails", {})
            return json.dumps({"error": details.get("text", "exception")})
        return result["result"]["value"]  # type: ignore[no-any-return]

    def screenshot(self, path: str) -> None:
        data = self.bidi.command("browsingContext.captureScreenshot", {"context": self.context})
        with open(path, "wb") as out:
            out.write(base64.b64decode(data["data"]))

    def console(self) -> list[str]:
        return list(self.log)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.bidi.command("browsingContext.close", {"context": self.context})
        with contextlib.suppress(Exception):
            self.bidi.command("browser.removeUserContext", {"userContext": self.user_context})


class Firefox:
    name = "firefox"

    def __init__(self) -> None:
        self.profile = tempfile.mkdtemp(prefix="fallback-firefox-")
        with open(os.path.join(self.profile, "user.js"), "w") as prefs:
            for key, value in FIREFOX_PREFS.items():
                prefs.write(f"user_pref({json.dumps(key)}, {json.dumps(value)});\n")
        port = _free_port()
        self.process = subprocess.Popen(
            [
                FIREFOX,
                "--headless",
                "--no-remote",
                "--profile",
                self.profile,
                f"--remote-debugging-port={port}",
                "about:blank",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(os.environ, MOZ_CRASHREPORTER_DISABLE="1"),
        )
        self._wait_listening(port)
        self.bidi = Bidi(f"ws://127.0.0.1:{port}/session")
        self.bidi.command("session.new", {"capabilities": {}})
        self.logs: dict[str, list[str]] = {}
        self.bidi.listeners["log.entryAdded"] = [self._logged]
        self.bidi.command("session.subscribe", {"events": ["log.entryAdded"]})

    def _wait_listening(self, port: int) -> None:
        """Firefox prints a line when its BiDi server listens (bounded by the timeout)."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + 60
        lines: list[str] = []
        for line in self.process.stdout:
            lines.append(line)
            if "WebDriver BiDi listening" in line:
                threading.Thread(target=self._drain, daemon=True).start()
                return
            if time.monotonic() > deadline:
                break
        self.process.kill()
        raise RuntimeError("Firefox did not start its BiDi server:\n" + "".join(lines[-20:]))

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for _ in self.process.stdout:
            pass

    def _logged(self, params: dict[str, Any]) -> None:
        context = params.get("source", {}).get("context", "")
        log = self.logs.get(context)
        if log is not None:
            log.append(f"{params.get('level')}: {params.get('text')}")

    def new_page(self) -> EnginePage:
        return FirefoxPage(self)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.bidi.command("session.end", {}, timeout=10)
        self.bidi.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)


# -- WebKit (WebKitGTK's WebDriver, via selenium) -----------------------------------------------


class WebKitPage(EnginePage):
    engine = "webkit"

    def __init__(self, engine: WebKit) -> None:
        from selenium import webdriver
        from selenium.webdriver.remote.client_config import ClientConfig
        from selenium.webdriver.remote.remote_connection import RemoteConnection
        from selenium.webdriver.webkitgtk.options import Options
        from selenium.webdriver.webkitgtk.service import Service

        options = Options()
        options.binary_location = MINIBROWSER
        options.add_argument("--automation")
        # Each page is a browser of its own: nothing shared, not even the process. The
        # service is started here and reached through a ClientConfig because
        # webdriver.WebKitGTK passes a bare URL, which selenium 4.51 deprecates.
        self.service = Service(executable_path=WEBKIT_DRIVER, env=engine.env)
        self.service.start()
        try:
            connection = RemoteConnection(
                client_config=ClientConfig(remote_server_addr=self.service.service_url)
            )
            self.driver = webdriver.Remote(command_executor=connection, options=options)
        except Exception:
            self.service.stop()
            raise
        self.driver.set_script_timeout(60)

    def goto(self, url: str) -> None:
        self.driver.get(url)

    def _run(self, source: str, arg_json: str) -> str:
        return self.driver.execute_async_script(  # type: ignore[no-any-return]
            "var done = arguments[arguments.length - 1];"
            "(" + _EVALUATE + ")(arguments[0], arguments[1], done);",
            source,
            arg_json,
        )

    def screenshot(self, path: str) -> None:
        self.driver.save_screenshot(path)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.driver.quit()
        with contextlib.suppress(Exception):
            self.service.stop()


class WebKit:
    name = "webkit"

    def __init__(self) -> None:
        self.xvfb, display = _start_xvfb()
        self.env = dict(os.environ, DISPLAY=display, SE_AVOID_STATS="true")
        os.environ.setdefault("SE_AVOID_STATS", "true")

    def new_page(self) -> EnginePage:
        return WebKitPage(self)

    def close(self) -> None:
        self.xvfb.terminate()
        try:
            self.xvfb.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.xvfb.kill()


def _start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    """An Xvfb server on a display number it picks itself (``-displayfd``)."""
    read, write = os.pipe()
    process = subprocess.Popen(
        [XVFB, "-displayfd", str(write), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()  # bounded: Xvfb writes it or exits
    if not number:
        process.kill()
        raise RuntimeError("Xvfb did not start")
    return process, f":{number}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(name: str, chromium: Any = None) -> Chromium | Firefox | WebKit:
    """Start `name`; Chromium comes from the suite's Playwright browser (`chromium`)."""
    if name == "chromium":
        return Chromium(chromium)
    return Firefox() if name == "firefox" else WebKit()
