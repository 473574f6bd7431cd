"""Origin allow-lists, as pure functions.

A browser names the page that opened a connection in the ``Origin`` header (all CORS
requests and WebSocket handshakes) or, for plain GETs such as JSONP script tags, only in
``Referer``. `request_origin` picks whichever the request has; `origin_allowed` matches it
against the ``allowed_origins`` setting.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def request_origin(origin_header: str | None, referer_header: str | None) -> str | None:
    """The origin of the page behind a request, or None when the request does not say."""
    if origin_header:
        return origin_header.strip()
    if referer_header:
        parts = urlsplit(referer_header.strip())
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}"
    return None


def _split(origin: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of an origin or host pattern; scheme may be empty."""
    if "://" in origin:
        parts = urlsplit(origin)
        scheme = parts.scheme.lower()
        try:
            port = parts.port
        except ValueError:
            return scheme, "", None
        host = (parts.hostname or "").lower()
        return scheme, host, port if port is not None else _DEFAULT_PORTS.get(scheme)
    host, _, port_text = origin.rpartition(":") if origin.count(":") == 1 else (origin, "", "")
    host = host.lower()
    if port_text == "*":
        return "", host, None
    if port_text:
        try:
            return "", host, int(port_text)
        except ValueError:
            return "", "", None
    return "", host, None


def _pattern_matches(pattern: str, origin: str) -> bool:
    if pattern in ("*", "*:*"):
        return True
    if pattern == "null" or origin == "null":
        return pattern == origin
    p_scheme, p_host, p_port = _split(pattern)
    o_scheme, o_host, o_port = _split(origin)
    if not o_host:
        return False
    if p_scheme and p_scheme != o_scheme:
        return False
    if p_port is not None and p_port != o_port:
        return False
    if p_host.startswith("*."):
        suffix = p_host[1:]
        return o_host.endswith(suffix) or o_host == p_host[2:]
    return p_host == o_host


def origin_allowed(
    origin: str | None, allowed: Sequence[str] | None, host: str | None = None
) -> bool:
    """Whether a request from `origin` may connect.

    ``allowed=None`` allows everything. A request that names no origin (a non-browser
    client) is allowed: an allow-list protects browsers' users from other sites' pages,
    and only browsers send these headers. Nor is a page from the server's own `host`
    (the request's ``Host``) ever refused: the list is about other sites, and Tornado's
    WebSocket handshake makes the same exception.
    """
    if allowed is None or origin is None:
        return True
    if host and origin != "null" and urlsplit(origin).netloc.lower() == host.lower():
        return True
    return any(_pattern_matches(pattern, origin) for pattern in allowed)
