"""Several server processes on one machine: ``python -m fallback serve ... --workers N``.

Each worker is a full server on its own port (``--port P`` gives ``P``, ``P+1``, ...),
joined to the others by the channel broker. Separate ports rather than one shared socket,
because HTTP transports need every request of a session to reach the process that holds
it: a load balancer that hashes on the session segment of the URL (see the README's
"Scaling out" and ``deploy/nginx/``) does that; a kernel-shared socket cannot.

The supervisor forwards SIGINT/SIGTERM to its workers (each drains its sessions, as a
single server does) and exits with the worst exit status once all have stopped. A
worker that dies is restarted, at most five times a minute; one that keeps dying, or
that exits with status 2 (its command line or configuration is wrong, so a restart
cannot help), stops the whole group, and the supervisor exits non-zero -- so that
systemd or Kubernetes learn that the service is down, rather than running on with
fewer workers than it was told. Worker log lines carry their port (``[port 8081]``).
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
#: A worker exiting with this status was told something wrong: restarting cannot help.
USAGE_ERROR = 2


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
    status = 0

    def start(port: int) -> None:
        processes[port] = subprocess.Popen(worker_command(serve_args, port))

    def stop_all(signum: int) -> None:
        nonlocal stopping
        stopping = True
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signum)

    def on_signal(signum: int, _frame: object) -> None:
        stop_all(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for port in ports:
            start(port)
        log.info("fallback: %d workers on ports %s", count, ", ".join(map(str, ports)))
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
                if code == USAGE_ERROR or len(recent) >= MAX_RESTARTS_PER_MINUTE:
                    why = "cannot start" if code == USAGE_ERROR else "keeps dying"
                    log.error(
                        "worker on port %d %s (status %s); stopping all workers", port, why, code
                    )
                    status = max(status, code if code > 0 else 1)
                    stop_all(signal.SIGTERM)
                    continue
                log.warning("worker on port %d exited with %s; restarting it", port, code)
                restarts[port].append(time.monotonic())
                start(port)
            time.sleep(0.1)
        return status
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
