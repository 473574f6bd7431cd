"""Every exception fallback raises, in one place.

The hierarchy separates the two ways things go wrong, as h11 does:

    FallbackError
    ├── ConfigurationError   the application misused the API (bad setting, bad argument);
    │   │                    raised at start-up or at the call site, never caught by us
    │   └── UnsupportedError an API of another SockJS server with no counterpart here
    │                        (fallback.compat); raised when used, naming the replacement
    └── PeerError            the remote side sent something the protocol does not allow;
        │                    carries the HTTP status and the exact body the protocol asks for
        ├── PayloadError     an empty, undecodable or non-string SockJS payload
        └── CallbackError    a JSONP/htmlfile callback that is missing or unsafe

Transports turn a `PeerError` into its HTTP answer (or a WebSocket close) and carry on;
the session it concerns stays intact.
"""

from __future__ import annotations


class FallbackError(Exception):
    """Base class of everything this package raises on purpose."""


class ConfigurationError(FallbackError, ValueError):
    """A setting or argument is invalid; the message says what to use instead."""


class UnsupportedError(ConfigurationError, AttributeError):
    """A sockjs-tornado internal that means nothing on fallback was used; the message
    names what to use instead.

    Raised when the name is used -- read, called or instantiated -- never when a module
    is imported, so an application migrates by changing its imports and learns only
    about the parts it really touches. It is an `AttributeError` too, so that
    ``hasattr`` and ``getattr(obj, name, default)`` treat the name as missing.
    """


class PeerError(FallbackError):
    """The client broke the protocol. `status` and `message` are the answer to give it."""

    status: int = 400

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
