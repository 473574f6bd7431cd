"""Small applications the loopback tests run, and a recorder of what they saw."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

import tornado.web

from fallback import Connection, ConnectionInfo, Router, broadcast
from fallback.exceptions import BinaryUnsupported
from fallback.server import make_application


class Recorder:
    """Events the server-side connections saw, readable from the test thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[tuple[str, str, Any]] = []
        self._sessions: list[str | None] = []
        self._changed = threading.Condition(self._lock)

    def add(self, kind: str, who: str, detail: Any = None, session_id: str | None = None) -> None:
        with self._changed:
            self._events.append((kind, who, detail))
            self._sessions.append(session_id)
            self._changed.notify_all()

    def wait_closed(self, session_id: str, timeout: float = 5.0) -> None:
        """Wait for on_close of the session with this id."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not any(
                e[0] == "close" and sid == session_id
                for e, sid in zip(self._events, self._sessions, strict=False)
            ):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"session {session_id} never closed")
                self._changed.wait(remaining)

    def events(self, kind: str | None = None) -> list[tuple[str, str, Any]]:
        with self._lock:
            return [e for e in self._events if kind is None or e[0] == kind]

    def wait_for(
        self, predicate: Callable[[list[tuple[str, str, Any]]], bool], timeout: float = 5.0
    ) -> list[tuple[str, str, Any]]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self._events):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met; events: {self._events}")
                self._changed.wait(remaining)
            return list(self._events)

    def clear(self) -> None:
        with self._lock:
            self._events.clear()
            self._sessions.clear()


recorder = Recorder()


class Echo(Connection):
    def on_message(self, text: str) -> None:
        self.send(text)


class Recorded(Connection):
    """Echoes, records every callback, and obeys a few commands."""

    def on_open(self, info: ConnectionInfo) -> None:
        recorder.add("open", self.transport, info)

    def on_message(self, text: str) -> None:
        recorder.add("message", self.transport, text)
        if text == "close":
            self.close(4000, "asked to close")
        elif text == "burst-then-close":
            for i in range(5):
                self.send(f"burst {i}")
            self.close()
        elif text == "boom":
            raise RuntimeError("application bug")
        else:
            self.send(text)

    def on_close(self) -> None:
        recorder.add("close", self.transport, (self.close_code, self.close_reason), self.session_id)


class CloseOnOpen(Connection):
    def on_open(self, info: ConnectionInfo) -> None:
        recorder.add("open", "close-on-open")
        self.close()

    def on_close(self) -> None:
        recorder.add("close", "close-on-open")


class RejectOnOpen(Connection):
    def on_open(self, info: ConnectionInfo) -> bool:
        recorder.add("open", "reject")
        return False

    def on_message(self, text: str) -> None:
        recorder.add("message", "reject", text)

    def on_close(self) -> None:
        recorder.add("close", "reject")


class Broadcaster(Connection):
    members: ClassVar[set[Broadcaster]] = set()

    def on_open(self, info: ConnectionInfo) -> None:
        self.members.add(self)

    def on_message(self, text: str) -> None:
        broadcast(self.members, text)

    def on_close(self) -> None:
        self.members.discard(self)


class BinaryEcho(Connection):
    """Echoes text and binary messages as they came; ``"bytes please"`` asks for a binary
    message, and says so when the client takes none."""

    def on_message(self, text: str) -> None:
        if text == "bytes please":
            try:
                self.send(b"\x00\xff")
            except BinaryUnsupported as error:
                self.send(f"refused: {type(error).__name__}")
            return
        self.send(text)

    def on_binary(self, data: bytes) -> None:
        self.send(data)


#: ``max_message_size`` of ``/bin``.
BINARY_MAX = 3000


#: The partner page the CORS tests of ``/echo`` come from (and ``null``: file:// pages).
PARTNER_ORIGINS = ["https://a.example", "null"]


def make_app() -> tornado.web.Application:
    routers = [
        Router(Echo, "/echo", allowed_origins=PARTNER_ORIGINS),
        Router(BinaryEcho, "/bin", max_message_size=BINARY_MAX),
        Router(BinaryEcho, "/nobin", binary=False),
        Router(BinaryEcho, "/nodeflate", websocket_compression=False),
        Router(Recorded, "/recorded"),
        Router(CloseOnOpen, "/close"),
        Router(RejectOnOpen, "/reject"),
        Router(Broadcaster, "/broadcast"),
        Router(Recorded, "/heartbeat", heartbeat_delay=0.2),
        Router(Recorded, "/expire", disconnect_delay=0.3),
        Router(Echo, "/limit", response_limit=300),
        Router(Echo, "/cookie", jsessionid=True),
        Router(Echo, "/small", max_message_size=64, max_queue=5),
        Router(Echo, "/origins", allowed_origins=["https://good.example", "*.trusted.example"]),
        Router(Echo, "/nows", disabled_transports=["websocket"]),
    ]
    return make_application(routers)
