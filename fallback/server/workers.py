"""Several server processes on one machine: ``python -m fallback serve ... --workers N``.

Each worker is a full server on its own port (``--port P`` gives ``P``, ``P+1``, ...),
joined to the others by the channel broker. Separate ports rather than one shared socket,
because HTTP transports need every request of a session to reach the process that holds
it: a load balancer that hashes on the session segment of the URL (see the README's
"Scaling out" and ``deploy/nginx/``) does that; a kernel-shared socket cannot.

The supervisor forwards SIGINT/SIGTERM to its workers, restarts one that dies (at most
five times a minute), and exits with the worst exit status once all have stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

from ..core.logsafe import get_logger

log = get_logger("fallback.workers")

MAX_RESTARTS_PER_MINUTE = 5


def default_worker_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def worker_command(serve_args: Sequence[str], port: int) -> list[str]:
    return [sys.executable, "-m", "fallback", "serve", *serve_args, "--port", str(port)]


def supervise(serve_args: Sequence[str], count: int, base_port: int) -> int:
    """Run `count` workers until a signal stops them; returns the exit status."""
    ports = [base_port + i for i in range(count)]
    processes: dict[int, subprocess.Popen[bytes]] = {}
    restarts: dict[int, list[float]] = {port: [] for port in ports}
    stopping = False

    def start(port: int) -> None:
        processes[port] = subprocess.Popen(worker_command(serve_args, port))

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signum)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for port in ports:
            start(port)
        log.info("fallback: %d workers on ports %s", count, ", ".join(map(str, ports)))
        status = 0
        while processes:
            for port, process in list(processes.items()):
                code = process.poll()
                if code is None:
                    continue
                del processes[port]
                if stopping:
                    status = max(status, code if code >= 0 else 0)
                    continue
                recent = [t for t in restarts[port] if time.monotonic() - t < 60]
                restarts[port] = recent
                if len(recent) >= MAX_RESTARTS_PER_MINUTE:
                    log.error("worker on port %d keeps dying (status %s); giving up", port, code)
                    status = max(status, 1)
                    continue
                log.warning("worker on port %d exited with %s; restarting it", port, code)
                restarts[port].append(time.monotonic())
                start(port)
            time.sleep(0.1)
        return status
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
