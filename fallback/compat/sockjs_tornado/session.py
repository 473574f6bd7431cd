"""sockjs-tornado's ``session`` module: `ConnectionInfo`, `BaseSession` and `Session`.

A sockjs-tornado connection talks to its session only through a small contract --
``send_message``, ``send_jsonified``, ``close``, ``is_closed``, ``broadcast``,
``conn_info``, ``server`` -- and applications rely on it in two ways, both kept here:

* every connection the router makes gets a `Session`: that contract over one fallback
  session (the protocol, queues and timers are fallback's), with the attributes
  applications read (``session_id``, ``transport_name``, ``conn_info``) and room for the
  ones they add (``self.session.user = ...``);
* an application subclasses `BaseSession` to run connection classes of its own. That is
  sockjs-tornado's multiplex pattern: one SockJS connection carries several channels,
  each a `SockJSConnection` on a `BaseSession` subclass whose ``send_message`` wraps the
  message for the outer connection. `BaseSession` behaves as sockjs-tornado's did
  (``set_handler`` / ``verify_state`` / ``close`` drive ``on_open`` and ``on_close``, and
  report to ``server.stats``).

What only existed for sockjs-tornado's own transports (``handler``, ``send_queue``,
heartbeat and expiry methods) raises `fallback.exceptions.UnsupportedError` when used on
a `Session`, naming the replacement.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from http.cookies import CookieError, Morsel, SimpleCookie
from typing import Any, Protocol

from tornado.httputil import HTTPHeaders
from tornado.web import HTTPError

from ...app.connection import Connection
from ...app.dispatch import Dispatcher, coroutine_handlers
from ...codes import CloseCode
from ...core import connection_info as native_info
from ...core.logsafe import get_logger
from ...core.session import Session as NativeSession
from ._gone import Gone
from ._wire import encoded, outgoing
from .stats import StatsCollector


class SessionServer(Protocol):
    """What a session needs of the router that made it (a `router.SockJSRouter`)."""

    stats: StatsCollector


log = get_logger("fallback.compat")

__all__ = ["CLOSED", "CLOSING", "CONNECTING", "OPEN", "BaseSession", "ConnectionInfo", "Session"]

# Session states, sockjs-tornado's values.
CONNECTING = 0
OPEN = 1
CLOSING = 2
CLOSED = 3


class ConnectionInfo:
    """What ``on_open`` receives: sockjs-tornado's ``ConnectionInfo``, with its types.

    ``arguments`` maps names to lists of ``bytes`` and ``get_argument`` gives the first;
    ``cookies`` is a `SimpleCookie` and ``get_cookie`` gives a `Morsel` (read ``.value``);
    ``headers`` is Tornado's case-insensitive `HTTPHeaders`. Built once per session from
    fallback's own `fallback.ConnectionInfo` (`from_native`); applications may also build
    one themselves, with sockjs-tornado's signature.
    """

    def __init__(
        self,
        ip: str,
        cookies: Any,
        arguments: Any,
        headers: Any,
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

    def get_argument(self, name: str) -> Any:
        """The first value of a query argument (bytes), or None."""
        values = self.arguments.get(name)
        return values[0] if values else None

    def get_cookie(self, name: str) -> Morsel[str] | None:
        """The cookie's `Morsel` (its text is ``.value``), or None."""
        cookie: Morsel[str] | None = self.cookies.get(name)
        return cookie

    def get_header(self, name: str) -> str | None:
        """A request header, any case, or None."""
        value: str | None = self.headers.get(name)
        return value

    def __repr__(self) -> str:
        return f"<ConnectionInfo {self.ip} {self.path}>"


class BaseSession:
    """The session a sockjs-tornado connection talks to; subclass it to run connection
    classes yourself (one per channel of a multiplexed connection, for example).

    ``BaseSession(conn, server)`` builds the connection ``conn(self)``. A subclass
    defines ``send_message`` (and ``send_jsonified`` if it sets ``send_expects_json``);
    then ``set_handler(handler)`` takes the connection information from the handler (an
    object with ``name`` and ``get_conn_info()``, such as a
    `fallback.compat.sockjs_tornado.transports.base.BaseTransportMixin`),
    ``verify_state()`` runs ``on_open`` once, and ``close()`` runs ``on_close`` once.
    ``server`` is the `router.SockJSRouter` (its ``stats`` count these sessions, under the
    handler's name, and its ``broadcast`` serves ``broadcast``).
    """

    def __init__(self, conn: Callable[[Any], Any], server: Any) -> None:
        self.server = server
        self.stats = server.stats
        #: Whether ``broadcast`` may hand this session already encoded JSON.
        self.send_expects_json = False
        self.handler: Any = None
        self.state = CONNECTING
        self.conn_info: ConnectionInfo | None = None
        self.close_reason: tuple[int, str] | None = None
        self.transport_name: str | None = None
        self.conn: Any = conn(self)

    def set_handler(self, handler: Any) -> bool:
        """Attach the transport `handler`; the first one gives ``conn_info``."""
        if self.handler is not None:
            raise RuntimeError(f"{self!r} already has a handler")
        self.handler = handler
        self.transport_name = handler.name
        if self.conn_info is None:
            self.conn_info = handler.get_conn_info()
            self.stats.on_sess_opened(self.transport_name)
        return True

    def verify_state(self) -> None:
        """Open the session, running the connection's ``on_open``, if not yet done."""
        if self.state == CONNECTING:
            self.state = OPEN
            self.conn.on_open(self.conn_info)

    def remove_handler(self, handler: Any) -> None:
        if self.handler is not handler:
            raise RuntimeError(f"{handler!r} is not the handler of {self!r}")
        self.handler = None

    def close(self, code: int = CloseCode.GO_AWAY, message: str = "Go away!") -> None:
        """Close once: ``on_close`` runs, then the handler hears ``session_closed()``.

        An exception in ``on_close`` is logged and the session closes all the same.
        """
        if self.state == CLOSED:
            return
        conn = self.conn
        try:
            if conn is not None:
                conn.on_close()
        except Exception:
            log.exception("%r: on_close raised", conn)
        finally:
            self.state = CLOSED
            self.close_reason = (code, message)
            self.conn = None
        if self.conn_info is not None and self.transport_name is not None:
            self.stats.on_sess_closed(self.transport_name)
        if self.handler is not None:
            self.handler.session_closed()

    def delayed_close(self) -> None:
        """Close on the next loop iteration (``is_closed`` is True at once)."""
        self.state = CLOSING
        self.server.io_loop.add_callback(self.close)

    def get_close_reason(self) -> tuple[int, str]:
        """``(code, reason)`` of the close, ``(3000, "Go away!")`` until there is one."""
        return self.close_reason or (int(CloseCode.GO_AWAY), "Go away!")

    @property
    def is_closed(self) -> bool:
        return self.state in (CLOSING, CLOSED)

    def send_message(self, msg: Any, stats: bool = True, binary: bool = False) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define send_message")

    def send_jsonified(self, msg: str, stats: bool = True) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define send_jsonified")

    def broadcast(self, clients: Iterable[Any], msg: Any) -> None:
        """Send `msg` to every open connection in `clients` (the router's broadcast)."""
        self.server.broadcast(clients, msg)


_NO_HANDLER = (
    "fallback's transports are not exposed; read the request's data from "
    "session.conn_info (ip, headers, cookies, arguments, path), pass the "
    "tornado.web.Application to your connection class yourself (a class attribute or "
    "functools.partial), and verify a signed cookie with "
    "tornado.web.decode_signed_value(secret, name, info.get_cookie(name).value)"
)
_NO_QUEUE = (
    "fallback queues and sends messages itself (send_message queues, the transport "
    "writes as soon as it can, in one frame)"
)
_NO_TIMERS = (
    "fallback sends heartbeats and expires sessions itself, from the router's "
    "heartbeat_delay and disconnect_delay settings"
)
_NO_ATTACH = (
    "fallback's transports attach themselves to the sessions fallback creates; to run "
    "a connection class yourself, subclass session.BaseSession"
)


class Session(BaseSession):
    """The session of each connection `router.SockJSRouter` makes: one fallback session.

    As on sockjs-tornado: ``session_id`` (for WebSocket sessions, the id in the URL),
    ``transport_name`` (``websocket``, ``xhr_streaming``, ``xhr``, ``jsonp``, ...),
    ``conn_info``, ``server``, ``state``, ``is_closed``, ``send_message`` (any JSON
    value; str and bytes as text), ``send_jsonified``, ``close(code, message)``,
    ``get_close_reason()``, ``delayed_close()``, ``broadcast``; an application may add
    attributes of its own. New here: ``fallback_connection``, the `fallback.Connection`
    carrying the session, for fallback's own features (channels, close hooks).
    """

    handler = Gone(_NO_HANDLER)
    send_queue = Gone(_NO_QUEUE)
    set_handler = Gone(_NO_ATTACH)
    remove_handler = Gone(_NO_ATTACH)
    verify_state = Gone(_NO_ATTACH)
    flush = Gone(_NO_QUEUE)
    start_heartbeat = Gone(_NO_TIMERS)
    stop_heartbeat = Gone(_NO_TIMERS)
    delay_heartbeat = Gone(_NO_TIMERS)
    on_delete = Gone(_NO_TIMERS)
    promote = Gone(_NO_TIMERS)
    is_alive = Gone(_NO_TIMERS + "; read session.is_closed")
    expiry = Gone(_NO_TIMERS)
    expiry_date = Gone(_NO_TIMERS)
    promoted = Gone(_NO_TIMERS)

    def __init__(
        self,
        conn: Callable[[Any], Any],
        server: SessionServer,
        session_id: str | None = None,
        expiry: float | None = None,
    ) -> None:
        # Not BaseSession.__init__: ``handler`` is gone here, not None.
        self.server = server
        self.stats = server.stats
        self.send_expects_json = True
        self.state = CONNECTING
        self.conn_info = None
        self.close_reason = None
        self.session_id = session_id
        self.transport_name = None
        #: The `fallback.Connection` carrying this session.
        self.fallback_connection: Carrier = Carrier(self)
        self.conn = conn(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.transport_name} {self.session_id or ''}>"

    # -- what connections call ---------------------------------------------------------

    def send_message(self, msg: Any, stats: bool = True, binary: bool = False) -> None:
        """Queue `msg` for the client: str, bytes (UTF-8) or any JSON value.

        `binary` and `stats` are accepted for old call sites (SockJS frames are text,
        and the router counts messages itself).
        """
        self.fallback_connection.enqueue(outgoing(msg))

    def send_jsonified(self, msg: str, stats: bool = True) -> None:
        """Queue a message the application already JSON-encoded (checked, and escaped
        as SockJS asks)."""
        self.fallback_connection.enqueue(encoded(msg))

    def on_messages(self, msg_list: Iterable[str]) -> None:
        """Hand messages to the connection's ``on_message``, as if the client sent them."""
        for msg in msg_list:
            conn = self.conn
            if conn is not None and self.state == OPEN:
                conn.on_message(msg)

    def close(self, code: int = CloseCode.GO_AWAY, message: str = "Go away!") -> None:
        """Close the session: messages already queued go first, then ``c[code,message]``."""
        if self.state != CLOSED:
            self.fallback_connection.close(code, message)


def _id_in_path(path: str) -> str | None:
    """A WebSocket session's id: ``.../<server>/<session>/websocket``."""
    parts = path.rstrip("/").split("/")
    if len(parts) >= 4 and parts[-1] == "websocket":
        return parts[-2]
    return None


class Carrier(Connection):
    """The `fallback.Connection` under a `Session`: fallback's session drives it, and it
    keeps the sockjs-tornado session's attributes (``state``, ``transport_name``,
    ``conn_info``, ``close_reason``...) as sockjs-tornado kept them, and passes each
    event on to the session's connection.

    The application's `SockJSConnection` is deliberately not a `fallback.Connection`:
    it keeps sockjs-tornado's attributes, all of them assignable, and none of fallback's
    read-only properties.
    """

    def __init__(self, session: Session) -> None:
        super().__init__()
        #: The sockjs-tornado session this connection carries.
        self.compat_session = session

    def bind_session(self, session: NativeSession) -> None:
        super().bind_session(session)
        compat = self.compat_session
        compat.transport_name = session.transport
        compat.conn_info = ConnectionInfo.from_native(session.info)
        compat.session_id = session.id if session.id is not None else _id_in_path(session.info.path)

    def session_opened(self) -> bool:
        """sockjs-tornado's ``on_open``: False or `HTTPError` rejects the connection.

        A connection class with ``async def`` handlers gets them awaited in order
        (`fallback.app.dispatch`), ``on_close`` following every ``on_open`` as here."""
        compat = self.compat_session
        if self._session is not None:
            compat.transport_name = self._session.transport
        compat.state = OPEN
        conn = compat.conn
        if self._session is not None and coroutine_handlers(type(conn)):
            return self._open_compat_dispatcher(conn)
        return self._call_on_open() is not False

    def _call_on_open(self) -> Any:
        compat = self.compat_session
        try:
            result = compat.conn.on_open(compat.conn_info)
        except HTTPError as error:  # sockjs-tornado's documented way to refuse
            return self._refused(error)
        return self._await_on_open(result) if inspect.isawaitable(result) else result

    async def _await_on_open(self, result: Awaitable[Any]) -> Any:
        try:
            return await result
        except HTTPError as error:
            return self._refused(error)

    def _refused(self, error: HTTPError) -> bool:
        log.info(
            "connection %s: on_open refused it (HTTP %d)", self.connection_id, error.status_code
        )
        return False

    def _open_compat_dispatcher(self, conn: Any) -> bool:
        session = self._session
        assert session is not None
        dispatcher = self._dispatcher = Dispatcher(
            session.log_name,
            on_open=self._call_on_open,
            on_message=conn.on_message,
            on_close=conn.on_close,
            close=lambda code: session.close(code),
            finish=self._finish_close,
            limit=session.settings.max_pending_messages,
            close_after_reject=True,
        )
        return dispatcher.begin(inspect.iscoroutinefunction(type(conn).on_open))

    def session_message(self, text: str | bytes) -> None:
        if isinstance(text, bytes):
            # sockjs-tornado applications know text only: refused as Connection does.
            super().session_message(text)
            return
        dispatcher = self._dispatcher
        if dispatcher is None:
            self.compat_session.on_messages((text,))
        else:
            dispatcher.push(text)

    def session_closed(self, opened: bool) -> None:
        """``on_close`` follows every ``on_open`` -- also when ``on_open`` closed,
        rejected or failed -- as clean-up code written for sockjs-tornado expects;
        ``is_closed`` turns True after it ran, as there."""
        if self._dispatcher is not None:  # it runs on_close, then finishes
            self._dispatched_closed(opened)
            return
        compat = self.compat_session
        conn = compat.conn
        try:
            if conn is not None and compat.state != CONNECTING:
                conn.on_close()
        finally:
            self._finish_close()

    def _finish_close(self) -> None:
        compat = self.compat_session
        native = self._session
        compat.state = CLOSED
        if native is not None and native.close_code is not None:
            compat.close_reason = (native.close_code, native.close_reason or "")
        compat.conn = None
        self._run_close_hooks()

    def __repr__(self) -> str:
        return f"<carrier of {self.compat_session!r}>"
