"""Router settings: every limit has a name, a safe default and a check at start-up."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from typing import Any

from ..exceptions import ConfigurationError
from .binary import wire_limit
from .origins import check_pattern

#: Transport names as they appear in SockJS URLs, in the order fallback prefers them.
TRANSPORTS: tuple[str, ...] = (
    "websocket",
    "xhr_streaming",
    "eventsource",
    "htmlfile",
    "xhr",
    "jsonp",
)

#: Other spellings people use for the same transports (sockjs-client and sockjs-node names).
TRANSPORT_ALIASES: dict[str, str] = {
    "xhr_polling": "xhr",
    "xhr-polling": "xhr",
    "xhr-streaming": "xhr_streaming",
    "jsonp_polling": "jsonp",
    "jsonp-polling": "jsonp",
    "iframe-eventsource": "eventsource",
    "iframe-htmlfile": "htmlfile",
}

DEFAULT_SOCKJS_URL = "https://cdn.jsdelivr.net/npm/sockjs-client@1/dist/sockjs.min.js"


def normalize_transport(name: str) -> str:
    canonical = TRANSPORT_ALIASES.get(name, name)
    if canonical not in TRANSPORTS:
        raise ConfigurationError(
            f"unknown transport {name!r} in disabled_transports; use one of {', '.join(TRANSPORTS)}"
        )
    return canonical


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """What a `Router` can be told. Times are in seconds, sizes in bytes."""

    #: Transports this router does not serve (their URLs answer 404; ``info`` says so).
    disabled_transports: frozenset[str] = frozenset()
    #: A heartbeat frame goes out after this long without any other frame.
    heartbeat_delay: float = 25.0
    #: A session with no receiving request for this long is closed and forgotten.
    disconnect_delay: float = 5.0
    #: Streaming responses end after this many bytes; the client opens a new one.
    response_limit: int = 128 * 1024
    #: Set a ``JSESSIONID`` cookie on session requests (for load balancers that need it).
    jsessionid: bool = False
    #: Pages of other origins allowed to connect, besides the server's own (which always
    #: may: see `fallback.origins`). Entries are ``scheme://host[:port|:*]``,
    #: ``host[:port|:*]`` or ``*.domain``; ``"null"`` allows pages opened from files and
    #: ``"*"`` every page of every site (with its visitors' cookies: only for services
    #: that do not authenticate by cookie). ``None`` is the same as ``()``.
    allowed_origins: tuple[str, ...] = ()
    #: Refuse requests for an HTTP session from any IP address but the one that opened
    #: it (receiving requests get ``c[2010, ...]``, send requests 404). WebSocket
    #: sessions live on one socket and need no check. Behind a proxy, enable Tornado's
    #: ``xheaders`` so that the address is the client's.
    verify_ip: bool = False
    #: Largest incoming message or request body; bigger ones are refused (413 / 1009).
    #: A binary message is measured by its bytes, not its base64 (`max_body_size`).
    max_message_size: int = 1024 * 1024
    #: Most messages queued for one session; past it the session closes with 3008.
    max_queue: int = 10_000
    #: Most bytes (JSON-encoded) queued for one session; past it, also 3008.
    max_queue_bytes: int = 8 * 1024 * 1024
    #: Most messages waiting for a connection's coroutine handler (``async def
    #: on_message``) while an earlier one still runs; past it the client is sending faster
    #: than the application handles, and the connection closes with 3008 as for a slow
    #: client. Each message is at most ``max_message_size``. Synchronous handlers never
    #: queue.
    max_pending_messages: int = 1024
    #: Most sessions this router keeps at once; new ones past it are refused with 503
    #: (HTTP) or close code 1013 (WebSocket).
    max_sessions: int = 100_000
    #: Offer resume (a protocol extension only fallback.js uses; see fallback.resume).
    resume: bool = True
    #: How long a resumable connection waits for its client to come back after each loss
    #: of transport. Keep it above ``1.5 * heartbeat_delay + 2`` plus a reconnection: that
    #: is how long the shim takes to notice a transport that fell silent (see
    #: `fallback.resume`).
    resume_grace: float = 60.0
    #: Refuse a resume (3011, the connection left as it is) from another IP address than
    #: the one that opened the connection. Off by default: phones change networks, and
    #: resume exists for them; the connection id is a capability either way (fresh after
    #: every resume, never logged). Behind a proxy, enable Tornado's ``xheaders``.
    resume_same_ip: bool = False
    #: Sent-but-unacknowledged messages kept per resumable connection, by count...
    resume_buffer: int = 1024
    #: ... and by bytes. Past either, the oldest are dropped and a later resume that
    #: needs them fails with 3010 (the live connection is not affected).
    resume_buffer_bytes: int = 1024 * 1024
    #: Seconds a hixie-76 WebSocket handshake may take to send its 8-byte key once its
    #: headers are in (until then it holds no session); the headers of every handshake
    #: are bounded by the server's ``idle_connection_timeout``.
    handshake_timeout: float = 10.0
    #: Offer binary messages (a protocol extension only fallback.js asks for, see
    #: `fallback.core.binary`; a raw WebSocket client simply sends them). What a client
    #: sends in binary reaches ``Connection.on_binary``, which refuses it (1003) unless
    #: the application overrides it. Off: ``info`` does not offer it, and no session
    #: sends or receives binary messages.
    binary: bool = True
    #: Compress WebSocket messages with permessage-deflate (RFC 7692) when the client
    #: offers it (every current browser does). Always without context takeover, so an
    #: idle connection holds no compressor and a broadcast compresses once (see
    #: `fallback.wsengine.deflate` for the costs, and the security note there).
    websocket_compression: bool = True
    #: Messages shorter than this many bytes are sent uncompressed (compressing them
    #: costs more CPU than it saves bytes).
    compression_threshold: int = 256
    #: Serve the unframed WebSocket endpoint ``<prefix>/websocket``.
    raw_websocket: bool = True
    #: The SockJS client script ``iframe.html`` loads (sockjs-client's iframe transports).
    sockjs_url: str = DEFAULT_SOCKJS_URL

    def __post_init__(self) -> None:
        origins: object = self.allowed_origins
        if origins is None:
            object.__setattr__(self, "allowed_origins", ())
        elif not isinstance(origins, tuple):
            raise ConfigurationError("allowed_origins must be a list of origin patterns")
        for pattern in self.allowed_origins:
            problem = check_pattern(pattern)
            if problem is not None:
                raise ConfigurationError(f"allowed_origins entry {pattern!r}: {problem}")
        for name in ("heartbeat_delay", "disconnect_delay", "resume_grace", "handshake_timeout"):
            value = getattr(self, name)
            if (
                not isinstance(value, (int, float))
                or isinstance(value, bool)  # True is an int: it would pass as 1 second
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ConfigurationError(f"{name} must be a positive number of seconds")
        threshold = self.compression_threshold
        if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 0:
            raise ConfigurationError("compression_threshold must be a whole number of bytes")
        for name in (
            "response_limit",
            "max_message_size",
            "max_queue",
            "max_queue_bytes",
            "max_pending_messages",
            "max_sessions",
            "resume_buffer",
            "resume_buffer_bytes",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigurationError(f"{name} must be a positive integer")
        if not isinstance(self.sockjs_url, str) or not self.sockjs_url:
            raise ConfigurationError("sockjs_url must be a non-empty URL string")

    @classmethod
    def from_kwargs(cls, values: Mapping[str, Any]) -> Settings:
        """Build settings from keyword arguments, refusing unknown names by name."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigurationError(
                f"unknown setting(s) {', '.join(unknown)}; known settings: "
                f"{', '.join(sorted(known))}"
            )
        prepared = dict(values)
        if "disabled_transports" in prepared:
            prepared["disabled_transports"] = _transport_set(prepared["disabled_transports"])
        if prepared.get("allowed_origins") is not None:
            origins = prepared["allowed_origins"]
            if isinstance(origins, str):
                origins = [origins]
            prepared["allowed_origins"] = tuple(origins)
        return cls(**prepared)

    def enabled(self, transport: str) -> bool:
        return transport not in self.disabled_transports

    @property
    def max_body_size(self) -> int:
        """The largest HTTP request body: ``max_message_size``, plus base64's third when
        binary messages are offered (a binary session's messages are then bounded one by
        one on their decoded size; a plain session's body still by ``max_message_size``)."""
        limit = self.max_message_size
        return wire_limit(limit) if self.binary else limit

    @property
    def websocket_enabled(self) -> bool:
        return self.enabled("websocket")


def _transport_set(names: Iterable[str] | str) -> frozenset[str]:
    if isinstance(names, str):
        names = [names]
    return frozenset(normalize_transport(name) for name in names)
