"""sockjs-tornado's ``router`` module: `SockJSRouter` over a `fallback.Router`.

Everything adapts, nothing re-implements: each client's connection rides on a fallback
session (`session.Session`), broadcasts go to fallback's session queues with the message
encoded once, and ``router.stats`` reads the service's own counters.

Settings are sockjs-tornado's keys with sockjs-tornado's defaults (`DEFAULT_SETTINGS`),
each mapped on purpose (`translate_settings`); fallback's own settings may be given in
the same dictionary. A key or value fallback cannot honour raises `ConfigurationError`
when the router is built, naming what to do instead -- nothing is ignored silently.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from tornado.ioloop import IOLoop
from tornado.routing import Rule

from ...app.connection import Connection
from ...core.frames import OutgoingMessage, SessionId
from ...core.logsafe import get_logger
from ...core.settings import Settings
from ...exceptions import ConfigurationError
from ...server.router import Router
from . import static, transports
from ._gone import Gone
from ._wire import outgoing
from .conn import SockJSConnection
from .session import Carrier, Session
from .stats import StatsCollector

log = get_logger("fallback.compat")

__all__ = [
    "DEFAULT_SETTINGS",
    "GLOBAL_HANDLERS",
    "STATIC_HANDLERS",
    "TRANSPORTS",
    "SockJSRouter",
    "translate_settings",
]


# -- settings ----------------------------------------------------------------------------

#: sockjs-tornado 1.0.7's settings and defaults. A migrated application keeps these
#: defaults (``jsessionid`` and ``verify_ip`` on, its ``sockjs_url``) unless it set them.
DEFAULT_SETTINGS: Mapping[str, Any] = MappingProxyType(
    {
        "session_check_interval": 1,
        "disconnect_delay": 5,
        "heartbeat_delay": 25,
        "disabled_transports": [],
        "sockjs_url": "https://cdn.jsdelivr.net/sockjs/0.3/sockjs.min.js",
        "response_limit": 128 * 1024,
        "jsessionid": True,
        "immediate_flush": True,
        "disable_nagle": True,
        "verify_ip": True,
        "websocket_allow_origin": "*",
    }
)

_NATIVE_SETTINGS = frozenset(Settings.__dataclass_fields__)


def _renamed(name: str) -> Callable[[Any], dict[str, Any]]:
    """A key fallback has under the same meaning (and checks like its own)."""
    return lambda value: {name: value}


def _session_check_interval(value: Any) -> dict[str, Any]:
    # Compared with the sweep interval once the router exists (it follows the delays).
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigurationError("session_check_interval must be a positive number of seconds")
    return {}


def _immediate_flush(value: Any) -> dict[str, Any]:
    # Both wishes are met at once: a frame goes out as soon as the transport can take
    # it (True's latency) and what is queued meanwhile leaves as one frame (False's
    # batching). Nothing to set.
    if not isinstance(value, bool):
        raise ConfigurationError("immediate_flush must be True or False")
    return {}


def _disable_nagle(value: Any) -> dict[str, Any]:
    if value is not True:
        raise ConfigurationError(
            "disable_nagle=False is not supported: fallback always turns Nagle's algorithm "
            "off on WebSocket connections (small messages, latency matters); remove the "
            "disable_nagle setting"
        )
    return {}


def _websocket_allow_origin(value: Any) -> dict[str, Any]:
    if value == "*":
        # Asked for explicitly: any site may connect (the router warns at start-up).
        # Left out, sockjs-tornado's "*" is not taken: fallback keeps its own default,
        # the page's own origin only (see `translate_settings`).
        return {"allowed_origins": ("*",)}
    entries = [value] if isinstance(value, str) else value
    try:
        origins = tuple(entries)
    except TypeError:
        origins = ()
    if not origins or not all(isinstance(o, str) and o for o in origins):
        raise ConfigurationError(
            'websocket_allow_origin must be "*" or a list of "host[:port]" strings; '
            "or use fallback's allowed_origins setting"
        )
    return {"allowed_origins": origins}


#: How each sockjs-tornado key becomes fallback settings (see the README's table).
_TRANSLATIONS: Mapping[str, Callable[[Any], dict[str, Any]]] = MappingProxyType(
    {
        "session_check_interval": _session_check_interval,
        "disconnect_delay": _renamed("disconnect_delay"),
        "heartbeat_delay": _renamed("heartbeat_delay"),
        "disabled_transports": _renamed("disabled_transports"),
        "sockjs_url": _renamed("sockjs_url"),
        "response_limit": _renamed("response_limit"),
        "jsessionid": _renamed("jsessionid"),
        "immediate_flush": _immediate_flush,
        "disable_nagle": _disable_nagle,
        "verify_ip": _renamed("verify_ip"),
        "websocket_allow_origin": _websocket_allow_origin,
    }
)


def translate_settings(
    user_settings: Mapping[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(sockjs-tornado's view of the settings, fallback `Router` keyword arguments).

    Keys are sockjs-tornado's, over its defaults; fallback's own setting names are
    accepted as well, unless a sockjs-tornado key given alongside already decides them.
    """
    given = dict(user_settings or {})
    effective = {**copy.deepcopy(dict(SETTINGS_DEFAULTS)), **given}  # no shared lists
    native: dict[str, Any] = {}
    decided_by: dict[str, str] = {}
    for key, value in effective.items():
        translate = _TRANSLATIONS.get(key)
        if key == "websocket_allow_origin" and key not in given:
            continue  # secure by default: same origin, unless the application opens it
        if translate is not None:
            for name, setting in translate(value).items():
                native[name] = setting
                if key in given:
                    decided_by[name] = key
        elif key not in _NATIVE_SETTINGS:
            raise ConfigurationError(
                f"unknown setting {key!r}; sockjs-tornado's are "
                f"{', '.join(sorted(SETTINGS_DEFAULTS))}, and fallback's own "
                f"({', '.join(sorted(_NATIVE_SETTINGS - set(SETTINGS_DEFAULTS)))}) "
                "are accepted too"
            )
    for key, value in given.items():
        if key in _TRANSLATIONS:
            continue
        if key in decided_by:
            raise ConfigurationError(
                f"{decided_by[key]} and {key} both decide {key}; keep only one of them"
            )
        native[key] = value
    return effective, native


#: The old name, kept.
SETTINGS_DEFAULTS = DEFAULT_SETTINGS

#: sockjs-tornado's handler tables, for applications that read them (the names of the
#: transports, for example). The classes are placeholders: fallback serves each of
#: these URLs with its own handlers.
TRANSPORTS: Mapping[str, type] = MappingProxyType(
    {
        "websocket": transports.WebSocketTransport,
        "xhr": transports.XhrPollingTransport,
        "xhr_streaming": transports.XhrStreamingTransport,
        "jsonp": transports.JSONPTransport,
        "eventsource": transports.EventSourceTransport,
        "htmlfile": transports.HtmlFileTransport,
    }
)
GLOBAL_HANDLERS: tuple[tuple[str, type], ...] = (
    ("xhr_send", transports.XhrSendHandler),
    ("jsonp_send", transports.JSONPSendHandler),
)
STATIC_HANDLERS: Mapping[str, type] = MappingProxyType(
    {
        "/chunking_test": static.ChunkingTestHandler,
        "/info": static.InfoHandler,
        "/iframe[0-9-.a-z_]*.html": static.IFrameHandler,
        "/websocket": transports.RawWebSocketTransport,
        "/?": static.GreetingsHandler,
    }
)


# -- the router ----------------------------------------------------------------------------


class SockJSRouter:
    """sockjs-tornado's router: `connection` (a `SockJSConnection` subclass) at `prefix`.

    ``urls`` / ``apply_routes`` give the Tornado rules, ``settings`` the effective
    settings in sockjs-tornado's terms (read-only), ``stats.dump()`` its statistics,
    ``broadcast`` sends to many, ``get_session(id)`` finds an HTTP session by its id.
    ``router`` is the underlying `fallback.Router`.

    `io_loop` is accepted so that old call sites keep working, and is otherwise unused:
    everything runs on the loop that serves the requests. `session_kls` (a custom session
    class) has no equivalent and is refused.
    """

    create_session = Gone(
        "fallback creates a session when a client connects; to run a connection class "
        "yourself (a channel of a multiplexed connection), subclass session.BaseSession"
    )

    def __init__(
        self,
        connection: type[SockJSConnection],
        prefix: str = "",
        user_settings: Mapping[str, Any] | None = None,
        io_loop: IOLoop | None = None,
        session_kls: Any = None,
    ) -> None:
        if not (isinstance(connection, type) and issubclass(connection, SockJSConnection)):
            raise ConfigurationError(
                "SockJSRouter needs a subclass of "
                "fallback.compat.sockjs_tornado.SockJSConnection (change its import too)"
            )
        if session_kls is not None:
            raise ConfigurationError(
                "session_kls is not supported: sessions are fallback's own; put per-"
                "connection behaviour in your SockJSConnection subclass"
            )
        effective, native = translate_settings(user_settings)
        self._connection = connection
        self._io_loop = io_loop
        self.settings: Mapping[str, Any] = MappingProxyType(effective)
        self.router = Router(self._create_connection, prefix, **native)
        interval = self.router.service.sweep_interval
        if effective["session_check_interval"] < interval:
            raise ConfigurationError(
                f"session_check_interval={effective['session_check_interval']} asks for "
                f"session checks more often than fallback makes them (every {interval:g} s:"
                " a fifth of the shorter of heartbeat_delay and disconnect_delay, at most "
                "1 s); remove session_check_interval or lower disconnect_delay"
            )
        self.stats = StatsCollector(self.router.service.registry)
        self.websockets_enabled = "websocket" not in effective["disabled_transports"]
        self.cookie_needed = bool(effective["jsessionid"])

    @property
    def urls(self) -> list[Rule]:
        """The Tornado rules serving this router's prefix."""
        return self.router.urls

    def apply_routes(self, routes: list[Any]) -> list[Any]:
        """Append this router's rules to `routes` and return it."""
        routes.extend(self.router.urls)
        return routes

    @property
    def io_loop(self) -> IOLoop:
        """The loop given at construction, else the current one (for old call sites)."""
        return self._io_loop if self._io_loop is not None else IOLoop.current()

    def get_connection_class(self) -> type[SockJSConnection]:
        return self._connection

    def get_session(self, session_id: str) -> Session | None:
        """The live HTTP session with this id, or None (WebSocket sessions are not
        addressable by id: the protocol lets two of them share one, and
        sockjs-tornado did not register them either)."""
        native = self.router.service.registry.get(SessionId(session_id))
        carrier = native.listener if native is not None else None
        return carrier.compat_session if isinstance(carrier, Carrier) else None

    def broadcast(self, clients: Iterable[Any], msg: Any) -> None:
        """Send `msg` to every open connection in `clients`.

        Connections on this package's sessions get one shared message, encoded once;
        those on an application's own `session.BaseSession` get ``send_message(msg)``.
        A failure on one receiver is logged and never stops the others.
        """
        message: OutgoingMessage | None = None
        for client in list(clients):
            session = client.session
            try:
                if session.is_closed:
                    continue
                if isinstance(session, Session):
                    if message is None:
                        message = outgoing(msg)
                    session.fallback_connection.enqueue(message)
                else:
                    session.send_message(msg, stats=False)
            except Exception:
                log.exception("broadcast: delivery to %r failed", session)

    # -- what fallback calls ---------------------------------------------------------------

    def _create_connection(self) -> Connection:
        self.stats.wake()
        return Session(self._connection, self).fallback_connection
