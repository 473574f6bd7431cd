"""permessage-deflate (RFC 7692): negotiation, and compressing and decompressing messages.

Sans-I/O like the rest of the engine. The server always answers with *no context
takeover* in both directions (RFC 7692 section 7.1.1: a server may ask for both whatever
the client offered), which decides the costs:

* Memory: no compressor or decompressor lives with a connection. An idle compressed
  connection costs nothing more than an uncompressed one; a decompressor (about 40 KiB
  for a 32 KiB window) exists only while one compressed message is being inflated.
* Broadcast: with no context, a message compresses to the same bytes for every receiver
  with the same window size, so a broadcast compresses each message once per window
  size (the WebSocket links share the frame, `fallback.transports.sockio.Flusher`). The
  compressor itself is one per thread and window size, reset at every message
  (``Z_FULL_FLUSH`` leaves no back-reference across the flush point, exactly as a fresh
  compressor would).
* Ratio: each message is compressed alone, so small messages gain little; messages
  under `DeflateOptions.threshold` bytes go uncompressed (RSV1 clear), as the RFC allows
  per message.
* Security: no context takeover also means no secret carried over from one message can
  be probed by the next (the CRIME attack); a message that mixes a secret with text an
  attacker chooses still leaks through its compressed length, as over TLS compression.

Offers are read in the client's order (section 5.1); the first one whose parameters are
valid and possible here is accepted. ``server_max_window_bits=8`` is declined: zlib's raw
deflate needs 9 bits at least, and a smaller window is what the client asked for.
"""

from __future__ import annotations

import dataclasses
import threading
import zlib

from ..exceptions import InvalidPayload, PayloadTooBig

EXTENSION = "permessage-deflate"
#: The four octets a sync (or full) flush ends with, which the sender strips (7.2.1).
_TAIL = b"\x00\x00\xff\xff"
_PARAMETERS = frozenset(
    {
        "server_no_context_takeover",
        "client_no_context_takeover",
        "server_max_window_bits",
        "client_max_window_bits",
    }
)


@dataclasses.dataclass(frozen=True, slots=True)
class DeflateOptions:
    """What the server allows: from the router's settings."""

    #: Messages shorter than this many bytes are sent uncompressed.
    threshold: int = 256
    #: The largest LZ77 window the server compresses with (9-15 bits).
    max_window_bits: int = 15
    #: zlib's compression level (1 fastest - 9 smallest).
    level: int = 6


@dataclasses.dataclass(frozen=True, slots=True)
class Deflate:
    """The negotiated extension of one connection: how its messages are compressed."""

    #: The window the server compresses with.
    window_bits: int
    threshold: int
    level: int
    #: The ``Sec-WebSocket-Extensions`` value of the response.
    response: str

    @property
    def key(self) -> tuple[int, int]:
        """Connections with the same key get the same bytes for the same message."""
        return (self.window_bits, self.level)

    def compress(self, payload: bytes) -> bytes | None:
        """`payload` compressed (without the flush tail), or None to send it as it is."""
        if len(payload) < self.threshold:
            return None
        compressor = _compressor(self.window_bits, self.level)
        data = compressor.compress(payload) + compressor.flush(zlib.Z_FULL_FLUSH)
        return data[:-4] if data.endswith(_TAIL) else data


class _Compressors(threading.local):
    """One compressor per thread and parameters: a message is compressed in two calls
    (``compress``, then the flush that resets it), which another thread's message must
    not come between (servers that run an IOLoop per thread)."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[int, int], zlib._Compress] = {}


_compressors = _Compressors()


def _compressor(window_bits: int, level: int) -> zlib._Compress:
    """This thread's compressor for these parameters (reset after every message)."""
    found = _compressors.by_key.get((window_bits, level))
    if found is None:
        found = _compressors.by_key[window_bits, level] = zlib.compressobj(
            level, zlib.DEFLATED, -window_bits
        )
    return found


def inflate(data: bytes, max_size: int) -> bytes:
    """One compressed message's payload, decompressed with a fresh context (the client
    takes none over). Raises `PayloadTooBig` past `max_size` bytes and `ProtocolError`
    `InvalidPayload` (1007) for data that is not deflate."""
    decompressor = zlib.decompressobj(-15)
    try:
        out = decompressor.decompress(data + _TAIL, max_size + 1)
    except zlib.error:
        raise InvalidPayload("invalid permessage-deflate data") from None
    if len(out) > max_size or decompressor.unconsumed_tail:
        raise PayloadTooBig(f"message over {max_size} bytes once decompressed")
    return out


def _offers(header: str) -> list[list[tuple[str, str | None]]]:
    """``permessage-deflate`` offers of a ``Sec-WebSocket-Extensions`` value, in order,
    each as its (name, value) parameters; other extensions are left out."""
    offers = []
    for extension in header.split(","):
        name, *parameters = (part.strip() for part in extension.split(";"))
        if name.lower() != EXTENSION:
            continue
        parsed: list[tuple[str, str | None]] = []
        for parameter in parameters:
            key, equals, value = parameter.partition("=")
            cleaned = value.strip().strip('"') if equals else None
            parsed.append((key.strip().lower(), cleaned))
        offers.append(parsed)
    return offers


def _window(value: str | None) -> int | None:
    if value is None or not value.isdigit() or len(value) > 2:
        return None
    bits = int(value)
    return bits if 8 <= bits <= 15 else None


def _accept(offer: list[tuple[str, str | None]], options: DeflateOptions) -> Deflate | None:
    names = [name for name, _ in offer]
    if len(set(names)) != len(names) or not set(names) <= _PARAMETERS:
        return None
    values = dict(offer)
    response = [EXTENSION, "server_no_context_takeover", "client_no_context_takeover"]
    window_bits = options.max_window_bits
    for name, value in values.items():
        if name.endswith("context_takeover") and value is not None:
            return None
        if name == "client_max_window_bits" and value is not None and _window(value) is None:
            return None
    if "server_max_window_bits" in values:
        asked = _window(values["server_max_window_bits"])
        if asked is None or asked < 9:
            return None
        window_bits = min(window_bits, asked)
        response.append(f"server_max_window_bits={window_bits}")
    return Deflate(window_bits, options.threshold, options.level, "; ".join(response))


def negotiate(header: str | None, options: DeflateOptions | None) -> Deflate | None:
    """The accepted permessage-deflate offer of a request's ``Sec-WebSocket-Extensions``
    (None when compression is off, nothing is offered, or no offer can be accepted)."""
    if options is None or not header:
        return None
    for offer in _offers(header):
        accepted = _accept(offer, options)
        if accepted is not None:
            return accepted
    return None
