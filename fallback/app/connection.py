"""`Connection`, the one class an application writes, and `broadcast`."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable

from ..codes import CloseCode, WebSocketCloseCode
from ..core.connection_info import EMPTY_INFO, ConnectionInfo
from ..core.frames import OutgoingMessage
from ..core.logsafe import get_logger
from ..core.session import Session
from ..core.states import SessionState
from .dispatch import Dispatcher, coroutine_handlers

log = get_logger("fallback.connection")

#: The reason a connection that takes no binary messages closes with (code 1003).
BINARY_REFUSED = "Text messages only."


class Connection:
    """One client, whatever transport carries it. Subclass it and override the ``on_*``.

    Lifecycle: ``on_open(info)`` once, then ``on_message(text)`` for each text message
    and ``on_binary(data)`` for each binary one, all in the order the client sent them,
    then ``on_close()`` once. Every callback runs on the IOLoop; an exception in one is
    logged with the connection id and closes this connection only (code 1011).

    Any of them may be ``async def``: each is awaited before the next event's handler
    starts (a connection's next message waits for the previous ``on_message`` or
    ``on_binary``), at most ``max_pending_messages`` messages wait (then 3008), and
    ``on_close`` runs after the last handler finished (`fallback.app.dispatch` has the
    rules). A class with only plain functions runs them directly, without a queue.

    Rejecting: return ``False`` from ``on_open`` (the client gets close code 3001,
    "Connection rejected") or call ``self.close(code, reason)`` there. Either way the
    client sees the open frame and then the close frame -- SockJS has no earlier way to
    say no -- no message of it reaches ``on_message``, and ``on_close`` is not called,
    because the connection never opened.

    A subclass that defines ``__init__`` must call ``super().__init__()``; the router
    builds connections with no arguments (pass a factory such as ``functools.partial``
    for dependencies).
    """

    #: Runs coroutine handlers in order; None for classes whose handlers are plain
    #: functions, which never look at it (a class attribute, so that it exists
    #: without ``__init__``).
    _dispatcher: Dispatcher | None = None
    #: The application called `close` (messages still waiting are dropped).
    _closed_here = False

    def __init__(self) -> None:
        self._session: Session | None = None
        self._close_hooks: list[Callable[[Connection], None]] | None = None

    # -- to override ------------------------------------------------------------------

    def on_open(self, info: ConnectionInfo) -> bool | Awaitable[bool | None] | None:
        """The client connected. Return False to reject it. May be ``async def``."""
        return None

    def on_message(self, text: str) -> Awaitable[None] | None:
        """The client sent `text`. May be ``async def``."""
        return None

    def on_binary(self, data: bytes) -> Awaitable[None] | None:
        """The client sent a binary message (`fallback.core.binary`). May be ``async def``.

        By default the connection takes text only and closes with 1003 ("Text messages
        only."): override this to accept bytes. It is called in order with
        ``on_message``, so text and binary messages interleave as the client sent them.
        """
        self.close(WebSocketCloseCode.UNSUPPORTED_DATA, BINARY_REFUSED)
        return None

    def on_close(self) -> Awaitable[None] | None:
        """The connection is closed, by either side or by a timeout. Called once, after
        every other handler finished. May be ``async def``."""
        return None

    # -- to call ----------------------------------------------------------------------

    def send(self, message: str | bytes | bytearray | memoryview) -> bool:
        """Queue a message for the client; returns False (and drops it) once closed.

        `str` is a text message; `bytes` (or a `bytearray` or `memoryview`, copied now)
        a binary one, which only clients with `binary` take: to others it raises
        `BinaryUnsupported` (a `TypeError`). Messages arrive in the order they were
        sent, text and binary alike. Everything sent while a write to this client is in
        flight goes out together in the next one.
        """
        if type(message) is str:  # the usual case, in short
            return self.enqueue(OutgoingMessage(message))
        return self.enqueue(outgoing(message, "send"))

    def enqueue(self, message: OutgoingMessage) -> bool:
        """Queue an already built message (`broadcast` shares one among many
        connections; `fallback.compat` encodes its own); False once closed."""
        session = self._session
        return session is not None and session.enqueue(message)

    def close(self, code: int = CloseCode.GO_AWAY, reason: str = "Go away!") -> None:
        """Close the connection; messages already sent are delivered first.

        Use codes 3000-4999 for application reasons (as in WebSocket close codes).
        """
        if self._session is not None:
            self._closed_here = True
            self._session.close(code, reason)

    @property
    def is_closed(self) -> bool:
        return self._session is None or self._session.state is SessionState.CLOSED

    @property
    def handling(self) -> bool:
        """Whether an ``async def`` handler of this connection runs, or an event waits
        for one (always False with plain handlers): a graceful shutdown waits for it."""
        dispatcher = self._dispatcher
        return dispatcher is not None and dispatcher.busy

    @property
    def binary(self) -> bool:
        """Whether the client takes binary messages: fallback.js on a server that offers
        them (the ``binary`` setting), and WebSocket clients of the raw endpoint; not
        plain SockJS clients, nor hixie-76."""
        return self._session is not None and self._session.binary

    @property
    def transport(self) -> str:
        """The transport in use: ``websocket``, ``rawwebsocket``, ``xhr_streaming``,
        ``eventsource``, ``htmlfile``, ``xhr`` or ``jsonp``."""
        return self._session.transport if self._session is not None else ""

    @property
    def session_id(self) -> str | None:
        """The SockJS session id (None for WebSocket transports, whose ids may repeat)."""
        return self._session.id if self._session is not None else None

    @property
    def connection_id(self) -> str:
        """This connection's id in fallback's log lines, on every transport ("" before
        the connection has a session). Log it in yours to match them."""
        return self._session.connection_id if self._session is not None else ""

    @property
    def info(self) -> ConnectionInfo:
        return self._session.info if self._session is not None else EMPTY_INFO

    @property
    def close_code(self) -> int | None:
        return self._session.close_code if self._session is not None else None

    @property
    def close_reason(self) -> str | None:
        return self._session.close_reason if self._session is not None else None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.transport} {self.connection_id}>"

    # -- the session drives these (SessionListener) ----------------------------------

    def bind_session(self, session: Session) -> None:
        self._session = session

    def session_opened(self) -> bool:
        return self.on_open(self.info) is not False

    def session_message(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            self.on_binary(message)
        else:
            self.on_message(message)

    def session_closed(self, opened: bool) -> None:
        try:
            if opened:
                self.on_close()
        finally:
            self._run_close_hooks()

    # -- coroutine handlers (fallback.app.dispatch) -----------------------------------

    def __init_subclass__(cls, **kwargs: object) -> None:
        """A class with a coroutine handler gets the dispatching ``session_*`` methods,
        once, here; the others keep the direct ones (no check per message)."""
        super().__init_subclass__(**kwargs)
        if coroutine_handlers(cls) and "session_message" not in vars(cls):
            setattr(cls, "session_opened", Connection._dispatched_opened)  # noqa: B010
            setattr(cls, "session_message", Connection._dispatched_message)  # noqa: B010
            setattr(cls, "session_closed", Connection._dispatched_closed)  # noqa: B010

    def _dispatched_opened(self) -> bool:
        return self._open_dispatcher()

    def _dispatched_message(self, message: str | bytes) -> None:
        dispatcher = self._dispatcher
        if dispatcher is None:  # on_open never ran: nothing is delivered
            return
        dispatcher.push(message)

    def _handle_message(self, message: str | bytes) -> Awaitable[None] | None:
        """``on_binary`` for bytes, ``on_message`` for text: the dispatcher's handler."""
        if isinstance(message, bytes):
            return self.on_binary(message)
        return self.on_message(message)

    def _dispatched_closed(self, opened: bool) -> None:
        dispatcher = self._dispatcher
        if dispatcher is None:
            self._run_close_hooks()
            return
        dispatcher.closed(opened, drop=self._closed_here or self._server_failure())

    def _open_dispatcher(self) -> bool:
        """Route this connection's events through a `Dispatcher`. A coroutine
        ``on_open`` answers later (the session counts as open meanwhile); a plain one
        answers now, as without a dispatcher."""
        session = self._session
        assert session is not None
        dispatcher = self._dispatcher = Dispatcher(
            session.log_name,
            on_open=lambda: self.on_open(self.info),
            on_message=self._handle_message,
            on_close=self.on_close,
            close=self._close_for_dispatcher,
            finish=self._run_close_hooks,
            limit=session.settings.max_pending_messages,
        )
        return dispatcher.begin(_is_coroutine_method(self, "on_open"))

    def _close_for_dispatcher(self, code: int) -> None:
        if self._session is not None:
            self._session.close(code)

    def _server_failure(self) -> bool:
        """The session closed for a failure or an overflow of this server's side."""
        code = self.close_code
        return code in (CloseCode.INTERNAL_ERROR, CloseCode.QUEUE_OVERFLOW)

    def _run_close_hooks(self) -> None:
        hooks, self._close_hooks = self._close_hooks, None
        for hook in hooks or ():
            try:
                hook(self)
            except Exception:
                log.exception("a close hook of %r raised", self)

    def add_close_hook(self, hook: Callable[[Connection], None]) -> None:
        """Run ``hook(connection)`` once when the connection closes (after ``on_close``).

        For libraries built on connections (channels use it to leave every channel); it
        runs even for a connection rejected in ``on_open``. Added after the close, it
        runs at once.
        """
        if self.is_closed and self._session is not None:
            hook(self)
            return
        if self._close_hooks is None:
            self._close_hooks = []
        self._close_hooks.append(hook)


def outgoing(message: object, caller: str) -> OutgoingMessage:
    """The `OutgoingMessage` for what `send` or `broadcast` was given."""
    if isinstance(message, str):
        return OutgoingMessage(message)
    if isinstance(message, bytes):
        return OutgoingMessage(message)
    if isinstance(message, (bytearray, memoryview)):
        return OutgoingMessage(bytes(message))
    raise TypeError(
        f"{caller}() takes str or bytes, not {type(message).__name__}; encode objects "
        "first (for example with json.dumps)"
    )


def broadcast(connections: Iterable[Connection], message: str | bytes | OutgoingMessage) -> int:
    """Send `message` to every open connection in `connections`; returns how many got it.

    The message is encoded once for all of them. Closed connections are skipped, and so
    are, for a binary message (`bytes`), connections whose client takes none
    (`Connection.binary`); a failure on one receiver never stops the others or reaches
    the caller. (An already built `OutgoingMessage` is accepted too, for adapters such
    as `fallback.compat` that encode their messages differently.)
    """
    shared = message if isinstance(message, OutgoingMessage) else outgoing(message, "broadcast")
    binary = shared.data is not None
    delivered = 0
    for connection in list(connections):
        try:
            if binary and not connection.binary:
                continue
            if connection.enqueue(shared):
                delivered += 1
        except Exception:
            log.exception("broadcast: delivery to connection %s failed", connection.connection_id)
    return delivered


def _is_coroutine_method(connection: object, name: str) -> bool:
    return inspect.iscoroutinefunction(getattr(type(connection), name, None))
