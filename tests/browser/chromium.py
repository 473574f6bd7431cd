"""How the browser tests (and ``demo.screenshots``) start Chromium: Debian's, headless.

Playwright's own browser download does not work here, so it drives ``/usr/bin/chromium``
(``make test`` installs the Debian package when it is missing).
"""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("FALLBACK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
