"""The channel envelope, version 1: small JSON objects inside ordinary SockJS messages.

Client to server (``id`` is any number the client chooses; the answer carries it back):

================  ===========================================================  =========
``op``            fields                                                       answer
================  ===========================================================  =========
``subscribe``     ``channel``, ``token`` (private/presence channels),          ``ok`` (+ ``presence``,
                  ``since`` (channels with history: recover from there)        ``offset``, ``epoch``,
                                                                               ``recovered``) or ``error``
``unsubscribe``   ``channel``                                                  ``ok``
``publish``       ``channel``, ``data`` (any JSON)                             ``ok`` or ``error``
``presence``      ``channel``                                                  ``ok`` + ``presence``
``trigger``       ``event``, ``data``                                          ``ok`` or ``error``
================  ===========================================================  =========

Server to client: ``ok`` and ``error`` (``code``, ``message``, ``channel``) answers;
``message`` (``channel``, ``data``); ``join`` and ``leave`` (``channel``, ``member``:
``{"id", "user", "info"}``) on presence channels. Every object has ``"v": 1``.

On a channel with history (the tenant's ``history`` rules), every ``message``, ``join``
and ``leave`` also carries its position: ``"offset"`` (an integer counting the channel's
publications from 1) and ``"epoch"`` (a short string naming that run of offsets; it
changes when history was lost as a whole). The ``ok`` answer to ``subscribe`` carries the
channel's latest position as ``offset`` and ``epoch`` -- where to recover from if nothing
arrives before the connection is lost. A ``subscribe`` may carry ``"since": {"offset": n,
"epoch": "..."}``, the position of the last publication the client got: then the ``ok``
says ``"recovered": true`` and is followed by every publication after ``since``, in
order, before any live one (none missing, none twice), or it says ``"recovered": false``
when history no longer reaches back that far (trimmed, expired, another epoch, more than
the tenant's ``max_recovery`` missed) and only live publications follow.

This module parses and builds envelopes; of the rest of fallback it uses only its codes,
its exceptions and the history's `Position`.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from typing import Any

from ..channels.history import Position
from ..codes import EnvelopeErrorCode
from ..exceptions import EnvelopeError

VERSION = 1
MAX_ENVELOPE = 64 * 1024
MAX_CHANNEL = 128
MAX_EVENT = 128
# A leading "$" marks the server's own channels (fallback.tokens.RESERVED_PREFIX).
_CHANNEL = re.compile(rf"(?=.{{1,{MAX_CHANNEL}}}$)\$?[A-Za-z0-9_\-=@,.;:+]+")
_EVENT = re.compile(rf"[A-Za-z0-9_\-.:]{{1,{MAX_EVENT}}}")
_EPOCH = re.compile(r"[A-Za-z0-9_\-]{1,64}")
#: The largest offset a ``since`` may name (a JSON-safe integer).
MAX_OFFSET = 2**53 - 1
SINCE_RULE = 'since must be {"offset": integer >= 0, "epoch": "1-64 of A-Z a-z 0-9 _ -"}'


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
    #: ``subscribe``: the position to recover from.
    since: Position | None = None


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
    since = None
    if op is Op.SUBSCRIBE and value.get("since") is not None:
        since = _since(value["since"])
        if since is None:
            raise EnvelopeError(EnvelopeErrorCode.BAD_REQUEST, SINCE_RULE, request_id, channel)
    return Request(
        op, request_id, channel=channel, token=token, data=value.get("data"), since=since
    )


def _since(value: Any) -> Position | None:
    if not isinstance(value, dict) or set(value) != {"offset", "epoch"}:
        return None
    offset, epoch = value["offset"], value["epoch"]
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_OFFSET:
        return None
    if not isinstance(epoch, str) or not _EPOCH.fullmatch(epoch):
        return None
    return Position(offset, epoch)


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


def stamp(text: str, position: Position) -> str:
    """An envelope as built here (a JSON object), with `position` added: the text members
    of a channel with history get (`fallback.channels.Channels.keep_history`)."""
    return f'{text[:-1]},"offset":{position.offset},"epoch":{json.dumps(position.epoch)}}}'


def member(member_id: str, user: str | None, info: Any) -> dict[str, Any]:
    return {"id": member_id, "user": user, "info": info}


def presence_event(kind: str, channel: str, member_info: dict[str, Any]) -> str:
    return _dump({"v": VERSION, "op": kind, "channel": channel, "member": member_info})
