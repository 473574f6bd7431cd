"""fallback's WebSocket engine: handshakes and framing for every version browsers speak.

Sans-I/O, with no Tornado import: `handshake.accept` validates an opening handshake and
builds its response; a `Protocol` (from `Protocol.for_handshake`) turns bytes received
into `events` and calls into bytes to send. `fallback.transports.websocket` moves the
bytes over a Tornado stream.
"""

from .codes import CloseCode, Opcode, is_valid_close_code
from .events import (
    BinaryMessage,
    CloseReceived,
    ConnectionFailed,
    Event,
    Ping,
    Pong,
    TextMessage,
)
from .exceptions import (
    HandshakeError,
    InvalidPayload,
    InvalidState,
    PayloadTooBig,
    ProtocolError,
    WebSocketError,
)
from .handshake import SUPPORTED_VERSIONS, Handshake, Version, accept
from .protocol import Hixie76Protocol, HybiProtocol, Protocol, State

__all__ = [
    "SUPPORTED_VERSIONS",
    "BinaryMessage",
    "CloseCode",
    "CloseReceived",
    "ConnectionFailed",
    "Event",
    "Handshake",
    "HandshakeError",
    "Hixie76Protocol",
    "HybiProtocol",
    "InvalidPayload",
    "InvalidState",
    "Opcode",
    "PayloadTooBig",
    "Ping",
    "Pong",
    "Protocol",
    "ProtocolError",
    "State",
    "TextMessage",
    "Version",
    "WebSocketError",
    "accept",
    "is_valid_close_code",
]
