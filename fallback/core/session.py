"""A SockJS session as a sans-I/O state machine.

A session outlives the HTTP requests that carry it: polling transports attach a new
*receiver* (a request that can carry frames to the client) for every poll, streaming ones
for every response, WebSocket ones once. The session holds what must survive between
them -- its state, its `Outbox` (the open frame, resume control frames, the ordered queue
of messages, a due heartbeat, the close frame to repeat) -- and the deadlines for
heartbeats and expiry, read from an injected clock.

It never writes. When it has something to send it calls `Receiver.wake`; the receiver
pulls with `take_frame` (or `take_messages` for the unframed WebSocket) when it is able
to write, so everything queued while a write was in flight leaves as one frame.

States and their transitions (`fallback.core.states.TRANSITIONS`, drawn by
`fallback.core.states.diagram`)::

    NEW     ──attach──▶ OPENING
            ──close──▶ CLOSED
            ──refuse──▶ CLOSED
    OPENING ──accept──▶ OPEN
            ──close──▶ CLOSED
    OPEN    ──close──▶ CLOSED

A receiver's coming and going is not a state: an OPEN session between two polls is
still OPEN (a resumable one waits ``resume_grace`` for its client there, a plain one
``disconnect_delay``).
"""

from __future__ import annotations

import secrets
import time

from ..codes import DEFAULT_REASONS, CloseCode
from ..exceptions import BinaryUnsupported, MessageTooBig
from .binary import message_size, wire_limit
from .connection_info import ConnectionInfo
from .counters import Counters
from .frames import Frame, FrameKind, OutgoingMessage, SessionId, close_frame
from .interfaces import Clock, Receiver, SessionListener
from .logsafe import get_logger
from .outbox import Outbox
from .payloads import (
    Message,
    ResumablePayload,
    decode_resumable_payload,
    decode_send_payload,
    decode_websocket_payload,
)
from .resume import ResumeState
from .session_resume import ResumableSession
from .settings import Settings
from .states import SessionEvent, SessionState, next_state

log = get_logger("fallback.session")

_NEW, _OPENING, _OPEN, _CLOSED = (
    SessionState.NEW,
    SessionState.OPENING,
    SessionState.OPEN,
    SessionState.CLOSED,
)


def new_log_id() -> str:
    """A fresh connection id for log lines: 12 hex digits (48 random bits, so ids do not
    repeat among the connections one log holds)."""
    return secrets.token_hex(6)


class Session(ResumableSession):
    """One logical connection's protocol state. Create through the service, not directly."""

    __slots__ = (
        "_clock",
        "_counters",
        "_heartbeat_due",
        "_outbox",
        "_settings",
        "binary",
        "close_code",
        "close_reason",
        "connection_id",
        "framed",
        "id",
        "info",
        "listener",
        "resume",
        "state",
    )

    def __init__(
        self,
        session_id: SessionId | None,
        listener: SessionListener,
        info: ConnectionInfo,
        settings: Settings,
        transport: str,
        *,
        framed: bool = True,
        clock: Clock = time.monotonic,
        counters: Counters | None = None,
        resume: ResumeState | None = None,
        binary: bool = False,
    ) -> None:
        #: The SockJS session id, or None for WebSocket sessions (whose ids may repeat).
        self.id = session_id
        #: This connection's id in log lines, on every transport (WebSocket sessions have
        #: no SockJS id, and a client chooses the SockJS ones): random, never sent to the
        #: client, so it is not a capability like the resume id.
        self.connection_id = new_log_id()
        self.info = info
        #: The transport of the latest receiver.
        self.transport = transport
        #: False for the raw WebSocket endpoint: no open, heartbeat or array frames.
        self.framed = framed
        #: The client takes binary messages (`fallback.core.binary`).
        self.binary = binary
        self.state = _NEW
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.listener = listener
        self._settings = settings
        self._clock = clock
        self._counters = counters if counters is not None else Counters()
        #: Resume state, for connections that survive their transport (fallback.js).
        self.resume = resume
        self._outbox = Outbox(self._counters, resume)
        self._receiver: Receiver | None = None
        now = clock()
        self._heartbeat_due = now + settings.heartbeat_delay
        self._detached_at = now

    def __repr__(self) -> str:
        return f"<Session {self.connection_id} {self.transport} {self.state.value}>"

    @property
    def log_name(self) -> str:
        """How log lines name this connection: its connection id, and its SockJS session
        id when it has one (the id in the access log's URLs; chosen by the client, so it
        is escaped with every other logged argument)."""
        if self.id is None:
            return self.connection_id
        return f"{self.connection_id} (session {self.id})"

    @property
    def settings(self) -> Settings:
        """The settings of the router that made this session (read-only)."""
        return self._settings

    # -- receivers --------------------------------------------------------------------

    @property
    def close_sent(self) -> bool:
        """The close frame has been handed to a receiver at least once."""
        return self._outbox.close_sent

    @property
    def has_receiver(self) -> bool:
        return self._receiver is not None

    def attach(self, receiver: Receiver, transport: str | None = None) -> bool:
        """Make `receiver` the one that carries frames; False if another one already does.

        The first receiver opens the session (``on_open`` runs here). The caller then
        pulls with `take_frame` until it returns None, and waits for `Receiver.wake`.
        """
        self._counters.attached += 1
        if self._receiver is not None:
            return False
        self._receiver = receiver
        if transport is not None:
            self.transport = transport
        self._heartbeat_due = self._clock() + self._settings.heartbeat_delay
        if self.state is _NEW:
            self._open()
        return True

    def detach(self, receiver: Receiver, *, interrupted: bool = False) -> None:
        """`receiver` is done. `interrupted`: the client went away in the middle of it.

        Without acknowledgements the session cannot know what the client got, so an
        interrupted receiver closes the session with 1002, as the protocol allows. A
        resumable session waits instead: what the client missed is in its replay buffer.
        """
        if self._receiver is not receiver:
            return
        self._receiver = None
        self._outbox.heartbeat_pending = False
        self._detached_at = self._clock()
        if interrupted and self.state is not _CLOSED and self.resume is None:
            self._outbox.clear()
            self.close(CloseCode.INTERRUPTED)

    def detached_since(self) -> float | None:
        """When the last receiver left (clock time), or None while one is attached."""
        return None if self._receiver is not None else self._detached_at

    def hand_over(self, old: Receiver, new: Receiver) -> bool:
        """The attached `old` passes the session to `new`, which carries on the same
        response (a streaming response that left its request handler): no detach, no
        resume; False if `old` is not the attached receiver."""
        if self._receiver is not old:
            return False
        self._receiver = new
        return True

    def owns(self, receiver: Receiver) -> bool:
        """Whether `receiver` is the attached one (a replaced receiver must stop)."""
        return self._receiver is receiver

    def take_frame(self, *, binary_frames: bool = False) -> Frame | None:
        """The next frame for the attached receiver, or None if there is nothing to send.

        Order (`fallback.core.outbox`): the open frame and resume control frames, then
        every queued message as one array frame, then the close frame (repeated to every
        later receiver), else a due heartbeat. `binary_frames` (a WebSocket of a binary
        session): each binary message comes alone, as a `BinaryFrame`, and the text
        messages around it in array frames of their own.
        """
        frame = self._outbox.next_frame(binary_frames and self.binary)
        if frame is not None and frame.kind is not FrameKind.CLOSE:
            self._heartbeat_due = self._clock() + self._settings.heartbeat_delay
        return frame

    def take_plain_frame(self) -> Frame | None:
        """`take_frame` at the usual moment: the session open, text messages queued and
        nothing else owed (no preamble frame, no heartbeat due, no binary message):
        their one array frame. None at any other, with nothing taken."""
        outbox = self._outbox
        queue = outbox.queue
        if (
            not queue
            or self.state is not _OPEN
            or outbox.preamble
            or outbox.heartbeat_pending
            or (self.binary and any(m.data is not None for m in queue))
        ):
            return None
        return self.take_frame()

    def take_messages(self) -> list[OutgoingMessage]:
        """Everything queued, for receivers that send messages unframed."""
        queue = self._outbox.take_messages()
        if queue:
            self._heartbeat_due = self._clock() + self._settings.heartbeat_delay
        return queue

    def take_plain_messages(self) -> list[OutgoingMessage] | None:
        """`take_messages` at the usual moment: the session open and no heartbeat due.
        None at any other, with nothing taken: the receiver then takes the general way
        (`take_heartbeat`, `take_messages`, and the close once the session is closed)."""
        if self.state is not _OPEN or self._outbox.heartbeat_pending:
            return None
        return self.take_messages()

    def take_heartbeat(self) -> bool:
        """For receivers that send messages unframed: whether a heartbeat is due. They
        send no heartbeat frame, but check that their peer is alive (WebSocket ping)."""
        if not self._outbox.heartbeat_pending:
            return False
        self._outbox.heartbeat_pending = False
        self._heartbeat_due = self._clock() + self._settings.heartbeat_delay
        return True

    # -- outgoing ---------------------------------------------------------------------

    def enqueue(self, message: OutgoingMessage) -> bool:
        """Queue a message for the client; False if the session is closed.

        Past ``max_queue`` waiting messages the client is not keeping up: the session
        closes with `CloseCode.QUEUE_OVERFLOW` and the queue is dropped, so a slow
        client can never hold more than ``max_queue`` messages of server memory.
        Raises `BinaryUnsupported` for a binary message to a client that takes none.
        """
        if self.state is _CLOSED:
            return False
        if message.data is not None and not self.binary:
            raise BinaryUnsupported(
                "this client takes no binary messages (a plain SockJS client, or hixie-76); "
                "check Connection.binary before sending bytes"
            )
        outbox = self._outbox
        if (
            len(outbox.queue) >= self._settings.max_queue
            or outbox.queue_bytes + message.size > self._settings.max_queue_bytes
        ):
            log.warning(
                "connection %s: %d messages (%d bytes) queued for a slow client; closing",
                self.log_name,
                len(outbox.queue),
                outbox.queue_bytes,
            )
            self._counters.overflowed += 1
            outbox.clear()
            self.close(CloseCode.QUEUE_OVERFLOW)
            return False
        receiver = self._receiver
        if outbox.add(message) == 1 and receiver is not None:
            receiver.wake()
        return True

    @property
    def queued(self) -> int:
        return len(self._outbox.queue)

    @property
    def queued_bytes(self) -> int:
        return self._outbox.queue_bytes

    def close(self, code: int = CloseCode.GO_AWAY, reason: str | None = None) -> bool:
        """Close the session; False if it already was.

        Messages queued before the close still go out, then the close frame; every later
        receiver gets the close frame again until the session expires. ``on_close`` runs
        now, unless ``on_open`` never accepted the connection.
        """
        if self.state is _CLOSED:
            return False
        opened = self.state is _OPEN
        self._end(
            SessionEvent.CLOSE, code, DEFAULT_REASONS.get(code, "") if reason is None else reason
        )
        if code == CloseCode.SERVICE_RESTART and self.resume is not None:
            # The client will send again, to another server, what this one did not get:
            # tell it exactly how much that is.
            self._outbox.preamble.append(self.resume.final_ack())
        if self._receiver is not None:
            self._receiver.wake()
        try:
            self.listener.session_closed(opened)
        except Exception:
            log.exception("connection %s: on_close raised", self.log_name)
        return True

    # -- incoming ---------------------------------------------------------------------

    def receive_send_payload(self, body: bytes | str) -> None:
        """Messages from an HTTP send request; `PayloadError` leaves the session intact."""
        self._receive_payload(body, websocket=False)

    def receive_websocket_payload(self, data: bytes | str) -> None:
        """Messages from one SockJS WebSocket frame."""
        self._receive_payload(data, websocket=True)

    def receive_binary(self, data: bytes) -> None:
        """One binary message (a WebSocket binary message of a binary session)."""
        if len(data) > self._settings.max_message_size:
            raise MessageTooBig("Message too big.")
        self._counters.bytes_received += len(data)
        resume = self.resume
        if resume is None:
            self.receive([data])
            return
        resume.confirm()
        self._receive_resumable(ResumablePayload([data]))

    def receive(self, messages: list[Message]) -> None:
        """Hand messages to the application in order, stopping if it closes the session."""
        for i, message in enumerate(messages):
            if not self.receive_one(message):
                self._counters.received += len(messages) - i - 1  # received, not delivered
                return

    def receive_one(self, message: Message) -> bool:
        """`receive` for one message; False once the session is no longer open."""
        self._counters.received += 1
        if self.state is not _OPEN:
            return False
        try:
            self.listener.session_message(message)
        except Exception:
            log.exception("connection %s: on_message raised; closing it", self.log_name)
            self.close(CloseCode.INTERNAL_ERROR)
            return False
        return self.state is _OPEN

    # -- time -------------------------------------------------------------------------

    def tick(self, now: float) -> bool:
        """Advance the clock; True when the session has expired and should be forgotten."""
        if self._receiver is not None:
            outbox = self._outbox
            if not outbox.heartbeat_pending and now >= self._heartbeat_due and self.state is _OPEN:
                outbox.heartbeat_pending = True
                self._receiver.wake()
            return False
        resumable = self.resume is not None and self.state is _OPEN
        delay = self._settings.resume_grace if resumable else self._settings.disconnect_delay
        if now - self._detached_at < delay:
            return False
        if self.state is not _CLOSED:
            self._outbox.clear()
            self.close(CloseCode.RESUME_EXPIRED if resumable else CloseCode.INTERRUPTED)
        return True

    # -- internals --------------------------------------------------------------------

    def _open(self) -> None:
        """Send the open frame first, then let ``on_open`` accept, reject or close.

        The session is OPENING until ``on_open`` accepts, so a connection closed or
        rejected inside ``on_open`` never gets ``on_message`` or ``on_close``.
        """
        self.state = next_state(self.state, SessionEvent.ATTACH)
        if self.framed:
            self._outbox.open()
        try:
            accepted = self.listener.session_opened()
        except Exception:
            log.exception("connection %s: on_open raised; closing it", self.log_name)
            self.close(CloseCode.INTERNAL_ERROR)
            return
        if self.state is _CLOSED:
            return
        if accepted:
            self.state = next_state(self.state, SessionEvent.ACCEPT)
        else:
            self.close(CloseCode.REJECTED)

    def _end(self, event: SessionEvent, code: int, reason: str) -> None:
        self.state = next_state(self.state, event)
        self.close_code = int(code)
        self.close_reason = reason
        self._outbox.close_frame = close_frame(code, reason)

    def _receive_payload(self, data: bytes | str, *, websocket: bool) -> None:
        binary = self.binary
        limit = self._settings.max_message_size
        if len(data) > (wire_limit(limit) if binary else limit):
            raise MessageTooBig("Message too big.")
        self._counters.bytes_received += len(data)
        resume = self.resume
        if resume is None:
            decode = decode_websocket_payload if websocket else decode_send_payload
            messages = decode(data, binary=binary)
            if binary:
                self._check_sizes(messages)
            self.receive(messages)
            return
        resume.confirm()
        payload = decode_resumable_payload(data, websocket=websocket, binary=binary)
        if binary:
            self._check_sizes(payload.messages)
        self._receive_resumable(payload)

    def _check_sizes(self, messages: list[Message]) -> None:
        """A binary session's bound is on each decoded message (`fallback.core.binary`)."""
        limit = self._settings.max_message_size
        for message in messages:
            if message_size(message) > limit:
                raise MessageTooBig("Message too big.")

    def _push_control(self, frame: Frame) -> None:
        self._outbox.preamble.append(frame)
        if self._receiver is not None:
            self._receiver.wake()


__all__ = ["Clock", "Receiver", "Session", "SessionListener", "new_log_id"]
