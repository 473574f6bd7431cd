"""sockjs-tornado's messages as fallback's `OutgoingMessage` objects.

sockjs-tornado's ``send`` took any JSON value and put the value itself in the frame
(``a[{"k":1}]``: sockjs-client hands the page an object); str is a string message and
bytes are UTF-8 text. `outgoing` keeps that, and a broadcast builds its message once for
every receiver, as fallback's own broadcast does.
"""

from __future__ import annotations

import json
from typing import Any

from ...core.frames import OutgoingMessage


class JsonValue(OutgoingMessage):
    """A message that is any JSON value.

    Inside a frame it is the value itself; on the raw WebSocket endpoint it is the JSON
    text. ASCII-only JSON already escapes every character SockJS wants escaped, so the
    encoded form is final.
    """

    __slots__ = ()

    def __init__(self, value: Any) -> None:
        encoded = json.dumps(value, separators=(",", ":"))
        super().__init__(encoded)
        self._encoded = encoded


def outgoing(message: Any) -> OutgoingMessage:
    """str as a string message, bytes as UTF-8 text, anything else as a JSON value."""
    if isinstance(message, str):
        return OutgoingMessage(message)
    if isinstance(message, bytes):
        return OutgoingMessage(message.decode("utf-8"))
    return JsonValue(message)


def encoded(text: str | bytes) -> OutgoingMessage:
    """A message the application JSON-encoded itself (``send_jsonified``).

    Decoded and encoded again rather than trusted: the frame must be valid JSON with the
    characters SockJS escapes escaped, whatever encoder the application used.
    """
    return JsonValue(json.loads(text))
