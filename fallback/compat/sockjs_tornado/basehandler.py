"""sockjs-tornado's ``basehandler`` module: the base of its HTTP handlers.

fallback serves every SockJS URL with its own handlers (caching headers, CORS, the
JSESSIONID cookie included), so these classes exist for imports only and raise
`fallback.exceptions.UnsupportedError` when instantiated.
"""

from __future__ import annotations

from ._gone import placeholder

__all__ = ["CACHE_TIME", "BaseHandler", "PreflightHandler"]

_INSTEAD = (
    "fallback's router serves the SockJS URLs with its own handlers; for a page of "
    "your own, subclass tornado.web.RequestHandler"
)

#: sockjs-tornado's cache lifetime for static SockJS resources, in seconds.
CACHE_TIME = 31536000

BaseHandler = placeholder("basehandler", "BaseHandler", _INSTEAD)
PreflightHandler = placeholder("basehandler", "PreflightHandler", _INSTEAD)
