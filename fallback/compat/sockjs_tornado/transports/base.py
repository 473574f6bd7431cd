"""sockjs-tornado's ``transports.base`` module: `BaseTransportMixin`, what a session
expects of the handler it is attached to.

It works as it did, for the handlers applications write themselves -- the stand-in
handler of a multiplexed connection's channels, for example, which gives each channel's
`session.BaseSession` the outer connection's `session.ConnectionInfo`.
"""

from __future__ import annotations

from ..session import ConnectionInfo

__all__ = ["BaseTransportMixin"]


class BaseTransportMixin:
    """``name`` (the transport's, as ``session.transport_name`` and ``stats`` show it),
    ``get_conn_info()`` and ``session_closed()``."""

    name = "override_me_please"

    def get_conn_info(self) -> ConnectionInfo:
        """The connection information of ``self.request`` (a Tornado request), as
        sockjs-tornado built it; override it for handlers without a request."""
        request = self.request  # type: ignore[attr-defined]
        return ConnectionInfo(
            request.remote_ip, request.cookies, request.arguments, request.headers, request.path
        )

    def session_closed(self) -> None:
        """The session this handler served closed."""
