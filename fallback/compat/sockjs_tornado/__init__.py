"""sockjs-tornado's API on fallback: an application moves over by changing its imports.

    from sockjs.tornado import SockJSConnection, SockJSRouter                # before
    from fallback.compat.sockjs_tornado import SockJSConnection, SockJSRouter  # after

    from sockjs.tornado import conn, session, proto                          # before
    from fallback.compat.sockjs_tornado import conn, session, proto          # after

The package has sockjs-tornado 1.0.7's modules, each a thin layer over fallback (no
second implementation of the protocol): `conn` (`SockJSConnection`), `session`
(`ConnectionInfo`, `BaseSession`, `Session`), `router` (`SockJSRouter`), `stats`,
`proto`, `periodic`, `util`, `migrate`, `transports` (`transports.base`) and, for
imports only, the modules of sockjs-tornado's own machinery (`basehandler`, `static`,
`websocket`, `sessioncontainer`, the transport handlers), whose classes raise
`fallback.exceptions.UnsupportedError` naming the replacement when they are used.

What an application can observe keeps sockjs-tornado's shape -- ``on_open`` gets a
`session.ConnectionInfo` whose ``arguments`` hold bytes and whose ``cookies`` hold
`http.cookies.Morsel` objects, ``send`` takes any JSON value, ``on_close`` follows every
``on_open``, a connection's attributes are all its own -- while the protocol underneath
is fallback's, so the places where sockjs-tornado broke the protocol are fixed (the
README's "Migrating from sockjs-tornado" lists them).
"""

from . import (
    basehandler,
    conn,
    migrate,
    periodic,
    proto,
    router,
    session,
    sessioncontainer,
    static,
    stats,
    transports,
    util,
    websocket,
)
from .conn import SockJSConnection
from .router import DEFAULT_SETTINGS, SETTINGS_DEFAULTS, SockJSRouter, translate_settings
from .session import ConnectionInfo

__all__ = [
    "DEFAULT_SETTINGS",
    "SETTINGS_DEFAULTS",
    "ConnectionInfo",
    "SockJSConnection",
    "SockJSRouter",
    "basehandler",
    "conn",
    "migrate",
    "periodic",
    "proto",
    "router",
    "session",
    "sessioncontainer",
    "static",
    "stats",
    "translate_settings",
    "transports",
    "util",
    "websocket",
]
