"""Every code fallback sends or reads, by namespace, with its ranges: no literal elsewhere.

===============================  =========================  ==================================
namespace                        where it travels           ranges
===============================  =========================  ==================================
`Opcode`                         WebSocket frame headers    0x0-0x2 data, 0x8-0xA control;
                                                            0x3-0x7 and 0xB-0xF reserved
`WebSocketCloseCode`             WebSocket close frames     0-999 unused; 1000-2999 the
                                 (RFC 6455 section 7.4)     protocol's (1000-1015 defined,
                                                            1004-1006 and 1015 never sent);
                                                            3000-3999 libraries (IANA);
                                                            4000-4999 applications
`CloseCode`                      SockJS ``c[code,"reason"]`` the same numbers, with SockJS's
                                 frames, and the codes      meanings: 1002 "Connection
                                 ``on_close`` sees          interrupted", 2010 "Another
                                                            connection still open";
                                                            3000-3001 SockJS's own,
                                                            3008-3011 fallback's own;
                                                            3000-4999 `Connection.close`
`EnvelopeErrorCode`              ``error`` envelopes of     4000-4009 bad requests,
                                 the channel server         4020-4049 refusals, 4500 ours
`TokenErrorCode`                 ``error`` envelopes (a     4010-4019
                                 refused token)
===============================  =========================  ==================================

The two close-code namespaces share their numbers but not every meaning: a SockJS client
reads 1002 as "the receiving request was interrupted", a WebSocket peer as "protocol
error". That is why they are two enums, and why a SockJS code crosses onto a WebSocket
close frame only through `websocket_close_code` (2010 cannot travel there at all). HTTP
statuses are the standard library's `http.HTTPStatus`.
"""

from __future__ import annotations

import enum


class Opcode(enum.IntEnum):
    """Frame opcodes (RFC 6455 section 5.2)."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


class WebSocketCloseCode(enum.IntEnum):
    """Close status codes of WebSocket close frames (RFC 6455 section 7.4.1, IANA)."""

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


#: Codes 3000 and up that anyone may send: libraries' (3000-3999) and applications'
#: (4000-4999). `Connection.close` takes these, as the browser's ``WebSocket.close`` does.
APPLICATION_CODES = range(3000, 5000)

#: Codes below 3000 that may appear in a close frame; everything else below 3000 (0-999,
#: 1004-1006, 1015, 1016-2999) and 5000 up is a protocol error when received and never sent.
_SENDABLE_BELOW_3000 = frozenset(
    {
        WebSocketCloseCode.NORMAL,
        WebSocketCloseCode.GOING_AWAY,
        WebSocketCloseCode.PROTOCOL_ERROR,
        WebSocketCloseCode.UNSUPPORTED_DATA,
        WebSocketCloseCode.INVALID_DATA,
        WebSocketCloseCode.POLICY_VIOLATION,
        WebSocketCloseCode.MESSAGE_TOO_BIG,
        WebSocketCloseCode.MANDATORY_EXTENSION,
        WebSocketCloseCode.INTERNAL_ERROR,
        WebSocketCloseCode.SERVICE_RESTART,
        WebSocketCloseCode.TRY_AGAIN_LATER,
        WebSocketCloseCode.BAD_GATEWAY,
    }
)


def is_valid_close_code(code: int) -> bool:
    """Whether `code` may travel in a WebSocket close frame (RFC 6455 section 7.4)."""
    return code in APPLICATION_CODES or code in _SENDABLE_BELOW_3000


class CloseCode(enum.IntEnum):
    """Close codes of SockJS ``c[code, reason]`` frames, as fallback sends them.

    1000-2999 are the WebSocket and SockJS protocols'; 3000-3999 SockJS's and ours; the
    application may use any of `APPLICATION_CODES` in `Connection.close`.
    """

    NORMAL = 1000
    #: The server is shutting down or the session expired.
    GOING_AWAY = 1001
    #: The receiving request of a session went away before the response ended (SockJS's
    #: meaning of 1002; on a WebSocket close frame it would read "protocol error").
    INTERRUPTED = 1002
    #: A message exceeded ``max_message_size``.
    MESSAGE_TOO_BIG = 1009
    #: Application code raised; only that session is closed.
    INTERNAL_ERROR = 1011
    #: The server is shutting down; reconnect (to another server).
    SERVICE_RESTART = 1012
    #: Too many sessions in this process.
    TRY_AGAIN_LATER = 1013
    #: A second receiving request arrived while one is still attached (SockJS only: no
    #: WebSocket close frame may carry it).
    ANOTHER_CONNECTION = 2010
    #: The default code of `Connection.close`.
    GO_AWAY = 3000
    #: ``on_open`` returned False.
    REJECTED = 3001
    #: More than ``max_queue`` messages (or ``max_queue_bytes``) waited for a slow client.
    QUEUE_OVERFLOW = 3008
    #: A resumable connection's client did not come back within ``resume_grace``.
    RESUME_EXPIRED = 3009
    #: Resume impossible: messages the client needs are gone.
    RESUME_LOST = 3010
    #: Resume impossible: no such connection here.
    RESUME_UNKNOWN = 3011


#: The reason each close code is sent with unless the caller gives one.
DEFAULT_REASONS: dict[int, str] = {
    CloseCode.NORMAL: "Normal closure",
    CloseCode.GOING_AWAY: "Server going away",
    CloseCode.INTERRUPTED: "Connection interrupted",
    CloseCode.MESSAGE_TOO_BIG: "Message too big",
    CloseCode.INTERNAL_ERROR: "Internal server error",
    CloseCode.ANOTHER_CONNECTION: "Another connection still open",
    CloseCode.GO_AWAY: "Go away!",
    CloseCode.REJECTED: "Connection rejected",
    CloseCode.QUEUE_OVERFLOW: "Send queue overflow",
    CloseCode.RESUME_EXPIRED: "Resume grace period expired",
    CloseCode.RESUME_LOST: "Cannot resume: messages lost",
    CloseCode.RESUME_UNKNOWN: "Cannot resume: unknown connection",
    CloseCode.SERVICE_RESTART: "Server restarting, reconnect",
    CloseCode.TRY_AGAIN_LATER: "Server busy, try again later",
}

#: The longest close reason a WebSocket close frame carries (125 bytes of payload less
#: the 2-byte code); a client's goodbye is cut to it, as the browser's ``close`` would.
MAX_CLOSE_REASON = 123


def websocket_close_code(code: int | None) -> int:
    """The code to put on a WebSocket close frame for a session closed with `code`.

    SockJS codes that may not travel on a WebSocket (2010; RFC 6455 reserves 1004-2999
    but for the defined ones) become 1000; the application's codes and the standard
    ones pass through.
    """
    if code is not None and is_valid_close_code(code):
        return code
    return WebSocketCloseCode.NORMAL


def client_close_code(code: int) -> int:
    """The code a client's goodbye (``{"close": [code, reason]}``) closes with: what the
    browser's ``WebSocket.close`` accepts (1000, 1001 and 3000-4999), else 1000."""
    if code == CloseCode.NORMAL or code == CloseCode.GOING_AWAY or code in APPLICATION_CODES:
        return code
    return CloseCode.NORMAL


class EnvelopeErrorCode(enum.IntEnum):
    """Codes of the channel server's ``error`` envelopes (token refusals: `TokenErrorCode`)."""

    BAD_REQUEST = 4000
    UNKNOWN_OP = 4001
    BAD_CHANNEL = 4002
    UNSUPPORTED_VERSION = 4003
    PUBLISH_FORBIDDEN = 4020
    NOT_SUBSCRIBED = 4021
    TOO_MANY_CHANNELS = 4029
    FORBIDDEN = 4030
    TRIGGER_UNAVAILABLE = 4040
    INTERNAL = 4500


class TokenErrorCode(enum.IntEnum):
    """Why a token was refused (the ``code`` of the client's error envelope)."""

    REQUIRED = 4010
    INVALID = 4011
    EXPIRED = 4012
    WRONG_TENANT = 4013
    CHANNEL_NOT_ALLOWED = 4014


__all__ = [
    "APPLICATION_CODES",
    "DEFAULT_REASONS",
    "MAX_CLOSE_REASON",
    "CloseCode",
    "EnvelopeErrorCode",
    "Opcode",
    "TokenErrorCode",
    "WebSocketCloseCode",
    "client_close_code",
    "is_valid_close_code",
    "websocket_close_code",
]
