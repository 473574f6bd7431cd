"""Opcodes and close codes of RFC 6455, as enums: no literal numbers elsewhere."""

from __future__ import annotations

import enum


class Opcode(enum.IntEnum):
    """Frame opcodes (RFC 6455 section 5.2). 0x3-0x7 and 0xB-0xF are reserved."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


class CloseCode(enum.IntEnum):
    """Close status codes (RFC 6455 section 7.4.1 and the IANA registry)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    #: Never on the wire: a close frame that carried no code.
    NO_STATUS = 1005
    #: Never on the wire: the TCP connection ended without a close frame.
    ABNORMAL = 1006
    INVALID_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    #: Never on the wire: the TLS handshake failed.
    TLS_HANDSHAKE = 1015


#: Codes below 3000 that may appear in a close frame; 3000-4999 are for libraries and
#: applications and always allowed; everything else (0-999, 1004-1006, 1015, 1016-2999,
#: 5000+) is a protocol error when received and never sent.
_SENDABLE_BELOW_3000 = frozenset(
    {
        CloseCode.NORMAL,
        CloseCode.GOING_AWAY,
        CloseCode.PROTOCOL_ERROR,
        CloseCode.UNSUPPORTED_DATA,
        CloseCode.INVALID_DATA,
        CloseCode.POLICY_VIOLATION,
        CloseCode.MESSAGE_TOO_BIG,
        CloseCode.MANDATORY_EXTENSION,
        CloseCode.INTERNAL_ERROR,
        CloseCode.SERVICE_RESTART,
        CloseCode.TRY_AGAIN_LATER,
        CloseCode.BAD_GATEWAY,
    }
)


def is_valid_close_code(code: int) -> bool:
    """Whether `code` may travel in a close frame (RFC 6455 section 7.4)."""
    return 3000 <= code <= 4999 or code in _SENDABLE_BELOW_3000
