"""`make bench`: fallback's WebSocket engine against plain Tornado, sockjs-tornado and sockjs-node.

Each measurement starts one server (`bench/servers.py`) pinned to core 0 and the C load
generator (`bench/loadgen.c`) pinned to core 1, and records the delivered message rate
and the busy time of both cores: the server's and the load generator's own CPU time,
and each core's total busy time from ``/proc/stat`` (which includes anything else the
machine runs). Every scenario runs against the four servers in the same run, in an
order that rotates between runs, and the tables report the median of the runs.
sockjs-node (npm `sockjs`, the reference SockJS server, `bench/sockjs_node.js`) runs on
Node.js pinned to the same core, all its threads included.

Scenarios (64-byte messages):

* echo -- 100 WebSocket connections, one message in flight each. fallback,
  sockjs-tornado and sockjs-node carry SockJS frames (``["..."]`` in, ``a["..."]`` out);
  plain Tornado echoes the bare message.
* broadcast -- 1000 connections; one of them publishes, every connection (itself too)
  receives; the next message goes out when the last receiver has the previous one.
* burst -- the same with 8 messages in flight.
* stream -- broadcast to 1000 as above, but 999 receivers on xhr_streaming (the publisher
  stays a WebSocket): the HTTP fallback path. SockJS servers only; no target.
* idle memory -- the server's resident memory grows by this much per idle WebSocket
  session (2000 of them, opened and held).
* http -- fan-out over each HTTP transport (xhr_streaming, eventsource, htmlfile, xhr
  polling, jsonp polling): 100 receivers on that transport, the publisher on a WebSocket,
  8 messages in flight; a poll is sent again the moment its answer ends, a stream when it
  reaches the server's response limit, as browsers do. SockJS servers only.
* raw -- without SockJS framing: fallback's ``<prefix>/websocket`` (still a session and a
  `Connection`) against plain Tornado, the websockets library, Node's ``ws`` and the
  asyncio floor (a bare protocol writing one prebuilt frame per message:
  `bench/raw_peers.py`), echo and broadcast with 1 and 8 in flight. Ratios: over node
  ``ws`` and over the floor, per run.

    python bench/run.py [--runs 3] [--seconds 3] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LOADGEN = os.path.join(HERE, ".build", "loadgen")
KINDS = ("fallback", "tornado", "sockjs-tornado", "sockjs-node")
LABELS = {
    "fallback": "fallback",
    "tornado": "plain Tornado",
    "sockjs-tornado": "sockjs-tornado",
    "sockjs-node": "sockjs-node",
}
SOCKJS_NODE = os.path.join(HERE, "sockjs_node.js")
WS_NODE = os.path.join(HERE, "ws_node.js")
#: The raw-WebSocket comparison: fallback's unframed endpoint and its peers.
RAW_KINDS = ("fallback", "tornado", "websockets", "node-ws", "floor")
RAW_LABELS = {"websockets": "websockets", "node-ws": "node ws", "floor": "asyncio floor"}
SERVER_CORE = "0"
LOADGEN_CORE = "1"
#: The machine is shared. Linux schedules by autogroup (one per session), so a plain
#: ``nice`` does not help against other sessions: each benchmark process gets a session
#: of its own and that autogroup a higher priority (root only; otherwise it stays at 0).
AUTOGROUP_NICE = "-10"


def prioritize(pid: int) -> None:
    try:
        with open(f"/proc/{pid}/autogroup", "w") as f:
            f.write(AUTOGROUP_NICE)
    except OSError:
        pass


CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    mode: str
    path: str
    conns: int
    inflight: int
    #: (kind, target ratio of fallback over kind), or None for no target.
    target: tuple[str, float] | None


SCENARIOS = (
    Scenario(
        "echo", "SockJS echo, 100 conns, 1 in flight", "echo", "/echo", 100, 1, ("tornado", 2.5)
    ),
    Scenario(
        "broadcast",
        "broadcast to 1000, 1 in flight",
        "broadcast",
        "/broadcast",
        1000,
        1,
        ("tornado", 3.0),
    ),
    Scenario(
        "burst",
        "broadcast to 1000, 8 in flight",
        "broadcast",
        "/broadcast",
        1000,
        8,
        ("sockjs-tornado", 6.0),
    ),
)
#: The HTTP streaming fan-out: (scenario, the loadgen option that makes it), SockJS only.
STREAM = Scenario(
    "stream",
    "xhr-streaming broadcast to 1000, 1 in flight",
    "broadcast",
    "/broadcast",
    1000,
    1,
    None,
)
STREAM_OPTIONS = ["--stream", "xhr_streaming"]
HTTP_TRANSPORTS = ("xhr_streaming", "eventsource", "htmlfile", "xhr", "jsonp")
HTTP_FANOUT = tuple(
    Scenario(
        f"http-{t}", f"{t} fan-out to 100, 8 in flight", "broadcast", "/broadcast", 101, 8, None
    )
    for t in HTTP_TRANSPORTS
)
STREAM_KINDS = ("fallback", "sockjs-tornado", "sockjs-node")
RAW_SCENARIOS = (
    Scenario("raw-echo", "raw echo, 100 conns, 1 in flight", "echo", "/echo", 100, 1, None),
    Scenario(
        "raw-broadcast",
        "raw broadcast to 1000, 1 in flight",
        "broadcast",
        "/broadcast",
        1000,
        1,
        None,
    ),
    Scenario(
        "raw-burst", "raw broadcast to 1000, 8 in flight", "broadcast", "/broadcast", 1000, 8, None
    ),
)
IDLE_CONNS = 2000
MEMORY_TARGET_KB = 10.0


@dataclass
class Measurement:
    scenario: str
    kind: str
    run: int
    rate: float = 0.0
    server_cpu: float = 0.0  # share of the server core the server used (0-1)
    loadgen_cpu: float = 0.0
    core_busy: dict[str, float] = field(default_factory=dict)  # cpu0/cpu1 total busy share
    error: str = ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_times(pid: int) -> tuple[float, float]:
    """(user, kernel) CPU seconds of process `pid` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def process_cpu(pid: int) -> float:
    return sum(process_times(pid))


def core_times() -> dict[str, tuple[float, float]]:
    """(busy, total) jiffies for each CPU."""
    result = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                name, *values = line.split()
                numbers = [int(v) for v in values[:8]]
                idle = numbers[3] + numbers[4]
                result[name] = (sum(numbers) - idle, sum(numbers))
    return result


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Server:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.port = free_port()
        if kind == "sockjs-node":
            command = ["node", SOCKJS_NODE]
        elif kind == "node-ws":
            command = ["node", WS_NODE]
        elif kind in ("websockets", "floor"):
            command = [sys.executable, os.path.join(HERE, "raw_peers.py"), kind]
        else:
            command = [sys.executable, os.path.join(HERE, "servers.py"), kind]
        self.proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CORE, *command, str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            start_new_session=True,
        )
        prioritize(self.proc.pid)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "listening":
            raise RuntimeError(f"{kind} did not start: {line}{self.proc.stderr.read()}")  # type: ignore[union-attr]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def loadgen(args: list[str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        ["taskset", "-c", LOADGEN_CORE, LOADGEN, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    prioritize(proc.pid)
    return proc


def measure(
    scenario: Scenario, kind: str, run: int, warmup: float, seconds: float, *, raw: bool = False
) -> Measurement:
    """One server, one load: `raw` echoes over fallback's unframed ``<prefix>/websocket``;
    the raw scenarios speak bare WebSocket to every server."""
    peer = scenario in RAW_SCENARIOS
    result = Measurement("rawecho" if raw else scenario.name, kind, run)
    sockjs = kind != "tornado" and not raw and not peer
    path = scenario.path + "/websocket" if raw or (peer and kind == "fallback") else scenario.path
    server = Server(kind)
    try:
        gen = loadgen(
            [
                scenario.mode,
                str(server.port),
                path,
                str(scenario.conns),
                str(scenario.inflight),
                str(warmup),
                str(seconds),
                "64",
                "1" if sockjs else "0",
                *(STREAM_OPTIONS if scenario is STREAM else []),
                *(["--stream", scenario.name[5:]] if scenario in HTTP_FANOUT else []),
            ]
        )
        assert gen.stdout is not None
        line = gen.stdout.readline()
        if line.strip() != "measuring":
            gen.wait()
            result.error = (line + gen.stderr.read()).strip()  # type: ignore[union-attr]
            return result
        cpu0, cores0, gen_cpu0 = process_cpu(server.proc.pid), core_times(), process_cpu(gen.pid)
        t0 = time.monotonic()
        line = gen.stdout.readline()
        cpu1, cores1 = process_cpu(server.proc.pid), core_times()
        elapsed = time.monotonic() - t0
        gen.wait(timeout=30)
        if not line.startswith("{"):
            result.error = (line + gen.stderr.read()).strip()  # type: ignore[union-attr]
            return result
        data = json.loads(line)
        result.rate = data["rate"]
        result.server_cpu = (cpu1 - cpu0) / elapsed
        result.loadgen_cpu = data["cpu"] / data["seconds"]
        del gen_cpu0
        for name in ("cpu" + SERVER_CORE, "cpu" + LOADGEN_CORE):
            busy = cores1[name][0] - cores0[name][0]
            total = cores1[name][1] - cores0[name][1]
            result.core_busy[name] = busy / total if total else 0.0
    finally:
        server.stop()
    return result


def measure_memory(kind: str, conns: int) -> float:
    """KB of server RSS per idle WebSocket session."""
    return held_memory(kind, conns, "/echo", kind != "tornado")[0]


def held_memory(
    kind: str, conns: int, path: str, sockjs: bool, stream: str | None = None
) -> tuple[float, float]:
    """(KB of server RSS per held connection, seconds they took to open): `conns` idle
    connections to `path`; with `stream`, all but the first hold a request of that HTTP
    transport (a poll waiting for a message, or an open stream)."""
    server = Server(kind)
    try:
        extra = ["--stream", stream] if stream else []
        flag = "1" if sockjs else "0"
        # One connection first, so that lazily imported code and first allocations are
        # part of the baseline, not of the per-session cost.
        warm = loadgen(["idle", str(server.port), path, "2", "1", "0", "0", "64", flag, *extra])
        assert warm.stdout is not None and warm.stdin is not None
        if warm.stdout.readline().strip() != "ready":
            raise RuntimeError(warm.stderr.read())  # type: ignore[union-attr]
        time.sleep(0.3)
        before = rss_kb(server.proc.pid)
        started = time.monotonic()
        main = ["idle", str(server.port), path, str(conns), "1", "0", "0", "64", flag]
        gen = loadgen([*main, *extra, "--first-id", "10"])
        assert gen.stdout is not None and gen.stdin is not None
        if gen.stdout.readline().strip() != "ready":
            raise RuntimeError(gen.stderr.read())  # type: ignore[union-attr]
        opened = time.monotonic() - started
        time.sleep(0.5)  # let the server finish what the last handshakes started
        after = rss_kb(server.proc.pid)
        for proc in (gen, warm):
            proc.stdin.close()  # type: ignore[union-attr]
            proc.wait(timeout=30)
        return (after - before) / conns, opened
    finally:
        server.stop()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def summarize(measurements: list[Measurement], memory: dict[str, list[float]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"scenarios": {}, "memory_kb": {}}
    for scenario in SCENARIOS:
        rows = {}
        for kind in KINDS:
            ms = [
                m
                for m in measurements
                if m.scenario == scenario.name and m.kind == kind and not m.error
            ]
            rows[kind] = {
                "rate": median([m.rate for m in ms]),
                # the spread of the runs (single runs scatter by 2x on a busy machine)
                "min": min((m.rate for m in ms), default=0.0),
                "max": max((m.rate for m in ms), default=0.0),
                "server_cpu": median([m.server_cpu for m in ms]),
                "loadgen_cpu": median([m.loadgen_cpu for m in ms]),
                "core0_busy": median([m.core_busy.get("cpu0", 0) for m in ms]),
                "core1_busy": median([m.core_busy.get("cpu1", 0) for m in ms]),
                "runs": len(ms),
            }
        # Ratios are taken per run (same run, same machine state), then the median.
        ratios = {}
        for kind in KINDS[1:]:
            per_run = []
            for run in {m.run for m in measurements}:
                ours = [
                    m.rate
                    for m in measurements
                    if m.scenario == scenario.name
                    and m.kind == "fallback"
                    and m.run == run
                    and not m.error
                ]
                theirs = [
                    m.rate
                    for m in measurements
                    if m.scenario == scenario.name
                    and m.kind == kind
                    and m.run == run
                    and not m.error
                ]
                if ours and theirs and theirs[0]:
                    per_run.append(ours[0] / theirs[0])
            ratios[kind] = median(per_run)
        summary["scenarios"][scenario.name] = {"rows": rows, "ratios": ratios}
    for kind, values in memory.items():
        summary["memory_kb"][kind] = median(values)
    streamed = [m for m in measurements if m.scenario == STREAM.name and not m.error]
    if streamed:
        rates = {k: median([m.rate for m in streamed if m.kind == k]) for k in STREAM_KINDS}
        ratios = {}
        for kind in STREAM_KINDS[1:]:
            per_run = []
            for m in streamed:
                if m.kind != "fallback":
                    continue
                theirs = [t.rate for t in streamed if t.kind == kind and t.run == m.run]
                if theirs and theirs[0]:
                    per_run.append(m.rate / theirs[0])
            ratios[kind] = median(per_run)
        summary["stream"] = {"rates": rates, "ratios": ratios}
    http = compare(measurements, HTTP_FANOUT, STREAM_KINDS, STREAM_KINDS[1:])
    if http:
        summary["http"] = http
    peers = compare(measurements, RAW_SCENARIOS, RAW_KINDS, ("node-ws", "floor"))
    if peers:
        summary["raw"] = peers
    raw = [m for m in measurements if m.scenario == "rawecho" and not m.error]
    if raw:
        ratios = []
        for m in raw:
            base = [
                t.rate
                for t in measurements
                if t.scenario == "echo" and t.kind == "tornado" and t.run == m.run and not t.error
            ]
            if base and base[0]:
                ratios.append(m.rate / base[0])
        summary["rawecho"] = {"rate": median([m.rate for m in raw]), "ratio": median(ratios)}
    return summary


def compare(
    measurements: list[Measurement],
    scenarios: tuple[Scenario, ...],
    kinds: tuple[str, ...],
    others: tuple[str, ...],
) -> dict[str, Any]:
    """Per scenario: each kind's median, lowest and highest rate, and fallback's ratio
    over each of `others`, taken per run (same run, same machine state), then the median."""
    found: dict[str, Any] = {}
    for scenario in scenarios:
        done = [m for m in measurements if m.scenario == scenario.name and not m.error]
        if not done:
            continue
        rows = {}
        for kind in kinds:
            rates = [m.rate for m in done if m.kind == kind]
            if rates:
                rows[kind] = {"rate": median(rates), "min": min(rates), "max": max(rates)}
        ratios = {}
        for other in others:
            per_run = []
            for m in done:
                theirs = [t.rate for t in done if t.kind == other and t.run == m.run]
                if m.kind == "fallback" and theirs and theirs[0]:
                    per_run.append(m.rate / theirs[0])
            ratios[other] = median(per_run)
        found[scenario.name] = {"rows": rows, "ratios": ratios}
    return found


def comparison_table(
    title: str,
    scenarios: tuple[Scenario, ...],
    data: dict[str, Any],
    kinds: tuple[str, ...],
    others: tuple[str, ...],
) -> list[str]:
    """`compare`'s result as Markdown: a row per scenario, medians with their spread."""
    names = [LABELS.get(k) or RAW_LABELS[k] for k in (*kinds, *others)]
    lines = [
        "",
        f"| {title} | "
        + " | ".join(names[: len(kinds)])
        + " | "
        + " | ".join(f"vs {n}" for n in names[len(kinds) :])
        + " |",
        "| --- |" + " ---: |" * (len(kinds) + len(others)),
    ]
    for scenario in scenarios:
        found = data.get(scenario.name)
        if not found:
            continue
        cells = []
        for kind in kinds:
            row = found["rows"].get(kind)
            spread = f" ({row['min'] / 1000:,.0f}k-{row['max'] / 1000:,.0f}k)" if row else ""
            cells.append(f"{row['rate']:,.0f}{spread}" if row else "-")
        ratios = [f"{found['ratios'][other]:.2f}x" for other in others]
        lines.append(f"| {scenario.title} | " + " | ".join(cells + ratios) + " |")
    return lines


def markdown(summary: dict[str, Any], runs: int, seconds: float) -> str:
    lines = [
        f"Median of {runs} runs, {seconds:g} s each; server on core {SERVER_CORE}, C load "
        f"generator on core {LOADGEN_CORE}; 64-byte messages. Ratios are fallback's rate over "
        "the other server's in the same run (median over runs); in brackets, the lowest and "
        "highest run.",
        "",
        "| scenario | fallback | plain Tornado | sockjs-tornado | sockjs-node | target | ratio "
        "| met | vs sockjs-node |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: | :---: | ---: |",
    ]
    for scenario in SCENARIOS:
        data = summary["scenarios"][scenario.name]
        rows, ratios = data["rows"], data["ratios"]
        assert scenario.target is not None
        kind, goal = scenario.target
        ratio = ratios[kind]

        def cell(kind: str, rows: dict[str, Any] = rows) -> str:
            row = rows[kind]
            spread = (
                f" ({row['min'] / 1000:,.0f}k-{row['max'] / 1000:,.0f}k)" if "min" in row else ""
            )
            return f"{row['rate']:,.0f}{spread}"

        lines.append(
            f"| {scenario.title} (msg/s) | {cell('fallback')} | {cell('tornado')} | "
            f"{cell('sockjs-tornado')} | {cell('sockjs-node')} | "
            f">= {goal:g}x {LABELS[kind]} | {ratio:.2f}x | "
            f"{'yes' if ratio >= goal else 'no'} | {ratios['sockjs-node']:.2f}x |"
        )
    mem = summary["memory_kb"]
    if mem:
        ours = mem.get("fallback", 0.0)
        lines.append(
            f"| memory per idle WebSocket session (KB) | {ours:.1f} | "
            f"{mem.get('tornado', 0):.1f} | {mem.get('sockjs-tornado', 0):.1f} | "
            f"{mem.get('sockjs-node', 0):.1f} | <= {MEMORY_TARGET_KB:g} KB | - | "
            f"{'yes' if ours <= MEMORY_TARGET_KB else 'no'} | - |"
        )
    raw = summary.get("rawecho")
    if raw:
        lines += [
            "",
            f"Without SockJS framing (fallback's raw `<prefix>/websocket`, still a session and "
            f"a `Connection`), the same echo runs at {raw['rate']:,.0f} msg/s, "
            f"{raw['ratio']:.2f}x plain Tornado in the same runs.",
        ]
    http = summary.get("http")
    if http:
        lines += comparison_table(
            "HTTP fan-out, deliveries/s", HTTP_FANOUT, http, STREAM_KINDS, STREAM_KINDS[1:]
        )
    peers = summary.get("raw")
    if peers:
        lines += comparison_table(
            "without SockJS framing (msg/s)", RAW_SCENARIOS, peers, RAW_KINDS, ("node-ws", "floor")
        )
    stream = summary.get("stream")
    if stream:
        rates, ratios = stream["rates"], stream["ratios"]
        lines += [
            "",
            f"| {STREAM.title} (msg/s) | fallback | sockjs-tornado | sockjs-node | "
            "vs sockjs-tornado | vs sockjs-node |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
            f"| deliveries/s | {rates['fallback']:,.0f} | {rates['sockjs-tornado']:,.0f} | "
            f"{rates['sockjs-node']:,.0f} | {ratios['sockjs-tornado']:.2f}x | "
            f"{ratios['sockjs-node']:.2f}x |",
        ]
    lines += [
        "",
        "Busy time of both cores (median share of the measurement interval): the server "
        "process on its core, the load generator on its core, and each core's total (which "
        "includes whatever else the machine was running).",
        "",
        "| scenario | server | server proc | loadgen proc | core 0 total | core 1 total |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for scenario in SCENARIOS:
        rows = summary["scenarios"][scenario.name]["rows"]
        for kind in KINDS:
            r = rows[kind]
            if not r["runs"]:
                continue  # not measured in this run (--only)
            lines.append(
                f"| {scenario.name} | {LABELS[kind]} | {r['server_cpu']:.0%} | "
                f"{r['loadgen_cpu']:.0%} | {r['core0_busy']:.0%} | {r['core1_busy']:.0%} |"
            )
    return "\n".join(lines) + "\n"


def plot(summary: dict[str, Any], path: str) -> None:
    """One panel per scenario (each on its own scale) and one for memory."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {
        "fallback": "#2b6cb0",
        "tornado": "#a0aec0",
        "sockjs-tornado": "#ed8936",
        "sockjs-node": "#38a169",
    }
    labels = [LABELS[k].replace(" ", "\n").replace("-", "-\n") for k in KINDS]
    fig, axes = plt.subplots(1, len(SCENARIOS) + 1, figsize=(15, 3.9))
    for ax, scenario in zip(axes, SCENARIOS, strict=False):
        data = summary["scenarios"][scenario.name]
        rows = data["rows"]
        rates = [rows[k]["rate"] / 1000 for k in KINDS]
        # Bars are medians; the whiskers span every run's result (min to max).
        spread = [
            [
                max(0.0, r - rows[k].get("min", r * 1000) / 1000)
                for r, k in zip(rates, KINDS, strict=True)
            ],
            [
                max(0.0, rows[k].get("max", r * 1000) / 1000 - r)
                for r, k in zip(rates, KINDS, strict=True)
            ],
        ]
        ax.bar(labels, rates, color=[colors[k] for k in KINDS], yerr=spread, capsize=3)
        assert scenario.target is not None
        kind, goal = scenario.target
        base = data["rows"][kind]["rate"] / 1000
        ax.axhline(base * goal, color="#c53030", linestyle="--", linewidth=1)
        ax.annotate(
            f"target {goal:g}x {LABELS[kind]}",
            (len(KINDS) - 0.55, base * goal),
            ha="right",
            va="bottom",
            fontsize=7,
            color="#c53030",
        )
        ax.annotate(
            f"{data['ratios'][kind]:.2f}x",
            (0, rates[0]),
            ha="center",
            va="bottom",
            fontsize=9,
            fontweight="bold",
        )
        ax.set_title(scenario.title, fontsize=9)
        ax.set_ylabel("thousand messages / s", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        ax.set_ylim(0, max(max(rates), base * goal) * 1.15)
    mx = axes[-1]
    mem = summary["memory_kb"]
    mx.bar(labels, [mem.get(k, 0) for k in KINDS], color=[colors[k] for k in KINDS])
    mx.axhline(MEMORY_TARGET_KB, color="#c53030", linestyle="--", linewidth=1)
    mx.annotate(
        f"target {MEMORY_TARGET_KB:g} KB",
        (len(KINDS) - 0.55, MEMORY_TARGET_KB),
        ha="right",
        va="bottom",
        fontsize=7,
        color="#c53030",
    )
    mx.set_title("memory per idle WebSocket session", fontsize=9)
    mx.set_ylabel("KB", fontsize=8)
    mx.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def save_results(
    out: str, raw_prefix: str, table_name: str, raw: dict[str, Any], table: str
) -> None:
    """Keep every run's raw numbers (under raw/, not committed) beside the table the
    README shows."""
    os.makedirs(os.path.join(out, "raw"), exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with open(os.path.join(out, "raw", f"{raw_prefix}-{stamp}.json"), "w") as f:
        json.dump(raw, f, indent=1)
    with open(os.path.join(out, f"{table_name}.md"), "w") as f:
        f.write(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--idle", type=int, default=IDLE_CONNS)
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument(
        "--replot", default="", help="redraw table and plot from raw JSON files (comma-separated)"
    )
    args = parser.parse_args()
    if args.replot:
        # Several raw files merge: the same run number in each is the same run (a later
        # session measuring one scenario alone, say), and the summary is computed anew.
        merged: list[Measurement] = []
        memory_kb: dict[str, list[float]] = {kind: [] for kind in KINDS}
        seconds = 3.0
        for name in args.replot.split(","):
            with open(name) as f:
                raw = json.load(f)
            merged += [Measurement(**m) for m in raw["measurements"]]
            for kind, values in raw.get("memory", {}).items():
                memory_kb.setdefault(kind, []).extend(values)
            seconds = raw.get("seconds", seconds)
        summary = summarize(merged, {k: v for k, v in memory_kb.items() if v})
        runs = len({m.run for m in merged})
        with open(os.path.join(args.out, "results.md"), "w") as f:
            f.write(markdown(summary, runs, seconds))
        plot(summary, os.path.join(args.out, "results.png"))
        return
    if not os.path.exists(LOADGEN):
        sys.exit(f"{LOADGEN} is missing: run `make bench` (it compiles bench/loadgen.c)")
    only = set(filter(None, args.only.split(",")))
    measurements: list[Measurement] = []

    def record(scenario: Scenario, kind: str, run: int, width: int, kind_width: int) -> None:
        """Measure one scenario on one server, keep it and print a line."""
        m = measure(scenario, kind, run, args.warmup, args.seconds)
        measurements.append(m)
        status = m.error or (
            f"{m.rate:10,.0f} msg/s  server {m.server_cpu:4.0%}  loadgen {m.loadgen_cpu:4.0%}"
        )
        print(f"run {run + 1}  {scenario.name:{width}} {kind:{kind_width}} {status}", flush=True)

    memory: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for run in range(args.runs):
        shift = run % len(KINDS)
        order = KINDS[shift:] + KINDS[:shift]
        for scenario in SCENARIOS:
            if only and scenario.name not in only:
                continue
            for kind in order:
                record(scenario, kind, run, 9, 14)
            if scenario.name == "echo":
                m = measure(scenario, "fallback", run, args.warmup, args.seconds, raw=True)
                measurements.append(m)
                status = m.error or f"{m.rate:10,.0f} msg/s  server {m.server_cpu:4.0%}"
                print(f"run {run + 1}  raw echo  fallback       {status}", flush=True)
        if not only or STREAM.name in only:
            for kind in order:
                if kind not in STREAM_KINDS:
                    continue
                record(STREAM, kind, run, 9, 14)
        if not only or "http" in only:
            for scenario in HTTP_FANOUT:
                for kind in order:
                    if kind not in STREAM_KINDS:
                        continue
                    record(scenario, kind, run, 18, 14)
        if not only or "raw" in only:
            shift = run % len(RAW_KINDS)
            for scenario in RAW_SCENARIOS:
                for kind in RAW_KINDS[shift:] + RAW_KINDS[:shift]:
                    record(scenario, kind, run, 13, 10)
        if not only or "memory" in only:
            for kind in order:
                kb = measure_memory(kind, args.idle)
                memory[kind].append(kb)
                print(f"run {run + 1}  memory    {kind:14} {kb:6.1f} KB/session", flush=True)
    summary = summarize(measurements, {k: v for k, v in memory.items() if v})
    raw = {
        "measurements": [asdict(m) for m in measurements],
        "memory": memory,
        "seconds": args.seconds,
        "summary": summary,
    }
    table = markdown(summary, args.runs, args.seconds)
    save_results(args.out, "bench", "results", raw, table)
    plot(summary, os.path.join(args.out, "results.png"))
    print()
    print(table)


if __name__ == "__main__":
    main()
