"""Which transports to offer one browser, best first: the ``transports`` list of ``/info``.

The client (``fallback.js``) intersects this list with what it can detect by itself --
native WebSocket, EventSource, CORS-capable XHR, a Flash player, same origin or not -- and
tries what is left in this order. So the server's table holds only what a browser cannot
tell about itself: families whose streaming or cross-origin requests are known to break
although the feature is there, and families that never have a Flash player.

The default order, and why:

1. ``websocket`` -- one socket, both directions, least overhead.
2. ``flash`` -- web-socket-js's Flash socket against the raw ``<prefix>/websocket``; only
   browsers without a native WebSocket but with Flash and a page that hosts the SWF use it.
3. ``eventsource`` -- the browser parses the stream natively and drops what it delivered.
4. ``xhr_streaming`` -- the whole response stays in ``responseText`` until it ends, and it
   needs a 2 KiB prelude before some browsers show anything.
5. ``htmlfile`` -- a hidden iframe running script chunks; same origin only.
6. ``xhr`` -- long polling: one request per batch of messages.
7. ``jsonp`` -- long polling with script tags and form posts: works everywhere, slowest.

Pure: no Tornado, no I/O. `QUIRKS` is the table; `markdown_table` renders it for the README.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection
from urllib.parse import urlsplit

#: Every transport the shim speaks, in the order offered when nothing rules one out.
DEFAULT_ORDER: tuple[str, ...] = (
    "websocket",
    "flash",
    "eventsource",
    "xhr_streaming",
    "htmlfile",
    "xhr",
    "jsonp",
)


@dataclasses.dataclass(frozen=True)
class Quirk:
    """A User-Agent family and the transports it must not be offered."""

    family: str
    #: Searched in the User-Agent header.
    pattern: re.Pattern[str]
    drops: frozenset[str]
    why: str
    #: Applies only when the page is on another origin than the server.
    cross_origin_only: bool = False
    #: Applies only when the service needs cookies (setting ``jsessionid``).
    cookies_only: bool = False

    def applies(self, user_agent: str, *, cross_origin: bool, cookie_needed: bool) -> bool:
        if self.cross_origin_only and not cross_origin:
            return False
        if self.cookies_only and not cookie_needed:
            return False
        return self.pattern.search(user_agent) is not None


def _quirk(family: str, pattern: str, drops: Collection[str], why: str, **flags: bool) -> Quirk:
    return Quirk(family, re.compile(pattern), frozenset(drops), why, **flags)


#: The negotiation table. Keep `why` short: it is the README's last column.
QUIRKS: tuple[Quirk, ...] = (
    _quirk(
        "Any browser, page on another origin",
        r"",
        ["htmlfile"],
        "the htmlfile page calls into the page that framed it: same origin only",
        cross_origin_only=True,
    ),
    _quirk(
        "Opera 12 and older (Presto)",
        r"\bOpera[/ ](?!.*\bOPR/)",
        ["xhr_streaming"],
        "its XHR does not expose a growing response; sockjs-client turns it off there too",
    ),
    _quirk(
        "Android 2.x stock browser",
        r"\bAndroid 2\.(?!.*\bChrome/)",
        ["xhr_streaming"],
        "streamed responses reach the page only when they end (Android issue 13044)",
    ),
    _quirk(
        "Internet Explorer 6-7, page on another origin",
        r"\bMSIE [67]\.",
        ["eventsource", "xhr_streaming", "xhr"],
        "no cross-origin XHR of any kind: only JSONP reaches another origin",
        cross_origin_only=True,
    ),
    _quirk(
        "Internet Explorer 8-9, page on another origin, cookies needed",
        r"\bMSIE [89]\.",
        ["xhr_streaming", "xhr"],
        "XDomainRequest, their only cross-origin XHR, sends no cookies, "
        "so a sticky load balancer loses the session",
        cross_origin_only=True,
        cookies_only=True,
    ),
    _quirk(
        "iOS, Windows Phone, Opera Mini",
        r"\b(?:iPhone|iPad|iPod|Windows Phone|Opera Mini)\b",
        ["flash"],
        "no Flash player exists there",
    ),
)


def is_cross_origin(origin: str | None, host: str | None) -> bool:
    """Whether the page that sent ``Origin`` lives elsewhere than the ``Host`` it asked.

    No ``Origin`` header means a same-origin GET in the browsers that matter here;
    ``null`` (a page opened from a file, a sandboxed frame) is always another origin.
    """
    if not origin:
        return False
    if origin.strip().lower() == "null" or not host:
        return True
    try:
        netloc = urlsplit(origin.strip()).netloc
    except ValueError:
        return True
    return netloc.lower() != host.strip().lower()


def matching_quirks(
    user_agent: str | None, *, cross_origin: bool = False, cookie_needed: bool = False
) -> list[Quirk]:
    ua = user_agent or ""
    return [
        quirk
        for quirk in QUIRKS
        if quirk.applies(ua, cross_origin=cross_origin, cookie_needed=cookie_needed)
    ]


def offered_transports(
    user_agent: str | None,
    *,
    disabled: Collection[str] = (),
    websocket: bool = True,
    flash: bool = True,
    cross_origin: bool = False,
    cookie_needed: bool = False,
) -> list[str]:
    """The ``transports`` list for one ``/info`` request, best first.

    `disabled` holds the router's ``disabled_transports``; `websocket` is False when the
    WebSocket endpoints are not served (then Flash, a WebSocket too, goes as well); `flash`
    says whether a Flash path could apply at all (the raw ``<prefix>/websocket`` endpoint
    is served).
    """
    dropped = set(disabled)
    if not websocket:
        dropped.update(("websocket", "flash"))
    if not flash:
        dropped.add("flash")
    quirks = matching_quirks(user_agent, cross_origin=cross_origin, cookie_needed=cookie_needed)
    for quirk in quirks:
        dropped.update(quirk.drops)
    return [name for name in DEFAULT_ORDER if name not in dropped]


def markdown_table() -> str:
    """The README's negotiation table, generated from `QUIRKS` so the two cannot drift."""
    rows = [
        "| browser family | User-Agent test | not offered | why |",
        "| --- | --- | --- | --- |",
    ]
    for quirk in QUIRKS:
        pattern = quirk.pattern.pattern.replace("|", "\\|")
        drops = ", ".join(f"`{name}`" for name in DEFAULT_ORDER if name in quirk.drops)
        test = f"`{pattern}`" if quirk.pattern.pattern else "(any)"
        rows.append(f"| {quirk.family} | {test} | {drops} | {quirk.why} |")
    return "\n".join(rows) + "\n"
