"""A TCP proxy on loopback that breaks connections at random, for the chaos tests.

Every accepted connection gets a random lifetime. When it runs out, the connection is
broken in one of the ways real networks break them (`MODES`, chosen at random among the
ones the proxy was given):

* ``rst`` -- both sides are reset (SO_LINGER 0), whatever was in flight;
* ``fin`` -- both sides get a clean end of stream, as if the peer had closed;
* ``partial`` -- the next block of bytes in one direction (either) is forwarded only in
  part, so the cut falls inside a frame or a request, then both sides are reset;
* ``half`` -- the client gets a clean end of stream while the server's side stays open
  and everything it writes is swallowed, until that side is reset a little later (a NAT
  or proxy that forgot the connection);
* ``stall`` -- nothing crosses in either direction for a while (longer than a
  heartbeat, sometimes), then the connection either carries on or is reset.

Besides, `reset_requests` has the next requests that carry some bytes reset as they
arrive (a proxy that dies with the request), whatever the proxy is doing otherwise.

Runs its own asyncio loop in a thread and stops by itself when told or when its owner
stops it. `cuts` counts what it did, by mode.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future

MODES = ("rst", "fin", "partial", "half", "stall")


class _Link:
    """One proxied connection: its two directions and what the proxy does to them."""

    __slots__ = ("doomed", "frozen", "partial", "partial_done", "swallow")

    def __init__(self) -> None:
        #: While set, no byte crosses in either direction.
        self.frozen = False
        #: "up" or "down": the next block read in that direction is forwarded in part.
        self.partial: str | None = None
        self.partial_done = asyncio.Event()
        #: Directions whose bytes are read and dropped.
        self.swallow: set[str] = set()
        #: Set when a request `reset_requests` names came: the link is reset, not ended.
        self.doomed = False


class ChaosProxy:
    def __init__(
        self,
        target_port: int,
        *,
        min_life: float = 0.1,
        max_life: float = 1.5,
        seed: int | None = None,
        modes: Sequence[str] = ("rst",),
        stall: tuple[float, float] = (0.5, 3.0),
    ) -> None:
        unknown = set(modes) - set(MODES)
        if unknown or not modes:
            raise ValueError(f"modes must be among {MODES}, not {sorted(unknown)}")
        self.target_port = target_port
        self.min_life = min_life
        self.max_life = max_life
        self.modes = tuple(modes)
        self.stall = stall
        self.random = random.Random(seed)
        self.port = 0
        self.accepted = 0
        #: Connections broken, in all and by mode (a stall that carries on counts too).
        self.cut = 0
        self.cuts: Counter[str] = Counter()
        self.enabled = True
        #: While set, no byte crosses on any connection (connections stay open).
        self.frozen = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        #: Set by `stall_all`: nothing crosses on any connection, old or new, and none is
        #: broken either (lives wait), so the silence lasts exactly as long as told.
        self._holding = False
        #: `reset_requests`: the bytes that doom a request, and how many more to doom.
        self._doom: tuple[bytes, int] | None = None
        #: Requests reset by `reset_requests`.
        self.requests_reset = 0

    def reset_requests(self, marker: bytes, times: int = 1) -> None:
        """Reset the connection of each of the next `times` requests (blocks a client
        sends) that contain `marker`, before a byte of it reaches the server."""
        loop = self._loop
        assert loop is not None
        armed: Future[None] = Future()

        def arm() -> None:
            self._doom = (marker, times)
            armed.set_result(None)

        loop.call_soon_threadsafe(arm)
        armed.result(timeout=10)  # armed before the caller makes the request

    def stall_all(self, seconds: float) -> None:
        """The network goes silent for `seconds`: no byte crosses on any connection, open
        or opened meanwhile, and none is broken; then everything carries on."""
        loop = self._loop
        assert loop is not None

        def hold() -> None:
            self._holding = True

            def release() -> None:
                self._holding = False

            loop.call_later(seconds, release)

        loop.call_soon_threadsafe(hold)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ChaosProxy:
        ready: Future[None] = Future()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop

            async def setup() -> None:
                self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
                self.port = self._server.sockets[0].getsockname()[1]

            loop.run_until_complete(setup())
            ready.set_result(None)
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="chaos-proxy", daemon=True)
        self._thread.start()
        ready.result(timeout=10)
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), loop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._loop = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            # stop() cancels the connections still open; ending the task normally keeps
            # asyncio's stream callback (which asks the task for its exception) quiet.
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            _reset(writer)
            return
        link = _Link()
        pipes = [
            asyncio.ensure_future(self._pipe(reader, up_writer, link, "up")),
            asyncio.ensure_future(self._pipe(up_reader, writer, link, "down")),
        ]
        try:
            while True:
                life = self.random.uniform(self.min_life, self.max_life)
                # A connection lives its random life; when that is over it is broken as
                # soon as the proxy is enabled (at once if it is).
                done, pending = await asyncio.wait(
                    pipes, timeout=life, return_when=asyncio.FIRST_COMPLETED
                )
                while not done and (not self.enabled or self._holding):
                    done, pending = await asyncio.wait(
                        pipes, timeout=0.1, return_when=asyncio.FIRST_COMPLETED
                    )
                if done:  # one side ended by itself: pass the end on
                    await _finish(pending)
                    if link.doomed:
                        _reset(writer)
                        _reset(up_writer)
                    else:
                        _close(writer, up_writer)
                    return
                mode = self.random.choice(self.modes)
                self.cut += 1
                self.cuts[mode] += 1
                if mode == "stall" and await self._stalled(link, pipes):
                    continue  # it carries on, with a new life
                await self._break(mode, link, pipes, writer, up_writer)
                return
        finally:
            await _finish(pipes)

    async def _stalled(self, link: _Link, pipes: list[asyncio.Future[None]]) -> bool:
        """Freeze the link for a while; True if it then carries on, False to reset it."""
        link.frozen = True
        await asyncio.wait(pipes, timeout=self.random.uniform(*self.stall))
        link.frozen = False
        return self.random.random() < 0.5 and not any(p.done() for p in pipes)

    async def _break(
        self,
        mode: str,
        link: _Link,
        pipes: list[asyncio.Future[None]],
        writer: asyncio.StreamWriter,
        up_writer: asyncio.StreamWriter,
    ) -> None:
        if mode == "fin":
            await _finish(pipes)
            _close(writer, up_writer)
            return
        if mode == "partial":
            link.partial = self.random.choice(("up", "down"))
            waiter = asyncio.ensure_future(link.partial_done.wait())
            await asyncio.wait([waiter, *pipes], timeout=2.0, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
        elif mode == "half":
            link.swallow.add("down")
            try:
                writer.write_eof()
            except (OSError, RuntimeError):
                pass
            await asyncio.wait(pipes, timeout=self.random.uniform(0.5, 3.0))
        await _finish(pipes)
        _reset(writer)
        _reset(up_writer)

    def _doomed(self, data: bytes) -> bool:
        doom = self._doom
        if doom is None or doom[0] not in data:
            return False
        self._doom = (doom[0], doom[1] - 1) if doom[1] > 1 else None
        self.requests_reset += 1
        return True

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        link: _Link,
        direction: str,
    ) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                while self.frozen or self._holding or link.frozen:
                    await asyncio.sleep(0.02)
                if direction in link.swallow:
                    continue
                if direction == "up" and self._doomed(data):
                    link.doomed = True
                    return
                if link.partial == direction:
                    link.partial = None
                    writer.write(data[: self.random.randint(0, len(data) - 1)])
                    await writer.drain()
                    link.partial_done.set()
                    await asyncio.sleep(3600)  # the link is broken from here on
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            return
        # The end of stream is passed on; a pipe cancelled to break the link is not.
        if direction not in link.swallow:
            try:
                writer.write_eof()
            except (OSError, RuntimeError, AttributeError):
                pass


async def _finish(tasks: Sequence[asyncio.Future[None]] | set[asyncio.Future[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _close(*writers: asyncio.StreamWriter) -> None:
    for w in writers:
        try:
            w.close()
        except Exception:
            pass


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset: nobody mistakes it for the end of a response."""
    sock = writer.get_extra_info("socket")
    try:
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()
