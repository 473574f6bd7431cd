"""What the server knew about a client when its session was created."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """A snapshot of the request that opened a session, handed to `Connection.on_open`.

    Polling transports make many requests per session; this is the first one. Header
    names are lower-case; ``get_header`` accepts any case.
    """

    #: The peer's address as the socket saw it (put a proxy's ``X-Forwarded-For`` behind
    #: Tornado's ``xheaders=True`` to get the client's).
    ip: str
    #: Request headers, lower-case names (``Cookie`` is parsed into `cookies` instead).
    headers: Mapping[str, str]
    cookies: Mapping[str, str]
    #: Query arguments: every value of each name, in order.
    arguments: Mapping[str, list[str]]
    #: The request path, e.g. ``/echo/000/abc/xhr_streaming``.
    path: str

    def get_header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def get_cookie(self, name: str, default: str | None = None) -> str | None:
        return self.cookies.get(name, default)

    def get_argument(self, name: str, default: str | None = None) -> str | None:
        """The last value of a query argument, like Tornado's ``get_argument``."""
        values = self.arguments.get(name)
        return values[-1] if values else default


EMPTY_INFO = ConnectionInfo(ip="", headers={}, cookies={}, arguments={}, path="")
