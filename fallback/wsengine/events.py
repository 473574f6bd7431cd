"""What a `Protocol` reports from the peer: small immutable events, as wsproto does."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, slots=True)
class TextMessage:
    """A whole text message (fragments already joined, UTF-8 already checked)."""

    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class BinaryMessage:
    """A whole binary message (never on hixie-76)."""

    data: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class Ping:
    """The peer pinged; the protocol has already queued the pong."""

    payload: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class Pong:
    payload: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class CloseReceived:
    """The peer sent a close frame: `code` is `WebSocketCloseCode.NO_STATUS` when it gave none.

    If the peer started the closing handshake, the protocol has already queued the
    answering close frame; either way the transport should now end the TCP connection
    once `Protocol.data_to_send` is written.
    """

    code: int
    reason: str


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionFailed:
    """The peer broke the protocol: a close frame with `code` is queued (RFC 6455 7.1.7)
    and the TCP connection should end once it is written."""

    code: int
    reason: str


Event = TextMessage | BinaryMessage | Ping | Pong | CloseReceived | ConnectionFailed
