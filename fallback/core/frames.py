"""SockJS frames as the server sends them: typed, escaped once, shared by every receiver.

Frames (https://github.com/sockjs/sockjs-protocol, ``sockjs-protocol.py``):

* ``o`` -- the session opened;
* ``h`` -- heartbeat;
* ``a[...]`` -- a JSON array of messages;
* ``c[code,"reason"]`` -- the session is closed;
* ``a[...]`` of a session that took the binary extension (`fallback.core.binary`) may
  also hold ``{"b": "<base64>"}``: one binary message;
* ``r{...}`` -- fallback's resume extension (`fallback.core.resume`): ``r{"ack": n}``
  acknowledges the client's messages (it also serves as a heartbeat),
  ``r{"cid": ...}`` tells the client its connection id.

A `Frame` is the frame's text, tagged with its `FrameKind`, so that transports ask
``frame.kind`` instead of reading the text. Messages are JSON-encoded once, when they are
created (`OutgoingMessage`), and the encoded form is shared by every session they are
queued on. Incoming payloads are decoded in `fallback.core.payloads`; what wraps a frame
on each transport is in `fallback.core.envelopes`.
"""

from __future__ import annotations

import base64
import enum
import json
import re
from collections.abc import Sequence
from json.encoder import encode_basestring
from typing import NewType

from ..codes import DEFAULT_REASONS, CloseCode

SessionId = NewType("SessionId", str)


class FrameKind(enum.Enum):
    OPEN = "o"
    HEARTBEAT = "h"
    MESSAGES = "a"
    CLOSE = "c"
    #: ``r{"ack": n}``: how many client messages arrived (sent in place of heartbeats).
    ACK = "ack"
    #: ``r{"cid": ..., "resumed": ..., "seen": ...}``: the connection's id and counts.
    CONNECTION_ID = "cid"
    #: One binary message as it is, for transports that carry bytes (`BinaryFrame`).
    BINARY = "binary"


class Frame(str):
    """One frame: its text (a `Frame` is a `str`, written as it is) and its `kind`."""

    kind: FrameKind

    def __new__(cls, kind: FrameKind, text: str) -> Frame:
        frame = super().__new__(cls, text)
        frame.kind = kind
        return frame


class BinaryFrame(Frame):
    """One binary message as a WebSocket binary message carries it: its bytes in `data`
    (the text of the frame is empty; only WebSocket links that asked for binary frames
    with ``take_frame(binary_frames=True)`` ever get one)."""

    data: bytes

    def __new__(cls, kind: FrameKind, text: str, data: bytes = b"") -> BinaryFrame:
        frame = str.__new__(cls, text)
        frame.kind = kind
        frame.data = data
        return frame


OPEN_FRAME = Frame(FrameKind.OPEN, "o")
HEARTBEAT_FRAME = Frame(FrameKind.HEARTBEAT, "h")


# Characters that browsers or proxies mangle inside frames and that therefore travel as
# \uXXXX escapes: controls, zero-width and bidi marks, line/paragraph separators, invisible
# operators, specials -- and lone surrogates, which cannot be encoded as UTF-8 at all.
_ESCAPABLE = re.compile(
    "[\x00-\x1f\ud800-\udfff\u200c-\u200f\u2028-\u202f\u2060-\u206f\ufff0-\uffff]"
)


def _escape_char(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def quote(text: str) -> str:
    """JSON-encode a string the way SockJS frames need it.

    The encoder already escapes the C0 controls; the remaining dangerous characters are
    all non-ASCII, so pure-ASCII text skips the regular expression entirely.
    """
    # What ``json.dumps(text, ensure_ascii=False)`` gives, without building an encoder
    # per call or going through one (it is on every message's path).
    quoted = encode_basestring(text)
    if quoted.isascii():
        return quoted
    return _ESCAPABLE.sub(_escape_char, quoted)


class OutgoingMessage:
    """One application message on its way out, shared by every session it is queued on.

    Text (`text`) or binary (`data`, with `text` empty): a binary message's JSON form is
    ``{"b": "<base64>"}`` (`fallback.core.binary`), which is what an HTTP transport or a
    WebSocket without binary frames carries. The JSON form and the single-message frame
    are computed on first use and cached, so a broadcast to N sessions encodes once.
    """

    __slots__ = ("_encoded", "_frame", "data", "size", "text", "wire")

    def __init__(self, body: str | bytes) -> None:
        if isinstance(body, bytes):
            self.text = ""
            #: The bytes of a binary message; None for a text message.
            self.data: bytes | None = body
        else:
            self.text = body
            self.data = None
        #: What the queue bounds count: characters of text, bytes of binary.
        self.size = len(body)
        #: The bytes a transport that sends messages unframed built for this message
        #: alone (a raw WebSocket: its uncompressed frame), kept so that a broadcast
        #: builds them once; None until one does.
        self.wire: bytes | None = None
        self._encoded: str | None = None
        self._frame: Frame | None = None

    @property
    def binary(self) -> bool:
        return self.data is not None

    @property
    def encoded(self) -> str:
        if self._encoded is None:
            data = self.data
            if data is None:
                self._encoded = quote(self.text)
            else:
                self._encoded = '{"b":"' + base64.b64encode(data).decode("ascii") + '"}'
        return self._encoded

    @property
    def frame(self) -> Frame:
        """``a[...]`` holding just this message."""
        if self._frame is None:
            self._frame = Frame(FrameKind.MESSAGES, "a[" + self.encoded + "]")
        return self._frame

    def binary_frame(self) -> BinaryFrame:
        """This binary message as a WebSocket binary message carries it."""
        assert self.data is not None
        return BinaryFrame(FrameKind.BINARY, "", self.data)


def messages_frame(messages: Sequence[OutgoingMessage]) -> Frame:
    """One ``a[...]`` frame carrying all `messages`, in order."""
    if len(messages) == 1:
        return messages[0].frame
    return Frame(FrameKind.MESSAGES, "a[" + ",".join([m.encoded for m in messages]) + "]")


def close_frame(code: int, reason: str) -> Frame:
    return Frame(FrameKind.CLOSE, "c[" + str(int(code)) + "," + quote(reason) + "]")


def is_close_frame(frame: str) -> bool:
    """Whether `frame` closes the session: its kind says so, and text read off the wire
    (a client's, a test's) says so by its first character."""
    if isinstance(frame, Frame):
        return frame.kind is FrameKind.CLOSE
    return frame.startswith("c")


def _control(kind: FrameKind, **fields: object) -> Frame:
    return Frame(kind, "r" + json.dumps(fields, separators=(",", ":")))


def ack_frame(received: int) -> Frame:
    """``r{"ack": received}``: the client's messages that arrived, in all."""
    return _control(FrameKind.ACK, ack=received)


def connection_id_frame(cid: str, *, resumed: bool, seen: int) -> Frame:
    """``r{"cid": ..., "resumed": ..., "seen": ...}``: the connection's (new) id, whether
    this is a resume, and how many of the client's messages arrived."""
    return _control(FrameKind.CONNECTION_ID, cid=cid, resumed=resumed, seen=seen)


ANOTHER_CONNECTION_FRAME = close_frame(
    CloseCode.ANOTHER_CONNECTION, DEFAULT_REASONS[CloseCode.ANOTHER_CONNECTION]
)
#: The answer to a receiving request from another IP than the session's (``verify_ip``);
#: the wording is sockjs-tornado's, which introduced the check.
DIFFERENT_IP_FRAME = close_frame(
    CloseCode.ANOTHER_CONNECTION, "Attempted to connect to session from different IP"
)


_SESSION_PART = re.compile(r"[^/.]+")


def is_valid_session_part(part: str) -> bool:
    """Server and session ids: non-empty, no dot, no slash."""
    return bool(_SESSION_PART.fullmatch(part))
