"""fallback's WebSocket engine: handshakes and framing for every version browsers speak.

Sans-I/O, with no Tornado or asyncio import: `handshake.accept` validates an opening
handshake and builds its response; a `Protocol` (from `Protocol.for_handshake`) turns
bytes received into `events` and calls into bytes to send. `fallback.transports` moves
the bytes over a socket. Of the rest of fallback it uses only the codes and the
exception tree (`fallback.codes`, `fallback.exceptions`), re-exported here.
"""

from ..codes import Opcode, is_valid_close_code
from ..codes import WebSocketCloseCode as CloseCode
from ..exceptions import (
    HandshakeError,
    InvalidPayload,
    InvalidState,
    PayloadTooBig,
    ProtocolError,
)
from .events import (
    BinaryMessage,
    CloseReceived,
    ConnectionFailed,
    Event,
    Ping,
    Pong,
    TextMessage,
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
    "accept",
    "is_valid_close_code",
]
