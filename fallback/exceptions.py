"""Every exception fallback raises, in one place.

The hierarchy separates the two ways things go wrong, as h11 does (local misuse against
what the remote side did)::

    FallbackError
    ├── UsageError               local: our caller misused the API -- a bug or a bad
    │   │                        setting, raised at start-up or at the call site, never
    │   │                        caught by us
    │   ├── ConfigurationError   a setting or argument is invalid (also a ValueError)
    │   │   └── UnsupportedError a sockjs-tornado internal with no counterpart here
    │   │                        (fallback.compat; also an AttributeError)
    │   ├── InvalidState         a call the object's state does not allow (sending on a
    │   │                        WebSocket after its close)
    │   └── BinaryUnsupported    bytes sent to a client that takes no binary messages
    │                            (also a TypeError)
    ├── BrokerUnavailable        the channel broker (Redis) cannot answer now: neither
    │                            side's fault, and it passes when the broker is back
    └── PeerError                remote: the peer sent or asked for what is refused;
        │                        carries the answer -- `status` (HTTP), `code` (close or
        │                        error code) and `message` -- and concerns that peer only
        ├── PayloadError         an empty, undecodable or non-string SockJS payload (500)
        ├── CallbackError        a missing or unsafe JSONP/htmlfile callback (500)
        ├── MessageTooBig        a message over ``max_message_size`` (413, 1009)
        ├── ServiceBusy          no new session now: ``max_sessions`` (503, 1013)
        │   └── ServiceRestarting  the process is shutting down (503, 1012)
        ├── ResumeError          a resume that cannot happen (3009-3011)
        │   └── StaleResume      a request the client has overtaken: refused alone (2010)
        ├── HandshakeError       a refused WebSocket opening handshake (400/403/405/426)
        ├── ProtocolError        a WebSocket peer broke RFC 6455 (close code 1002)
        │   ├── InvalidPayload   text or a close reason that is not UTF-8 (1007)
        │   └── PayloadTooBig    a message or frame over the size limit (1009)
        ├── TokenError           a refused channel token (`codes.TokenErrorCode`)
        └── EnvelopeError        a channel-server request refused (`codes.EnvelopeErrorCode`)

Transports turn a `PeerError` into its HTTP answer (or a close frame) and carry on: the
session it concerns stays intact, or closes alone. The codes are in `fallback.codes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .codes import CloseCode, TokenErrorCode, WebSocketCloseCode


class FallbackError(Exception):
    """Base class of everything this package raises on purpose."""


# -- local: the API was misused -----------------------------------------------------------


class UsageError(FallbackError):
    """Our caller misused the API; the message says what to do instead."""


class ConfigurationError(UsageError, ValueError):
    """A setting or argument is invalid; the message says what to use instead."""


class UnsupportedError(ConfigurationError, AttributeError):
    """A sockjs-tornado internal that means nothing on fallback was used; the message
    names what to use instead.

    Raised when the name is used -- read, called or instantiated -- never when a module
    is imported, so an application migrates by changing its imports and learns only
    about the parts it really touches. It is an `AttributeError` too, so that
    ``hasattr`` and ``getattr(obj, name, default)`` treat the name as missing.
    """


class InvalidState(UsageError):
    """The caller asked for something the connection's state does not allow."""


class BinaryUnsupported(UsageError, TypeError):
    """Bytes were sent to a client that takes no binary messages: a plain SockJS client,
    or a hixie-76 WebSocket (`Connection.binary` says which clients do)."""


# -- remote: the peer is refused ----------------------------------------------------------


class BrokerUnavailable(FallbackError):
    """The channel broker cannot answer now (a history read while Redis is away)."""


class PeerError(FallbackError):
    """The peer broke the protocol or asked for what cannot be: `status` (HTTP), `code`
    (a close or error code, where the answer has one) and `message` are its answer."""

    status: int = 400
    code: int | None = None

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class PayloadError(PeerError):
    """A message payload that is empty, not JSON, or not strings (SockJS answers 500)."""

    status = 500


class CallbackError(PeerError):
    """A missing or unsafe JSONP/htmlfile callback name (SockJS answers 500)."""

    status = 500


class MessageTooBig(PeerError):
    """A payload over ``max_message_size``: 413 on HTTP, 1009 on a WebSocket."""

    status = 413
    code = CloseCode.MESSAGE_TOO_BIG


class ServiceBusy(PeerError):
    """No new session now: ``max_sessions`` reached. A receiving request gets the close
    frame of `code` (1013), a WebSocket closes with it."""

    status = 503
    code: int = CloseCode.TRY_AGAIN_LATER

    @property
    def close_code(self) -> int:
        """`code`, under the name this exception has always had."""
        return self.code


class ServiceRestarting(ServiceBusy):
    """The process is shutting down (`fallback.server.shutdown`): reconnect elsewhere."""

    code = CloseCode.SERVICE_RESTART


class ResumeError(PeerError):
    """A resume that cannot happen; the client gets the open frame, then ``c[code,
    reason]`` (`fallback.core.resume`)."""

    code: int

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class StaleResume(ResumeError):
    """A request whose count is below what the client has since confirmed: one that was
    held up in the network while the client moved on. Only that request is refused (with
    2010, as a second receiver would be); the connection is not touched."""

    def __init__(self) -> None:
        code = CloseCode.ANOTHER_CONNECTION
        super().__init__(code, "Another connection still open")


class HandshakeError(PeerError):
    """A refused WebSocket opening handshake: answer `status` with `message` and
    `headers` (``Allow`` for 405, ``Sec-WebSocket-Version`` for 426)."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message, status)
        self.headers: Mapping[str, str] = dict(headers or {})


class ProtocolError(PeerError):
    """The WebSocket peer violated RFC 6455: fail the connection with `code`.

    It never escapes ``Protocol.receive_data``: the protocol turns it into a close
    frame and a ``ConnectionFailed`` event.
    """

    code: int = WebSocketCloseCode.PROTOCOL_ERROR

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if code is not None:
            self.code = code


class InvalidPayload(ProtocolError):
    """Text that is not valid UTF-8 (RFC 6455 section 8.1)."""

    code = WebSocketCloseCode.INVALID_DATA


class PayloadTooBig(ProtocolError):
    """A message (all its fragments) or a single frame over the configured limit."""

    code = WebSocketCloseCode.MESSAGE_TOO_BIG


class TokenError(PeerError):
    """A channel token refused, with why (`TokenErrorCode`)."""

    code: TokenErrorCode

    def __init__(self, code: TokenErrorCode, message: str) -> None:
        super().__init__(message, 403)
        self.code = code


class EnvelopeError(PeerError):
    """A channel-server request refused: its `code`, and the request's id and channel
    when they are known (the error envelope carries them back)."""

    code: int

    def __init__(
        self,
        code: int,
        message: str,
        request_id: Any = None,
        channel: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.request_id = request_id
        self.channel = channel


__all__ = [
    "BinaryUnsupported",
    "BrokerUnavailable",
    "CallbackError",
    "ConfigurationError",
    "EnvelopeError",
    "FallbackError",
    "HandshakeError",
    "InvalidPayload",
    "InvalidState",
    "MessageTooBig",
    "PayloadError",
    "PayloadTooBig",
    "PeerError",
    "ProtocolError",
    "ResumeError",
    "ServiceBusy",
    "ServiceRestarting",
    "StaleResume",
    "TokenError",
    "UnsupportedError",
    "UsageError",
]
