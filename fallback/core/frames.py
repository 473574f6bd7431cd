"""The SockJS wire protocol as plain functions over strings: no I/O, no Tornado.

Frames the server sends (https://github.com/sockjs/sockjs-protocol, ``sockjs-protocol.py``):

* ``o`` -- the session opened;
* ``h`` -- heartbeat;
* ``a[...]`` -- a JSON array of messages;
* ``c[code,"reason"]`` -- the session is closed.

Each transport wraps frames in its own envelope (a newline for XHR, ``data:`` lines for
EventSource, ``<script>`` tags for htmlfile, a callback call for JSONP); those envelopes are
here too so that every byte a client sees is decided in one module.

Messages are JSON-encoded once, when they are created (`OutgoingMessage`), and the encoded
form is shared by every session they are queued on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import NamedTuple, NewType

from ..codes import DEFAULT_REASONS, MAX_CLOSE_REASON, CloseCode, client_close_code
from ..exceptions import CallbackError, PayloadError

SessionId = NewType("SessionId", str)

OPEN_FRAME = "o"
HEARTBEAT_FRAME = "h"

#: xhr_streaming starts with 2 KiB of ``h`` and a newline so that old browsers start
#: delivering the body to script before the first real frame.
XHR_STREAMING_PRELUDE = "h" * 2048 + "\n"
#: EventSource starts with an empty line (Opera needed it).
EVENTSOURCE_PRELUDE = "\r\n"

WELCOME = "Welcome to SockJS!\n"


# Characters that browsers or proxies mangle inside frames and that therefore travel as
# \uXXXX escapes: controls, zero-width and bidi marks, line/paragraph separators, invisible
# operators, specials -- and lone surrogates, which cannot be encoded as UTF-8 at all.
_ESCAPABLE = re.compile(
    "[\x00-\x1f\ud800-\udfff\u200c-\u200f\u2028-\u202f\u2060-\u206f\ufff0-\uffff]"
)


def _escape_char(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


#: ``json.dumps(..., ensure_ascii=False)`` builds a new encoder on every call; one shared
#: encoder gives the same bytes several times faster (it is on every message's path).
_ENCODER = json.JSONEncoder(ensure_ascii=False)


def quote(text: str) -> str:
    """JSON-encode a string the way SockJS frames need it.

    The encoder already escapes the C0 controls; the remaining dangerous characters are
    all non-ASCII, so pure-ASCII text skips the regular expression entirely.
    """
    quoted = _ENCODER.encode(text)
    if quoted.isascii():
        return quoted
    return _ESCAPABLE.sub(_escape_char, quoted)


class OutgoingMessage:
    """One application message on its way out, shared by every session it is queued on.

    The JSON form and the single-message frame are computed on first use and cached, so a
    broadcast to N sessions encodes once.
    """

    __slots__ = ("_encoded", "_frame", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._encoded: str | None = None
        self._frame: str | None = None

    @property
    def encoded(self) -> str:
        if self._encoded is None:
            self._encoded = quote(self.text)
        return self._encoded

    @property
    def frame(self) -> str:
        """``a[...]`` holding just this message."""
        if self._frame is None:
            self._frame = "a[" + self.encoded + "]"
        return self._frame


def messages_frame(messages: Sequence[OutgoingMessage]) -> str:
    """One ``a[...]`` frame carrying all `messages`, in order."""
    if len(messages) == 1:
        return messages[0].frame
    return "a[" + ",".join([m.encoded for m in messages]) + "]"


def close_frame(code: int, reason: str) -> str:
    return "c[" + str(int(code)) + "," + quote(reason) + "]"


def is_close_frame(frame: str) -> bool:
    return frame.startswith("c")


ANOTHER_CONNECTION_FRAME = close_frame(
    CloseCode.ANOTHER_CONNECTION, DEFAULT_REASONS[CloseCode.ANOTHER_CONNECTION]
)
#: The answer to a receiving request from another IP than the session's (``verify_ip``);
#: the wording is sockjs-tornado's, which introduced the check.
DIFFERENT_IP_FRAME = close_frame(
    CloseCode.ANOTHER_CONNECTION, "Attempted to connect to session from different IP"
)


# ---------------------------------------------------------------------------------------
# Incoming payloads


PAYLOAD_EXPECTED = "Payload expected."
BROKEN_JSON = "Broken JSON encoding."


def _as_text(payload: str | bytes) -> str:
    if isinstance(payload, bytes):
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            raise PayloadError(BROKEN_JSON) from None
    return payload


def _strings(value: object) -> list[str]:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise PayloadError(BROKEN_JSON)


def decode_send_payload(payload: str | bytes) -> list[str]:
    """Messages from an ``xhr_send``/``jsonp_send`` body: a JSON array of strings.

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
    return _strings(value)


class ResumablePayload(NamedTuple):
    """What a resumable session's client sent: messages, an acknowledgement (how many
    server messages it has received), and maybe a goodbye ``(code, reason)``."""

    messages: list[str]
    ack: int | None = None
    close: tuple[int, str] | None = None
    #: How many messages the client had sent before these (lets a repeated request,
    #: which browsers do retry on a reset connection, be recognised).
    seq: int | None = None


def _count(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _split_controls(value: object) -> ResumablePayload:
    """Strings are messages; ``{"seq": n}`` (first), ``{"ack": n}`` and
    ``{"close": [code, reason]}`` are controls."""
    if not isinstance(value, list):
        raise PayloadError(BROKEN_JSON)
    texts: list[str] = []
    ack: int | None = None
    close: tuple[int, str] | None = None
    seq: int | None = None
    for item in value:
        if isinstance(item, str):
            texts.append(item)
            continue
        if not isinstance(item, dict) or len(item) != 1:
            raise PayloadError(BROKEN_JSON)
        if "ack" in item and _count(item["ack"]) is not None:
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


def decode_resumable_payload(payload: str | bytes, *, websocket: bool) -> ResumablePayload:
    """A resumable session's payload: strings, acknowledgements, a goodbye."""
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
    return _split_controls(value)


def decode_websocket_payload(payload: str | bytes) -> list[str]:
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
    return _strings(value)


# ---------------------------------------------------------------------------------------
# Transport envelopes


def xhr_chunk(frame: str) -> str:
    """xhr and xhr_streaming: one frame per line."""
    return frame + "\n"


#: What sockjs-node percent-encodes in EventSource events: ``%`` itself, and the three
#: characters an event line cannot carry (JSON frames never hold them raw, but a frame
#: is escaped the same way whatever it holds).
_EVENTSOURCE_ESCAPES = str.maketrans({"%": "%25", "\r": "%0D", "\n": "%0A", "\x00": "%00"})


def eventsource_chunk(frame: str) -> str:
    """One EventSource event, escaped exactly as sockjs-node escapes it.

    sockjs-client runs ``decodeURI`` on every event's data, so a ``%`` must travel as
    ``%25`` or ``"%20"`` would arrive as ``" "`` (fallback.js decodes the same way).
    ``decodeURI`` only turns ``%25`` back into ``%`` here: after this escaping, every
    ``%`` in the data starts one of the four sequences below.
    """
    if "%" in frame or "\r" in frame or "\n" in frame or "\x00" in frame:
        frame = frame.translate(_EVENTSOURCE_ESCAPES)
    return "data: " + frame + "\r\n\r\n"


_CALLBACK = re.compile(r"[A-Za-z0-9_.]{1,128}")
MAX_CALLBACK_LENGTH = 128


def check_callback(callback: str | None) -> str:
    """Return a JSONP/htmlfile callback name that is safe to put in a script.

    Only ``[A-Za-z0-9_.]`` is allowed (sockjs-client uses names like ``_jp.a1b2c3``): a
    callback is never echoed unless it passes, which closes the reflected-script hole that
    sockjs-tornado left open.
    """
    if callback is None or callback == "":
        raise CallbackError('"callback" parameter required')
    if not _CALLBACK.fullmatch(callback):
        raise CallbackError('invalid "callback" parameter')
    return callback


def jsonp_body(callback: str, frame: str) -> str:
    """A JSONP response: ``/**/`` defeats the Rosetta-Flash style content sniffing attack."""
    return "/**/" + callback + "(" + quote(frame) + ");\r\n"


_HTMLFILE_HEAD = """<!doctype html>
<html><head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
</head><body><h2>Don't panic!</h2>
  <script>
    %s
    c.start();
    function p(d) {c.message(d);};
    window.onload = function() {c.stop();};
  </script>
"""
#: The protocol's own page (the suite checks it byte for byte): its parent is
#: sockjs-client's iframe.html, which set document.domain too.
_HTMLFILE_PARENT = """document.domain = document.domain;
    var c = parent.%s;"""
#: For a page that is itself the parent (fallback.js asks with ``fb_direct=1``): it set no
#: document.domain, and in Firefox and WebKit (as the HTML standard says) setting it here
#: would make the parent cross-origin. The parent is reached directly, and only if that
#: fails (the page did set document.domain) is it set here too.
_HTMLFILE_DIRECT = """try { var c = parent.%s; } catch (e) {
      document.domain = document.domain;
      c = parent.%s;
    }"""


def htmlfile_prelude(callback: str, *, direct: bool = False) -> str:
    """The htmlfile page head, padded past 1 KiB because Safari buffers shorter pages.

    `direct`: the parent is the application's page itself, not sockjs-client's
    ``iframe.html`` (see `_HTMLFILE_DIRECT`).
    """
    reach = _HTMLFILE_DIRECT % (callback, callback) if direct else _HTMLFILE_PARENT % callback
    head = "\n" + (_HTMLFILE_HEAD % reach)
    return head + " " * max(0, 1024 - len(head)) + "\r\n\r\n"


def htmlfile_chunk(frame: str) -> str:
    """One frame as a script block of the htmlfile page.

    ``<`` travels as ``\\u003c`` (the same string to the script) so that a message
    holding ``</script>`` or ``<!--`` cannot end the block or start a comment in HTML.
    """
    return "<script>\np(" + quote(frame).replace("<", "\\u003c") + ");\n</script>\r\n"


IFRAME_TEMPLATE = """<!DOCTYPE html>
<html>
<head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
  <script src="%s"></script>
  <script>
    document.domain = document.domain;
    SockJS.bootstrap_iframe();
  </script>
</head>
<body>
  <h2>Don't panic!</h2>
  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>
</body>
</html>"""


def iframe_page(sockjs_url: str) -> str:
    """The page sockjs-client's iframe-based transports load from the server's origin."""
    return IFRAME_TEMPLATE % html_attribute(sockjs_url)


def html_attribute(value: str) -> str:
    return (
        value.replace("&", "&amp;")
        .replace('"', "&quot;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )


# ---------------------------------------------------------------------------------------
# URLs

_SESSION_PART = re.compile(r"[^/.]+")


def is_valid_session_part(part: str) -> bool:
    """Server and session ids: non-empty, no dot, no slash."""
    return bool(_SESSION_PART.fullmatch(part))
