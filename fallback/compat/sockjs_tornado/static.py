"""sockjs-tornado's ``static`` module: its greeting, info, iframe and chunking-test pages.

fallback's router serves ``<prefix>``, ``/info`` and ``/iframe*.html`` itself (the
iframe page loads the router's ``sockjs_url``), so these classes exist for imports only
and raise `fallback.exceptions.UnsupportedError` when instantiated. ``/chunking_test``
belonged to SockJS clients older than 0.3 and is not served.
"""

from __future__ import annotations

from ._gone import placeholder

__all__ = ["ChunkingTestHandler", "GreetingsHandler", "IFrameHandler", "InfoHandler"]

_INSTEAD = "fallback's router serves this page itself (router.urls)"

IFrameHandler = placeholder("static", "IFrameHandler", _INSTEAD)
GreetingsHandler = placeholder("static", "GreetingsHandler", _INSTEAD)
ChunkingTestHandler = placeholder(
    "static", "ChunkingTestHandler", "no SockJS client since 0.3 asks for /chunking_test"
)
InfoHandler = placeholder("static", "InfoHandler", _INSTEAD)
