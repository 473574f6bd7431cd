"""A SockJS session as a sans-I/O state machine.

A session outlives the HTTP requests that carry it: polling transports attach a new
*receiver* (a request that can carry frames to the client) for every poll, streaming ones
for every response, WebSocket ones once. The session holds what must survive between
them -- the ordered queue of outgoing messages, whether the open frame went out, the close
frame to repeat -- and the deadlines for heartbeats and expiry, read from an injected clock.

It never writes. When it has something to send it calls `Receiver.wake`; the receiver
pulls with `take_frame` (or `take_messages` for the unframed WebSocket) when it is able
to write, so everything queued while a write was in flight leaves as one frame.

States and the transitions allowed between them (`TRANSITIONS`)::

    NEW ──attach──▶ OPEN ──close / interrupt / expire──▶ CLOSED
     └──────────── rejected by on_open ─────────────────────▲
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from typing import Protocol

from ..codes import DEFAULT_REASONS, CloseCode
from ..exceptions import MessageTooBig, PayloadError, ResumeError, StaleResume
from .connection_info import ConnectionInfo
from .frames import (
    HEARTBEAT_FRAME,
    OPEN_FRAME,
    OutgoingMessage,
    ResumablePayload,
    SessionId,
    close_frame,
    decode_resumable_payload,
    decode_send_payload,
    decode_websocket_payload,
    messages_frame,
)
from .logsafe import get_logger
from .resume import ResumeState, control_frame
from .settings import Settings

log = get_logger("fallback.session")

Clock = Callable[[], float]


class SessionState(enum.Enum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


TRANSITIONS: dict[SessionState, frozenset[SessionState]] = {
    SessionState.NEW: frozenset({SessionState.OPEN, SessionState.CLOSED}),
    SessionState.OPEN: frozenset({SessionState.CLOSED}),
    SessionState.CLOSED: frozenset(),
}


class Receiver(Protocol):
    """A transport endpoint that can carry frames to the client right now."""

    def wake(self) -> None:
        """The session has something to send; pull it when no write is in flight."""


class SessionListener(Protocol):
    """The application side of a session (`fallback.Connection` implements it)."""

    def session_opened(self) -> bool:
        """Run ``on_open``; False rejects the connection."""

    def session_message(self, text: str) -> None: ...

    def session_closed(self, opened: bool) -> None:
        """The session closed; `opened` says whether ``on_open`` had accepted it."""


class Counters:
    """Running totals a service keeps for statistics, shared by all its sessions.

    Plain integers bumped once per frame or batch (never per receiver per message), so
    they cost nothing measurable; whoever wants rates samples them on a clock.
    """

    __slots__ = (
        "attached",
        "bytes_received",
        "bytes_sent",
        "overflowed",
        "queue_high_water",
        "received",
        "repeated",
        "replayed",
        "sent",
    )

    def __init__(self) -> None:
        #: Receivers that tried to attach (polls, streams, sockets), refused ones included.
        self.attached = 0
        #: Messages handed to receivers for the client.
        self.sent = 0
        #: Messages that arrived from clients.
        self.received = 0
        #: Frame bytes handed to receivers (before transport envelopes).
        self.bytes_sent = 0
        #: Payload bytes that arrived from clients.
        self.bytes_received = 0
        #: The longest any session's queue has been.
        self.queue_high_water = 0
        #: Messages sent again after a resume.
        self.replayed = 0
        #: Client messages that arrived twice (a retried request) and were dropped.
        self.repeated = 0
        #: Sessions closed with 3008 because their client did not keep up.
        self.overflowed = 0


class Session:
    """One logical connection's protocol state. Create through the service, not directly."""

    __slots__ = (
        "_clock",
        "_close_frame",
        "_controls",
        "_counters",
        "_detached_at",
        "_heartbeat_due",
        "_heartbeat_pending",
        "_listening",
        "_open_frame_pending",
        "_queue",
        "_queue_bytes",
        "_receiver",
        "_settings",
        "close_code",
        "close_reason",
        "close_sent",
        "framed",
        "id",
        "info",
        "listener",
        "resume",
        "state",
        "transport",
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
    ) -> None:
        #: The SockJS session id, or None for WebSocket sessions (whose ids may repeat).
        self.id = session_id
        self.info = info
        #: The transport of the latest receiver.
        self.transport = transport
        #: False for the raw WebSocket endpoint: no open, heartbeat or array frames.
        self.framed = framed
        self.state = SessionState.NEW
        self.close_code: int | None = None
        self.close_reason: str | None = None
        #: The close frame has been handed to a receiver at least once.
        self.close_sent = False
        self.listener = listener
        self._listening = False  # on_open accepted and on_close not yet called
        self._settings = settings
        self._clock = clock
        self._counters = counters if counters is not None else Counters()
        self._queue: list[OutgoingMessage] = []
        self._queue_bytes = 0
        #: Resume state, for connections that survive their transport (fallback.js).
        self.resume = resume
        self._controls: list[str] | None = None
        self._receiver: Receiver | None = None
        self._open_frame_pending = False
        self._close_frame = ""
        self._heartbeat_pending = False
        now = clock()
        self._heartbeat_due = now + settings.heartbeat_delay
        self._detached_at = now

    def __repr__(self) -> str:
        return f"<Session {self.id or 'ws'} {self.transport} {self.state.value}>"

    # -- receivers --------------------------------------------------------------------

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
        if self.state is SessionState.NEW:
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
        self._heartbeat_pending = False
        self._detached_at = self._clock()
        if interrupted and self.state is not SessionState.CLOSED and self.resume is None:
            self._clear_queue()
            self.close(CloseCode.INTERRUPTED)

    def detached_since(self) -> float | None:
        """When the last receiver left (clock time), or None while one is attached."""
        return None if self._receiver is not None else self._detached_at

    def owns(self, receiver: Receiver) -> bool:
        """Whether `receiver` is the attached one (a replaced receiver must stop)."""
        return self._receiver is receiver

    def take_frame(self) -> str | None:
        """The next frame for the attached receiver, or None if there is nothing to send.

        Order: the open frame, then every queued message as one array frame, then the
        close frame (repeated to every later receiver), else a due heartbeat.
        """
        resume = self.resume
        if self._open_frame_pending:
            self._open_frame_pending = False
            frame = OPEN_FRAME
        elif self._controls:
            frame = self._controls.pop(0)
            if resume is not None and not resume.announced and frame.startswith('r{"cid"'):
                resume.announced = True  # the new connection id is on its way
        elif self._queue:
            queue = self._queue
            frame = messages_frame(queue)
            self._counters.sent += len(queue)
            self._queue = []
            self._queue_bytes = 0
            if resume is not None:
                resume.sent_out(queue)
        elif self.state is SessionState.CLOSED:
            self.close_sent = True
            return self._close_frame
        elif self._heartbeat_pending:
            if resume is not None and resume.ack_pending:
                resume.reported = resume.received
                frame = control_frame(ack=resume.received)
            else:
                frame = HEARTBEAT_FRAME
        else:
            return None
        self._heartbeat_pending = False
        self._heartbeat_due = self._clock() + self._settings.heartbeat_delay
        self._counters.bytes_sent += len(frame)
        return frame

    def take_messages(self) -> list[OutgoingMessage]:
        """Everything queued, for receivers that send messages unframed."""
        queue = self._queue
        if queue:
            self._queue = []
            self._queue_bytes = 0
            self._counters.sent += len(queue)
            self._heartbeat_due = self._clock() + self._settings.heartbeat_delay
        return queue

    def take_heartbeat(self) -> bool:
        """For receivers that send messages unframed: whether a heartbeat is due. They
        send no heartbeat frame, but check that their peer is alive (WebSocket ping)."""
        if not self._heartbeat_pending:
            return False
        self._heartbeat_pending = False
        self._heartbeat_due = self._clock() + self._settings.heartbeat_delay
        return True

    # -- outgoing ---------------------------------------------------------------------

    def enqueue(self, message: OutgoingMessage) -> bool:
        """Queue a message for the client; False if the session is closed.

        Past ``max_queue`` waiting messages the client is not keeping up: the session
        closes with `CloseCode.QUEUE_OVERFLOW` and the queue is dropped, so a slow
        client can never hold more than ``max_queue`` messages of server memory.
        """
        if self.state is SessionState.CLOSED:
            return False
        queue = self._queue
        size = len(message.text)
        if (
            len(queue) >= self._settings.max_queue
            or self._queue_bytes + size > self._settings.max_queue_bytes
        ):
            log.warning(
                "session %s: %d messages (%d bytes) queued for a slow client; closing",
                self.id,
                len(queue),
                self._queue_bytes,
            )
            self._counters.overflowed += 1
            self._clear_queue()
            self.close(CloseCode.QUEUE_OVERFLOW)
            return False
        queue.append(message)
        self._queue_bytes += size
        if len(queue) > self._counters.queue_high_water:
            self._counters.queue_high_water = len(queue)
        receiver = self._receiver
        if receiver is not None and len(queue) == 1:
            receiver.wake()
        return True

    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def queued_bytes(self) -> int:
        return self._queue_bytes

    def _clear_queue(self) -> None:
        self._queue.clear()
        self._queue_bytes = 0

    def close(self, code: int = CloseCode.GO_AWAY, reason: str | None = None) -> bool:
        """Close the session; False if it already was.

        Messages queued before the close still go out, then the close frame; every later
        receiver gets the close frame again until the session expires. ``on_close`` runs
        now, unless ``on_open`` never accepted the connection.
        """
        if self.state is SessionState.CLOSED:
            return False
        if reason is None:
            reason = DEFAULT_REASONS.get(code, "")
        self._set_state(SessionState.CLOSED)
        self.close_code = int(code)
        self.close_reason = reason
        self._close_frame = close_frame(code, reason)
        if code == CloseCode.SERVICE_RESTART and self.resume is not None:
            # The client will send again, to another server, what this one did not get:
            # tell it exactly how much that is.
            self.resume.reported = self.resume.received
            self._controls = [*(self._controls or []), control_frame(ack=self.resume.received)]
        if self._receiver is not None:
            self._receiver.wake()
        opened = self._listening
        self._listening = False
        try:
            self.listener.session_closed(opened)
        except Exception:
            log.exception("session %s: on_close raised", self.id)
        return True

    # -- incoming ---------------------------------------------------------------------

    def receive_send_payload(self, body: bytes | str) -> None:
        """Messages from an HTTP send request; `PayloadError` leaves the session intact."""
        if len(body) > self._settings.max_message_size:
            raise MessageTooBig("Message too big.")
        self._counters.bytes_received += len(body)
        if self.resume is not None:
            self.resume.confirm()
            self._receive_resumable(decode_resumable_payload(body, websocket=False))
        else:
            self.receive(decode_send_payload(body))

    def receive_websocket_payload(self, data: bytes | str) -> None:
        """Messages from one SockJS WebSocket frame."""
        if len(data) > self._settings.max_message_size:
            raise MessageTooBig("Message too big.")
        self._counters.bytes_received += len(data)
        if self.resume is not None:
            self.resume.confirm()
            self._receive_resumable(decode_resumable_payload(data, websocket=True))
        else:
            self.receive(decode_websocket_payload(data))

    def _receive_resumable(self, payload: ResumablePayload) -> None:
        resume = self.resume
        assert resume is not None
        if payload.ack is not None:
            resume.acknowledge(payload.ack)
        messages = payload.messages
        if payload.seq is not None and messages:
            repeated = resume.received - payload.seq
            if repeated < 0:
                raise PayloadError("Messages out of sequence.")
            if repeated:
                # A request the browser sent again (it retries a POST whose connection
                # was reset before any answer): what already arrived is not repeated.
                self._counters.repeated += min(repeated, len(messages))
                messages = messages[repeated:]
        if messages:
            resume.received += len(messages)
            if resume.ack_due:
                resume.reported = resume.received
                self._push_control(control_frame(ack=resume.received))
            self.receive(messages)
        if payload.close is not None:
            # The client said goodbye (an HTTP transport has no close frame of its own).
            self.close(*payload.close)

    def receive(self, messages: list[str]) -> None:
        """Hand messages to the application in order, stopping if it closes the session."""
        self._counters.received += len(messages)
        for text in messages:
            if not self._listening:
                return
            try:
                self.listener.session_message(text)
            except Exception:
                log.exception("session %s: on_message raised; closing it", self.id)
                self.close(CloseCode.INTERNAL_ERROR)
                return

    # -- time -------------------------------------------------------------------------

    def tick(self, now: float) -> bool:
        """Advance the clock; True when the session has expired and should be forgotten."""
        if self._receiver is not None:
            if (
                not self._heartbeat_pending
                and now >= self._heartbeat_due
                and self.state is SessionState.OPEN
            ):
                self._heartbeat_pending = True
                self._receiver.wake()
            return False
        resumable = self.resume is not None and self.state is SessionState.OPEN
        delay = self._settings.resume_grace if resumable else self._settings.disconnect_delay
        if now - self._detached_at < delay:
            return False
        if self.state is not SessionState.CLOSED:
            self._clear_queue()
            self.close(CloseCode.RESUME_EXPIRED if resumable else CloseCode.INTERRUPTED)
        return True

    # -- resume -----------------------------------------------------------------------

    def refuse(self, code: int, reason: str) -> None:
        """Make this a session that answers the open frame, then the close frame, to
        every receiver -- how a request that cannot be served learns why."""
        self._set_state(SessionState.CLOSED)
        self.close_code = int(code)
        self.close_reason = reason
        self._close_frame = close_frame(code, reason)
        self._open_frame_pending = self.framed

    def announce_resumable(self) -> None:
        """A new resumable connection: tell the client its id (after the open frame)."""
        assert self.resume is not None
        self._push_control(control_frame(cid=self.resume.cid, resumed=False, seen=0))

    def client_heard(self) -> None:
        """The client showed it is here on its current transport (a transport that sees
        traffic the session does not, such as a WebSocket pong, says so): a resumed
        connection's previous id stops working (`ResumeState.confirm`)."""
        if self.resume is not None and self.resume.previous is not None:
            self.resume.confirm()

    def take_over(
        self,
        client_seen: int,
        transport: str,
        presented: str | None = None,
        attempt: int | None = None,
    ) -> Receiver | None:
        """The client is back on a new transport, having received `client_seen` messages.

        Queues, for the next receiver: the open frame, a control frame with the
        connection's new id (it changes at every resume, `ResumeState.rotate`; the
        client resumed with `presented`) telling the client how many of its messages
        arrived, and every message it missed, ahead of anything queued since. Returns
        the receiver being replaced (its transport must end without writing), if one was
        still attached. Raises `ResumeError` (and closes the connection) when the
        messages the client needs are gone, or `StaleResume` (and changes nothing) for
        a request the client has overtaken -- one with a lower count than it has
        confirmed, or from an `attempt` older than the last one that took over.
        """
        resume = self.resume
        assert resume is not None
        if self.state is SessionState.CLOSED:
            raise ResumeError(self.close_code or CloseCode.RESUME_EXPIRED, self.close_reason or "")
        resume.check_attempt(attempt)
        try:
            again = resume.rewind(client_seen)
        except StaleResume:
            raise
        except ResumeError as error:
            self._clear_queue()
            self.close(error.code, error.reason)
            raise
        resume.rotate(presented if presented is not None else resume.cid)
        if attempt is not None:
            resume.attempt = attempt
        old = self._receiver
        self._receiver = None
        self._heartbeat_pending = False
        self.transport = transport
        self._queue[:0] = again
        self._queue_bytes += sum(len(m.text) for m in again)
        self._counters.replayed += len(again)
        self._open_frame_pending = True
        resume.reported = resume.received
        self._controls = [control_frame(cid=resume.cid, resumed=True, seen=resume.received)]
        self._detached_at = self._clock()
        return old

    def resync(self, client_seen: int) -> bool:
        """A new receiving request of this same session says the client has received
        `client_seen` messages: whatever it missed (a poll or stream that died with
        frames in flight) goes out again first. Closes with 3010 if that is impossible.

        False when the request is stale (its count is below what the client confirmed
        since): it must be refused, and nothing else changes."""
        resume = self.resume
        if resume is None or self._receiver is not None or self.state is not SessionState.OPEN:
            return True
        try:
            again = resume.rewind(client_seen, counts_as_resume=False)
        except StaleResume:
            return False
        except ResumeError as error:
            self._clear_queue()
            self.close(error.code, error.reason)
            return True
        if again:
            self._queue[:0] = again
            self._queue_bytes += sum(len(m.text) for m in again)
            self._counters.replayed += len(again)
        return True

    def _push_control(self, frame: str) -> None:
        if self._controls is None:
            self._controls = []
        self._controls.append(frame)
        if self._receiver is not None:
            self._receiver.wake()

    # -- internals --------------------------------------------------------------------

    def _set_state(self, new: SessionState) -> None:
        if new not in TRANSITIONS[self.state]:
            raise RuntimeError(f"session state {self.state.value} -> {new.value} is not allowed")
        self.state = new

    def _open(self) -> None:
        """Send the open frame first, then let ``on_open`` accept, reject or close.

        ``_listening`` stays False until ``on_open`` accepts, so a connection closed or
        rejected inside ``on_open`` never gets ``on_message`` or ``on_close``.
        """
        self._set_state(SessionState.OPEN)
        self._open_frame_pending = self.framed
        try:
            accepted = self.listener.session_opened()
        except Exception:
            log.exception("session %s: on_open raised; closing it", self.id)
            self.close(CloseCode.INTERNAL_ERROR)
            return
        if self.state is SessionState.CLOSED:
            return
        if accepted:
            self._listening = True
        else:
            self.close(CloseCode.REJECTED)


__all__ = [
    "TRANSITIONS",
    "Counters",
    "MessageTooBig",
    "PayloadError",
    "Receiver",
    "Session",
    "SessionListener",
    "SessionState",
]
