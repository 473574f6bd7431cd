"""The resume side of a `Session`: how it applies `fallback.core.resume`'s answers.

`ResumableSession` is a part of `Session` (its base class, holding no state of its own):
a resumed client taking its connection over on a new transport (`take_over`), a later
receiving request of the same session catching up with what died in flight (`resync`),
a payload carrying acknowledgements and numbered messages (`_receive_resumable`), and
refusals. The protocol itself -- counts, ids, replay buffers, stale requests -- is
`ResumeState`'s; this module only moves frames between it and the session's outbox.
"""

from __future__ import annotations

from ..codes import CloseCode
from ..exceptions import ResumeError, StaleResume
from .counters import Counters
from .frames import OPEN_FRAME, Frame
from .interfaces import Clock, Receiver
from .outbox import Outbox
from .payloads import Message, ResumablePayload
from .resume import ResumeState
from .states import SessionEvent, SessionState


class ResumableSession:
    """The resume operations of `Session` (which defines every attribute below)."""

    # What a takeover changes is held here; the rest is Session's (declared below).
    __slots__ = ("_detached_at", "_receiver", "transport")
    _detached_at: float
    _receiver: Receiver | None
    transport: str

    resume: ResumeState | None
    state: SessionState
    framed: bool
    close_code: int | None
    close_reason: str | None
    _outbox: Outbox
    _clock: Clock
    _counters: Counters

    # Session's own operations, which these build on.
    def close(self, code: int = CloseCode.GO_AWAY, reason: str | None = None) -> bool:
        raise NotImplementedError

    def receive(self, messages: list[Message]) -> None:
        raise NotImplementedError

    def _end(self, event: SessionEvent, code: int, reason: str) -> None:
        raise NotImplementedError

    def _push_control(self, frame: Frame) -> None:
        raise NotImplementedError

    def refuse(self, code: int, reason: str) -> None:
        """Make this a session that answers the open frame, then the close frame, to
        every receiver -- how a request that cannot be served learns why."""
        self._end(SessionEvent.REFUSE, code, reason)
        if self.framed:
            self._outbox.open()

    def announce_resumable(self) -> None:
        """A new resumable connection: tell the client its id (after the open frame)."""
        assert self.resume is not None
        self._push_control(self.resume.announcement())

    def client_heard(self) -> None:
        """The client showed it is here on its current transport (a transport that sees
        traffic the session does not, such as a WebSocket pong, says so): a resumed
        connection's previous id stops working (`ResumeState.confirm`)."""
        if self.resume is not None:
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
        try:
            again, held, answer = resume.take_over(client_seen, presented, attempt)
        except StaleResume:
            raise
        except ResumeError as error:
            self._outbox.clear()
            self.close(error.code, error.reason)
            raise
        old = self._receiver
        self._receiver = None
        outbox = self._outbox
        outbox.heartbeat_pending = False
        self.transport = transport
        outbox.replay(again, held)
        outbox.preamble = [OPEN_FRAME, answer]
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
            again, held = resume.rewind(client_seen, counts_as_resume=False)
        except StaleResume:
            return False
        except ResumeError as error:
            self._outbox.clear()
            self.close(error.code, error.reason)
            return True
        self._outbox.replay(again, held)
        return True

    def resync_request(self, value: str | None) -> bool:
        """A later receiving request of this session, with its ``fb_resume`` argument:
        `resync` to the count it carries, if it is this connection's; False if stale."""
        resume = self.resume
        if resume is None or self._receiver is not None:
            return True
        count = resume.resync_count(value)
        return True if count is None else self.resync(count)

    def _receive_resumable(self, payload: ResumablePayload) -> None:
        resume = self.resume
        assert resume is not None
        messages, repeated, ack = resume.receive(payload)
        self._counters.repeated += repeated
        if ack is not None:
            self._push_control(ack)
        if messages:
            self.receive(messages)
        if payload.close is not None:
            # The client said goodbye (an HTTP transport has no close frame of its own).
            self.close(*payload.close)


__all__ = ["ResumableSession"]
