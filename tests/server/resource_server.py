"""A server process for the memory tests: ``python -m tests.server.resource_server``.

It prints ``PORT <n>`` once listening and serves, besides statistics at ``/_stats``:

* ``/mem`` -- echo, with ``disconnect_delay`` and ``resume_grace`` of ``--delay``
  seconds (long enough that thousands of abandoned sessions are held at once);
* ``/warm`` -- the same with deadlines of 0.3 s, to warm the code paths up quickly;
* ``/slow`` -- ``flood N SIZE`` sends N messages of SIZE bytes, a batch per loop
  iteration, for as long as the connection stays open (``max_queue_bytes`` 1 MiB,
  streaming responses that do not end on their own);
* ``/_memory`` -- after a full garbage collection: the process's RSS and peak RSS (kB,
  from /proc), the bytes tracemalloc traces (with ``--tracemalloc``), the sessions and
  remembered resume tombstones.

Memory is measured in its own process so that the test's clients do not count.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import signal
import sys
import tracemalloc

import tornado.web

from fallback import Connection, Router
from fallback.server import listen, make_application, shutdown

SNAPSHOT = None

#: Messages a flood queues per loop iteration (so that transports get to write).
BATCH = 64


class Echo(Connection):
    def on_message(self, text: str) -> None:
        self.send(text)


class Flood(Connection):
    def on_message(self, text: str) -> None:
        if text.startswith("flood "):
            count, size = (int(n) for n in text.split()[1:])
            asyncio.get_running_loop().create_task(self.flood(count, size))

    async def flood(self, count: int, size: int) -> None:
        filler = "x" * size
        for i in range(count):
            if not self.send(f"{i:08d}{filler}"):
                return  # closed: by the queue limit, or by the client
            if i % BATCH == BATCH - 1:
                await asyncio.sleep(0)


def read_proc_status() -> dict[str, int]:
    values: dict[str, int] = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0])
    return values


class MemoryHandler(tornado.web.RequestHandler):
    def initialize(self, routers: list[Router]) -> None:
        self.routers = routers

    def get(self) -> None:
        gc.collect()
        if self.get_argument("trim", None):
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        if self.get_argument("snapshot", None) and tracemalloc.is_tracing():
            global SNAPSHOT
            snap = tracemalloc.take_snapshot()
            if SNAPSHOT is not None:
                for stat in snap.compare_to(SNAPSHOT, "traceback")[:8]:
                    print(stat, file=sys.stderr)
                    for line in stat.traceback.format()[-8:]:
                        print("   ", line, file=sys.stderr)
            SNAPSHOT = snap
        status = read_proc_status()
        self.set_header("Content-Type", "application/json")
        self.finish(
            json.dumps(
                {
                    "rss_kb": status["VmRSS"],
                    "peak_rss_kb": status["VmHWM"],
                    "traced": tracemalloc.get_traced_memory()[0]
                    if tracemalloc.is_tracing()
                    else None,
                    "blocks": sys.getallocatedblocks(),
                    "sessions": sum(len(r.sessions) for r in self.routers),
                    "tombstones": any(r.sessions.has_tombstones for r in self.routers),
                    "closed": {
                        r.prefix: {str(c): n for c, n in r.sessions.closed_by_code.items()}
                        for r in self.routers
                    },
                }
            )
        )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--max-queue-bytes", type=int, default=1024 * 1024)
    parser.add_argument("--delay", type=float, default=1.0)
    args = parser.parse_args()
    if args.tracemalloc:
        tracemalloc.start(12)
    routers = [
        Router(Echo, "/mem", disconnect_delay=args.delay, resume_grace=args.delay),
        Router(Echo, "/warm", disconnect_delay=0.3, resume_grace=0.3),
        # One long response: a client that stops reading stalls it mid-way.
        Router(
            Flood,
            "/slow",
            max_queue_bytes=args.max_queue_bytes,
            max_queue=1_000_000,
            response_limit=1 << 30,
        ),
    ]
    app = make_application(
        routers,
        [tornado.web.url("/_memory", MemoryHandler, {"routers": routers})],
        stats="/_stats",
        static_path=None,
    )
    server = listen(app, 0, "127.0.0.1", flash_policy=False)
    print(f"PORT {server.ports[0]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await shutdown(app, [server], deadline=1.0)


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
