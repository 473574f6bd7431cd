"""`Connection`, the one class an application writes, and `broadcast`."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..codes import CloseCode, WebSocketCloseCode
from ..core.connection_info import EMPTY_INFO, ConnectionInfo
from ..core.frames import OutgoingMessage
from ..core.logsafe import get_logger
from ..core.session import Session
from ..core.states import SessionState

log = get_logger("fallback.connection")

#: The reason a connection that takes no binary messages closes with (code 1003).
BINARY_REFUSED = "Text messages only."


class Connection:
    """One client, whatever transport carries it. Subclass it and override the ``on_*``.

    Lifecycle: ``on_open(info)`` once, then ``on_message(text)`` for each text message
    and ``on_binary(data)`` for each binary one, all in the order the client sent them,
    then ``on_close()`` once. Every callback runs on the
    IOLoop; an exception in one is logged with the session id and closes this connection
    only (code 1011).

    Rejecting: return ``False`` from ``on_open`` (the client gets close code 3001,
    "Connection rejected") or call ``self.close(code, reason)`` there. Either way the
    client sees the open frame and then the close frame -- SockJS has no earlier way to
    say no -- no message of it reaches ``on_message``, and ``on_close`` is not called,
    because the connection never opened.

    A subclass that defines ``__init__`` must call ``super().__init__()``; the router
    builds connections with no arguments (pass a factory such as ``functools.partial``
    for dependencies).
    """

    def __init__(self) -> None:
        self._session: Session | None = None
        self._close_hooks: list[Callable[[Connection], None]] | None = None

    # -- to override ------------------------------------------------------------------

    def on_open(self, info: ConnectionInfo) -> bool | None:
        """The client connected. Return False to reject it."""
        return None

    def on_message(self, text: str) -> None:
        """The client sent `text`."""

    def on_binary(self, data: bytes) -> None:
        """The client sent a binary message (`fallback.core.binary`).

        By default the connection takes text only and closes with 1003 ("Text messages
        only."): override this to accept bytes. It is called in order with
        ``on_message``, so text and binary messages interleave as the client sent them.
        """
        self.close(WebSocketCloseCode.UNSUPPORTED_DATA, BINARY_REFUSED)

    def on_close(self) -> None:
        """The connection is closed, by either side or by a timeout. Called once."""

    # -- to call ----------------------------------------------------------------------

    def send(self, message: str | bytes | bytearray | memoryview) -> bool:
        """Queue a message for the client; returns False (and drops it) once closed.

        `str` is a text message; `bytes` (or a `bytearray` or `memoryview`, copied now)
        a binary one, which only clients with `binary` take: to others it raises
        `BinaryUnsupported` (a `TypeError`). Messages arrive in the order they were
        sent, text and binary alike. Everything sent while a write to this client is in
        flight goes out together in the next one.
        """
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
            self._session.close(code, reason)

    @property
    def is_closed(self) -> bool:
        return self._session is None or self._session.state is SessionState.CLOSED

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
    def info(self) -> ConnectionInfo:
        return self._session.info if self._session is not None else EMPTY_INFO

    @property
    def close_code(self) -> int | None:
        return self._session.close_code if self._session is not None else None

    @property
    def close_reason(self) -> str | None:
        return self._session.close_reason if self._session is not None else None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.transport} {self.session_id or ''}>"

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
            log.exception("broadcast: delivery to session %s failed", connection.session_id)
    return delivered
