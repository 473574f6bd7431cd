"""The score of each mutated module after ``mutmut run`` (``make mutation``).

    python -m tests.unit.mutation_score [--only PATTERN] [--min 90]

Reads ``mutmut results --all true``, sets apart the surviving mutants that
tests/unit/equivalent_mutants.md lists as equivalent (each with its reason), and prints,
per module, the mutants killed (timeouts count: the mutant hung, a test noticed), those
that survived, and the score killed / (all - equivalent). Exits 1 when a module scores
under ``--min`` or a mutant survives that is neither killed nor listed, so that a new
survivor is looked at: killed by a test, or listed with why it cannot be.
"""

from __future__ import annotations

import argparse
import collections
import fnmatch
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EQUIVALENT = os.path.join(HERE, "equivalent_mutants.md")
KILLED = {"killed", "timeout"}


def equivalent_mutants() -> set[str]:
    with open(EQUIVALENT, encoding="utf-8") as file:
        return set(re.findall(r"^- `([^`]+)`", file.read(), re.MULTILINE))


def results() -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = {}
    for line in out.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name:
            found[name] = status
    return found


def module_of(mutant: str) -> str:
    # fallback.core.resume.xǁResumeStateǁrewind__mutmut_3 -> fallback.core.resume
    return mutant.split(".x", 1)[0]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", help="mutant name pattern (as given to mutmut run)")
    parser.add_argument("--min", type=float, default=90.0)
    args = parser.parse_args()
    listed = equivalent_mutants()
    by_module: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    unexplained = []
    for mutant, status in sorted(results().items()):
        if status == "not checked" or (args.only and not fnmatch.fnmatch(mutant, args.only)):
            continue
        counts = by_module[module_of(mutant)]
        counts["all"] += 1
        if status in KILLED:
            counts["killed"] += 1
        elif mutant in listed:
            counts["equivalent"] += 1
        else:
            counts["survived"] += 1
            unexplained.append(f"{mutant}: {status}")
    if not by_module:
        print("no mutants were run (mutmut run first)")
        return 1
    failing = False
    print(f"{'module':36} {'mutants':>7} {'killed':>7} {'equiv.':>7} {'survived':>8} {'score':>7}")
    for module, counts in sorted(by_module.items()):
        score = 100.0 * counts["killed"] / max(1, counts["all"] - counts["equivalent"])
        failing |= score < args.min
        print(
            f"{module:36} {counts['all']:7} {counts['killed']:7} {counts['equivalent']:7} "
            f"{counts['survived']:8} {score:6.1f}%"
        )
    total = collections.Counter[str]()
    for counts in by_module.values():
        total.update(counts)
    overall = 100.0 * total["killed"] / max(1, total["all"] - total["equivalent"])
    print(
        f"{'all':36} {total['all']:7} {total['killed']:7} {total['equivalent']:7} "
        f"{total['survived']:8} {overall:6.1f}%"
    )
    stale = sorted(m for m in listed if m not in results())
    if unexplained:
        print("\nsurvived, neither killed nor listed as equivalent:")
        print("\n".join("  " + line for line in unexplained))
    if stale and not args.only:
        print("\nlisted as equivalent but no longer a mutant (renumbered? remove them):")
        print("\n".join("  " + name for name in stale))
    return 1 if failing or unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
