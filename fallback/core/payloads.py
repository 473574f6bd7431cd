"""What clients send: SockJS payloads decoded into messages, with the protocol's errors.

``xhr_send`` and ``jsonp_send`` bodies are JSON arrays of strings; a SockJS WebSocket
frame is an array or a single string; a resumable session's payloads also carry the
resume extension's controls (`fallback.core.resume`), and a session with the binary
extension's binary messages (``{"b": "<base64>"}``, `fallback.core.binary`), which are
decoded to `bytes`. Anything else is a
`PayloadError` carrying the protocol's exact message, and the session stays intact.
"""

from __future__ import annotations

import json
from typing import NamedTuple

from ..codes import MAX_CLOSE_REASON, client_close_code
from ..exceptions import PayloadError
from .binary import decode_item

#: A decoded message: text, or the bytes of a binary message.
Message = str | bytes

PAYLOAD_EXPECTED = "Payload expected."
BROKEN_JSON = "Broken JSON encoding."


def _as_text(payload: str | bytes) -> str:
    if isinstance(payload, bytes):
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            raise PayloadError(BROKEN_JSON) from None
    return payload


def _strings(value: object, binary: bool = False) -> list[Message]:
    if isinstance(value, list):
        if all(isinstance(item, str) for item in value):
            return value
        if binary:
            return [item if isinstance(item, str) else _binary(item) for item in value]
    raise PayloadError(BROKEN_JSON)


def _binary(item: object) -> bytes:
    if not isinstance(item, dict):
        raise PayloadError(BROKEN_JSON)
    return decode_item(item)


def decode_send_payload(payload: str | bytes, *, binary: bool = False) -> list[Message]:
    """Messages from an ``xhr_send``/``jsonp_send`` body: a JSON array of strings (and,
    with `binary`, of ``{"b": "<base64>"}`` binary messages).

    Raises `PayloadError` with the protocol's message for an empty body, broken JSON or
    anything that is not an array of strings.
    """
    text = _as_text(payload)
    if not text:
        raise PayloadError(PAYLOAD_EXPECTED)
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise PayloadError(BROKEN_JSON) from None
    return _strings(value, binary)


class ResumablePayload(NamedTuple):
    """What a resumable session's client sent: messages, an acknowledgement (how many
    server messages it has received), and maybe a goodbye ``(code, reason)``."""

    messages: list[Message]
    ack: int | None = None
    close: tuple[int, str] | None = None
    #: How many messages the client had sent before these (lets a repeated request,
    #: which browsers do retry on a reset connection, be recognised).
    seq: int | None = None


def _count(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _split_controls(value: object, binary: bool = False) -> ResumablePayload:
    """Strings (and with `binary`, ``{"b": ...}``) are messages; ``{"seq": n}`` (first),
    ``{"ack": n}`` and ``{"close": [code, reason]}`` are controls."""
    if not isinstance(value, list):
        raise PayloadError(BROKEN_JSON)
    texts: list[Message] = []
    ack: int | None = None
    close: tuple[int, str] | None = None
    seq: int | None = None
    for item in value:
        if isinstance(item, str):
            texts.append(item)
            continue
        if not isinstance(item, dict) or len(item) != 1:
            raise PayloadError(BROKEN_JSON)
        if binary and "b" in item:
            texts.append(decode_item(item))
        elif "ack" in item and _count(item["ack"]) is not None:
            ack = item["ack"] if ack is None else max(ack, item["ack"])
        elif "seq" in item and _count(item["seq"]) is not None and seq is None and not texts:
            seq = item["seq"]
        elif (
            "close" in item
            and isinstance(item["close"], list)
            and len(item["close"]) == 2
            and _count(item["close"][0]) is not None
            and isinstance(item["close"][1], str)
        ):
            close = (client_close_code(item["close"][0]), item["close"][1][:MAX_CLOSE_REASON])
        else:
            raise PayloadError(BROKEN_JSON)
    return ResumablePayload(texts, ack, close, seq)


def decode_resumable_payload(
    payload: str | bytes, *, websocket: bool, binary: bool = False
) -> ResumablePayload:
    """A resumable session's payload: messages, acknowledgements, a goodbye."""
    text = _as_text(payload)
    if not text:
        if websocket:
            return ResumablePayload([])
        raise PayloadError(PAYLOAD_EXPECTED)
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise PayloadError(BROKEN_JSON) from None
    if websocket and isinstance(value, str):
        return ResumablePayload([value])
    return _split_controls(value, binary)


def decode_websocket_payload(payload: str | bytes, *, binary: bool = False) -> list[Message]:
    """Messages from one SockJS WebSocket frame: an array of strings or a single string.

    An empty frame carries no messages (the protocol says to ignore it).
    """
    text = _as_text(payload)
    if not text:
        return []
    if (
        text[:2] == '["'
        and text[-2:] == '"]'
        and text.count('"') == 2
        and "\\" not in text
        and text.isprintable()
    ):
        # One message with nothing to unescape -- what sockjs-client sends most -- is
        # read without the JSON parser; isprintable() rules out the control characters
        # JSON forbids in strings, so the answer is json.loads's.
        return [text[2:-2]]
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise PayloadError(BROKEN_JSON) from None
    if isinstance(value, str):
        return [value]
    return _strings(value, binary)
