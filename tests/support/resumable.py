"""A resuming SockJS client written from `fallback.resume`'s protocol, for tests.

It speaks every transport through `tests.support.sockjs`, numbers nothing (counts are
implicit), keeps what it sent until the server acknowledges it, and when its transport
fails in any way it reconnects with ``fb_resume=<cid>.<received>`` and sends again what the
server did not get -- the same rules fallback.js follows, so the chaos test can run
hundreds of these in threads.
"""

from __future__ import annotations

import http.client
import json
import random
import time
from collections.abc import Callable

import websocket

from .sockjs import CLIENTS, Client, new_session_url

TRANSPORT_ERRORS = (
    OSError,
    EOFError,
    TimeoutError,
    AssertionError,
    ValueError,
    http.client.HTTPException,
    websocket.WebSocketException,
)


class ResumeFailed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


class ResumableClient:
    def __init__(
        self,
        base_url: str,
        transport: str,
        on_message: Callable[[str], None] | None = None,
        *,
        grace: float = 30.0,
    ) -> None:
        self.base_url = base_url
        self.transport = transport
        self.on_message = on_message or (lambda text: None)
        self.grace = grace
        self.cid: str | None = None
        self.received = 0  # server messages received
        self.unacked: list[str] = []  # sent, not yet acknowledged by the server
        self.server_got = 0  # how many of ours the server acknowledged
        self.reconnects = 0
        self.attempts = 0
        self.closed: tuple[int, str] | None = None
        self.client: Client | None = None

    # -- connecting -----------------------------------------------------------------

    def open(self, timeout: float = 30.0) -> None:
        """Open a new resumable connection (retrying while the network fails)."""
        deadline = time.monotonic() + timeout
        while True:
            client = self._new_client({"fb_resume": "1"})
            try:
                frame = client.next_frame(5.0)
                if frame != "o":
                    raise AssertionError(f"expected the open frame, got {frame!r}")
                while self.cid is None:
                    self._handle(client.next_frame(5.0))
            except TRANSPORT_ERRORS:
                client.close()
                if time.monotonic() > deadline:
                    raise
                self.received = 0
                continue
            self.client = client
            return

    def _new_client(self, query: dict[str, str]) -> Client:
        client = CLIENTS[self.transport](self.base_url, new_session_url(self.base_url))
        client.query = query
        return client

    def _reconnect(self) -> None:
        """Resume on a new SockJS session, retrying with backoff until the grace ends."""
        assert self.cid is not None
        if self.client is not None:
            try:
                self.client.abort()
            except Exception:
                pass
            self.client = None
        started = time.monotonic()
        delay = 0.05
        while True:
            if time.monotonic() - started > self.grace:
                raise ResumeFailed(3009, "gave up reconnecting")
            self.attempts += 1  # numbered, as fallback.js does: an old one is known
            client = self._new_client({"fb_resume": f"{self.cid}.{self.received}.{self.attempts}"})
            try:
                if client.next_frame(5.0) != "o":
                    raise AssertionError("no open frame")
                frame = client.next_frame(5.0)
                if frame.startswith("c"):
                    code, reason = json.loads(frame[1:])
                    self.closed = (code, reason)
                    raise ResumeFailed(code, reason)
                control = json.loads(frame[1:]) if frame.startswith("r") else {}
                if control.get("resumed") is not True:
                    raise AssertionError(f"expected a resume answer, got {frame!r}")
            except ResumeFailed:
                raise
            except TRANSPORT_ERRORS:
                try:
                    client.close()
                except Exception:
                    pass
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 1.0)
                continue
            self.client = client
            self.reconnects += 1
            self.cid = control.get("cid", self.cid)  # a fresh id after every resume
            self._acknowledged(control["seen"])
            if self.unacked:
                self._transmit(list(self.unacked))
            return

    # -- traffic --------------------------------------------------------------------

    def send(self, text: str) -> None:
        self.unacked.append(text)
        self._transmit([text])

    def _transmit(self, texts: list[str]) -> None:
        # {"seq": n}: how many messages came before these, so a repeated request is known.
        seq = {"seq": self.server_got + len(self.unacked) - len(texts)}
        while True:
            assert self.client is not None
            try:
                self.client.send(seq, *texts, {"ack": self.received})  # type: ignore[arg-type]
                return
            except TRANSPORT_ERRORS:
                self._reconnect()  # which sends everything unacknowledged again
                return

    def pump(self, timeout: float = 1.0) -> bool:
        """Handle one frame (or reconnect); False when nothing came within `timeout`."""
        assert self.client is not None
        if self.cid is not None:
            # Every receiving request says how much arrived, so that one which died with
            # frames in flight is followed by one that brings them again.
            self.client.query = {"fb_resume": f"{self.cid}.{self.received}"}
        if self.transport in ("xhr", "jsonp"):
            # A poll given up before the server could answer it counts as gone (what it
            # carried comes again on the next one): under load, a poll needs time, or the
            # client never receives -- nor acknowledges -- anything, and the server's
            # replay buffer ends up overflowing (3010).
            timeout = max(timeout, 2.0)
        try:
            frame = self.client.next_frame(timeout)
        except TimeoutError:
            if self.transport in ("xhr", "jsonp"):
                return False  # a long poll that brought nothing is normal
            self._reconnect()
            return False
        except TRANSPORT_ERRORS:
            self._reconnect()
            return True
        self._handle(frame)
        return True

    def _handle(self, frame: str) -> None:
        kind = frame[:1]
        if kind == "a":
            for text in json.loads(frame[1:]):
                self.received += 1
                self.on_message(text)
        elif kind == "r":
            control = json.loads(frame[1:])
            if "cid" in control and self.cid is None:
                self.cid = control["cid"]
            if "ack" in control:
                self._acknowledged(control["ack"])
        elif kind == "c":
            code, reason = json.loads(frame[1:])
            if code in (2010, 1002):  # our own old transport, replaced: resume again
                self._reconnect()
                return
            self.closed = (code, reason)
            raise ResumeFailed(code, reason)

    def _acknowledged(self, count: int) -> None:
        drop = count - self.server_got
        if drop > 0:
            del self.unacked[:drop]
            self.server_got = count

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.send({"close": [1000, "done"]})  # type: ignore[arg-type]
            except Exception:
                pass
            self.client.close()
            self.client = None
