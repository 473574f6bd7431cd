"""sockjs-tornado's ``proto`` module: its JSON helpers and frame constants.

``json_encode`` gives compact JSON (``separators=(",", ":")``), as sockjs-tornado's did;
``json_decode`` parses it. The frame letters are the SockJS protocol's. Frames on the
wire are built by fallback itself (escaped as the protocol asks), so these are for
applications that name them, such as a multiplexer speaking its own sub-protocol.
"""

from __future__ import annotations

import json
from typing import Any

from ...core.frames import close_frame

#: What ``json_decode`` raises for text that is not JSON (sockjs-tornado: ValueError).
JSONDecodeError = ValueError

CONNECT = "o"
DISCONNECT = "c"
MESSAGE = "m"
HEARTBEAT = "h"

__all__ = [
    "CONNECT",
    "DISCONNECT",
    "HEARTBEAT",
    "MESSAGE",
    "JSONDecodeError",
    "disconnect",
    "json_decode",
    "json_encode",
]


def json_encode(data: Any) -> str:
    """`data` as compact JSON text."""
    return json.dumps(data, separators=(",", ":"))


def json_decode(data: str | bytes) -> Any:
    """The value of JSON text; raises `JSONDecodeError` (a ValueError) if it is not JSON."""
    return json.loads(data)


def disconnect(code: int, reason: str) -> str:
    """The close frame ``c[code,"reason"]``, with `reason` JSON-escaped (sockjs-tornado
    pasted it in unescaped, so a quote in it broke the frame)."""
    return close_frame(code, reason)
