"""The channel envelope, version 1: small JSON objects inside ordinary SockJS messages.

Client to server (``id`` is any number the client chooses; the answer carries it back):

================  ===========================================================  =========
``op``            fields                                                       answer
================  ===========================================================  =========
``subscribe``     ``channel``, ``token`` (private/presence channels)           ``ok`` (+ ``presence``) or ``error``
``unsubscribe``   ``channel``                                                  ``ok``
``publish``       ``channel``, ``data`` (any JSON)                             ``ok`` or ``error``
``presence``      ``channel``                                                  ``ok`` + ``presence``
``trigger``       ``event``, ``data``                                          ``ok`` or ``error``
================  ===========================================================  =========

Server to client: ``ok`` and ``error`` (``code``, ``message``, ``channel``) answers;
``message`` (``channel``, ``data``); ``join`` and ``leave`` (``channel``, ``member``:
``{"id", "user", "info"}``) on presence channels. Every object has ``"v": 1``.

This module parses and builds envelopes; of the rest of fallback it uses only its codes
and exceptions.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from typing import Any

from ..codes import EnvelopeErrorCode
from ..exceptions import EnvelopeError

VERSION = 1
MAX_ENVELOPE = 64 * 1024
MAX_CHANNEL = 128
MAX_EVENT = 128
# A leading "$" marks the server's own channels (fallback.tokens.RESERVED_PREFIX).
_CHANNEL = re.compile(rf"(?=.{{1,{MAX_CHANNEL}}}$)\$?[A-Za-z0-9_\-=@,.;:+]+")
_EVENT = re.compile(rf"[A-Za-z0-9_\-.:]{{1,{MAX_EVENT}}}")


def valid_channel(name: object) -> bool:
    return isinstance(name, str) and _CHANNEL.fullmatch(name) is not None


CHANNEL_RULE = f"channel names are 1-{MAX_CHANNEL} characters of A-Z a-z 0-9 _-=@,.;:+"
RESERVED_RULE = "channel names that start with $ are reserved for the server"


class Op(enum.Enum):
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    PUBLISH = "publish"
    PRESENCE = "presence"
    TRIGGER = "trigger"


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    op: Op
    id: Any = None
    channel: str = ""
    token: str | None = None
    data: Any = None
    event: str = ""


def _request_id(value: Any) -> Any:
    if value is None or (isinstance(value, (int, str)) and not isinstance(value, bool)):
        if isinstance(value, str) and len(value) > 64:
            return None
        return value
    return None


def parse(text: str) -> Request:
    """A client request; `EnvelopeError` (with the request id when known) otherwise."""
    if len(text) > MAX_ENVELOPE:
        raise EnvelopeError(EnvelopeErrorCode.BAD_REQUEST, "envelope too large")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise EnvelopeError(EnvelopeErrorCode.BAD_REQUEST, "envelope is not JSON") from None
    if not isinstance(value, dict):
        raise EnvelopeError(EnvelopeErrorCode.BAD_REQUEST, "envelope must be a JSON object")
    request_id = _request_id(value.get("id"))
    if value.get("v", VERSION) != VERSION:
        raise EnvelopeError(
            EnvelopeErrorCode.UNSUPPORTED_VERSION, "unsupported envelope version", request_id
        )
    try:
        op = Op(value.get("op"))
    except ValueError:
        raise EnvelopeError(EnvelopeErrorCode.UNKNOWN_OP, "unknown op", request_id) from None
    if op is Op.TRIGGER:
        event = value.get("event")
        if not isinstance(event, str) or not _EVENT.fullmatch(event):
            raise EnvelopeError(
                EnvelopeErrorCode.BAD_REQUEST, "trigger needs a valid event name", request_id
            )
        return Request(op, request_id, event=event, data=value.get("data"))
    channel = value.get("channel")
    if not isinstance(channel, str) or not valid_channel(channel):
        raise EnvelopeError(EnvelopeErrorCode.BAD_CHANNEL, CHANNEL_RULE, request_id)
    token = value.get("token")
    if token is not None and not isinstance(token, str):
        raise EnvelopeError(
            EnvelopeErrorCode.BAD_REQUEST, "token must be a string", request_id, channel
        )
    return Request(op, request_id, channel=channel, token=token, data=value.get("data"))


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def ok(request_id: Any, **fields: Any) -> str:
    return _dump({"v": VERSION, "op": "ok", "id": request_id, **fields})


def error(code: int, message: str, request_id: Any = None, channel: str | None = None) -> str:
    body: dict[str, Any] = {
        "v": VERSION,
        "op": "error",
        "id": request_id,
        "code": int(code),
        "message": message,
    }
    if channel is not None:
        body["channel"] = channel
    return _dump(body)


def message(channel: str, data: Any) -> str:
    return _dump({"v": VERSION, "op": "message", "channel": channel, "data": data})


def member(member_id: str, user: str | None, info: Any) -> dict[str, Any]:
    return {"id": member_id, "user": user, "info": info}


def presence_event(kind: str, channel: str, member_info: dict[str, Any]) -> str:
    return _dump({"v": VERSION, "op": kind, "channel": channel, "member": member_info})
