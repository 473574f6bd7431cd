"""The WebSocket connection as a sans-I/O state machine, in the python-websockets style.

The I/O side moves bytes and nothing else::

    protocol.receive_data(bytes_from_socket)     # or receive_eof() when the peer is gone
    for event in protocol.events_received(): ...  # TextMessage, Ping, CloseReceived, ...
    socket.write(protocol.data_to_send())         # pongs, close frames, what we sent
    if protocol.close_expected(): close the TCP connection once that write is done

States and how they change::

    CONNECTING ──third key (hixie-76 only)──▶ OPEN ──send_close──▶ CLOSING
                                               │                     │
                                               └─ close received, protocol error, EOF ─┴─▶ CLOSED

`Protocol.for_handshake` picks the framing the handshake agreed on: `HybiProtocol` for
RFC 6455 and hybi-07/08, `Hixie76Protocol` for hixie-76.
"""

from __future__ import annotations

import enum
from typing import ClassVar

from ..codes import Opcode, WebSocketCloseCode, is_valid_close_code
from ..exceptions import InvalidState, ProtocolError
from .deflate import Deflate
from .events import (
    BinaryMessage,
    CloseReceived,
    ConnectionFailed,
    Event,
    Ping,
    Pong,
    TextMessage,
)
from .frames import (
    HIXIE_CLOSE_FRAME,
    FrameReader,
    HixieReader,
    Item,
    close_payload,
    encode_frame,
    hixie_text_frame,
    parse_close,
    text_frame,
)
from .handshake import Handshake, hixie76_challenge

__all__ = ["Hixie76Protocol", "HybiProtocol", "Protocol", "State"]

_TEXT = Opcode.TEXT.value
_BINARY = Opcode.BINARY.value
_PING = Opcode.PING.value
_PONG = Opcode.PONG.value

DEFAULT_MAX_MESSAGE_SIZE = 1 << 20


class State(enum.Enum):
    CONNECTING = "connecting"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


_OPEN = State.OPEN


class Protocol:
    """What both framings share: state, the event list and the outgoing bytes."""

    __slots__ = (
        "_close_expected",
        "_events",
        "_failure",
        "_out",
        "close_code",
        "close_reason",
        "state",
    )

    #: Whether `send_binary` is possible (hixie-76 has no binary messages).
    binary_supported: ClassVar[bool] = True

    def __init__(self) -> None:
        self.state = State.OPEN
        #: What the peer's close frame said (`WebSocketCloseCode.NO_STATUS` if it gave no code),
        #: or the code we failed the connection with; None while neither happened.
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._events: list[Event] = []
        self._out: list[bytes] = []
        self._close_expected = False
        self._failure: ProtocolError | None = None

    @staticmethod
    def for_handshake(
        handshake: Handshake, *, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    ) -> Protocol:
        """The protocol object for the version `handshake` accepted."""
        if handshake.hixie_keys is not None:
            return Hixie76Protocol(handshake.hixie_keys, max_message_size=max_message_size)
        return HybiProtocol(max_message_size=max_message_size, deflate=handshake.deflate)

    # -- the I/O side calls these -------------------------------------------------------

    def receive_small_text(self, data: bytes) -> str | None:
        """A shortcut past `receive_data` for one small text frame, where the framing
        has one (`HybiProtocol`): its text; None: use `receive_data`."""
        return None

    def receive_data(self, data: bytes) -> None:
        """Bytes from the peer. Never raises for anything the peer sends."""
        raise NotImplementedError

    def receive_eof(self) -> None:
        """The peer closed its side of the TCP connection."""
        self.state = State.CLOSED
        self._close_expected = True

    def events_received(self) -> list[Event]:
        """Events since the last call, in order."""
        events = self._events
        if events:
            self._events = []
        return events

    def data_to_send(self) -> bytes:
        """Everything to write now, joined into one buffer (b"" if nothing).

        After a protocol error, the close frame that fails the connection is queued
        here, behind whatever was sent in answer to the good messages that came before
        the bad frame.
        """
        failure = self._failure
        if failure is not None:
            self._failure = None
            self.fail(failure.code, failure.reason)
        out = self._out
        if not out:
            return b""
        self._out = []
        return out[0] if len(out) == 1 else b"".join(out)

    @property
    def idle(self) -> bool:
        """Open, with nothing of its own to send (no pong, no close frame, no failure):
        frames made by `text_frame` may then be written without `send_frame`, as
        `data_to_send` would have given them."""
        return self.state is _OPEN and not self._out and self._failure is None

    def close_expected(self) -> bool:
        """True once the TCP connection should end after `data_to_send` is written."""
        return self._close_expected or self._failure is not None

    @property
    def can_send(self) -> bool:
        """Messages may still be queued (not after our close frame)."""
        return self.state is State.OPEN or (
            self.state is State.CONNECTING and not self._close_pending()
        )

    # -- sending ----------------------------------------------------------------------

    def text_frame(self, payload: bytes) -> bytes:
        """The bytes of a text frame carrying `payload` (UTF-8), not queued.

        The same bytes can be queued on many connections of the same framing with
        `send_frame`: a broadcast serializes once.
        """
        raise NotImplementedError

    def send_frame(self, frame: bytes) -> None:
        """Queue bytes made by `text_frame` (or a concatenation of such frames)."""
        if self.state is _OPEN:
            self._out.append(frame)  # the common case, without the general checks
            return
        self._check_can_send()
        self._queue(frame)

    def send_text(self, text: str) -> None:
        """Queue a text message; a lone surrogate (not encodable in UTF-8) becomes ``?``."""
        self.send_frame(self.text_frame(text.encode("utf-8", "replace")))

    def send_binary(self, data: bytes) -> None:
        raise NotImplementedError

    def send_ping(self, payload: bytes = b"") -> None:
        raise NotImplementedError

    def send_close(self, code: int = WebSocketCloseCode.NORMAL, reason: str = "") -> None:
        """Start the closing handshake; the peer's close frame then ends the connection.

        Raises `ValueError` for a code that may not travel in a close frame.
        """
        raise NotImplementedError

    def fail(self, code: int, reason: str = "") -> None:
        """End the connection now for a reason of ours (RFC 6455 section 7.1.7): a close
        frame with `code` if none was sent yet, then the TCP connection should close."""
        if self.state is State.CLOSED:
            return
        if not self._close_pending() and self.state is not State.CLOSING:
            self._queue(self._close_frame(code, reason))
        self.state = State.CLOSED
        self._close_expected = True

    # -- internals --------------------------------------------------------------------

    def _check_can_send(self) -> None:
        if not self.can_send:
            raise InvalidState(f"cannot send on a {self.state.value} WebSocket")

    def _queue(self, frame: bytes) -> None:
        self._out.append(frame)

    def _close_pending(self) -> bool:
        return False

    def _close_frame(self, code: int, reason: str) -> bytes:
        raise NotImplementedError

    def _failed(self, error: ProtocolError) -> None:
        """The peer broke a rule: report it, and fail the connection with its close code.

        The close frame is queued by the next `data_to_send`, so that answers to the
        messages received before the bad frame still go out first; nothing more is read.
        """
        if self.state is State.CLOSED or self._failure is not None:
            return
        self.close_code = error.code
        self.close_reason = error.reason
        self._failure = error
        self._events.append(ConnectionFailed(error.code, error.reason))


class HybiProtocol(Protocol):
    """RFC 6455 framing (also hybi-07 and hybi-08/10), server side."""

    __slots__ = ("_reader", "deflate")

    def __init__(
        self, *, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE, deflate: Deflate | None = None
    ) -> None:
        super().__init__()
        self._reader = FrameReader(max_message_size)
        #: permessage-deflate, when the handshake negotiated it (`fallback.wsengine.deflate`).
        self.deflate = deflate
        self._reader.deflate = deflate is not None

    def receive_small_text(self, data: bytes) -> str | None:
        """`receive_data` and `events_received` at once for the usual case: `data` is
        exactly one small masked text frame, valid UTF-8, and nothing else is under way
        (no partial frame, no fragmented message, no failure, the connection open): the
        text of its `TextMessage`. None for anything else, with nothing consumed: call
        `receive_data`."""
        if self.state is _OPEN and self._failure is None and not self._events:
            return self._reader.small_text(data)
        return None

    def receive_data(self, data: bytes) -> None:
        if self.state is State.CLOSED or self._failure is not None:
            return
        items: list[Item] = []
        try:
            self._reader.feed(data, items)
        except ProtocolError as error:
            self._dispatch(items)
            self._failed(error)
            return
        if len(items) == 1 and items[0][0] == _TEXT:
            self._events.append(TextMessage(items[0][1]))  # type: ignore[arg-type]
        elif items:
            self._dispatch(items)

    def _dispatch(self, items: list[Item]) -> None:
        events = self._events
        for opcode, payload in items:
            if self.state is State.CLOSED or self._failure is not None:
                return  # nothing after a close frame or a protocol error counts
            if opcode == _TEXT:
                events.append(TextMessage(payload))  # type: ignore[arg-type]
            elif opcode == _BINARY:
                events.append(BinaryMessage(payload))  # type: ignore[arg-type]
            elif opcode == _PING:
                assert isinstance(payload, bytes)
                if self.state is State.OPEN:
                    self._queue(encode_frame(_PONG, payload))
                events.append(Ping(payload))
            elif opcode == _PONG:
                events.append(Pong(payload))  # type: ignore[arg-type]
            else:
                assert isinstance(payload, bytes)
                self._close_received(payload)

    def _close_received(self, payload: bytes) -> None:
        try:
            code, reason = parse_close(payload)
        except ProtocolError as error:
            self._failed(error)
            return
        self.close_code = code
        self.close_reason = reason
        if self.state is State.OPEN:
            self._queue(self._close_frame(code, ""))  # echo the code (section 5.5.1)
        self.state = State.CLOSED
        self._close_expected = True
        self._events.append(CloseReceived(code, reason))

    def text_frame(self, payload: bytes) -> bytes:
        deflate = self.deflate
        if deflate is not None:
            compressed = deflate.compress(payload)
            if compressed is not None:
                return encode_frame(_TEXT, compressed, compressed=True)
        return text_frame(payload)

    def binary_frame(self, data: bytes) -> bytes:
        """The bytes of a binary frame carrying `data` (compressed if negotiated)."""
        deflate = self.deflate
        if deflate is not None:
            compressed = deflate.compress(data)
            if compressed is not None:
                return encode_frame(_BINARY, compressed, compressed=True)
        return encode_frame(_BINARY, data)

    def send_binary(self, data: bytes) -> None:
        self._check_can_send()
        self._queue(self.binary_frame(data))

    def send_ping(self, payload: bytes = b"") -> None:
        self._check_can_send()
        if len(payload) > 125:
            raise ValueError("a ping payload is at most 125 bytes")
        self._queue(encode_frame(_PING, payload))

    def send_close(self, code: int = WebSocketCloseCode.NORMAL, reason: str = "") -> None:
        self._check_can_send()
        self._queue(self._close_frame(code, reason))
        self.state = State.CLOSING

    def _close_frame(self, code: int, reason: str) -> bytes:
        if code != WebSocketCloseCode.NO_STATUS and not is_valid_close_code(code):
            raise ValueError(f"close code {code} may not be sent")
        return encode_frame(Opcode.CLOSE, close_payload(code, reason))


class Hixie76Protocol(Protocol):
    """hixie-76 framing, server side, starting before the third key has arrived.

    Until the 8-byte third key is read the connection is CONNECTING: whatever is sent
    meanwhile is held and follows the 16-byte challenge answer in the same buffer.
    """

    __slots__ = ("_held", "_held_close", "_key3", "_keys", "_reader")

    binary_supported: ClassVar[bool] = False

    def __init__(
        self, keys: tuple[int, int], *, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    ) -> None:
        super().__init__()
        self.state = State.CONNECTING
        self._keys = keys
        self._key3 = b""
        self._held: list[bytes] = []
        self._held_close = False
        self._reader = HixieReader(max_message_size)

    def receive_data(self, data: bytes) -> None:
        if self.state is State.CLOSED or self._failure is not None:
            return
        if self.state is State.CONNECTING:
            need = 8 - len(self._key3)
            self._key3 += data[:need]
            data = data[need:]
            if len(self._key3) < 8:
                return
            self._out.append(hixie76_challenge(self._keys[0], self._keys[1], self._key3))
            self._out.extend(self._held)
            self._held = []
            self.state = State.CLOSING if self._held_close else State.OPEN
            if not data:
                return
        items: list[Item] = []
        try:
            self._reader.feed(data, items)
        except ProtocolError as error:
            self._dispatch(items)
            self._failed(error)
            return
        if items:
            self._dispatch(items)

    def _dispatch(self, items: list[Item]) -> None:
        for opcode, payload in items:
            if self.state is State.CLOSED or self._failure is not None:
                return
            if opcode == _TEXT:
                self._events.append(TextMessage(payload))  # type: ignore[arg-type]
            else:  # the closing frame: HixieReader yields nothing else
                self.close_code = WebSocketCloseCode.NO_STATUS
                self.close_reason = ""
                if self.state is State.OPEN:
                    self._queue(HIXIE_CLOSE_FRAME)
                self.state = State.CLOSED
                self._close_expected = True
                self._events.append(CloseReceived(WebSocketCloseCode.NO_STATUS, ""))

    def _queue(self, frame: bytes) -> None:
        if self.state is State.CONNECTING:
            self._held.append(frame)
        else:
            self._out.append(frame)

    def _close_pending(self) -> bool:
        return self._held_close

    def text_frame(self, payload: bytes) -> bytes:
        return hixie_text_frame(payload)

    def send_binary(self, data: bytes) -> None:
        raise InvalidState("hixie-76 has no binary messages")

    def send_ping(self, payload: bytes = b"") -> None:
        raise InvalidState("hixie-76 has no ping")

    def send_close(self, code: int = WebSocketCloseCode.NORMAL, reason: str = "") -> None:
        self._check_can_send()
        self._queue(HIXIE_CLOSE_FRAME)
        if self.state is State.CONNECTING:
            self._held_close = True
        else:
            self.state = State.CLOSING

    def _close_frame(self, code: int, reason: str) -> bytes:
        return HIXIE_CLOSE_FRAME

    def fail(self, code: int, reason: str = "") -> None:
        if self.state is State.CONNECTING:
            # The handshake never finished: there is nothing to say, just hang up.
            self._held = []
            self.state = State.CLOSED
            self._close_expected = True
            return
        super().fail(code, reason)
