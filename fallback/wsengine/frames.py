"""WebSocket framing: incremental parsers for what clients send, serializers for replies.

Two framings live here:

* RFC 6455 (also hybi-07 and hybi-08/10, whose framing is the same): `FrameReader` turns
  bytes into complete messages and control frames -- unmasking (section 5.3), joining
  fragments (5.4), checking the rules of control frames (5.5), validating UTF-8 as the
  bytes arrive (8.1) and enforcing the message size limit before the payload is read;
  with permessage-deflate negotiated (`fallback.wsengine.deflate`), messages whose first
  frame has RSV1 set are decompressed when complete, then validated.
* hixie-76 (draft-hixie-thewebsocketprotocol-76 section 4.2): ``0x00 text 0xFF`` frames
  and the ``0xFF 0x00`` closing frame, parsed by `HixieReader`.

Readers append ``(opcode, payload)`` pairs to a list the caller passes in and raise a
`ProtocolError` when the peer breaks a rule; pairs appended before the error stay valid,
so a good message that shares a TCP segment with a bad frame is still delivered. Text
payloads come out as `str`, everything else as `bytes`.
"""

from __future__ import annotations

import codecs
import struct

from ..codes import Opcode, WebSocketCloseCode, is_valid_close_code
from ..exceptions import InvalidPayload, PayloadTooBig, ProtocolError
from .deflate import inflate

__all__ = [
    "FrameReader",
    "HixieReader",
    "Item",
    "close_payload",
    "encode_frame",
    "hixie_text_frame",
    "parse_close",
    "text_frame",
    "unmask",
]

#: One parsed unit: a whole message (TEXT with str, BINARY with bytes) or a control frame.
Item = tuple[int, "str | bytes"]

_TEXT = Opcode.TEXT.value
_BINARY = Opcode.BINARY.value
_CONTINUATION = Opcode.CONTINUATION.value
_CONTROL = frozenset({Opcode.CLOSE.value, Opcode.PING.value, Opcode.PONG.value})

_pack_short = struct.Struct("!BBH").pack
_pack_long = struct.Struct("!BBQ").pack

_utf8_decoder = codecs.getincrementaldecoder("utf-8")


def unmask(data: bytes, mask: bytes) -> bytes:
    """XOR `data` with the 4-byte `mask` repeated (RFC 6455 section 5.3).

    One big-integer XOR runs at C speed for any length, which a byte loop in Python
    cannot (16 MiB frames are legal and Autobahn sends them).
    """
    n = len(data)
    if not n:
        return b""
    key = (mask * ((n + 3) >> 2))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


def encode_frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    mask: bytes | None = None,
    compressed: bool = False,
) -> bytes:
    """One frame; servers send unmasked frames, clients (tests) pass a `mask`;
    `compressed` sets RSV1 (the first frame of a permessage-deflate message)."""
    n = len(payload)
    b0 = (0x80 if fin else 0) | (0x40 if compressed else 0) | opcode
    mask_bit = 0x80 if mask is not None else 0
    if n < 126:
        head = bytes((b0, mask_bit | n))
    elif n < 65536:
        head = _pack_short(b0, mask_bit | 126, n)
    else:
        head = _pack_long(b0, mask_bit | 127, n)
    if mask is not None:
        return head + mask + unmask(payload, mask)
    return head + payload


def text_frame(payload: bytes) -> bytes:
    """An unmasked, unfragmented text frame: what a server sends most."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return _pack_short(0x81, 126, n) + payload
    return _pack_long(0x81, 127, n) + payload


def hixie_text_frame(payload: bytes) -> bytes:
    """A hixie-76 text frame. UTF-8 never contains 0xFF, so no escaping is needed."""
    return b"\x00" + payload + b"\xff"


HIXIE_CLOSE_FRAME = b"\xff\x00"


def close_payload(code: int, reason: str = "") -> bytes:
    """The payload of a close frame: code and UTF-8 reason, at most 125 bytes.

    `WebSocketCloseCode.NO_STATUS` means "no code" and gives an empty payload. A reason too long
    for a control frame is cut at a character boundary.
    """
    if code == WebSocketCloseCode.NO_STATUS:
        return b""
    if not is_valid_close_code(code):
        raise ValueError(f"close code {code} may not be sent")
    data = reason.encode("utf-8")
    if len(data) > 123:
        data = data[:123].decode("utf-8", "ignore").encode("utf-8")
    return code.to_bytes(2, "big") + data


def parse_close(payload: bytes) -> tuple[int, str]:
    """Code and reason of a received close frame (RFC 6455 section 5.5.1).

    An empty payload means `WebSocketCloseCode.NO_STATUS`. A one-byte payload, a code that may not
    be sent, or a reason that is not UTF-8 fail the connection.
    """
    if not payload:
        return WebSocketCloseCode.NO_STATUS, ""
    if len(payload) == 1:
        raise ProtocolError("close frame with a one-byte payload")
    code = int.from_bytes(payload[:2], "big")
    if not is_valid_close_code(code):
        raise ProtocolError(f"invalid close code {code}")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidPayload("close reason is not valid UTF-8") from None
    return code, reason


class FrameReader:
    """Incremental parser of the frames a client sends (RFC 6455 section 5).

    Whole frames already in the buffer take a short path (the usual case for small
    messages). A data frame whose payload is still arriving is consumed piece by piece:
    each piece is unmasked at its offset and, for text, run through an incremental UTF-8
    decoder, so invalid text fails as soon as its first bad byte arrives and a large
    message is never scanned twice.
    """

    __slots__ = (
        "_buffer",
        "_compressed",
        "_decoder",
        "_frame_fin",
        "_frame_mask",
        "_frame_offset",
        "_message_opcode",
        "_message_parts",
        "_message_size",
        "_remaining",
        "deflate",
        "max_message_size",
        "require_mask",
    )

    def __init__(self, max_message_size: int = 1 << 20, *, require_mask: bool = True) -> None:
        #: Largest message (all fragments together) accepted; larger fails with 1009.
        self.max_message_size = max_message_size
        #: Servers must refuse unmasked frames (section 5.1); clients read unmasked ones.
        self.require_mask = require_mask
        self._buffer = b""
        self._remaining = 0  # payload bytes of the current data frame not read yet
        self._frame_fin = False
        self._frame_mask: bytes | None = None
        self._frame_offset = 0
        self._message_opcode = 0  # TEXT or BINARY while a message is in progress, else 0
        self._message_parts: list[str] | list[bytes] = []
        self._message_size = 0
        self._decoder: codecs.IncrementalDecoder | None = None
        self._compressed = False
        #: permessage-deflate was negotiated: RSV1 marks a compressed message.
        self.deflate = False

    def small_text(self, data: bytes) -> str | None:
        """The text of `data` when it is exactly one small masked text frame, within the
        size limit and valid UTF-8, and nothing is held back or under way: the usual case.
        None for anything else (`feed` takes it, and fails what deserves it)."""
        n = len(data)
        if (
            n > 5
            and data[0] == 0x81
            and 0x80 < data[1] < 0xFE
            and n == data[1] - 0x7A
            and n - 6 <= self.max_message_size
            and not self._buffer
            and not self._remaining
            and not self._message_opcode
        ):
            try:
                return unmask(data[6:], data[2:6]).decode("utf-8")
            except UnicodeDecodeError:
                return None
        return None

    @property
    def buffered(self) -> int:
        """Bytes held back because they do not make a whole frame header yet."""
        return len(self._buffer)

    def feed(self, data: bytes, out: list[Item]) -> None:
        """Parse `data`; append every complete message and control frame to `out`."""
        text = self.small_text(data)  # the usual case first
        if text is not None:
            out.append((_TEXT, text))
            return
        if self._buffer:
            data = self._buffer + data
            self._buffer = b""
        pos = 0
        end = len(data)
        while pos < end:
            if self._remaining:
                take = min(self._remaining, end - pos)
                self._payload_part(data[pos : pos + take])
                pos += take
                self._remaining -= take
                if not self._remaining:
                    self._end_frame(out)
                continue
            if end - pos < 2:
                break
            b0 = data[pos]
            b1 = data[pos + 1]
            opcode = b0 & 0x0F
            compressed = False
            if b0 & 0x70:
                # RSV1 on the first frame of a data message: compressed (RFC 7692 6.1).
                if b0 & 0x70 != 0x40 or not self.deflate or opcode not in (_TEXT, _BINARY):
                    raise ProtocolError("reserved bits set without a negotiated extension")
                compressed = True
            fin = bool(b0 & 0x80)
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if end - pos < 4:
                    break
                length = (data[pos + 2] << 8) | data[pos + 3]
                head = 4
            elif length == 127:
                if end - pos < 10:
                    break
                length = int.from_bytes(data[pos + 2 : pos + 10], "big")
                head = 10
                if length >> 63:
                    raise ProtocolError("payload length with its most significant bit set")
            mask: bytes | None = None
            if b1 & 0x80:
                head += 4
                if end - pos < head:
                    break
                mask = data[pos + head - 4 : pos + head]
            elif self.require_mask:
                raise ProtocolError("client frames must be masked")
            start = pos + head
            if opcode & 0x08:
                if opcode not in _CONTROL:
                    raise ProtocolError(f"reserved opcode {opcode:#x}")
                if not fin:
                    raise ProtocolError("fragmented control frame")
                if length > 125:
                    raise ProtocolError("control frame payload over 125 bytes")
                if end - start < length:
                    break
                payload = data[start : start + length]
                pos = start + length
                out.append((opcode, unmask(payload, mask) if mask else payload))
                continue
            if opcode == _CONTINUATION:
                if not self._message_opcode:
                    raise ProtocolError("continuation frame with no message to continue")
            elif opcode in (_TEXT, _BINARY):
                if self._message_opcode:
                    raise ProtocolError("new message before the fragmented one ended")
            else:
                raise ProtocolError(f"reserved opcode {opcode:#x}")
            limit = self.max_message_size
            if compressed or self._compressed:
                # Incompressible data grows a little when deflated: the bound that
                # counts is on the inflated message (`inflate`).
                limit += limit // 128 + 64
            if self._message_size + length > limit:
                raise PayloadTooBig(f"message over {self.max_message_size} bytes")
            if fin and opcode and end - start >= length:
                # A whole unfragmented message is in the buffer.
                payload = data[start : start + length]
                pos = start + length
                if mask:
                    payload = unmask(payload, mask)
                if compressed:
                    payload = inflate(payload, self.max_message_size)
                if opcode == _TEXT:
                    try:
                        out.append((_TEXT, payload.decode("utf-8")))
                    except UnicodeDecodeError:
                        raise InvalidPayload("text message is not valid UTF-8") from None
                else:
                    out.append((_BINARY, payload))
                continue
            if opcode:
                self._message_opcode = opcode
                self._message_parts = []
                self._message_size = 0
                self._compressed = compressed
                # A compressed text message is validated once inflated.
                self._decoder = _utf8_decoder() if opcode == _TEXT and not compressed else None
            self._frame_fin = fin
            self._frame_mask = mask
            self._frame_offset = 0
            self._remaining = length
            pos = start
            if not length:
                self._end_frame(out)
        if pos < end:
            self._buffer = data[pos:]

    def _payload_part(self, chunk: bytes) -> None:
        mask = self._frame_mask
        if mask:
            offset = self._frame_offset & 3
            if offset:
                mask = mask[offset:] + mask[:offset]
            self._frame_offset += len(chunk)
            chunk = unmask(chunk, mask)
        self._message_size += len(chunk)
        decoder = self._decoder
        if decoder is None:
            self._message_parts.append(chunk)  # type: ignore[arg-type]
            return
        try:
            text = decoder.decode(chunk, False)
        except UnicodeDecodeError:
            raise InvalidPayload("text message is not valid UTF-8") from None
        pending = decoder.getstate()[0]
        # CPython's decoder waits for a third byte before refusing ED A0..BF (a UTF-16
        # surrogate); the sequence can never become valid, so refuse it now.
        if len(pending) >= 2 and pending[0] == 0xED and pending[1] >= 0xA0:
            raise InvalidPayload("text message is not valid UTF-8")
        if text:
            self._message_parts.append(text)  # type: ignore[arg-type]

    def _end_frame(self, out: list[Item]) -> None:
        if not self._frame_fin:
            return
        opcode = self._message_opcode
        parts = self._message_parts
        decoder = self._decoder
        self._message_opcode = 0
        self._message_parts = []
        self._message_size = 0
        self._decoder = None
        if self._compressed:
            self._compressed = False
            payload = inflate(b"".join(parts), self.max_message_size)  # type: ignore[arg-type]
            if opcode != _TEXT:
                out.append((opcode, payload))
                return
            try:
                out.append((opcode, payload.decode("utf-8")))
            except UnicodeDecodeError:
                raise InvalidPayload("text message is not valid UTF-8") from None
        elif decoder is not None:
            try:
                tail = decoder.decode(b"", True)
            except UnicodeDecodeError:
                raise InvalidPayload("text message ends inside a UTF-8 sequence") from None
            out.append((opcode, "".join(parts) + tail))  # type: ignore[arg-type]
        else:
            out.append((opcode, b"".join(parts)))  # type: ignore[arg-type]


class HixieReader:
    """Incremental parser of hixie-76 frames (draft 76, section 4.2 "Data framing").

    ``0x00 <UTF-8> 0xFF`` is a text message; ``0xFF 0x00`` closes; other frame types are
    skipped as the draft says (sentinel-delimited for types below 0x80, length-prefixed
    above). After the closing frame nothing more is read.
    """

    __slots__ = ("_buffer", "_closed", "_scanned", "max_message_size")

    def __init__(self, max_message_size: int = 1 << 20) -> None:
        self.max_message_size = max_message_size
        self._buffer = b""
        self._scanned = 0  # bytes after the frame type already searched for 0xFF
        self._closed = False

    def feed(self, data: bytes, out: list[Item]) -> None:
        if self._closed:
            return
        buf = self._buffer + data if self._buffer else data
        self._buffer = b""
        pos = 0
        end = len(buf)
        while pos < end:
            kind = buf[pos]
            if kind & 0x80:
                # Length-prefixed frame: base-128 length, high bit = more digits.
                length = 0
                i = pos + 1
                while i < end:
                    b = buf[i]
                    length = (length << 7) | (b & 0x7F)
                    i += 1
                    if not b & 0x80:
                        break
                    if length > self.max_message_size:
                        raise PayloadTooBig("hixie-76 frame over the size limit")
                else:
                    break  # the length is still arriving
                if kind == 0xFF and length == 0:
                    out.append((Opcode.CLOSE.value, b""))
                    self._closed = True
                    return
                if length > self.max_message_size:
                    raise PayloadTooBig("hixie-76 frame over the size limit")
                if end - i < length:
                    break
                pos = i + length  # binary frames carry nothing a server uses: skipped
                continue
            stop = buf.find(b"\xff", pos + 1 + self._scanned)
            if stop < 0:
                self._scanned = end - pos - 1
                if self._scanned > self.max_message_size:
                    raise PayloadTooBig("hixie-76 message over the size limit")
                break
            self._scanned = 0
            if stop - pos - 1 > self.max_message_size:
                raise PayloadTooBig("hixie-76 message over the size limit")
            if kind == 0x00:
                try:
                    out.append((_TEXT, buf[pos + 1 : stop].decode("utf-8")))
                except UnicodeDecodeError:
                    raise InvalidPayload("text message is not valid UTF-8") from None
            pos = stop + 1
        if pos < end:
            self._buffer = buf[pos:]
