"""`make bench`, third part: permessage-deflate on and off, and binary messages against
base64 by hand, side by side in one run.

The server is `bench/compression_app.py`, one process on core 0, started once with
``websocket_compression`` on and once off; the clients are raw asyncio sockets in this
process on core 1 (they count frames and never inflate, so their cost stays small). The
message is a chat line of JSON, about 420 bytes, different every time (as chat is).

* echo -- 20 raw WebSocket connections to ``/echo/websocket``, one message in flight each;
  the client compresses what it sends when deflate was negotiated, as browsers do.
* broadcast -- 200 connections to ``/fan/websocket``; one publishes, all 200 receive; the
  next message goes out when the last has the previous one.
* idle memory -- the server's resident memory per idle WebSocket connection (1000 opened
  and held, with deflate negotiated or not).
* binary vs base64 by hand -- xhr_streaming, 4 KiB of random bytes per message echoed one
  at a time: as a binary message (``fb_binary=1``, ``send(bytes)``, ``{"b": base64}`` on
  the wire) and as base64 text the application encodes and decodes itself (``/hand``).

For each: messages (or deliveries) per second, the server's CPU time per message, and the
bytes on the wire per message, both ways (counted by the clients at the socket: frame
headers and HTTP included).

    python bench/compression.py [--runs 3] [--seconds 3] [--out bench/results]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import statistics
import subprocess
import sys
import time
import zlib
from typing import Any

from run import HERE, ROOT, free_port, process_cpu, rss_kb

OFFER = "permessage-deflate; client_max_window_bits"
WORDS = [
    *("the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog"),
    *("while", "we", "chat", "about", "deflate", "and", "frames"),
]


def chat_line(n: int, rng: random.Random) -> tuple[bytes, bytes]:
    """A chat line, and the same compressed as a browser would send it."""
    text = " ".join(rng.choice(WORDS) for _ in range(40))
    line = {"type": "message", "room": "lobby", "user": f"user{n % 97}", "seq": n, "text": text}
    plain = json.dumps(line).encode()
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return plain, (c.compress(plain) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]


#: Made before any measurement, so that the clients' own compression costs nothing then.
MESSAGES = [chat_line(n, random.Random(n)) for n in range(2000)]


#: Bytes the clients wrote and read (the wire, both ways, after the handshakes).
WIRE = [0]


def io_bytes(pid: int) -> int:
    return WIRE[0]


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection whose every byte read or written counts in `WIRE`."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    read_exactly, read_until, write = reader.readexactly, reader.readuntil, writer.write

    async def readexactly(n: int) -> bytes:
        data = await read_exactly(n)
        WIRE[0] += len(data)
        return data

    async def readuntil(separator: bytes = b"\n") -> bytes:
        data = await read_until(separator)
        WIRE[0] += len(data)
        return data

    def counted_write(data: bytes) -> None:
        WIRE[0] += len(data)
        write(data)

    reader.readexactly = readexactly  # type: ignore[method-assign]
    reader.readuntil = readuntil  # type: ignore[method-assign]
    writer.write = counted_write  # type: ignore[method-assign]
    return reader, writer


class Server:
    def __init__(self, compression: bool) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                "taskset",
                "-c",
                "0",
                sys.executable,
                os.path.join(HERE, "compression_app.py"),
                str(self.port),
                "on" if compression else "off",
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": ROOT},
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class WS:
    """A minimal client: masked frames out, frame headers counted in."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, deflate: bool
    ) -> None:
        self.reader, self.writer, self.deflate = reader, writer, deflate

    @classmethod
    async def connect(cls, port: int, path: str, offer: bool) -> WS:
        reader, writer = await connect(port)
        extension = f"Sec-WebSocket-Extensions: {OFFER}\r\n" if offer else ""
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                f"{extension}\r\n"
            ).encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer, b"permessage-deflate" in head)

    def send(self, message: tuple[bytes, bytes]) -> None:
        """Send one of `MESSAGES`: compressed if deflate was negotiated."""
        b0, payload = (0xC1, message[1]) if self.deflate else (0x81, message[0])
        n = len(payload)
        head = bytes((b0, 0x80 | n)) if n < 126 else bytes((b0, 0xFE)) + n.to_bytes(2, "big")
        self.writer.write(head + b"\x00\x00\x00\x00" + payload)  # a zero mask: XOR is a no-op

    async def frame(self) -> None:
        head = await self.reader.readexactly(2)
        n = head[1] & 0x7F
        if n == 126:
            n = int.from_bytes(await self.reader.readexactly(2), "big")
        elif n == 127:
            n = int.from_bytes(await self.reader.readexactly(8), "big")
        await self.reader.readexactly(n)

    def close(self) -> None:
        self.writer.close()


def measured(pid: int, started: tuple[float, int, float], count: int) -> dict[str, float]:
    cpu, wire, at = started
    elapsed = time.perf_counter() - at
    return {
        "rate": count / elapsed,
        "cpu_us": (process_cpu(pid) - cpu) / count * 1e6,
        "wire": (io_bytes(pid) - wire) / count,
    }


def start(pid: int) -> tuple[float, int, float]:
    return (process_cpu(pid), io_bytes(pid), time.perf_counter())


async def echo(server: Server, seconds: float, offer: bool) -> dict[str, float]:
    conns = [await WS.connect(server.port, "/echo/websocket", offer) for _ in range(20)]
    count, n = 0, 0
    deadline = time.perf_counter() + seconds
    began = start(server.proc.pid)

    async def run(ws: WS) -> None:
        nonlocal count, n
        while time.perf_counter() < deadline:
            n += 1
            ws.send(MESSAGES[n % len(MESSAGES)])
            await ws.frame()
            count += 1

    await asyncio.gather(*(run(ws) for ws in conns))
    result = measured(server.proc.pid, began, count)
    for ws in conns:
        ws.close()
    return result


async def fan(server: Server, seconds: float, offer: bool) -> dict[str, float]:
    conns = [await WS.connect(server.port, "/fan/websocket", offer) for _ in range(200)]
    await asyncio.sleep(0.5)  # every on_open has run
    deliveries, n = 0, 0
    deadline = time.perf_counter() + seconds
    began = start(server.proc.pid)
    while time.perf_counter() < deadline:
        n += 1
        conns[0].send(MESSAGES[n % len(MESSAGES)])
        await asyncio.gather(*(ws.frame() for ws in conns))
        deliveries += len(conns)
    result = measured(server.proc.pid, began, deliveries)
    for ws in conns:
        ws.close()
    return result


async def idle_memory(server: Server, offer: bool, count: int = 1000) -> float:
    warm = [await WS.connect(server.port, "/echo/websocket", offer) for _ in range(20)]
    await asyncio.sleep(0.5)
    before = rss_kb(server.proc.pid)
    conns = [await WS.connect(server.port, "/echo/websocket", offer) for _ in range(count)]
    await asyncio.sleep(1.0)
    after = rss_kb(server.proc.pid)
    for ws in warm + conns:
        ws.close()
    return (after - before) * 1024 / count


async def http_echo(server: Server, seconds: float, binary: bool) -> dict[str, float]:
    """xhr_streaming receiver plus keep-alive xhr_send, one 4 KiB message at a time."""
    path = "/echo" if binary else "/hand"
    sid = f"/000/{random.randrange(10**9)}"
    rng = random.Random(3)
    send_r, send_w = await connect(server.port)
    stream: list[Any] = []

    async def open_stream() -> None:
        r, w = await connect(server.port)
        query = "?fb_binary=1" if binary else ""
        w.write(
            f"POST {path}{sid}/xhr_streaming{query} HTTP/1.1\r\n"
            "Host: x\r\nContent-Length: 0\r\n\r\n".encode()
        )
        await r.readuntil(b"\r\n\r\n")
        stream[:] = [r, w]

    async def next_frame() -> bytes:
        while True:
            r = stream[0]
            size = int((await r.readuntil(b"\r\n")).strip(), 16)
            if size == 0:  # response_limit reached: the next stream goes on
                await r.readexactly(2)
                stream[1].close()
                await open_stream()
                continue
            chunk = await r.readexactly(size + 2)
            if chunk.startswith(b"a"):
                return chunk

    await open_stream()  # (its prelude and open frame are skipped by next_frame)
    count = 0
    deadline = time.perf_counter() + seconds
    began = start(server.proc.pid)
    while time.perf_counter() < deadline:
        data = base64.b64encode(rng.randbytes(4096)).decode()
        body = json.dumps([{"b": data}] if binary else [data]).encode()
        send_w.write(
            f"POST {path}{sid}/xhr_send HTTP/1.1\r\n"
            f"Host: x\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await send_r.readuntil(b"\r\n\r\n")
        frame = await next_frame()
        assert data.encode() in frame
        count += 1
    result = measured(server.proc.pid, began, count)
    send_w.close()
    stream[1].close()
    return result


async def scenarios(seconds: float, runs: int) -> dict[str, Any]:
    """Every scenario `runs` times, on and off alternating (which first, by run); the
    median of each number."""
    collected: dict[str, list[Any]] = {}
    for run in range(runs):
        for key, value in (await one_run(seconds, first=run % 2 == 0)).items():
            collected.setdefault(key, []).append(value)
    results: dict[str, Any] = {}
    for key, values in collected.items():
        if isinstance(values[0], dict):
            results[key] = {k: statistics.median(v[k] for v in values) for k in values[0]}
        else:
            results[key] = statistics.median(values)
    return results


async def one_run(seconds: float, *, first: bool) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for compression in (first, not first):
        server = Server(compression)
        try:
            label = "on" if compression else "off"
            results[f"echo {label}"] = await echo(server, seconds, compression)
            results[f"broadcast {label}"] = await fan(server, seconds, compression)
            results[f"idle {label}"] = await idle_memory(server, compression)
            if not compression:
                results["xhr binary"] = await http_echo(server, seconds, True)
                results["xhr by hand"] = await http_echo(server, seconds, False)
        finally:
            server.stop()
    return results


def markdown(r: dict[str, Any], seconds: float, runs: int) -> str:
    def row(name: str, key: str, unit: str) -> str:
        m = r[key]
        return f"| {name} | {m['rate']:,.0f} {unit}/s | {m['cpu_us']:.0f} µs | {m['wire']:,.0f} B |"

    return "\n".join(
        [
            f"# Compression and binary messages ({seconds:g} s each, median of {runs} runs)",
            "",
            "| WebSocket, a 420-byte chat line | rate | server CPU per message "
            "| bytes on the wire per message |",
            "| --- | ---: | ---: | ---: |",
            row("echo, deflate on", "echo on", "msg"),
            row("echo, deflate off", "echo off", "msg"),
            row("broadcast to 200, deflate on", "broadcast on", "deliveries"),
            row("broadcast to 200, deflate off", "broadcast off", "deliveries"),
            "",
            "| idle WebSocket connection | server memory each |",
            "| --- | ---: |",
            f"| deflate negotiated | {r['idle on'] / 1024:.1f} KiB |",
            f"| no deflate | {r['idle off'] / 1024:.1f} KiB |",
            "",
            "| xhr-streaming, 4 KiB of random bytes | rate | server CPU per message "
            "| bytes on the wire per message |",
            "| --- | ---: | ---: | ---: |",
            row("binary message (`send(bytes)`)", "xhr binary", "msg"),
            row("base64 by hand in text", "xhr by hand", "msg"),
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    results = asyncio.run(scenarios(args.seconds, args.runs))
    text = markdown(results, args.seconds, args.runs)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "compression.md"), "w", encoding="utf-8") as file:
        file.write(text)
    print(text)


if __name__ == "__main__":
    main()
