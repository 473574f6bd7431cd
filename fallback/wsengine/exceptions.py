"""Every exception the WebSocket engine raises, in one place.

Split as h11 and wsproto split theirs, by whose fault it is::

    WebSocketError
    ├── HandshakeError       the client's opening handshake is refused; carries the HTTP
    │                        status, a plain-text message and any header the answer needs
    │                        (``Allow`` for 405, ``Sec-WebSocket-Version`` for 426)
    ├── ProtocolError        the peer broke the framing rules; carries the close code to
    │   │                    fail the connection with (RFC 6455 section 7.1.7)
    │   ├── InvalidPayload   a text message or close reason that is not UTF-8 (1007)
    │   └── PayloadTooBig    a message or frame over the size limit (1009)
    └── InvalidState         local misuse: sending after the close, or binary on hixie-76

`ProtocolError` never escapes `Protocol.receive_data`: the protocol turns it into a close
frame and a `ConnectionFailed` event. `HandshakeError` is what `accept` raises; the I/O
side turns it into an HTTP answer. `InvalidState` is a bug in the caller.
"""

from __future__ import annotations

from collections.abc import Mapping

from .codes import CloseCode


class WebSocketError(Exception):
    """Base class of everything the engine raises on purpose."""


class HandshakeError(WebSocketError):
    """A refused opening handshake: answer ``status`` with ``message`` and ``headers``."""

    def __init__(
        self, status: int, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers: Mapping[str, str] = dict(headers or {})


class ProtocolError(WebSocketError):
    """The peer violated RFC 6455; fail the connection with ``code``."""

    code: int = CloseCode.PROTOCOL_ERROR

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if code is not None:
            self.code = code


class InvalidPayload(ProtocolError):
    """Text that is not valid UTF-8 (RFC 6455 section 8.1)."""

    code = CloseCode.INVALID_DATA


class PayloadTooBig(ProtocolError):
    """A message (all its fragments) or a single frame over the configured limit."""

    code = CloseCode.MESSAGE_TOO_BIG


class InvalidState(WebSocketError):
    """The caller asked for something the connection's state does not allow."""
