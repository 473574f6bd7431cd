"""`make bench`, third part: many connections -- the broadcast curve, idle sessions at the
machine's limit, and the memory a held connection costs on each transport.

* curve -- broadcast with one message in flight to 1,000, 5,000, 10,000 ... subscribers
  (one of them publishes; the next message goes out when every subscriber has the last):
  deliveries per second, the time a message takes to reach its LAST subscriber (median
  and 99th percentile, measured by the load generator) and the server's CPU time per
  delivery, split into user and kernel time. fallback and sockjs-node with SockJS
  framing; fallback's raw ``<prefix>/websocket`` and node ``ws`` without.
* idle -- as many idle WebSocket sessions as one process may hold (the target is 100,000;
  the open file limit caps it where raising it is not allowed): memory per session and
  the time they took to open.
* transports -- 10,000 held connections of each transport (a WebSocket session, a poll
  waiting for a message, an open stream): server memory per connection, fallback and
  sockjs-node.

Placement as in bench/run.py: the server on core 0, the C load generator on core 1.

    python bench/scale.py [--runs 1] [--seconds 3] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass
from typing import Any

from run import (
    HERE,
    LOADGEN,
    Server,
    held_memory,
    loadgen,
    median,
    process_times,
    save_results,
)
from servers import raise_file_limit

#: Subscribers of the curve; those past what the file limit allows are left out, and the
#: largest number it allows is added.
SIZES = (1000, 5000, 10_000, 20_000, 50_000)
#: Held connections per transport in the memory table.
HELD = 10_000
IDLE_TARGET = 100_000
TRANSPORTS = ("websocket", "xhr", "jsonp", "xhr_streaming", "eventsource", "htmlfile")
#: (label, server kind, path, SockJS framing)
CURVE_KINDS = (
    ("fallback", "fallback", "/broadcast", True),
    ("sockjs-node", "sockjs-node", "/broadcast", True),
    ("fallback raw", "fallback", "/broadcast/websocket", False),
    ("node ws", "node-ws", "/broadcast", False),
)
IDLE_KINDS = (
    ("fallback", "fallback", "/echo", True),
    ("sockjs-node", "sockjs-node", "/echo", True),
    ("fallback raw", "fallback", "/echo/websocket", False),
    ("node ws", "node-ws", "/echo", False),
)
#: Descriptors each process keeps besides its connections.
SPARE_FILES = 500


def connection_limit() -> int:
    """The most connections one process may hold: the open file limit (raised as far as
    allowed, and inherited by the servers started from here) less some spare descriptors."""
    return raise_file_limit(IDLE_TARGET + SPARE_FILES) - SPARE_FILES


def curve_sizes(limit: int) -> list[int]:
    sizes = [n for n in SIZES if n <= limit]
    if sizes[-1] < SIZES[-1] and limit not in sizes:
        sizes.append(limit)
    return sizes


@dataclass
class Point:
    label: str
    subscribers: int
    run: int
    rate: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    user_us: float = 0.0  # server CPU per delivery, user and kernel
    system_us: float = 0.0
    error: str = ""


def measure_point(
    label: str, kind: str, path: str, sockjs: bool, n: int, run: int, warmup: float, seconds: float
) -> Point:
    point = Point(label, n, run)
    server = Server(kind)
    try:
        gen = loadgen(
            [
                *("broadcast", str(server.port), path, str(n), "1"),
                *(str(warmup), str(seconds), "64", "1" if sockjs else "0"),
            ]
        )
        assert gen.stdout is not None and gen.stderr is not None
        if gen.stdout.readline().strip() != "measuring":
            gen.wait()
            point.error = gen.stderr.read().strip() or "no measurement"
            return point
        user0, system0 = process_times(server.proc.pid)
        line = gen.stdout.readline()
        user1, system1 = process_times(server.proc.pid)
        gen.wait(timeout=60)
        if not line.startswith("{"):
            point.error = (line + gen.stderr.read()).strip()
            return point
        data = json.loads(line)
        delivered = data["messages"] or 1
        point.rate = data["rate"]
        point.p50_ms, point.p99_ms = data["latency_ms"]
        point.user_us = (user1 - user0) * 1e6 / delivered
        point.system_us = (system1 - system0) * 1e6 / delivered
    finally:
        server.stop()
    return point


def markdown(points: list[Point], idle: dict[str, Any], held: dict[str, Any], limit: int) -> str:
    runs = len({p.run for p in points}) or 1
    lines = []
    if points:
        lines += [
            f"Broadcast, one message in flight, 64-byte messages; median of {runs} run(s). "
            "Latency: from publication to the last subscriber. CPU: the server's, per "
            "delivery.",
            "",
            "| subscribers | server | deliveries/s | latency p50 (ms) | latency p99 (ms) "
            "| user µs/delivery | kernel µs/delivery |",
            "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
        ]
    for n in sorted({p.subscribers for p in points}):
        for label, *_ in CURVE_KINDS:
            ps = [p for p in points if p.subscribers == n and p.label == label and not p.error]
            if not ps:
                failed = [p.error for p in points if p.subscribers == n and p.label == label]
                if failed:
                    lines.append(f"| {n:,} | {label} | failed: {failed[0][:60]} | | | | |")
                continue
            lines.append(
                f"| {n:,} | {label} | {median([p.rate for p in ps]):,.0f} | "
                f"{median([p.p50_ms for p in ps]):,.1f} | {median([p.p99_ms for p in ps]):,.1f} | "
                f"{median([p.user_us for p in ps]):.2f} | {median([p.system_us for p in ps]):.2f} |"
            )
    if idle:
        lines += [
            "",
            f"Idle WebSocket sessions in one process: {limit:,} (the open file limit here; "
            f"the target is {IDLE_TARGET:,}).",
            "",
            "| server | sessions | KB per session | seconds to open them |",
            "| --- | ---: | ---: | ---: |",
        ]
        for label, row in idle.items():
            lines.append(
                f"| {label} | {row['sessions']:,} | {row['kb']:.1f} | {row['seconds']:.1f} |"
            )
    if held:
        lines += [
            "",
            f"Server memory per held connection, {HELD:,} of each transport (KB):",
            "",
            "| transport | " + " | ".join(held) + " |",
            "| --- |" + " ---: |" * len(held),
        ]
        for transport in TRANSPORTS:
            cells = [held[label].get(transport) for label in held]
            lines.append(
                f"| {transport} | "
                + " | ".join("-" if c is None else f"{c:.1f}" for c in cells)
                + " |"
            )
    return "\n".join(lines) + "\n"


def plot(points: list[Point], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (rate_ax, late_ax) = plt.subplots(1, 2, figsize=(10, 3.6))
    for label, *_ in CURVE_KINDS:
        sizes = sorted({p.subscribers for p in points if p.label == label and not p.error})
        if not sizes:
            continue
        rates, p50, low, high = [], [], [], []
        for n in sizes:
            ps = [p for p in points if p.label == label and p.subscribers == n and not p.error]
            rates.append(median([p.rate for p in ps]) / 1000)
            low.append(min(p.rate for p in ps) / 1000)
            high.append(max(p.rate for p in ps) / 1000)
            p50.append(median([p.p50_ms for p in ps]))
        rate_ax.errorbar(
            sizes,
            rates,
            yerr=[
                [r - lo for r, lo in zip(rates, low, strict=True)],
                [h - r for r, h in zip(rates, high, strict=True)],
            ],
            marker="o",
            capsize=3,
            label=label,
        )
        late_ax.plot(sizes, p50, marker="o", label=label)
    rate_ax.set_xscale("log")
    rate_ax.set_ylim(bottom=0)
    rate_ax.set_xlabel("subscribers")
    rate_ax.set_ylabel("thousand deliveries / s")
    rate_ax.set_title("broadcast, 1 in flight", fontsize=9)
    late_ax.set_xscale("log")
    late_ax.set_yscale("log")
    late_ax.set_xlabel("subscribers")
    late_ax.set_ylabel("ms to the last subscriber (median)")
    late_ax.set_title("latency", fontsize=9)
    rate_ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--only", default="", help="curve, idle, transports (comma-separated)")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    args = parser.parse_args()
    if not os.path.exists(LOADGEN):
        sys.exit(f"{LOADGEN} is missing: run `make bench` (it compiles bench/loadgen.c)")
    only = set(filter(None, args.only.split(",")))
    limit = connection_limit()
    points: list[Point] = []
    idle: dict[str, Any] = {}
    held: dict[str, dict[str, float]] = {}
    for run in range(args.runs):
        if not only or "curve" in only:
            shift = run % len(CURVE_KINDS)
            for n in curve_sizes(limit):
                for label, kind, path, sockjs in CURVE_KINDS[shift:] + CURVE_KINDS[:shift]:
                    p = measure_point(label, kind, path, sockjs, n, run, args.warmup, args.seconds)
                    points.append(p)
                    status = p.error or (
                        f"{p.rate:10,.0f} deliveries/s  p50 {p.p50_ms:8.1f} ms  "
                        f"user {p.user_us:.2f} us  kernel {p.system_us:.2f} us"
                    )
                    print(f"run {run + 1}  curve {n:6}  {label:12} {status}", flush=True)
    if not only or "idle" in only:
        for label, kind, path, sockjs in IDLE_KINDS:
            kb, seconds = held_memory(kind, limit, path, sockjs)
            idle[label] = {"sessions": limit, "kb": kb, "seconds": seconds}
            print(f"idle  {label:12} {limit:,} sessions  {kb:.1f} KB each  {seconds:.1f} s")
    if not only or "transports" in only:
        for label in ("fallback", "sockjs-node"):
            held[label] = {}
            for transport in TRANSPORTS:
                stream = None if transport == "websocket" else transport
                kb, _ = held_memory(label, HELD + (1 if stream else 0), "/echo", True, stream)
                held[label][transport] = kb
                print(f"held  {label:12} {transport:14} {kb:.1f} KB each", flush=True)
    table = markdown(points, idle, held, limit)
    raw = {
        "points": [asdict(p) for p in points],
        "idle": idle,
        "held": held,
        "limit": limit,
        "seconds": args.seconds,
    }
    save_results(args.out, "scale", "scale", raw, table)
    if points:
        plot(points, os.path.join(args.out, "scale.png"))
    print()
    print(table)


if __name__ == "__main__":
    main()
