"""HTTP latency with and without in-band Flash policy detection, measured in one run.

One server process listens twice on the same loop and application: on a plain Tornado
`HTTPServer` and on `InBandPolicyHTTPServer` (which peeks at each new connection's first
byte). The client alternates between the two in rounds, so both see the same machine
load, and times whole requests: on a new connection each (where the peek happens), and on
one kept-alive connection (where it does not). Run: ``make bench-flashpolicy``.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time

REQUEST = b"GET /echo HTTP/1.1\r\nHost: bench\r\n\r\n"
CLOSE_REQUEST = b"GET /echo HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
RESPONSE_TAIL = b"Welcome to SockJS!\n"


def serve() -> None:
    """The server side: print the two ports, serve until stdin closes."""
    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_sockets

    from fallback import Connection, Router
    from fallback.server import make_application, make_server

    async def main() -> None:
        app = make_application(Router(Connection, "/echo", allowed_origins=["a.example"]))
        plain_sockets = bind_sockets(0, "127.0.0.1", backlog=1024)
        inband_sockets = bind_sockets(0, "127.0.0.1", backlog=1024)
        plain = HTTPServer(app)
        plain.add_sockets(plain_sockets)
        inband = make_server(app, inband_sockets[0].getsockname()[1])
        inband.add_sockets(inband_sockets)
        print(plain_sockets[0].getsockname()[1], inband_sockets[0].getsockname()[1], flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)

    asyncio.run(main())


def _read_response(sock: socket.socket) -> None:
    data = b""
    while not data.endswith(RESPONSE_TAIL):
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed early")
        data += chunk


def new_connection_latency(port: int) -> float:
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(CLOSE_REQUEST)
        _read_response(sock)
    return time.perf_counter() - started


def keep_alive_latencies(port: int, count: int) -> list[float]:
    times = []
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(count):
            started = time.perf_counter()
            sock.sendall(REQUEST)
            _read_response(sock)
            times.append(time.perf_counter() - started)
    return times


def summary(times: list[float]) -> str:
    ordered = sorted(times)

    def at(q: float) -> float:
        return 1e6 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return f"median {at(0.5):7.1f} us  p90 {at(0.9):7.1f} us  p99 {at(0.99):7.1f} us"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--per-round", type=int, default=250)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return 0
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        plain_port, inband_port = map(int, server.stdout.readline().split())
        ports = {"plain HTTPServer": plain_port, "in-band detection": inband_port}
        fresh: dict[str, list[float]] = {name: [] for name in ports}
        alive: dict[str, list[float]] = {name: [] for name in ports}
        for port in ports.values():  # warm up
            for _ in range(50):
                new_connection_latency(port)
        for round_number in range(args.rounds):
            order = list(ports.items())
            if round_number % 2:
                order.reverse()
            for name, port in order:
                fresh[name] += [new_connection_latency(port) for _ in range(args.per_round)]
                alive[name] += keep_alive_latencies(port, args.per_round)
        n = args.rounds * args.per_round
        print(f"HTTP GET /echo on 127.0.0.1, {n} requests per mode, interleaved rounds")
        for title, results in (("new connection per request", fresh), ("keep-alive", alive)):
            print(f"\n{title}:")
            for name, times in results.items():
                print(f"  {name:18} {summary(times)}")
            plain, inband = (statistics.median(t) for t in results.values())
            print(f"  median ratio in-band / plain: {inband / plain:.3f}")
    finally:
        server.stdin.close()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
