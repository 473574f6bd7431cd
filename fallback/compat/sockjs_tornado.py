"""sockjs-tornado's API on fallback: an application moves over by changing one import.

    from sockjs.tornado import SockJSConnection, SockJSRouter                # before
    from fallback.compat.sockjs_tornado import SockJSConnection, SockJSRouter  # after

Everything here adapts, nothing re-implements: `SockJSConnection` is a
`fallback.Connection`, `SockJSRouter` wraps a `fallback.Router`, broadcasts go through
`fallback.broadcast`, and ``router.stats`` reads the service's own counters. What an
application can observe keeps sockjs-tornado's shape -- ``on_open`` gets a
`ConnectionInfo` whose ``arguments`` hold bytes and whose ``cookies`` hold
`http.cookies.Morsel` objects, ``send`` takes any JSON value, ``on_close`` follows every
``on_open`` -- while the protocol underneath is fallback's, so the places where
sockjs-tornado broke the protocol are fixed (the README's "Migrating from sockjs-tornado"
lists them).

Settings are sockjs-tornado's keys with sockjs-tornado's defaults, each mapped on purpose
(`SETTINGS_DEFAULTS`, `translate_settings`); fallback's own settings may be given in the
same dictionary. A key or value fallback cannot honour raises `ConfigurationError` when
the router is built, naming what to do instead -- nothing is ignored silently.
"""

from __future__ import annotations

import copy
import json
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from http.cookies import CookieError, Morsel, SimpleCookie
from types import MappingProxyType
from typing import Any

from tornado.httputil import HTTPHeaders
from tornado.ioloop import IOLoop, PeriodicCallback
from tornado.routing import Rule
from tornado.web import HTTPError

from .. import info as native_info
from ..connection import Connection, broadcast
from ..exceptions import ConfigurationError
from ..logsafe import get_logger
from ..protocol import CloseCode, OutgoingMessage
from ..registry import SessionRegistry
from ..router import Router
from ..session import SessionState
from ..settings import Settings

log = get_logger("fallback.compat")

__all__ = [
    "SETTINGS_DEFAULTS",
    "ConnectionInfo",
    "SessionView",
    "SockJSConnection",
    "SockJSRouter",
    "Stats",
    "translate_settings",
]


# -- settings ----------------------------------------------------------------------------

#: sockjs-tornado 1.0.7's settings and defaults. A migrated application keeps these
#: defaults (``jsessionid`` and ``verify_ip`` on, its ``sockjs_url``) unless it set them.
SETTINGS_DEFAULTS: Mapping[str, Any] = MappingProxyType(
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
        # sockjs-tornado's default, kept for migrated applications: explicitly open
        # (fallback's own default is the same origin only; the router warns at start-up).
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


# -- what on_open receives -----------------------------------------------------------------


class ConnectionInfo:
    """sockjs-tornado's ``ConnectionInfo``, with its types, made from fallback's.

    As there: ``arguments`` maps names to lists of ``bytes`` and ``get_argument`` gives
    the first; ``cookies`` is a `SimpleCookie` and ``get_cookie`` gives a `Morsel` (read
    ``.value``); ``headers`` is Tornado's case-insensitive `HTTPHeaders`.
    """

    __slots__ = ("arguments", "cookies", "headers", "ip", "path")

    def __init__(
        self,
        ip: str,
        cookies: SimpleCookie,
        arguments: dict[str, list[bytes]],
        headers: HTTPHeaders,
        path: str,
    ) -> None:
        self.ip = ip
        self.cookies = cookies
        self.arguments = arguments
        self.headers = headers
        self.path = path

    @classmethod
    def from_native(cls, info: native_info.ConnectionInfo) -> ConnectionInfo:
        cookies: SimpleCookie = SimpleCookie()
        for name, value in info.cookies.items():
            try:
                cookies[name] = value
            except CookieError:  # a name the cookie module cannot hold; as Tornado does
                continue
        headers = HTTPHeaders()
        for name, value in info.headers.items():
            headers.add(name, value)
        if info.cookies:  # fallback keeps cookies parsed only; sockjs-tornado kept both
            headers.add("Cookie", "; ".join(f"{k}={v}" for k, v in info.cookies.items()))
        arguments = {
            name: [value.encode("utf-8") for value in values]
            for name, values in info.arguments.items()
        }
        return cls(info.ip, cookies, arguments, headers, info.path)

    def get_argument(self, name: str) -> bytes | None:
        values = self.arguments.get(name)
        return values[0] if values else None

    def get_cookie(self, name: str) -> Morsel[str] | None:
        return self.cookies.get(name)

    def get_header(self, name: str) -> str | None:
        return self.headers.get(name)

    def __repr__(self) -> str:
        return f"<ConnectionInfo {self.ip} {self.path}>"


# -- messages ------------------------------------------------------------------------------


class _JsonValue(OutgoingMessage):
    """A message that is any JSON value, as sockjs-tornado's ``send`` allowed.

    Inside a frame it is the value itself (``a[{"k":1}]``, so sockjs-client delivers the
    object, as it did); on the raw WebSocket endpoint it is the JSON text. ASCII-only
    JSON escapes every character SockJS wants escaped.
    """

    __slots__ = ()

    def __init__(self, value: Any) -> None:
        encoded = json.dumps(value, separators=(",", ":"))
        super().__init__(encoded)
        self._encoded = encoded


def _outgoing(message: Any) -> OutgoingMessage:
    if isinstance(message, str):
        return OutgoingMessage(message)
    if isinstance(message, bytes):
        return OutgoingMessage(message.decode("utf-8"))
    return _JsonValue(message)


def _broadcast(clients: Iterable[Connection], message: Any) -> int:
    return broadcast(clients, _outgoing(message))


# -- connections ---------------------------------------------------------------------------


class SessionView:
    """What sockjs-tornado applications reach through ``self.session``.

    A window on the connection's fallback session, not a second session. sockjs-tornado
    internals (``handler``, ``send_queue``, ``conn``...) have no counterpart and raise
    `AttributeError` saying so.
    """

    __slots__ = ("_connection", "server")

    def __init__(self, server: SockJSRouter | None) -> None:
        self.server = server
        self._connection: SockJSConnection | None = None

    def _require(self) -> SockJSConnection:
        if self._connection is None:
            raise RuntimeError("this session is not bound to a connection")
        return self._connection

    @property
    def session_id(self) -> str | None:
        """The SockJS session id; for WebSocket sessions the id in the URL."""
        connection = self._require()
        if connection.session_id is not None:
            return connection.session_id
        parts = connection.info.path.rstrip("/").split("/")
        if len(parts) >= 4 and parts[-1] == "websocket":
            return parts[-2]
        return None

    @property
    def transport_name(self) -> str:
        return self._require().transport

    @property
    def conn_info(self) -> ConnectionInfo:
        return self._require()._compat_info()

    @property
    def is_closed(self) -> bool:
        return self._require().is_closed

    def close(self, code: int = CloseCode.GO_AWAY, message: str = "Go away!") -> None:
        self._require().close(code, message)

    def get_close_reason(self) -> tuple[int, str]:
        connection = self._require()
        if connection.close_code is None:
            return (CloseCode.GO_AWAY, "Go away!")
        return (connection.close_code, connection.close_reason or "")

    def send_message(self, msg: Any, stats: bool = True, binary: bool = False) -> None:
        self._require().send(msg, binary)

    def broadcast(self, clients: Iterable[Connection], msg: Any) -> None:
        _broadcast(clients, msg)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"sockjs-tornado's session.{name} has no counterpart in "
            "fallback.compat.sockjs_tornado; use the connection's own methods "
            "(send, close, is_closed) or session.conn_info"
        )


class SockJSConnection(Connection):
    """sockjs-tornado's connection class, on a `fallback.Connection`.

    Differences from a plain `fallback.Connection`, all kept from sockjs-tornado:
    ``on_open`` receives this module's `ConnectionInfo`; ``send`` takes str, bytes
    (UTF-8) or any JSON value; and ``on_close`` follows every ``on_open`` -- also when
    ``on_open`` closed the connection, rejected it (returned False or raised
    `tornado.web.HTTPError`) or failed -- so clean-up code written for sockjs-tornado
    runs as before. Unlike sockjs-tornado, returning False really rejects: the client
    gets close code 3001 and nothing it sends reaches ``on_message``.
    """

    def __init__(self, session: SessionView | None = None) -> None:
        super().__init__()
        if not isinstance(session, SessionView):
            session = SessionView(None)
        session._connection = self
        self._view = session
        self._info_cache: ConnectionInfo | None = None

    # -- to override (sockjs-tornado's signatures) -------------------------------------

    def on_open(self, info: ConnectionInfo) -> bool | None:  # type: ignore[override]
        """The client connected. Return False to reject it."""
        return None

    def on_message(self, message: Any) -> None:
        raise NotImplementedError("SockJSConnection.on_message must be overridden")

    # -- to call -----------------------------------------------------------------------

    @property
    def session(self) -> SessionView:
        return self._view

    def send(self, message: Any, binary: bool = False) -> bool:
        """Queue a message: str, bytes (UTF-8) or any JSON-serialisable value.

        `binary` is accepted for old call sites; SockJS frames are text, and
        sockjs-tornado too ignored it on every transport but the raw WebSocket.
        """
        session = self._session
        if session is None:
            return False
        return session.enqueue(_outgoing(message))

    def broadcast(self, clients: Iterable[Connection], message: Any) -> None:
        _broadcast(clients, message)

    # -- the session drives these ------------------------------------------------------

    def _compat_info(self) -> ConnectionInfo:
        if self._info_cache is None:
            self._info_cache = ConnectionInfo.from_native(self.info)
        return self._info_cache

    def _session_opened(self) -> bool:
        try:
            return self.on_open(self._compat_info()) is not False
        except HTTPError as error:  # sockjs-tornado's documented way to refuse
            log.info(
                "session %s: on_open refused it (HTTP %d)", self.session_id, error.status_code
            )
            return False

    def _session_closed(self, opened: bool) -> None:
        # fallback calls on_close only for accepted connections; sockjs-tornado called it
        # after every on_open (the connection was open while on_open ran), and clean-up
        # code written for it relies on that.
        super()._session_closed(True)


# -- statistics ----------------------------------------------------------------------------


class Stats:
    """``router.stats``: sockjs-tornado's ``dump()`` over the service's registry.

    Gauges are counted from the live sessions when asked; rates are per-second deltas
    of the registry's counters averaged over the last ten seconds, as sockjs-tornado
    did. The one-second sampler runs only while the router has sessions, so an idle
    router holds no timer; idle seconds count as zero when it starts again.
    """

    WINDOW = 10
    _RATES = ("connections_ps", "packets_sent_ps", "packets_recv_ps")

    def __init__(
        self, registry: SessionRegistry, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._registry = registry
        self._clock = clock
        self._timer: PeriodicCallback | None = None
        self._totals = (0, 0, 0)
        self._windows: tuple[deque[int], ...] = tuple(
            deque(maxlen=self.WINDOW) for _ in self._RATES
        )
        self._idle_since: float | None = None

    def wake(self) -> None:
        """A session is starting: sample every second until none is left."""
        if self._timer is not None:
            return
        self._catch_up()
        self._idle_since = None
        self._timer = PeriodicCallback(self._tick, 1000)
        self._timer.start()

    def _tick(self) -> None:
        self._sample()
        if not len(self._registry) and self._timer is not None:
            self._timer.stop()
            self._timer = None
            self._idle_since = self._clock()

    def _sample(self) -> None:
        counters = self._registry.counters
        totals = (counters.attached, counters.sent, counters.received)
        for window, now, before in zip(self._windows, totals, self._totals, strict=True):
            window.append(now - before)
        self._totals = totals

    def _catch_up(self) -> None:
        if self._idle_since is None:
            return
        seconds = int(self._clock() - self._idle_since)
        for _ in range(min(seconds, self.WINDOW)):
            for window in self._windows:
                window.append(0)
        self._idle_since += seconds

    def dump(self) -> dict[str, int | float]:
        """sockjs-tornado's keys: gauges now, rates as ten-second moving averages."""
        if self._timer is None:
            self._catch_up()
        sessions = list(self._registry)
        open_sessions = [s for s in sessions if s.state is SessionState.OPEN]
        data: dict[str, int | float] = {
            "sessions_active": len(open_sessions),
            "connections_active": sum(1 for s in sessions if s.has_receiver),
        }
        for name, window in zip(self._RATES, self._windows, strict=True):
            data[name] = sum(window) / float(len(window)) if window else 0
        by_transport = Counter(s.transport for s in open_sessions)
        for transport in sorted(set(self._registry.opened) | set(by_transport)):
            data["transp_" + transport] = by_transport[transport]
        return data


# -- the router ----------------------------------------------------------------------------


class SockJSRouter:
    """sockjs-tornado's router: `connection` (a `SockJSConnection` subclass) at `prefix`.

    ``urls`` / ``apply_routes`` give the Tornado rules, ``settings`` the effective
    settings in sockjs-tornado's terms (read-only), ``stats.dump()`` its statistics,
    ``broadcast`` sends to many. ``router`` is the underlying `fallback.Router`.

    `io_loop` is accepted so that old call sites keep working, and is otherwise unused:
    everything runs on the loop that serves the requests. `session_kls` (a custom session
    class) has no equivalent and is refused.
    """

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
        self.stats = Stats(self.router.service.registry)

    @property
    def urls(self) -> list[Rule]:
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

    def broadcast(self, clients: Iterable[Connection], msg: Any) -> None:
        """Send `msg` to every open connection in `clients`, encoded once."""
        _broadcast(clients, msg)

    def _create_connection(self) -> SockJSConnection:
        self.stats.wake()
        return self._connection(SessionView(self))
