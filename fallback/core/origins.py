"""Which pages may connect: the same origin by default, plus ``allowed_origins``. Pure.

Browsers send the user's cookies with every request a page of *any* site makes to this
server -- WebSocket handshakes, CORS requests answered with credentials, script tags --
so a server that accepted every page would let any site act as its visitors (cross-site
WebSocket hijacking). The rule, for every transport and both WebSocket endpoints:

1. A request that names no page (no ``Origin``, no ``Referer``) is allowed: it comes from
   a non-browser client, or from an old browser's same-origin GET. Except when the browser
   says the request is another site's (``Sec-Fetch-Site: cross-site`` or ``same-site``
   with neither header, as a page with ``Referrer-Policy: no-referrer`` makes it): then
   only ``allowed_origins=["*"]`` lets it in, since the page cannot be named.
2. A page of the server's own origin is allowed (`same_origin`): the same host and port
   as the request's ``Host``, and the same scheme -- ``https`` pages are also taken as
   same-origin for a request that reached us over plain HTTP (a TLS-terminating proxy
   that does not say so), never the other way round.
3. Otherwise the page's origin must match an ``allowed_origins`` pattern
   (`pattern_matches`); ``"*"`` matches every page, ``null`` included.

``Origin: null`` (pages opened from ``file://``, sandboxed frames, some redirects) is
*not* allowed by default: any site can produce it with a sandboxed frame. List ``"null"``
to allow it.

Patterns (checked at start-up by `check_pattern`):

============================  =========================================================
``*``                         every page (and ``null``)
``null``                      pages with the ``null`` origin
``https://app.example``       that scheme, host and default port (443) only
``https://app.example:8443``  that scheme, host and port
``https://app.example:*``     that scheme and host, any port
``app.example``               that host on its scheme's default port, http or https
``app.example:8080``          that host and port, http or https
``app.example:*``             that host, any port, http or https
``*.app.example``             any subdomain of ``app.example`` (``a.app.example``,
                              ``a.b.app.example``) but *not* ``app.example`` itself (list
                              it too) nor look-alikes (``evilapp.example``)
============================  =========================================================

Hosts compare case-insensitively; default ports are the scheme's (80 for http and ws,
443 for https and wss), whether or not the origin writes them. An origin that is not
``scheme://host[:port]`` (a path, user info, a bad port, an unknown scheme) matches
nothing.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

__all__ = [
    "ANY",
    "NULL",
    "Origin",
    "check_pattern",
    "frame_ancestors",
    "opens_everything",
    "origin_allowed",
    "parse_origin",
    "pattern_matches",
    "request_origin",
    "same_origin",
]

#: The pattern that allows every page.
ANY = "*"
#: The origin of pages that have none to give (``file://``, sandboxed frames).
NULL = "null"

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

#: A DNS name or IPv4 address as origins write them (IPv6 literals are bracketed): no
#: path, query, user info or space can get past it.
_HOST = re.compile(r"[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?|\[[0-9a-f:.]+\]")
_PORT = re.compile(r"[0-9]{1,5}")
#: ``Sec-Fetch-Site`` values that say the request is another site's page.
_FOREIGN_FETCH = frozenset({"cross-site", "same-site"})


@dataclasses.dataclass(frozen=True, slots=True)
class Origin:
    """A parsed ``scheme://host[:port]`` origin; `port` is explicit or the default."""

    scheme: str
    host: str
    port: int


def _host_port(text: str) -> tuple[str, str | None] | None:
    """Split ``host[:port]`` (``[v6]:port`` too); None if it is not that shape."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        host, rest = text[: end + 1], text[end + 1 :]
        if not rest:
            return host, None
        if not rest.startswith(":"):
            return None
        return host, rest[1:]
    if text.count(":") > 1:
        return None
    host, colon, port = text.partition(":")
    return host, (port if colon else None)


def _valid_port(text: str) -> int | None:
    if not _PORT.fullmatch(text):
        return None
    port = int(text)
    return port if 0 < port < 65536 else None


def parse_origin(text: str | None) -> Origin | None:
    """The origin a browser sent, or None if it is absent, ``null`` or malformed."""
    if not text:
        return None
    text = text.strip().lower()
    scheme, sep, rest = text.partition("://")
    if not sep or scheme not in DEFAULT_PORTS:
        return None
    split = _host_port(rest)
    if split is None:
        return None
    host, port_text = split
    if not _HOST.fullmatch(host):
        return None
    if port_text is None:
        return Origin(scheme, host, DEFAULT_PORTS[scheme])
    port = _valid_port(port_text)
    if port is None:
        return None
    return Origin(scheme, host, port)


def request_origin(origin_header: str | None, referer_header: str | None) -> str | None:
    """The origin of the page behind a request, or None when the request does not say.

    ``Origin`` when present (all CORS requests and WebSocket handshakes); else the
    scheme and host of ``Referer`` (script tags and EventSource send only that).
    """
    if origin_header:
        return origin_header.strip()
    if referer_header:
        try:
            parts = urlsplit(referer_header.strip())
        except ValueError:
            return NULL  # a page we cannot name is not one we can allow by name
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}"
    return None


def same_origin(origin: str, host: str | None, scheme: str = "http") -> bool:
    """Whether `origin` is the page origin of a request to `host` (the ``Host`` header)
    that arrived over `scheme` (``http`` or ``https``, Tornado's ``request.protocol``).

    The host must be the same, and the port: the ``Host`` header's, or when it names
    none, the default port of the page's scheme (browsers leave out exactly those). The
    scheme must be the request's, or ``https`` for a request that came over plain HTTP
    (behind a TLS-terminating proxy); an ``http`` page never counts as the origin of an
    ``https`` server.
    """
    page = parse_origin(origin)
    if page is None or not host or page.scheme not in ("http", "https"):
        return False
    split = _host_port(host.strip().lower())
    if split is None:
        return False
    host_name, port_text = split
    if host_name != page.host:
        return False
    if port_text is None:
        port = DEFAULT_PORTS[page.scheme]
    else:
        parsed = _valid_port(port_text)
        if parsed is None:
            return False
        port = parsed
    if port != page.port:
        return False
    scheme = scheme.lower()
    return page.scheme == scheme or (page.scheme == "https" and scheme == "http")


@dataclasses.dataclass(frozen=True, slots=True)
class _Pattern:
    scheme: str | None  # None: http or https
    host: str  # "*.example" for wildcards
    port: int | None  # None: any port
    default_port: bool  # the port is the scheme's default (none written)


def _parse_pattern(pattern: str) -> _Pattern | None:
    text = pattern.strip().lower()
    scheme: str | None = None
    if "://" in text:
        scheme, _, text = text.partition("://")
        if scheme not in DEFAULT_PORTS:
            return None
    split = _host_port(text)
    if split is None:
        return None
    host, port_text = split
    if host.startswith("*."):
        domain = host[2:]
        if domain.startswith("[") or not _HOST.fullmatch(domain):
            return None
    elif not _HOST.fullmatch(host):
        return None
    if port_text is None:
        return _Pattern(scheme, host, None, True)
    if port_text == "*":
        return _Pattern(scheme, host, None, False)
    port = _valid_port(port_text)
    if port is None:
        return None
    return _Pattern(scheme, host, port, False)


def check_pattern(pattern: object) -> str | None:
    """Why `pattern` is not a valid ``allowed_origins`` entry, or None if it is."""
    if not isinstance(pattern, str) or not pattern.strip():
        return "entries must be non-empty strings"
    if pattern.strip() in (ANY, NULL):
        return None
    if _parse_pattern(pattern) is None:
        return (
            "use *, null, scheme://host[:port|:*], host[:port|:*] or *.domain "
            "(no path, no user info)"
        )
    return None


def pattern_matches(pattern: str, origin: str) -> bool:
    """Whether the ``allowed_origins`` entry `pattern` admits the page `origin`."""
    pattern = pattern.strip()
    if pattern == ANY:
        return True
    if pattern.lower() == NULL or origin.strip().lower() == NULL:
        return pattern.lower() == NULL and origin.strip().lower() == NULL
    page = parse_origin(origin)
    rule = _parse_pattern(pattern)
    if page is None or rule is None:
        return False
    if rule.scheme is not None:
        if rule.scheme != page.scheme:
            return False
    elif page.scheme not in ("http", "https"):
        return False
    if rule.port is not None:
        if rule.port != page.port:
            return False
    elif rule.default_port and page.port != DEFAULT_PORTS[page.scheme]:
        return False
    if rule.host.startswith("*."):
        # A subdomain: the page's host ends with ".<domain>" (the dot is part of the
        # check, so "eviltrusted.example" is not under "*.trusted.example").
        suffix = rule.host[1:]
        return page.host.endswith(suffix)
    return page.host == rule.host


def opens_everything(allowed: Sequence[str] | None) -> bool:
    """Whether the list contains ``*`` (every page may connect, with its cookies)."""
    return bool(allowed) and any(p.strip() == ANY for p in allowed or ())


def origin_allowed(
    origin: str | None,
    allowed: Sequence[str] | None,
    host: str | None = None,
    scheme: str = "http",
    *,
    fetch_site: str | None = None,
) -> bool:
    """Whether a request from the page `origin` may connect (see the module docstring).

    `host` and `scheme` are the request's ``Host`` and Tornado's ``request.protocol``;
    `fetch_site` its ``Sec-Fetch-Site`` header. ``allowed=None`` is the same as an empty
    list: the server's own origin only.
    """
    patterns = allowed or ()
    if origin is None:
        if fetch_site is not None and fetch_site.strip().lower() in _FOREIGN_FETCH:
            return opens_everything(patterns)
        return True
    if same_origin(origin, host, scheme):
        return True
    return any(pattern_matches(pattern, origin) for pattern in patterns)


def frame_ancestors(allowed: Sequence[str] | None) -> str:
    """The ``Content-Security-Policy`` directive that lets only the pages `allowed` (and
    the server's own) frame a page: ``iframe.html`` runs SockJS transports from the
    server's origin for the page that frames it, so it must not serve another site --
    not even from a browser's cache, where the origin check of the request never runs.

    The patterns translate one for one (CSP host sources have the same wildcard and port
    rules); ``null`` has no CSP form and is left out; ``*`` gives ``*``.
    """
    sources = ["'self'"]
    for pattern in allowed or ():
        pattern = pattern.strip()
        if pattern == ANY:
            return "frame-ancestors *"
        if pattern.lower() != NULL:
            sources.append(pattern.lower())
    return "frame-ancestors " + " ".join(sources)
