"""WebSocket links that carry a fallback session: SockJS-framed, raw, and the busy one.

A `SessionLink` is the `Receiver` of one session: the session wakes it, it pulls frames
(`SockJSLink`) or messages (`RawLink`) when no write is in flight, and hands what the
peer sent to the session. A SockJS WebSocket session is not addressable by id (the
protocol lets two share one) and closes when its socket does -- unless it is resumable
(`fallback.core.resume`), in which case it waits for the client to come back on a new
transport.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..app.service import Service
from ..codes import DEFAULT_REASONS, CloseCode, WebSocketCloseCode, websocket_close_code
from ..core.frames import ANOTHER_CONNECTION_FRAME, BinaryFrame, FrameKind, close_frame
from ..core.logsafe import get_logger
from ..core.session import Session
from ..core.states import SessionState
from ..exceptions import MessageTooBig, PeerError, ServiceBusy
from ..wsengine import (
    BinaryMessage,
    CloseReceived,
    ConnectionFailed,
    Event,
    Protocol,
    State,
    TextMessage,
)
from ..wsengine.protocol import HybiProtocol
from .base import refusal_reason
from .links import WebSocketLink
from .sockio import message_frame, utf8

log = get_logger("fallback.transports.websocket")

_OPEN = State.OPEN

#: Frames that are also liveness checks (an ack stands in for a heartbeat).
_HEARTBEATS = frozenset({FrameKind.HEARTBEAT, FrameKind.ACK})
#: Frames anything may follow.
_PREAMBLE = frozenset({FrameKind.OPEN, FrameKind.ACK, FrameKind.CONNECTION_ID})


class SessionLink(WebSocketLink):
    """A link that is the `Receiver` of one fallback session.

    A handshake still under way when the link starts (hixie-76 sends its 8-byte key after
    the headers) holds no session: `open_session` makes it once the key is in, so a
    client that never sends it costs a socket until ``handshake_timeout`` and never a
    session slot (``max_sessions``).

    Liveness: at every heartbeat of its session (``heartbeat_delay`` without anything
    sent), an RFC 6455 / hybi peer is pinged, and one that has answered nothing -- the
    ping nor anything else -- by the next heartbeat is gone (a frozen proxy, a machine
    that vanished). hixie-76 has no ping: a peer that has sent no byte for two heartbeat
    periods (checked at heartbeats, so within three) counts as gone; its client, if it is
    fallback.js, resumes. Either way the socket closes, which ends the session or leaves a
    resumable one waiting for its client. The session's heartbeat tick drives this, so an
    idle connection has no timer of its own.
    """

    __slots__ = (
        "_deflate",
        "_hybi",
        "_label",
        "_open_session",
        "_ping_at",
        "_quiet_since",
        "_service",
        "_session",
    )

    #: Whether the session's frames are SockJS frames (``o``, ``a[...]``, ``c[...]``).
    framed = True

    def __init__(
        self,
        protocol: Protocol,
        service: Service,
        session: Session | None,
        open_session: Callable[[], Session] | None = None,
    ) -> None:
        super().__init__(protocol, handshake_timeout=service.settings.handshake_timeout)
        self._service = service
        self._session: Session | None = session
        #: The connection id of its session, for log lines (kept after the session left).
        self._label = session.connection_id if session is not None else "(no session yet)"
        #: Makes the session once the handshake is complete (when `session` is None).
        self._open_session = open_session
        self._hybi = isinstance(protocol, HybiProtocol)
        #: permessage-deflate, if negotiated (a broadcast compresses once per `key`).
        self._deflate = protocol.deflate if isinstance(protocol, HybiProtocol) else None
        #: When the unanswered ping went out (0: none outstanding).
        self._ping_at = 0.0
        #: hixie-76: when the peer was last known to be there (it had sent something).
        self._quiet_since = time.monotonic()

    def __repr__(self) -> str:
        return f"<WebSocket connection {self._label}>"

    def opened(self) -> None:
        session = self._session
        if session is not None:
            session.attach(self)

    def handshake_completed(self) -> None:
        open_session = self._open_session
        self._open_session = None
        if open_session is None or self.protocol.state is not _OPEN:
            return
        try:
            session = open_session()
        except ServiceBusy as error:
            self._say_busy(error.code)
            return
        self._session = session
        self._label = session.connection_id
        self._quiet_since = time.monotonic()
        session.attach(self)

    def handshake_expired(self) -> None:
        self._service.count_refusal(
            "handshake_timeout",
            f"WebSocket handshake incomplete after {self.handshake_timeout:g} s",
        )

    def _say_busy(self, code: int) -> None:
        """No session for this socket (``max_sessions``, or shutting down): say so."""
        reason = DEFAULT_REASONS.get(code, DEFAULT_REASONS[CloseCode.TRY_AGAIN_LATER])
        if self.framed:
            self.protocol.send_text(close_frame(code, reason))
        self.protocol.send_close(websocket_close_code(code), reason)
        self.start_closing()

    def _heartbeat_unanswered(self) -> bool:
        """At a heartbeat: close if the peer showed no sign of life since the last one
        (hybi: the ping went unanswered; hixie-76: nothing at all came), else ping."""
        now = time.monotonic()
        heartbeat = self._service.settings.heartbeat_delay
        if self._hybi:
            dead = bool(self._ping_at) and now - self._ping_at >= heartbeat / 2
        else:
            if self._heard:
                self._quiet_since = now
            dead = now - self._quiet_since >= 2 * heartbeat
        self._heard = False
        if dead:
            log.info("%r: the peer showed no sign of life; closing its socket", self)
            self._service.count_refusal("dead_peer")
            self.abort()
            return True
        if not self._ping_at and self._hybi and self.protocol.can_send:
            self.protocol.send_ping(b"")
            self._ping_at = now
        return False

    def closed(self) -> None:
        self._release(None, "")

    def _short_flush(self) -> Session | None:
        """The session, when a flush may take the short way: an RFC 6455 connection,
        open and idle (nothing of its own to send, `Protocol.idle`), no write in
        flight. Then what the session has queued can go straight to the socket,
        without `pull` and the protocol's queue."""
        if (
            self._hybi
            and self._io is not None
            and not self._writing
            and not self._closed
            and self.protocol.idle
        ):
            return self._session
        return None

    def _frame(self, text: str) -> bytes:
        if self._hybi:
            return self._flusher.hybi_text_frame(text, self._deflate)
        return self.protocol.text_frame(utf8(text))

    def _binary(self, data: bytes) -> None:
        """Queue a binary message (only binary sessions have them, never on hixie-76)."""
        self.protocol.send_frame(self._flusher.hybi_binary_frame(data, self._deflate))

    def _release(self, code: int | None, reason: str) -> Session | None:
        """Detach from the session; with a code, the client closed with it.

        A close frame with a code is a goodbye, resumable connection or not (fallback.js
        closes with the application's code); a socket that just ends -- or a close frame
        without a code -- leaves a resumable connection waiting for the client.
        """
        session = self._session
        if session is None:
            return None
        self._session = None
        if code is not None and code != WebSocketCloseCode.NO_STATUS:
            session.close(code, reason)
        session.detach(self, interrupted=True)
        if session.resume is None or session.state is SessionState.CLOSED:
            # A resumable connection stays registered: the client may come back for it.
            self._service.forget(session)
        return session

    def abandon(self) -> None:
        """A resumed connection took the session over: end this socket without it."""
        self._session = None
        protocol = self.protocol
        if protocol.can_send:
            if self.framed:
                protocol.send_text(ANOTHER_CONNECTION_FRAME)
            protocol.send_close(WebSocketCloseCode.NORMAL, "")
            self.start_closing()
        self.wake()

    def _close_socket(self, code: int | None, reason: str) -> None:
        """The session is over: send the WebSocket close frame and detach."""
        session = self._session
        self._session = None
        if session is not None:
            session.detach(self)
            self._service.forget(session)
        if self.protocol.can_send:
            self.protocol.send_close(websocket_close_code(code), reason)
            self.start_closing()

    def _refuse(self, error: PeerError) -> None:
        """Bad input ends this socket and its session only, abruptly: no SockJS close
        frame, just a WebSocket close with the reason (as the protocol suite expects)."""
        too_big = isinstance(error, MessageTooBig)
        code = WebSocketCloseCode.MESSAGE_TOO_BIG if too_big else WebSocketCloseCode.INVALID_DATA
        self._service.count_refusal(refusal_reason(error))
        session = self._session
        self._session = None
        if session is not None:
            session.close(code, error.message)
            session.detach(self)
            self._service.forget(session)
        self.protocol.fail(code, error.message)

    def _peer_closed(self, event: CloseReceived | ConnectionFailed) -> None:
        if isinstance(event, ConnectionFailed):
            too_big = event.code == WebSocketCloseCode.MESSAGE_TOO_BIG
            self._service.count_refusal("too_big" if too_big else "bad_frame")
        self._release(event.code, event.reason)


class SockJSLink(SessionLink):
    """SockJS frames (``o``, ``h``, ``a[...]``, ``c[...]``) as WebSocket text messages;
    every heartbeat frame is also a liveness check (`SessionLink`)."""

    __slots__ = ()

    def _peer_alive(self) -> Session | None:
        """The peer sent something: it is there. Its session, if it still has one."""
        self._ping_at = 0.0
        session = self._session
        if session is not None and session.resume is not None:
            session.client_heard()  # a pong too: after a resume, the old id is void
        return session

    def _take(self, session: Session, payload: str | bytes) -> bool:
        """One WebSocket message for `session`; False if it was refused (and the socket
        is being failed)."""
        try:
            if isinstance(payload, bytes) and session.binary:
                session.receive_binary(payload)
            else:
                session.receive_websocket_payload(payload)
        except PeerError as error:
            self._refuse(error)
            return False
        return True

    def handle_text(self, text: str) -> None:
        session = self._peer_alive()
        if session is not None:
            self._take(session, text)

    def handle_events(self, events: list[Event]) -> None:
        self._peer_alive()
        for event in events:
            kind = type(event)
            if kind is TextMessage or kind is BinaryMessage:
                session = self._session
                if session is None:
                    continue  # closing: what still arrives is not for the application
                payload = event.text if kind is TextMessage else event.data  # type: ignore[union-attr]
                if not self._take(session, payload):
                    return
            elif kind is CloseReceived or kind is ConnectionFailed:
                self._peer_closed(event)  # type: ignore[arg-type]

    def flush(self) -> None:
        """The usual flush, in short (`_short_flush`): an open session with only text
        messages queued sends their one array frame straight to the socket. Anything
        else (the open frame, a heartbeat, a binary message, the close) takes `pull`."""
        session = self._short_flush()
        if session is not None:
            frame = session.take_plain_frame()
            if frame is not None:
                self._write(self._flusher.hybi_text_frame(frame, self._deflate))
                return
        super().flush()

    def pull(self) -> None:
        session = self._session
        if session is None:
            return
        send = self.protocol.send_frame
        while True:
            # hixie-76 has no binary messages: there, they go as base64 in the arrays.
            frame = session.take_frame(binary_frames=self._hybi)
            if frame is None:
                return
            kind = frame.kind
            if isinstance(frame, BinaryFrame):
                self._binary(frame.data)
                continue  # more messages may follow it
            send(self._frame(frame))
            if kind in _HEARTBEATS and self._heartbeat_unanswered():
                return
            if kind is FrameKind.CLOSE:
                self._close_socket(session.close_code, session.close_reason or "")
                return
            # An array frame carries everything queued (up to a binary message, which
            # then follows), and a heartbeat goes out only when nothing is: after
            # either, only a close frame can follow. The open frame and resume control
            # frames (``r``) may be followed by anything.
            if (
                kind not in _PREAMBLE
                and session.state is not SessionState.CLOSED
                and not session.queued
            ):
                return


class RawLink(SessionLink):
    """One application message per WebSocket text message, no SockJS framing."""

    __slots__ = ()

    framed = False

    def handle_text(self, text: str) -> None:
        self._ping_at = 0.0  # anything from the peer proves it is there
        session = self._session
        if session is not None:
            session.receive_one(text)

    def handle_events(self, events: list[Event]) -> None:
        self._ping_at = 0.0
        for event in events:
            kind = type(event)
            if kind is TextMessage:
                self.handle_text(event.text)  # type: ignore[union-attr]
            elif kind is BinaryMessage:
                session = self._session
                if session is None:
                    continue
                if not session.binary:
                    session.close(WebSocketCloseCode.UNSUPPORTED_DATA, "Text messages only.")
                    continue
                try:
                    session.receive_binary(event.data)  # type: ignore[union-attr]
                except PeerError as error:
                    self._refuse(error)
                    return
            elif kind is CloseReceived or kind is ConnectionFailed:
                self._peer_closed(event)  # type: ignore[arg-type]

    def flush(self) -> None:
        """The usual flush, in short (`_short_flush`), without compression: each
        message's frame, built once per message (`message_frame`), straight to the
        socket. Anything else takes `pull`."""
        session = self._short_flush()
        if session is not None and self._deflate is None:
            messages = session.take_plain_messages()
            if messages is not None:
                if messages:
                    if len(messages) == 1:
                        self._write(message_frame(messages[0]))
                    else:
                        self._write(b"".join([message_frame(m) for m in messages]))
                return
        super().flush()

    def pull(self) -> None:
        session = self._session
        if session is None:
            return
        # No heartbeat frames without SockJS framing, but the same liveness checks.
        if session.take_heartbeat() and self._heartbeat_unanswered():
            return
        messages = session.take_messages()
        if messages:
            send = self.protocol.send_frame
            for message in messages:
                if message.data is None:
                    send(self._frame(message.text))
                else:
                    self._binary(message.data)
        if session.state is SessionState.CLOSED:
            self._close_socket(session.close_code, session.close_reason or "")


class BusyLink(WebSocketLink):
    """``max_sessions`` is reached: the socket only says so (close code 1013)."""

    __slots__ = ("_framed", "_said")

    def __init__(self, protocol: Protocol, *, framed: bool) -> None:
        super().__init__(protocol)
        self._framed = framed
        self._said = False

    def pull(self) -> None:
        if self._said:
            return
        self._said = True
        reason = DEFAULT_REASONS[CloseCode.TRY_AGAIN_LATER]
        if self._framed:
            self.protocol.send_text(close_frame(CloseCode.TRY_AGAIN_LATER, reason))
        self.protocol.send_close(WebSocketCloseCode.TRY_AGAIN_LATER, reason)
        self.start_closing()
