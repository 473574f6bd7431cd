"""Same-run A/B of fallback's echo and broadcast rows: another tree against this one.

For a change that must not make the hot path slower: the two trees' servers run in
alternating order in each run, on the same cores, under the same load (``bench/run.py``'s
own measurement), and the medians are printed side by side.

    git worktree add /tmp/base <commit>   # or: git archive <commit> | tar -x -C /tmp/base
    python bench/ab.py /tmp/base [--runs 7] [--seconds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from bench import run as bench  # noqa: E402 - after the path is set


def main() -> None:
    parser = argparse.ArgumentParser(description="A/B of the echo and broadcast rows")
    parser.add_argument("base", help="the other tree (a checkout of the commit to compare)")
    parser.add_argument("--runs", type=int, default=7, help="runs (default 7)")
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement (default 3)")
    args = parser.parse_args()
    trees = {"base": os.path.abspath(args.base), "this tree": os.path.dirname(HERE)}
    scenarios = [s for s in bench.SCENARIOS if s.name in ("echo", "broadcast")]
    rates: dict[tuple[str, str], list[float]] = {(s.name, t): [] for s in scenarios for t in trees}
    for run in range(args.runs):
        order = list(trees.items())
        if run % 2:
            order.reverse()
        for scenario in scenarios:
            for name, root in order:
                # bench.run starts `servers.py` of the tree it is told, with that tree first
                # on sys.path (servers.py puts its own parent there).
                bench.HERE, bench.ROOT = os.path.join(root, "bench"), root
                measured = bench.measure(scenario, "fallback", run, 1.0, args.seconds)
                rates[scenario.name, name].append(measured.rate)
                print(run, scenario.name, name, round(measured.rate), measured.error, flush=True)
    for (scenario_name, tree), values in rates.items():
        print(
            f"{scenario_name:10} {tree:10} median {statistics.median(values):9.0f} msg/s"
            f"  runs {[round(v) for v in values]}"
        )


if __name__ == "__main__":
    main()
