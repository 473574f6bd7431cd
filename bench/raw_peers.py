"""The raw-WebSocket peers of `make bench` (no SockJS framing), each alone in its process.

    python bench/raw_peers.py KIND PORT

KIND is ``websockets`` (the PyPI websockets library's asyncio server, compression off)
or ``floor``: a bare asyncio protocol that answers the upgrade, unmasks each client frame
and writes one prebuilt server frame per message with one ``transport.write``. The floor
does no validation, no UTF-8 check, no pings and no close handshake: it is what one
Python process can do with one write per message on this machine, the bound the issue
compares the others with. (Node's ``ws`` is ``bench/ws_node.js``.)

Every kind serves ``/echo`` (each message back to its sender) and ``/broadcast`` (each
message to every connection of that path, the sender too), as bench/servers.py does.

Prints ``listening`` once the port is bound.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import sys
from typing import Any, ClassVar

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def websockets_server(port: int) -> Any:
    from websockets.asyncio.server import broadcast, serve

    members: set[Any] = set()

    async def handler(ws: Any) -> None:
        path = ws.request.path
        if path == "/broadcast":
            members.add(ws)
            try:
                async for message in ws:
                    broadcast(members, message)
            finally:
                members.discard(ws)
        else:
            async for message in ws:
                await ws.send(message)

    return serve(handler, "127.0.0.1", port, compression=None, max_queue=None, backlog=4096)


def server_frame(payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        head = bytes((0x81, n))
    elif n < 65536:
        head = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x81, 127)) + n.to_bytes(8, "big")
    return head + payload


#: What the floor reads into: a buffer of its own, reused (a plain `asyncio.Protocol`
#: gets a fresh 256 KiB `recv` buffer per read, which made the floor's echo slower than
#: the servers it bounds).
READ_BUFFER = 65536


class Floor(asyncio.BufferedProtocol):
    """One connection: the upgrade, then masked client frames in, server frames out."""

    rooms: ClassVar[dict[str, set[Floor]]] = {"/echo": set(), "/broadcast": set()}

    def __init__(self) -> None:
        self.buffer = b""
        self.room: set[Floor] | None = None
        self.transport: asyncio.Transport | None = None
        self.broadcast = False
        self.read = memoryview(bytearray(READ_BUFFER))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.room is not None:
            self.room.discard(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.read

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(self.read[:nbytes]))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.room is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.buffer = self.buffer[:end].decode("latin-1"), self.buffer[end + 4 :]
            path = head.split(" ", 2)[1]
            key = next(
                line.split(":", 1)[1].strip()
                for line in head.split("\r\n")
                if line.lower().startswith("sec-websocket-key:")
            )
            accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest())
            assert self.transport is not None
            self.transport.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            self.broadcast = path == "/broadcast"
            self.room = self.rooms["/broadcast" if self.broadcast else "/echo"]
            self.room.add(self)
        buffer, pos = self.buffer, 0
        while len(buffer) - pos >= 6:
            length = buffer[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if len(buffer) - pos < 8:
                    break
                length = int.from_bytes(buffer[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if len(buffer) - pos < 14:
                    break
                length = int.from_bytes(buffer[pos + 2 : pos + 10], "big")
                head = 10
            if len(buffer) - pos < head + 4 + length:
                break
            mask = buffer[pos + head : pos + head + 4]
            start = pos + head + 4
            masked = int.from_bytes(buffer[start : start + length], "little")
            key = int.from_bytes((mask * (length // 4 + 1))[:length], "little")
            payload = (masked ^ key).to_bytes(length, "little")
            pos = start + length
            frame = server_frame(payload)
            if self.broadcast:
                for member in self.room or ():
                    if member.transport is not None:
                        member.transport.write(frame)
            elif self.transport is not None:
                self.transport.write(frame)
        self.buffer = buffer[pos:]


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])

    async def run() -> None:
        if kind == "websockets":
            server = await websockets_server(port)
        elif kind == "floor":
            loop = asyncio.get_running_loop()
            server = await loop.create_server(Floor, "127.0.0.1", port, backlog=4096)
        else:
            sys.exit(f"unknown kind {kind!r}: websockets or floor")
        print("listening", flush=True)
        async with server:
            await asyncio.Event().wait()

    asyncio.run(run())


if __name__ == "__main__":
    main()
