"""A TCP proxy on loopback that cuts connections at random, for the chaos test.

Every accepted connection gets a random lifetime; when it runs out, both sides are reset
(SO_LINGER 0, so nobody sees a clean end) whatever was in flight. Runs its own asyncio
loop in a thread and stops by itself when told or when its owner stops it.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
from concurrent.futures import Future


class ChaosProxy:
    def __init__(
        self,
        target_port: int,
        *,
        min_life: float = 0.1,
        max_life: float = 1.5,
        seed: int | None = None,
    ) -> None:
        self.target_port = target_port
        self.min_life = min_life
        self.max_life = max_life
        self.random = random.Random(seed)
        self.port = 0
        self.accepted = 0
        self.cut = 0
        self.enabled = True
        #: While set, no byte crosses in either direction (connections stay open).
        self.frozen = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None

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
        life = self.random.uniform(self.min_life, self.max_life)
        pipes = [
            asyncio.ensure_future(_pipe(reader, up_writer, self)),
            asyncio.ensure_future(_pipe(up_reader, writer, self)),
        ]
        # A connection lives its random life; when that is over it is cut as soon as the
        # proxy is enabled (at once if it is).
        done, pending = await asyncio.wait(pipes, timeout=life, return_when=asyncio.FIRST_COMPLETED)
        while not done and not self.enabled:
            done, pending = await asyncio.wait(
                pipes, timeout=0.1, return_when=asyncio.FIRST_COMPLETED
            )
        if not done:
            self.cut += 1
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if not done:
            _reset(writer)
            _reset(up_writer)
        else:
            for w in (writer, up_writer):
                try:
                    w.close()
                except Exception:
                    pass


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, proxy: ChaosProxy
) -> None:
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            while proxy.frozen:
                await asyncio.sleep(0.02)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.write_eof()
        except (OSError, RuntimeError, AttributeError):
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
