"""sockjs-tornado's ``sessioncontainer`` module: its expiring session store.

fallback keeps its sessions in its own registry, expired by one sweep per service, so
these classes exist for imports only and raise `fallback.exceptions.UnsupportedError`
when instantiated.
"""

from __future__ import annotations

from ._gone import placeholder

__all__ = ["SessionContainer", "SessionMixin"]

_INSTEAD = (
    "fallback keeps and expires sessions itself (after disconnect_delay); find a live "
    "HTTP session with router.get_session(session_id)"
)

SessionMixin = placeholder("sessioncontainer", "SessionMixin", _INSTEAD)
SessionContainer = placeholder("sessioncontainer", "SessionContainer", _INSTEAD)
