"""`make bench`, second part: fan-out through channels, on one process and on two joined by Redis.

Every measurement has 1000 WebSocket subscribers (SockJS framing, held by the C load
generator `bench/loadgen.c`) in one channel, and counts deliveries per second: messages
received by all subscribers together. The publisher keeps INFLIGHT messages pending; the
next goes out when one has reached every subscriber.

* channel -- `python -m fallback serve bench.fanout_app:Subscriber`: every connection
  joins the channel when it opens, and whatever one sends the application publishes with
  ``channels.publish``; connection 0 is the publisher (and a subscriber too).
* history -- the channel app with history on for its channel (``FANOUT_HISTORY=1``: the
  last 1000 publications for 10 minutes; every publication gets a position, and on Redis
  goes through one Lua script that appends it to the channel's stream and publishes it);
* api -- `python -m fallback serve --config` with one tenant: subscribers send the
  envelope ``{"v":1,"op":"subscribe","channel":"news"}`` and wait for its ``ok``; the
  publisher is the backend HTTP API, ``POST /bench/api/publish`` on one keep-alive
  connection to the first process.

Each runs on ONE process (in-memory broker, all 1000 subscribers) and across TWO processes
joined by a real ``redis-server`` (500 subscribers on each; the publisher on the first).
Placement on the 2-core machine: one process on core 0 with the load generator on core 1;
two processes on cores 0 and 1, the load generator and redis-server free to run on either
(so they share the servers' cores). Both layouts use both cores, and only two: the table
also gives the servers' CPU time per delivery, which says what more cores would give.

    python bench/fanout.py [--runs 3] [--seconds 3] [--out bench/results]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from run import (
    HERE,
    LOADGEN,
    ROOT,
    core_times,
    free_port,
    median,
    prioritize,
    process_cpu,
    save_results,
)

SUBSCRIBERS = 1000
SIZE = 64
CHANNEL_PREFIX = "/fanout"
TENANT_PREFIX = "/bench"
API_KEY = "bench-api-key-0123456789"
SUBSCRIBE = '{"v":1,"op":"subscribe","id":1,"channel":"news"}'
CONFIG = f"""
[tenants.bench]
prefix = "{TENANT_PREFIX}"
secret = "bench-secret-0123456789"
api_key = "{API_KEY}"
"""
#: Cores of the server processes (first, second), of the load generator and of redis-server.
#: With two processes nothing is left for the load generator: it may run on either core,
#: where a server is waiting. Pinned beside the second server it measured 0-25 % lower
#: (two sessions); beside the first, the HTTP API with 8 in flight lost half, as that
#: server is its bottleneck there.
ONE_PROCESS = {"servers": ("0",), "loadgen": "1"}
TWO_PROCESSES = {"servers": ("0", "1"), "loadgen": "0,1", "redis": "0,1"}


@dataclass(frozen=True)
class Scenario:
    name: str
    app: str  # "channel" or "api"
    processes: int
    inflight: int

    @property
    def group(self) -> str:
        return f"{self.app}-{self.inflight}"


def scenario_name(group: str, processes: int) -> str:
    app, inflight = group.rsplit("-", 1)
    return f"{app}-{processes}p-{inflight}"


SCENARIOS = tuple(
    Scenario(f"{app}-{processes}p-{inflight}", app, processes, inflight)
    for app in ("channel", "history", "api")
    for inflight in (1, 8)
    for processes in (1, 2)
)
GROUP_TITLES = {
    "channel-1": "channels.publish to 1000, 1 in flight",
    "channel-8": "channels.publish to 1000, 8 in flight",
    "history-1": "channels.publish with history, 1 in flight",
    "history-8": "channels.publish with history, 8 in flight",
    "api-1": "HTTP API publish to 1000, 1 in flight",
    "api-8": "HTTP API publish to 1000, 8 in flight",
}


@dataclass
class Measurement:
    scenario: str
    run: int
    rate: float = 0.0
    published: float = 0.0  # publishes per second
    server_cpu: list[float] = field(default_factory=list)  # share of a core, per process
    loadgen_cpu: float = 0.0
    redis_cpu: float = 0.0
    core_busy: dict[str, float] = field(default_factory=dict)
    error: str = ""


class Redis:
    """redis-server on a free port, no persistence, for the whole benchmark."""

    def __init__(self, workdir: str) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            sys.exit("redis-server is not installed (make bench installs it: make system-deps)")
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                "taskset",
                "-c",
                TWO_PROCESSES["redis"],
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                workdir,
                "--protected-mode",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        prioritize(self.proc.pid)
        wait_for(self._pong, "redis-server")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _pong(self) -> bool:
        import socket

        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def wait_for(check: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start within {timeout:g} s")


class Server:
    """One `python -m fallback serve` process pinned to `core`."""

    def __init__(self, app: str, core: str, broker: str | None, config: str) -> None:
        self.port = free_port()
        env = dict(os.environ, PYTHONPATH=ROOT)
        if app in ("channel", "history"):
            env["FANOUT_HISTORY"] = "1" if app == "history" else ""
            self.prefix = CHANNEL_PREFIX
            args = ["bench.fanout_app:Subscriber", "--prefix", CHANNEL_PREFIX]
        else:
            self.prefix = TENANT_PREFIX
            args = ["--config", config]
        args += ["--port", str(self.port), "--log-level", "WARNING"]
        if broker:
            args += ["--broker", broker]
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            ["taskset", "-c", core, sys.executable, "-m", "fallback", "serve", *args],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        prioritize(self.proc.pid)
        try:
            wait_for(self._answers, f"server on port {self.port}")
        except RuntimeError as error:
            raise RuntimeError(f"{error}: {self.stop()}") from None

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"exited with {self.proc.returncode}")
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
        try:
            connection.request("GET", self.prefix + "/info")
            return connection.getresponse().status == 200
        finally:
            connection.close()

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-2000:]

    def stop(self) -> str:
        """Stop the server; returns what it logged (WARNING and above) if anything."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        logged = self.output()
        self.log.close()
        return logged


def measure(
    scenario: Scenario, run: int, warmup: float, seconds: float, redis: Redis, config: str
) -> Measurement:
    result = Measurement(scenario.name, run)
    layout = ONE_PROCESS if scenario.processes == 1 else TWO_PROCESSES
    broker = redis.url if scenario.processes == 2 else None
    servers: list[Server] = []
    gen: subprocess.Popen[str] | None = None
    try:
        for core in layout["servers"]:
            servers.append(Server(scenario.app, core, broker, config))
        ports = ",".join(str(s.port) for s in servers)
        args = [
            "broadcast",
            ports,
            servers[0].prefix,
            str(SUBSCRIBERS),
            str(scenario.inflight),
            str(warmup),
            str(seconds),
            str(SIZE),
            "1",
            "--skip",
            "1",
        ]
        if scenario.app == "api":
            args += [
                "--hello",
                SUBSCRIBE,
                "--http-publish",
                f"{servers[0].port},{TENANT_PREFIX}/api/publish,{API_KEY},news",
            ]
        gen = subprocess.Popen(
            ["taskset", "-c", layout["loadgen"], LOADGEN, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        prioritize(gen.pid)
        assert gen.stdout is not None and gen.stderr is not None
        line = gen.stdout.readline()
        if line.strip() != "measuring":
            gen.wait(timeout=30)
            result.error = (line + gen.stderr.read()).strip()
            return result
        pids = [s.proc.pid for s in servers]
        cpu0 = [process_cpu(pid) for pid in pids]
        redis0 = process_cpu(redis.proc.pid)
        cores0 = core_times()
        t0 = time.monotonic()
        line = gen.stdout.readline()
        elapsed = time.monotonic() - t0
        cpu1 = [process_cpu(pid) for pid in pids]
        redis1 = process_cpu(redis.proc.pid)
        cores1 = core_times()
        gen.wait(timeout=30)
        if not line.startswith("{"):
            result.error = (line + gen.stderr.read()).strip()
            return result
        data = json.loads(line)
        result.rate = data["rate"]
        result.published = data["published"] / data["seconds"]
        result.server_cpu = [(b - a) / elapsed for a, b in zip(cpu0, cpu1, strict=True)]
        result.loadgen_cpu = data["cpu"] / data["seconds"]
        result.redis_cpu = (redis1 - redis0) / elapsed if scenario.processes == 2 else 0.0
        for name in ("cpu0", "cpu1"):
            busy = cores1[name][0] - cores0[name][0]
            total = cores1[name][1] - cores0[name][1]
            result.core_busy[name] = busy / total if total else 0.0
    except RuntimeError as error:
        result.error = str(error)
    finally:
        if gen is not None and gen.poll() is None:
            gen.kill()
            gen.wait()
        for server in servers:
            logged = server.stop()
            if logged.strip():
                print(f"server on port {server.port} logged:\n{logged}", file=sys.stderr)
    return result


def summarize(measurements: list[Measurement]) -> dict[str, Any]:
    summary: dict[str, Any] = {"scenarios": {}, "ratios": {}}
    for scenario in SCENARIOS:
        ms = [m for m in measurements if m.scenario == scenario.name and not m.error]
        rates = [m.rate for m in ms]
        summary["scenarios"][scenario.name] = {
            "rate": median(rates),
            "min": min(rates, default=0.0),
            "max": max(rates, default=0.0),
            "published": median([m.published for m in ms]),
            "cpu_us": median([sum(m.server_cpu) / m.rate * 1e6 for m in ms if m.rate]),
            "server_cpu": [median([m.server_cpu[i] for m in ms]) for i in range(scenario.processes)]
            if ms
            else [],
            "loadgen_cpu": median([m.loadgen_cpu for m in ms]),
            "redis_cpu": median([m.redis_cpu for m in ms]),
            "core0_busy": median([m.core_busy.get("cpu0", 0) for m in ms]),
            "core1_busy": median([m.core_busy.get("cpu1", 0) for m in ms]),
            "runs": len(ms),
        }
    # History on over off, per run, then the median.
    summary["history"] = {}
    for inflight in (1, 8):
        for processes in (1, 2):
            per_run = []
            for run in sorted({m.run for m in measurements}):
                off, on = (
                    next(
                        (
                            m.rate
                            for m in measurements
                            if m.scenario == scenario_name(f"{app}-{inflight}", processes)
                            and m.run == run
                            and not m.error
                        ),
                        0.0,
                    )
                    for app in ("channel", "history")
                )
                if off and on:
                    per_run.append(on / off)
            summary["history"][f"{inflight}-{processes}"] = {
                "median": median(per_run),
                "min": min(per_run, default=0.0),
                "max": max(per_run, default=0.0),
            }
    # Two processes over one, per run (same run, same machine state), then the median.
    for group in GROUP_TITLES:
        per_run = []
        for run in sorted({m.run for m in measurements}):
            one, two = (
                next(
                    (
                        m.rate
                        for m in measurements
                        if m.scenario == scenario_name(group, p) and m.run == run and not m.error
                    ),
                    0.0,
                )
                for p in (1, 2)
            )
            if one and two:
                per_run.append(two / one)
        summary["ratios"][group] = {
            "median": median(per_run),
            "min": min(per_run, default=0.0),
            "max": max(per_run, default=0.0),
        }
    return summary


def markdown(summary: dict[str, Any], runs: int, seconds: float) -> str:
    lines = [
        f"Fan-out to {SUBSCRIBERS} WebSocket subscribers (SockJS framing) of one channel, "
        f"{SIZE}-byte messages; deliveries per second (messages received by all subscribers "
        f"together), median of {runs} runs of {seconds:g} s. One process: the server on "
        "core 0 (in-memory broker), the C load generator on core 1. Two processes: joined "
        "by redis-server, 500 subscribers on each, the publisher on the first; servers on "
        "cores 0 and 1, the load generator and redis-server free to run on either (sharing "
        "the servers' cores). The ratio is two processes over one in the same run (median, "
        "and the range over runs). CPU per delivery is the servers' CPU time (all server "
        "processes) over the deliveries, in microseconds.",
        "",
        "| scenario | 1 process (deliveries/s) | 2 processes + Redis (deliveries/s) | "
        "2 / 1 | range of 2 / 1 | CPU per delivery, 1 / 2 processes |",
        "| --- | ---: | ---: | ---: | :---: | :---: |",
    ]
    for group, title in GROUP_TITLES.items():
        one = summary["scenarios"][scenario_name(group, 1)]
        two = summary["scenarios"][scenario_name(group, 2)]
        ratio = summary["ratios"][group]
        lines.append(
            f"| {title} | {one['rate']:,.0f} | {two['rate']:,.0f} | {ratio['median']:.2f}x | "
            f"{ratio['min']:.2f}-{ratio['max']:.2f}x | {one['cpu_us']:.1f} / "
            f"{two['cpu_us']:.1f} µs |"
        )
    lines += ["", *history_table(summary)]
    lines += [
        "",
        "Busy time (median share of the measurement interval): each server process, the "
        "load generator, redis-server, and each core's total (which includes whatever else "
        "the machine was running). Publishes/s is deliveries/s over 1000.",
        "",
        "| scenario | publishes/s | server 1 | server 2 | loadgen | redis | core 0 total | "
        "core 1 total | rate range |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |",
    ]
    for scenario in SCENARIOS:
        s = summary["scenarios"][scenario.name]
        cpu = s["server_cpu"] + [None] * (2 - len(s["server_cpu"]))
        lines.append(
            f"| {scenario.name} | {s['published']:,.0f} | "
            + " | ".join("-" if c is None else f"{c:.0%}" for c in cpu)
            + f" | {s['loadgen_cpu']:.0%} | "
            + ("-" if scenario.processes == 1 else f"{s['redis_cpu']:.0%}")
            + f" | {s['core0_busy']:.0%} | {s['core1_busy']:.0%} | "
            f"{s['min'] / 1000:,.0f}k-{s['max'] / 1000:,.0f}k |"
        )
    return "\n".join(lines) + "\n"


def history_table(summary: dict[str, Any]) -> list[str]:
    """History off and on, side by side: what keeping it costs in publishes and deliveries."""
    lines = [
        "History off and on for the channel (`channels.publish`), publishes/s and "
        "deliveries/s side by side; on / off is taken within each run (median, and the "
        "range over runs).",
        "",
        "| scenario | history off: publishes/s | deliveries/s | history on: publishes/s | "
        "deliveries/s | on / off | range |",
        "| --- | ---: | ---: | ---: | ---: | ---: | :---: |",
    ]
    for inflight in (1, 8):
        for processes, where in ((1, "in memory"), (2, "on Redis, 2 processes")):
            off = summary["scenarios"][scenario_name(f"channel-{inflight}", processes)]
            on = summary["scenarios"][scenario_name(f"history-{inflight}", processes)]
            ratio = summary["history"][f"{inflight}-{processes}"]
            lines.append(
                f"| {where}, {inflight} in flight | {off['published']:,.0f} | "
                f"{off['rate']:,.0f} | {on['published']:,.0f} | {on['rate']:,.0f} | "
                f"{ratio['median']:.2f}x | {ratio['min']:.2f}-{ratio['max']:.2f}x |"
            )
    return lines


def plot(summary: dict[str, Any], path: str) -> None:
    """One panel per group: one process against two, with the ratio over the pair."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(GROUP_TITLES), figsize=(19, 3.8))
    for ax, (group, title) in zip(axes, GROUP_TITLES.items(), strict=True):
        one = summary["scenarios"][scenario_name(group, 1)]
        two = summary["scenarios"][scenario_name(group, 2)]
        rates = [one["rate"] / 1000, two["rate"] / 1000]
        lows = [r - s["min"] / 1000 for r, s in zip(rates, (one, two), strict=True)]
        highs = [s["max"] / 1000 - r for r, s in zip(rates, (one, two), strict=True)]
        ax.bar(
            ["1 process", "2 processes\n+ Redis"],
            rates,
            color=["#2b6cb0", "#38a169"],
            yerr=[lows, highs],
            capsize=4,
            ecolor="#4a5568",
        )
        ax.text(
            0.5,
            0.97,
            f"2 / 1 = {summary['ratios'][group]['median']:.2f}x",
            transform=ax.transAxes,
            ha="center",
            va="top",
            fontsize=9,
            fontweight="bold",
        )
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("thousand deliveries / s", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.set_ylim(0, max(one["max"], two["max"]) / 1000 * 1.25 or 1)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument(
        "--replot",
        default="",
        help="redraw table and plot from raw JSON files (comma-separated: their runs are merged)",
    )
    args = parser.parse_args()
    if args.replot:
        merged: list[Measurement] = []
        seconds = set()
        for path in args.replot.split(","):
            with open(path) as f:
                raw = json.load(f)
            offset = 1 + max((m.run for m in merged), default=-1)
            merged += [Measurement(**dict(m, run=m["run"] + offset)) for m in raw["measurements"]]
            seconds.add(raw["seconds"])
        if len(seconds) != 1:
            sys.exit(f"runs of different lengths: {sorted(seconds)}")
        runs = len({m.run for m in merged})
        summary = summarize(merged)
        with open(os.path.join(args.out, "fanout.md"), "w") as f:
            f.write(markdown(summary, runs, seconds.pop()))
        plot(summary, os.path.join(args.out, "fanout.png"))
        return
    if not os.path.exists(LOADGEN):
        sys.exit(f"{LOADGEN} is missing: run `make bench` (it compiles bench/loadgen.c)")
    only = set(filter(None, args.only.split(",")))
    measurements: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="fallback-fanout-") as workdir:
        config = os.path.join(workdir, "bench.toml")
        with open(config, "w") as f:
            f.write(CONFIG)
        redis = Redis(workdir)
        try:
            for run in range(args.runs):
                # One process first in even runs, two first in odd ones.
                order = sorted(SCENARIOS, key=lambda s: (s.group, (s.processes + run) % 2))
                for scenario in order:
                    if only and scenario.name not in only:
                        continue
                    m = measure(scenario, run, args.warmup, args.seconds, redis, config)
                    measurements.append(m)
                    cpu = " ".join(f"{c:4.0%}" for c in m.server_cpu)
                    status = m.error or (
                        f"{m.rate:10,.0f} deliveries/s  servers {cpu}  loadgen {m.loadgen_cpu:4.0%}"
                    )
                    print(f"run {run + 1}  {scenario.name:13} {status}", flush=True)
        finally:
            redis.stop()
    summary = summarize(measurements)
    raw = {
        "measurements": [asdict(m) for m in measurements],
        "seconds": args.seconds,
        "summary": summary,
    }
    table = markdown(summary, args.runs, args.seconds)
    save_results(args.out, "fanout", "fanout", raw, table)
    plot(summary, os.path.join(args.out, "fanout.png"))
    print()
    print(table)


if __name__ == "__main__":
    main()
