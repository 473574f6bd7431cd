"""What a session still has to send, and the order it leaves in: its `Outbox`.

The session's state says what it may still do; its outbox says what it owes the client:

1. the *preamble* -- the open frame, then resume control frames (``r{...}``) -- which
   anything may follow;
2. every queued message, as one ``a[...]`` frame per take (on a WebSocket that carries
   binary messages as such, each binary message alone, as a `BinaryFrame`, and the
   text messages before it in an ``a[...]`` of their own);
3. once the session is closed, the close frame, repeated to every later receiver;
4. when there is nothing else and one is due, a heartbeat (an ack, for resumable
   sessions whose client has not been told of everything that arrived).

So a session closed before its open frame went out (refused, rejected, closed inside
``on_open``, interrupted) still sends ``o``, then ``c[...]``: whatever closed it.
"""

from __future__ import annotations

from .counters import Counters
from .frames import (
    HEARTBEAT_FRAME,
    OPEN_FRAME,
    BinaryFrame,
    Frame,
    FrameKind,
    OutgoingMessage,
    messages_frame,
)
from .resume import ResumeState


class Outbox:
    """The frames and messages one session owes its client (see the module docstring)."""

    __slots__ = (
        "close_frame",
        "close_sent",
        "counters",
        "heartbeat_pending",
        "preamble",
        "queue",
        "queue_bytes",
        "resume",
    )

    def __init__(self, counters: Counters, resume: ResumeState | None) -> None:
        self.counters = counters
        self.resume = resume
        self.preamble: list[Frame] = []
        self.queue: list[OutgoingMessage] = []
        #: Characters of text and bytes of binary queued (what ``max_queue_bytes`` bounds).
        self.queue_bytes = 0
        #: Set when the session closes: the frame every later receiver gets.
        self.close_frame: Frame | None = None
        #: The close frame has been handed to a receiver at least once.
        self.close_sent = False
        #: A heartbeat is due (the session's clock said so).
        self.heartbeat_pending = False

    def next_frame(self, binary_frames: bool = False) -> Frame | None:
        """The next frame in the outbox's order, or None if nothing is owed now.

        `binary_frames`: binary messages leave as `BinaryFrame` (see the module's order).
        """
        resume = self.resume
        if self.preamble:
            frame = self.preamble.pop(0)
            if resume is not None and frame.kind is FrameKind.CONNECTION_ID:
                resume.announced = True  # the new connection id is on its way
        elif self.queue:
            queue = self.queue
            if binary_frames:
                queue, frame = self._split(queue)
            else:
                frame = messages_frame(queue)
                self.queue = []
                self.queue_bytes = 0
            self.counters.sent += len(queue)
            if resume is not None:
                resume.sent_out(queue)
        elif self.close_frame is not None:
            self.close_sent = True
            return self.close_frame
        elif self.heartbeat_pending:
            frame = resume.heartbeat() if resume is not None else HEARTBEAT_FRAME
        else:
            return None
        self.heartbeat_pending = False
        self.counters.bytes_sent += (
            len(frame.data) if isinstance(frame, BinaryFrame) else len(frame)
        )
        return frame

    def _split(self, queue: list[OutgoingMessage]) -> tuple[list[OutgoingMessage], Frame]:
        """The head of `queue` that leaves now: one binary message, or the text messages
        before the first binary one; the rest stays queued."""
        if queue[0].data is not None:
            taken = queue[:1]
            frame: Frame = queue[0].binary_frame()
        else:
            end = next((i for i, m in enumerate(queue) if m.data is not None), len(queue))
            taken = queue[:end]
            frame = messages_frame(taken)
        if len(taken) == len(queue):
            self.queue = []
            self.queue_bytes = 0
        else:
            self.queue = queue[len(taken) :]
            self.queue_bytes -= sum(m.size for m in taken)
        return taken, frame

    def take_messages(self) -> list[OutgoingMessage]:
        """Every queued message, for receivers that send them unframed."""
        queue = self.queue
        if queue:
            self.queue = []
            self.queue_bytes = 0
            self.counters.sent += len(queue)
        return queue

    def add(self, message: OutgoingMessage) -> int:
        """Queue `message`; returns how many messages are queued now."""
        queue = self.queue
        queue.append(message)
        self.queue_bytes += message.size
        waiting = len(queue)
        if waiting > self.counters.queue_high_water:
            self.counters.queue_high_water = waiting
        return waiting

    def replay(self, again: list[OutgoingMessage], held: int = 0) -> None:
        """Messages the client missed go out again, ahead of everything queued since;
        the first `held` queued ones, which it turns out to have, do not."""
        queue = self.queue
        if held:
            self.queue_bytes -= sum(m.size for m in queue[:held])
            del queue[:held]
        if again:
            queue[:0] = again
            self.queue_bytes += sum(m.size for m in again)
            self.counters.replayed += len(again)

    def open(self) -> None:
        """The open frame goes first."""
        self.preamble.insert(0, OPEN_FRAME)

    def clear(self) -> None:
        """Drop what is queued (a session that can no longer deliver it)."""
        self.queue.clear()
        self.queue_bytes = 0
        if self.resume is not None:
            self.resume.requeued = 0
