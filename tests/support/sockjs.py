"""Minimal SockJS clients, one per transport, written from the protocol for tests.

Every client exposes the same three calls so that one test can run over all of them:

* ``next_frame(timeout)`` -- the next frame the server sent (``o``, ``h``, ``a[...]``,
  ``c[...]``), polling or re-opening the stream as the transport does;
* ``send(*messages)`` -- one send request (or WebSocket frame) with these messages;
* ``close()`` -- drop the transport.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import deque
from typing import Any
from urllib.parse import quote, unquote, urlencode

import websocket  # websocket-client

from . import http

POLLING = ("xhr", "jsonp")
STREAMING = ("xhr_streaming", "eventsource", "htmlfile")
HTTP_TRANSPORTS = POLLING + STREAMING
ALL_TRANSPORTS = ("websocket", *HTTP_TRANSPORTS)


def new_session_url(base_url: str, server: str = "000") -> str:
    return f"{base_url}/{server}/{uuid.uuid4().hex}"


def decode_messages(frame: str) -> list[str]:
    assert frame.startswith("a"), frame
    value = json.loads(frame[1:])
    assert isinstance(value, list)
    return value


def decode_close(frame: str) -> tuple[int, str]:
    assert frame.startswith("c"), frame
    code, reason = json.loads(frame[1:])
    return code, reason


class Client:
    transport = ""

    def __init__(self, base_url: str, session_url: str | None = None) -> None:
        self.base_url = base_url
        self.session_url = session_url or new_session_url(base_url)
        self.frames: deque[str] = deque()
        #: How many receiving requests were made (streams re-opened, polls).
        self.requests = 0
        #: Query arguments for receiving requests, e.g. ``{"fb_resume": "1"}``.
        self.query: dict[str, str] = {}

    def receiving_url(self, path: str, **extra: str) -> str:
        """`path` of this session, with `query` and `extra` arguments."""
        arguments = {**extra, **self.query}
        if not arguments:
            return self.session_url + path
        return self.session_url + path + "?" + urlencode(arguments)

    def next_frame(self, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        while not self.frames:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.transport}: no frame within {timeout}s")
            self._receive(remaining)
        return self.frames.popleft()

    def next_data_frame(self, timeout: float = 5.0) -> str:
        """The next frame that is not a heartbeat."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.next_frame(max(0.01, deadline - time.monotonic()))
            if frame != "h":
                return frame

    def receive_messages(self, count: int, timeout: float = 10.0) -> list[str]:
        """Exactly `count` messages from array frames (fails on a close frame)."""
        deadline = time.monotonic() + timeout
        messages: list[str] = []
        while len(messages) < count:
            frame = self.next_data_frame(max(0.01, deadline - time.monotonic()))
            if frame.startswith("c"):
                raise AssertionError(f"closed after {len(messages)} messages: {frame}")
            messages.extend(decode_messages(frame))
        return messages

    def send_in_batches(self, messages: list[str], size: int) -> None:
        """Send `messages` in order, `size` of them to a send (the last one fewer)."""
        for start in range(0, len(messages), size):
            self.send(*messages[start : start + size])

    def send(self, *messages: str, check: bool = True) -> http.Response | None:
        """Send `messages`; unless `check` is False, fail on a refused send."""
        response = http.post(self.session_url + "/xhr_send", json.dumps(list(messages)))
        if check:
            assert response.status == 204, (response.status, response.body)
        return response

    def _receive(self, timeout: float) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def abort(self) -> None:
        """Drop the transport without saying goodbye (to resume elsewhere)."""
        self.close()


class XhrPollingClient(Client):
    transport = "xhr"

    def _receive(self, timeout: float) -> None:
        self.requests += 1
        response = http.post(self.receiving_url("/xhr"), timeout=timeout)
        assert response.status == 200, response
        for line in response.text.split("\n"):
            if line:
                self.frames.append(line)


_JSONP = re.compile(r"^/\*\*/cb\((.*)\);\r\n$", re.S)


class JsonpClient(Client):
    transport = "jsonp"

    def _receive(self, timeout: float) -> None:
        self.requests += 1
        response = http.get(self.receiving_url("/jsonp", c="cb"), timeout=timeout)
        assert response.status == 200, response
        match = _JSONP.match(response.text)
        assert match, response.text
        self.frames.append(json.loads(match.group(1)))

    def send(self, *messages: str, check: bool = True) -> http.Response | None:
        body = "d=" + quote(json.dumps(list(messages)))
        response = http.post(
            self.session_url + "/jsonp_send",
            body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        if check:
            assert response.status == 200, (response.status, response.body)
        return response


class _StreamingClient(Client):
    method = "GET"
    path = ""
    prelude = b""
    frame_end = b""

    def __init__(self, base_url: str, session_url: str | None = None) -> None:
        super().__init__(base_url, session_url)
        self.stream: http.Stream | None = None

    def open_stream(self) -> http.Stream:
        self.requests += 1
        path, _, argument = self.path.partition("?c=")
        extra = {"c": argument} if argument else {}
        stream = http.Stream(self.method, self.receiving_url(path, **extra))
        assert stream.status == 200, stream.status
        prelude = stream.read_until(self.prelude_end())
        self.check_prelude(prelude)
        return stream

    def prelude_end(self) -> bytes:
        return self.prelude

    def check_prelude(self, data: bytes) -> None:
        assert data == self.prelude, data[:200]

    def parse(self, chunk: bytes) -> str:
        raise NotImplementedError

    def _receive(self, timeout: float) -> None:
        if self.stream is None:
            self.stream = self.open_stream()
        try:
            chunk = self.stream.read_until(self.frame_end, timeout)
        except EOFError:
            # The server ended the response (response_limit or close): reconnect.
            self.stream.close()
            self.stream = None
            return
        self.frames.append(self.parse(chunk))

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None


class XhrStreamingClient(_StreamingClient):
    transport = "xhr_streaming"
    method = "POST"
    path = "/xhr_streaming"
    prelude = b"h" * 2048 + b"\n"
    frame_end = b"\n"

    def parse(self, chunk: bytes) -> str:
        return chunk[:-1].decode("utf-8")


class EventSourceClient(_StreamingClient):
    transport = "eventsource"
    path = "/eventsource"
    prelude = b"\r\n"
    frame_end = b"\r\n\r\n"

    def parse(self, chunk: bytes) -> str:
        text = chunk.decode("utf-8")
        assert text.startswith("data: "), text
        # Percent-escaped as sockjs-node does it; sockjs-client decodes with decodeURI,
        # which for these events means unquoting.
        return unquote(text[len("data: ") : -4])


_HTMLFILE = re.compile(r"^<script>\np\((.*)\);\n</script>\r\n$", re.S)


class HtmlFileClient(_StreamingClient):
    transport = "htmlfile"
    path = "/htmlfile?c=cb"
    frame_end = b"</script>\r\n"

    def prelude_end(self) -> bytes:
        return b"\r\n\r\n"

    def check_prelude(self, data: bytes) -> None:
        assert b"var c = parent.cb;" in data and len(data) > 1024, data[:200]

    def parse(self, chunk: bytes) -> str:
        match = _HTMLFILE.match(chunk.decode("utf-8"))
        assert match, chunk
        return json.loads(match.group(1))


class WebSocketClient(Client):
    transport = "websocket"

    def __init__(self, base_url: str, session_url: str | None = None) -> None:
        super().__init__(base_url, session_url)
        self.ws: Any = None

    def _connect(self) -> Any:
        if self.ws is None:
            self.requests += 1
            url = self.receiving_url("/websocket").replace("http://", "ws://", 1)
            self.ws = websocket.create_connection(url, timeout=5)
        return self.ws

    def _receive(self, timeout: float) -> None:
        ws = self._connect()
        ws.settimeout(timeout)
        try:
            opcode, data = ws.recv_data()
        except websocket.WebSocketTimeoutException:
            raise TimeoutError("websocket: no frame in time") from None
        except websocket.WebSocketConnectionClosedException:
            raise EOFError("websocket closed") from None
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            raise EOFError("websocket closed by the server")
        self.frames.append(data.decode("utf-8"))

    def send(self, *messages: str, check: bool = True) -> None:
        self._connect().send(json.dumps(list(messages)))
        return None

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
            self.ws = None

    def abort(self) -> None:
        # A close frame with a code would end a resumable connection: just hang up.
        if self.ws is not None:
            self.ws.shutdown()
            self.ws = None


CLIENTS: dict[str, type[Client]] = {
    "websocket": WebSocketClient,
    "xhr": XhrPollingClient,
    "jsonp": JsonpClient,
    "xhr_streaming": XhrStreamingClient,
    "eventsource": EventSourceClient,
    "htmlfile": HtmlFileClient,
}


def client_for(transport: str, base_url: str, session_url: str | None = None) -> Client:
    return CLIENTS[transport](base_url, session_url)
