"""Binary messages: a protocol extension that plain SockJS clients never see. Sans-I/O.

SockJS carries text only. The server announces the extension in ``info``
(``"binary": {"v": 1, "max": <max_message_size>}``) and only a client that asks for it
gets binary messages: fallback.js adds ``fb_binary=1`` to the request that creates its
session (the first receiving request, or the WebSocket URL), and puts no more than
``max`` bytes of messages in one request (but for a single bigger message, which the
server then refuses). Such a session carries, in both directions:

* on a SockJS WebSocket, each binary message as one WebSocket *binary* message, between
  the text messages that carry the SockJS frames, in order;
* on every HTTP transport (and in a text WebSocket message), each binary message as the
  object ``{"b": "<base64>"}`` among the strings of an ``a[...]`` frame or a send array.

Base64 (RFC 4648, with padding) rather than a denser text encoding: its alphabet needs
no escaping in any transport's envelope (JSON, EventSource's percent escapes, htmlfile's
``<``, JSONP form posts), browsers decode it natively (``atob``/``btoa``), and base85's
7 % gain would cost a decoder in the shim and escapes on two transports.

The unframed endpoint ``<prefix>/websocket`` needs no negotiation: WebSocket itself has
binary messages (hixie-76 does not, and gets none).

Bounds are measured on what the application sees: ``max_message_size`` applies to the
decoded bytes of each binary message, so an HTTP request body may exceed it by half
(`wire_limit`: base64's third, and the percent-escapes of ``+``, ``/`` and ``=`` in a
JSONP form post).

A session without the extension never receives a binary message: `Connection.send`
raises `BinaryUnsupported`, `broadcast` skips it. Binary messages a client sends reach
``Connection.on_binary``, which by default closes the connection with 1003 ("Binary
messages not accepted"): an application takes bytes only once it says so.
"""

from __future__ import annotations

import base64
import binascii

from ..exceptions import PayloadError

#: The query argument that asks for the extension.
BINARY_PARAMETER = "fb_binary"
#: What ``info`` says: the extension's version.
INFO = {"v": 1}
BROKEN_BASE64 = "Broken base64 encoding."


def requested(value: str | None) -> bool:
    """Whether the ``fb_binary`` argument asks for the extension."""
    return value == "1"


def decode_item(item: dict[str, object]) -> bytes:
    """The bytes of one ``{"b": "<base64>"}`` item; `PayloadError` for anything else."""
    value = item.get("b")
    if len(item) != 1 or not isinstance(value, str):
        raise PayloadError("Broken JSON encoding.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise PayloadError(BROKEN_BASE64) from None


def wire_limit(max_message_size: int) -> int:
    """The largest request body a binary session may send: one message of
    `max_message_size` bytes in base64 -- percent-escaped in a form post, where ``+``,
    ``/`` and ``=`` take three bytes -- with room for the JSON around it."""
    return max_message_size * 3 // 2 + 1024


def message_size(message: str | bytes) -> int:
    """A message's decoded size: bytes of binary, UTF-8 bytes of text."""
    if isinstance(message, bytes):
        return len(message)
    return len(message) if message.isascii() else len(message.encode("utf-8", "surrogatepass"))
