"""The server side of the opening handshake, for every version browsers have spoken.

* RFC 6455 (``Sec-WebSocket-Version: 13``), and the drafts still in the field with the
  same handshake: hybi-07 (version 7, Firefox 6) and hybi-08/10 (version 8, Firefox 7-10,
  Chrome 14-15). Versions 7 and 8 name the page in ``Sec-WebSocket-Origin`` instead of
  ``Origin``.
* hixie-76 (draft-hixie-thewebsocketprotocol-76, also called hybi-00; Safari 5.0/5.1,
  iOS 4-5, early Chrome and Opera): two keys in the headers, and an 8-byte third key
  that follows the headers as a request body without a ``Content-Length``. The answer to
  the challenge is the MD5 of the three keys.

`accept` validates a request and returns a `Handshake` whose `Handshake.response` is the
status line and headers to send at once. For hixie-76 the response goes out *before* the
third key arrives: HAProxy forwards that key only after it has seen the response headers
(the SockJS protocol suite's ``test_haproxy`` checks exactly this), so the protocol object
answers the challenge later, when the key shows up in `Protocol.receive_data`.

Refusals raise `HandshakeError` with the HTTP status to answer: 405 (with ``Allow``) for
other methods, 400 for a request that is not a valid upgrade, 426 (with the versions we
speak) for an unknown version, 403 for an origin the caller does not allow.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import hashlib
import struct
from collections.abc import Callable, Iterable, Mapping

from ..exceptions import HandshakeError
from .deflate import Deflate, DeflateOptions, negotiate

__all__ = [
    "SUPPORTED_VERSIONS",
    "Handshake",
    "Version",
    "accept",
    "accept_key",
    "hixie76_challenge",
    "hixie76_key_number",
]

#: RFC 6455 section 1.3.
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Version(enum.Enum):
    """The handshake and framing a client speaks."""

    HIXIE_76 = "hixie-76"
    HYBI_07 = "7"
    HYBI_08 = "8"
    RFC_6455 = "13"

    @property
    def hixie(self) -> bool:
        return self is Version.HIXIE_76


#: ``Sec-WebSocket-Version`` values we accept, most preferred first (sent with 426).
SUPPORTED_VERSIONS = ("13", "8", "7")

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclasses.dataclass(frozen=True, slots=True)
class Handshake:
    """An accepted opening handshake."""

    version: Version
    #: Status line and headers (ending with the empty line) to write before any frame.
    response: bytes
    #: The page that opened the connection, as the client named it (None if it did not).
    origin: str | None
    #: hixie-76 only: the numbers of ``Sec-WebSocket-Key1`` and ``Sec-WebSocket-Key2``;
    #: the 8-byte third key still has to be read from the stream.
    hixie_keys: tuple[int, int] | None = None
    #: permessage-deflate, if it was offered and accepted (`fallback.wsengine.deflate`).
    deflate: Deflate | None = None


def _normalize(headers: Headers) -> dict[str, str]:
    """Lower-case names; repeated headers joined with commas (RFC 9110 section 5.3)."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    result: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        result[key] = f"{result[key]}, {value}" if key in result else value
    return result


def _tokens(value: str | None) -> set[str]:
    if not value:
        return set()
    return {token.strip().lower() for token in value.split(",")}


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a ``Sec-WebSocket-Key`` (RFC 6455 section 4.2.2)."""
    digest = hashlib.sha1((key + GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def hixie76_key_number(key: str) -> int:
    """The number a hixie-76 key stands for: its digits divided by its spaces.

    Raises `HandshakeError` (400) for a key with no spaces, a quotient that is not whole,
    or a number that does not fit the 32 bits the challenge packs it in.
    """
    digits = "".join(c for c in key if "0" <= c <= "9")
    spaces = key.count(" ")
    if not digits or not spaces:
        raise HandshakeError(400, "Invalid hixie-76 key.")
    number = int(digits)
    if number % spaces:
        raise HandshakeError(400, "Invalid hixie-76 key.")
    number //= spaces
    if number > 0xFFFFFFFF:
        raise HandshakeError(400, "Invalid hixie-76 key.")
    return number


def hixie76_challenge(key1: int, key2: int, key3: bytes) -> bytes:
    """The 16-byte answer to a hixie-76 handshake (draft 76, section 5.2, step 8)."""
    return hashlib.md5(struct.pack(">II", key1, key2) + key3).digest()


def _hybi_key(value: str | None) -> str:
    if not value:
        raise HandshakeError(400, "Missing Sec-WebSocket-Key.")
    key = value.strip()
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise HandshakeError(400, "Invalid Sec-WebSocket-Key.") from None
    if len(raw) != 16:
        raise HandshakeError(400, "Invalid Sec-WebSocket-Key.")
    return key


def accept(
    method: str,
    target: str,
    headers: Headers,
    *,
    secure: bool = False,
    origin_allowed: Callable[[str | None], bool] | None = None,
    compression: DeflateOptions | None = None,
) -> Handshake:
    """Validate an opening handshake and build the response to it.

    Args:
        method: the request method; anything but GET is refused with 405.
        target: the request target (path and query), for hixie-76's
            ``Sec-WebSocket-Location``.
        headers: the request headers, a mapping or (name, value) pairs.
        secure: the request came over TLS (``wss:`` in the location).
        origin_allowed: decides whether the page named by the origin header may connect;
            it is asked on every version, with None when the client named no page.
        compression: accept permessage-deflate (RFC 7692) on these terms when the client
            offers it (RFC 6455 versions only); None never accepts it.

    Raises:
        HandshakeError: with the HTTP status, message and headers to refuse with.
    """
    if method != "GET":
        raise HandshakeError(405, "", {"Allow": "GET"})
    h = _normalize(headers)
    if "websocket" not in _tokens(h.get("upgrade")):
        raise HandshakeError(400, 'Can "Upgrade" only to "WebSocket".')
    if "upgrade" not in _tokens(h.get("connection")):
        raise HandshakeError(400, '"Connection" must be "Upgrade".')
    version_header = h.get("sec-websocket-version")
    if version_header is None and "sec-websocket-key1" in h and "sec-websocket-key2" in h:
        return _accept_hixie76(target, h, secure, origin_allowed)
    version = (version_header or "").strip()
    if version not in SUPPORTED_VERSIONS:
        raise HandshakeError(
            426,
            "Unsupported WebSocket version.",
            {"Sec-WebSocket-Version": ", ".join(SUPPORTED_VERSIONS)},
        )
    key = _hybi_key(h.get("sec-websocket-key"))
    if version == "13":
        origin = h.get("origin", h.get("sec-websocket-origin"))
    else:
        origin = h.get("sec-websocket-origin", h.get("origin"))
    _check_origin(origin, origin_allowed)
    deflate = negotiate(h.get("sec-websocket-extensions"), compression)
    extensions = f"Sec-WebSocket-Extensions: {deflate.response}\r\n" if deflate else ""
    response = (
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_key(key)}\r\n"
        f"{extensions}"
        "\r\n"
    )
    return Handshake(Version(version), response.encode("latin-1"), origin, deflate=deflate)


def _check_origin(origin: str | None, allowed: Callable[[str | None], bool] | None) -> None:
    if allowed is not None and not allowed(origin):
        raise HandshakeError(403, "Origin not allowed.")


def _header_safe(value: str) -> str:
    """A value echoed into a response header cannot carry a line break."""
    if "\r" in value or "\n" in value:
        raise HandshakeError(400, "Invalid header value.")
    return value


def _accept_hixie76(
    target: str,
    h: dict[str, str],
    secure: bool,
    origin_allowed: Callable[[str | None], bool] | None,
) -> Handshake:
    key1 = hixie76_key_number(h["sec-websocket-key1"])
    key2 = hixie76_key_number(h["sec-websocket-key2"])
    host = h.get("host")
    if not host:
        raise HandshakeError(400, "Missing Host header.")
    origin = h.get("origin")
    _check_origin(origin, origin_allowed)
    scheme = "wss" if secure else "ws"
    lines = [
        "HTTP/1.1 101 WebSocket Protocol Handshake",
        "Upgrade: WebSocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Origin: {_header_safe(origin or 'null')}",
        f"Sec-WebSocket-Location: {scheme}://{_header_safe(host)}{_header_safe(target)}",
    ]
    protocol = h.get("sec-websocket-protocol")
    if protocol:
        # Draft 76 clients fail the connection unless the protocol they asked for is echoed.
        lines.append(f"Sec-WebSocket-Protocol: {_header_safe(protocol)}")
    response = "\r\n".join(lines) + "\r\n\r\n"
    try:
        data = response.encode("latin-1")
    except UnicodeEncodeError:
        raise HandshakeError(400, "Invalid header value.") from None
    return Handshake(Version.HIXIE_76, data, origin, (key1, key2))
