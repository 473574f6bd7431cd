"""The running totals a service keeps for statistics, shared by all its sessions."""

from __future__ import annotations


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
