"""Resume: a logical connection that survives its transport dropping. Sans-I/O.

A protocol extension that plain SockJS clients never see: the server announces it in
``info`` (``"resume": {"v": 1, "grace": seconds}``) and only `fallback.js` asks for it.

Both sides number their messages implicitly -- the n-th message a side sends on a
logical connection is number n -- because every SockJS transport delivers in order; only
counts travel:

* The first receiving request of a resumable session carries ``fb_resume=1``. The server
  answers ``o`` and then ``r{"cid": "<id>", "resumed": false, "seen": 0}``.
* Each side keeps what it sent until the other acknowledges it: the client puts
  ``{"ack": n}`` objects (n = server messages received) among the strings of its send
  arrays, and starts each array with ``{"seq": m}`` (m = its messages sent before this
  array), so that a request the browser retries after a reset connection is recognised
  and not delivered twice; the server sends ``r{"ack": n}`` frames (n = client messages
  received) after every 32 messages and in place of heartbeats.
* Every later receiving request of the session carries ``fb_resume=<cid>.<n>`` too, with
  n the client's current count: a poll or stream that died with frames in flight is
  followed by one that gets them again (`Session.resync`).
* When a transport drops, the server keeps the connection for ``resume_grace`` seconds
  (its ``on_close`` waits too). The client reconnects with a new SockJS session whose
  first receiving request carries ``fb_resume=<cid>.<n>.<a>``, with a the number of
  this attempt (counted from 1 for the life of the client's socket). The server answers
  ``o``,
  ``r{"cid": <new>, "resumed": true, "seen": m}``, then every message after number n; the
  client re-sends every message after number m. Nothing is lost or repeated.
* The connection id is a capability, so it changes at every resume: the answer carries
  a fresh one, which the client uses from then on. The id it resumed with stays good
  until the client shows it got the new one -- it sends something, answers a WebSocket
  ping, or polls with the new id -- so a resume answer lost in transit costs nothing;
  after that, a resume with any earlier id gets 3011. The id is never logged (see
  `redact_uri`). ``resume_same_ip`` also refuses resumes from another IP address.
* Requests the network held up arrive late, after the client moved on: a resume
  attempt numbered lower than the one that last took the connection over (a request
  without a number counts as attempt 0), or any request whose count is below what the
  client has confirmed since. Each is stale, and refused alone with ``c[2010]``
  (`StaleResume`); the connection is not touched.
* When that is impossible the client gets ``o`` then a close frame: 3010 (messages it
  needs were dropped from a full replay buffer), 3011 (unknown connection) or 3009 (the
  grace period ended); the server's ``on_close`` saw the same code.

The grace period, as both sides count it:

* It bounds one *loss*: the time from a side losing its transport to a successful resume.
  Every loss gets the whole of it -- after each successful resume the count starts again
  from zero, however long ago the first loss was.
* Each side starts counting when it notices the loss itself. The server: when the
  connection's last receiving request ended with no other attached (`Session.detach`;
  `Session.take_over` starts it afresh). The client: when its transport ended or broke,
  or fell silent for longer than its heartbeat limit -- ``1.5 * heartbeat_delay + 2 s``
  by default, since the server sends a frame at least every ``heartbeat_delay`` while a
  receiver is attached.
* The server's count decides: a resume that arrives after the server's grace ended gets
  3009 (or 3011 once the connection is forgotten). The client stops trying when its own
  count passes ``grace`` (from ``info``) and reports 3009 itself; by then the server has
  given up too, or will when its own count (which may have started later) ends.
* So that a silent transport is noticed and resumed within the server's grace, the
  grace must exceed the client's heartbeat limit plus a reconnection: the defaults are
  ``heartbeat_delay`` 25 s (limit 39.5 s) and ``resume_grace`` 60 s.

Where it lives: this module is the whole of the protocol -- parsing and redacting the
request, the counters and replay buffer of one connection (`ResumeState`), what each
request is answered with, acks and stale requests. The session applies its answers to
its outbox (`Session.take_over`, `Session.resync`, `Session.receive_send_payload`), the
registry indexes connections by id and remembers the ones that ended
(`SessionRegistry.resumable`, `tombstone`), and the service finds the connection a
resume names (`Service.open_session`). Transports only pass ``fb_resume`` on.
"""

from __future__ import annotations

import collections
import re
import secrets
from collections.abc import Iterable
from urllib.parse import unquote_plus

from ..codes import CloseCode
from ..exceptions import PayloadError, ResumeError, StaleResume
from .frames import (
    HEARTBEAT_FRAME,
    Frame,
    OutgoingMessage,
    ack_frame,
    connection_id_frame,
)
from .payloads import Message, ResumablePayload

#: Server messages the client may leave unacknowledged before an ack frame goes out.
ACK_EVERY = 32
RESUME_PARAMETER = "fb_resume"
_RESUME_VALUE = re.compile(r"([A-Za-z0-9_-]{16,64})\.(\d{1,15})(?:\.(\d{1,9}))?")


#: What a logged URL shows in place of a resume id.
REDACTED = "[redacted]"


def new_connection_id() -> str:
    """A fresh connection id: 144 random bits, URL-safe (it travels in query strings)."""
    return secrets.token_urlsafe(18)


def redact_uri(uri: str) -> str:
    """`uri` with the value of its ``fb_resume`` argument replaced by ``[redacted]``.

    A connection id is a capability: whoever presents it (with a count) takes the
    connection over, so it must never reach a log. The argument is found as Tornado
    finds it (``&``-separated, names percent- and ``+``-decoded, so ``fb%5Fresume`` is
    caught too); ``fb_resume=1`` (asking for a new resumable connection) holds no id and
    stays as it is.
    """
    path, mark, query = uri.partition("?")
    if not mark:
        return uri
    parts = query.split("&")
    changed = False
    for i, part in enumerate(parts):
        name, equals, value = part.partition("=")
        if equals and unquote_plus(name) == RESUME_PARAMETER and value != "1":
            parts[i] = name + "=" + REDACTED
            changed = True
    return path + "?" + "&".join(parts) if changed else uri


def parse_resume_request(value: str | None) -> tuple[str, int, int | None] | bool:
    """``fb_resume``: absent -> False, ``1`` -> True (a new resumable connection),
    ``<cid>.<n>`` -> (cid, n, None), ``<cid>.<n>.<attempt>`` -> (cid, n, attempt); anything
    else -> False (served as a plain session)."""
    if not value:
        return False
    if value == "1":
        return True
    match = _RESUME_VALUE.fullmatch(value)
    if match is None:
        return False
    attempt = match.group(3)
    return match.group(1), int(match.group(2)), None if attempt is None else int(attempt)


class ResumeState:
    """Counters and the replay buffer of one resumable connection."""

    __slots__ = (
        "acked",
        "announced",
        "attempt",
        "buffer_bytes",
        "buffer_limit",
        "cid",
        "confirmed",
        "previous",
        "received",
        "replay",
        "replay_bytes",
        "reported",
        "requeued",
        "resumes",
        "sent",
    )

    def __init__(self, cid: str, buffer_limit: int, buffer_bytes: int) -> None:
        #: The connection id: a capability (whoever presents it takes the connection
        #: over), so it is replaced after every resume (`rotate`) and never logged.
        self.cid = cid
        #: The id the client last resumed with: still good until the client shows it
        #: has the new one (`confirm`), so that a resume answer lost in transit does not
        #: end the connection; None once it has.
        self.previous: str | None = None
        #: The control frame carrying the current id has been handed to a transport.
        self.announced = True
        self.buffer_limit = buffer_limit
        self.buffer_bytes = buffer_bytes
        #: Number of the last message handed to a transport.
        self.sent = 0
        #: The client has confirmed messages up to this number (or they were dropped).
        self.acked = 0
        #: The highest count the client itself has confirmed (in an ack or a resume);
        #: its counts never go down, so a request with a lower one is stale.
        self.confirmed = 0
        #: The number of the resume attempt that last took the connection over: the
        #: client numbers its attempts, so one that arrives after a later one (both held
        #: up in the network, with the same count) is stale.
        self.attempt = 0
        #: Sent, not yet acknowledged: messages acked+1 .. sent.
        self.replay: collections.deque[OutgoingMessage] = collections.deque()
        self.replay_bytes = 0
        #: Messages that a rewind put back at the head of the session's queue, numbered
        #: sent+1 .. sent+requeued: handed out once already, so the client may hold some
        #: of them -- from a response that was on its way when it asked to resume.
        self.requeued = 0
        #: Client messages received so far.
        self.received = 0
        #: The `received` count last told to the client.
        self.reported = 0
        self.resumes = 0

    def check_attempt(self, attempt: int | None) -> None:
        """Raise `StaleResume` for an attempt older than the one that took over last (the
        same one again -- a request the browser repeated -- may take over again).

        A request without a number counts as attempt 0: a client that numbers nothing
        resumes as before, while for fallback.js, whose resumes are numbered from 1, it
        is what a late receiving request of a session the connection has left looks like.
        """
        if (attempt or 0) < self.attempt:
            raise StaleResume()

    def accepts(self, cid: str) -> bool:
        """Whether a resume (or resync) presenting `cid` is this connection's client."""
        return cid == self.cid or (self.previous is not None and cid == self.previous)

    def rotate(self, presented: str) -> str:
        """A resume with `presented` succeeded: a fresh id replaces the current one,
        which is then worthless; `presented` stays good until `confirm`."""
        self.previous = presented
        self.cid = new_connection_id()
        self.announced = False
        return self.cid

    def confirm(self) -> None:
        """The client is here after it got the new id (it sent something, answered a
        ping, or polled with the new id): the id it resumed with is worthless now."""
        if self.announced:
            self.previous = None

    def sent_out(self, messages: Iterable[OutgoingMessage]) -> int:
        """Messages just handed to a transport; returns how many unacknowledged ones had
        to be dropped because the replay buffer is full (a later resume then fails)."""
        replay = self.replay
        for message in messages:
            replay.append(message)
            self.replay_bytes += len(message.encoded)
            self.sent += 1
            if self.requeued:
                self.requeued -= 1
        dropped = 0
        while replay and (len(replay) > self.buffer_limit or self.replay_bytes > self.buffer_bytes):
            self.replay_bytes -= len(replay.popleft().encoded)
            self.acked += 1
            dropped += 1
        return dropped

    def acknowledge(self, count: int) -> None:
        """The client received `count` messages in all."""
        if count > self.sent:
            count = self.sent  # never trust a count beyond what was sent
        if count > self.confirmed:
            self.confirmed = count
        replay = self.replay
        while self.acked < count and replay:
            self.replay_bytes -= len(replay.popleft().encoded)
            self.acked += 1

    def rewind(
        self, client_seen: int, *, counts_as_resume: bool = True
    ) -> tuple[list[OutgoingMessage], int]:
        """Prepare a resume: the messages after `client_seen`, to be sent again, in order,
        and how many at the head of the session's queue the client turns out to hold.

        A count beyond `sent` is not always a lie: a rewind puts messages back in the
        queue (`requeued`), but a response carrying them may still have reached the
        client, whose next request then counts them. Those are skipped, not sent twice.

        Raises `ResumeError` when the client saw more than was ever sent or needs
        messages the full buffer dropped, and `StaleResume` when the request is older
        than what the client has confirmed since (nothing changes then).
        """
        if client_seen < self.confirmed:
            raise StaleResume()
        ahead = client_seen - self.sent
        if ahead > self.requeued:
            raise ResumeError(
                CloseCode.RESUME_LOST, "Cannot resume: the client saw messages never sent"
            )
        if client_seen < self.acked:
            raise ResumeError(
                CloseCode.RESUME_LOST, "Cannot resume: messages were dropped from a full buffer"
            )
        if counts_as_resume:
            self.resumes += 1
        if ahead > 0:
            # Nothing went out since the rewind that requeued them (a take sends the
            # whole queue), so the replay buffer is empty and acked == sent.
            self.requeued -= ahead
            self.sent = self.acked = self.confirmed = client_seen
            return [], ahead
        self.acknowledge(client_seen)
        again = list(self.replay)
        self.replay.clear()
        self.replay_bytes = 0
        self.sent = client_seen
        self.requeued += len(again)
        return again, 0

    @property
    def ack_due(self) -> bool:
        return self.received - self.reported >= ACK_EVERY

    @property
    def ack_pending(self) -> bool:
        return self.received != self.reported

    # -- what a session asks: the protocol's answers ---------------------------------

    def announcement(self) -> Frame:
        """The frame that tells the client of a new resumable connection its id."""
        return connection_id_frame(self.cid, resumed=False, seen=0)

    def heartbeat(self) -> Frame:
        """What goes out in place of a heartbeat: an ack if the client has not been told
        of everything that arrived, else ``h``."""
        if self.ack_pending:
            self.reported = self.received
            return ack_frame(self.received)
        return HEARTBEAT_FRAME

    def final_ack(self) -> Frame:
        """Before a 1012 close: exactly how much arrived here, so that the client sends
        the rest again, to another server."""
        self.reported = self.received
        return ack_frame(self.received)

    def receive(self, payload: ResumablePayload) -> tuple[list[Message], int, Frame | None]:
        """A payload from the client: the messages to deliver, how many it repeated (a
        request the browser retried; dropped) and the ack frame now due, if any.

        Raises `PayloadError` for messages that claim to follow ones that never came.
        """
        if payload.ack is not None:
            self.acknowledge(payload.ack)
        messages = payload.messages
        repeated = 0
        if payload.seq is not None and messages:
            repeated = self.received - payload.seq
            if repeated < 0:
                raise PayloadError("Messages out of sequence.")
            if repeated:
                # A request the browser sent again (it retries a POST whose connection
                # was reset before any answer): what already arrived is not repeated.
                repeated = min(repeated, len(messages))
                messages = messages[repeated:]
        ack = None
        if messages:
            self.received += len(messages)
            if self.ack_due:
                self.reported = self.received
                ack = ack_frame(self.received)
        return messages, repeated, ack

    def take_over(
        self, client_seen: int, presented: str | None, attempt: int | None
    ) -> tuple[list[OutgoingMessage], int, Frame]:
        """A resume on a new transport: the messages to send again, how many queued ones
        the client already holds (`rewind`), then the frame that answers it
        (``r{"cid": <new id>, "resumed": true, "seen": m}``).

        Raises `StaleResume` (nothing changes) or `ResumeError` (the connection cannot
        go on), as `rewind` and `check_attempt` say.
        """
        self.check_attempt(attempt)
        again, held = self.rewind(client_seen)
        self.rotate(presented if presented is not None else self.cid)
        if attempt is not None:
            self.attempt = attempt
        self.reported = self.received
        return again, held, connection_id_frame(self.cid, resumed=True, seen=self.received)

    def resync_count(self, value: str | None) -> int | None:
        """The count a later receiving request of the same session carries
        (``fb_resume=<cid>.<n>``), if it is this connection's; a request with the current
        id also shows the client has it (`confirm`)."""
        request = parse_resume_request(value)
        if not isinstance(request, tuple) or not self.accepts(request[0]):
            return None
        if request[0] == self.cid:
            self.confirm()  # it has the new id: the old one is void
        return request[1]
