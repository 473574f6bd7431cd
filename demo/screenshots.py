"""Regenerate the pictures the README and the docs show, from the running code:

* ``docs/demo-chat.png`` -- the demo chat on a desktop: two users in one room, one on a
  native WebSocket, the other on JSONP polling;
* ``docs/demo-phone.png`` -- the same room on a phone (390 px wide);
* ``docs/admin.png`` -- a tenant's admin page after half a minute of traffic: subscribers on
  four transports, a publisher, the charts, a presence lookup.

    make screenshots            (or: .venv/bin/python -m demo.screenshots [--out DIR])

Needs the ``test`` extra (Playwright) and Debian's Chromium, as the browser tests do. About
a minute: the admin page's charts need some history to show.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import urllib.request
from typing import Any

from playwright.sync_api import Browser, sync_playwright

from demo.app import make_app

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from fallback.realtime import ServerConfig, Tenant, build_application, tokens  # noqa: E402
from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.support.live import LiveServer  # noqa: E402

SECRET = "screenshot-secret-0123456789"
API_KEY = "screenshot-api-key-0123456789"
#: How long the admin page watches traffic before its picture is taken.
ADMIN_HISTORY = 40.0


def chat(browser: Browser, url: str, out: str) -> None:
    pages = []
    for nick, transport, size in (
        ("alice", "websocket", {"width": 820, "height": 410}),
        ("bob", "jsonp", {"width": 390, "height": 700}),
    ):
        page = browser.new_context(viewport=size).new_page()
        page.goto(f"{url}/?room=lobby&nick={nick}&transport={transport}")
        page.wait_for_selector("#chat:not([hidden])")
        pages.append(page)
    alice, bob = pages
    alice.wait_for_selector("#users li:nth-child(2)")
    for page, text in (
        (alice, "hi bob, I am on a native WebSocket"),
        (bob, "hello! my proxy only lets JSONP polling through"),
        (alice, "same chat, same API on the server"),
    ):
        page.fill("#text", text)
        page.press("#text", "Enter")
        for reader in pages:
            reader.wait_for_function(
                "t => [...document.querySelectorAll('#messages .text')]"
                ".some(e => e.textContent === t)",
                arg=text,
            )
    alice.screenshot(path=os.path.join(out, "demo-chat.png"))
    bob.screenshot(path=os.path.join(out, "demo-phone.png"))


SUBSCRIBER = """<!doctype html><meta charset="utf-8"><script src="/acme/fallback.js"></script>
<script>
  var sock = new FallbackSocket("/acme", {transports: [%(transport)s]});
  sock.subscribe("news", function () {});
  sock.subscribe("presence-lobby", null, {token: %(token)s});
</script>"""


def admin(browser: Browser, out: str) -> None:
    tenant = Tenant(
        name="acme",
        prefix="/acme",
        secret=SECRET,
        api_key=API_KEY,
        admin=True,
        presence=("presence-*",),
    )
    pages: dict[str, str] = {}

    def factory() -> Any:
        import tornado.web

        class Page(tornado.web.RequestHandler):
            def get(self, name: str) -> None:
                self.finish(pages[name])

        app, _ = build_application(ServerConfig(tenants=(tenant,)))
        app.add_handlers(r".*", [(r"/page/(\w+)", Page)])
        return app

    live = LiveServer(factory).start()
    stop = threading.Event()
    try:
        people = [
            ("ann", "websocket"),
            ("bo", "eventsource"),
            ("cy", "xhr_streaming"),
            ("di", "xhr"),
            ("ed", "websocket"),
            ("fay", "websocket"),
        ]
        for user, transport in people:
            token = tokens.issue(
                SECRET,
                user,
                tenant="acme",
                channels="presence-*",
                info={"name": user.title(), "transport": transport},
            )
            pages[user] = SUBSCRIBER % {
                "transport": json.dumps(transport),
                "token": json.dumps(token),
            }
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        for user, _ in people[:3]:
            context.new_page().goto(f"{live.url}/page/{user}")

        def publisher() -> None:
            n = 0
            while not stop.wait(0.05 + 0.15 * (1 + ((n // 40) % 3 == 1))):
                n += 1
                request = urllib.request.Request(
                    live.url + "/acme/api/publish",
                    json.dumps({"channel": "news", "data": {"n": n}}).encode(),
                    {"Authorization": f"Bearer {API_KEY}"},
                )
                urllib.request.urlopen(request, timeout=5).read()

        threading.Thread(target=publisher, daemon=True).start()
        page = context.new_page()
        page.goto(live.url + "/acme/admin")
        page.fill("#key", API_KEY)
        page.click("button")
        page.wait_for_selector("#status >> text=live over")
        started = time.monotonic()
        for user, _ in people[3:]:  # more people arrive while the page watches
            time.sleep(ADMIN_HISTORY / 4)
            context.new_page().goto(f"{live.url}/page/{user}")
        time.sleep(max(0.0, ADMIN_HISTORY - (time.monotonic() - started)))
        page.fill("#presence-channel", "presence-lobby")
        page.click("#presence-form button")
        page.wait_for_selector("#presence-members li:nth-child(6)")
        page.screenshot(path=os.path.join(out, "admin.png"), full_page=True)
    finally:
        stop.set()
        live.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "docs"), help="folder (default docs/)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    live = LiveServer(make_app).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            chat(browser, live.url, args.out)
            admin(browser, args.out)
            browser.close()
    finally:
        live.stop()
    for name in ("demo-chat.png", "demo-phone.png", "admin.png"):
        print(os.path.join(args.out, name))


if __name__ == "__main__":
    main()
