"""Regenerate ``docs/demo-chat.png``: two users in one room, on different transports.

    .venv/bin/python -m demo.screenshot [--out docs/demo-chat.png]

Needs the ``test`` extra (Playwright) and Debian's Chromium, as the browser tests do.
"""

from __future__ import annotations

import argparse
import os
import sys

from playwright.sync_api import sync_playwright

from demo.app import make_app

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.support.live import LiveServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "demo-chat.png"))
    args = parser.parse_args()
    live = LiveServer(make_app).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            pages = []
            for nick, transport in (("alice", "websocket"), ("bob", "jsonp")):
                context = browser.new_context(viewport={"width": 820, "height": 410})
                page = context.new_page()
                page.goto(f"{live.url}/?room=lobby&nick={nick}&transport={transport}")
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
                alice.wait_for_function(
                    "t => [...document.querySelectorAll('#messages .text')]"
                    ".some(e => e.textContent === t)",
                    arg=text,
                )
            os.makedirs(os.path.dirname(args.out), exist_ok=True)
            alice.screenshot(path=args.out)
            browser.close()
    finally:
        live.stop()
    print(args.out)


if __name__ == "__main__":
    main()
