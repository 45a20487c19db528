"""False-alarm rate, power and trivial-shift alarm rate of every alarm rule (not timed).

    python bench/simulate_alarms.py [--replicates 200] [--sizes 100,1000,100000,1000000] [--rules drift...]
                                    [--fdr 0.01,0.05] [--scenarios null,effect,trivial]

For each rule of ``tests/alarm_simulation.py`` and each size, runs the check on ``replicates`` seeded draws of
each scenario (null: nothing changed; effect: a change worth an alert; trivial: a change too small to matter)
and prints the share that alarmed with its 95% Wilson interval. At 1M rows the replicates are capped
(``--max-replicates-1m``, default 20) to keep the run under an hour on 2 cores. ``--fdr`` runs every rule at
each listed false-discovery rate (``default``: the check's own); the last column then gives the null draws'
alarm findings per 1,000 tested cells (tests the rule ran: columns × tests, segments, scopes), with its 95%
Wilson upper bound.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.alarm_simulation import RULES, SCENARIOS, alarm_counts
from workbench.stats import wilson_interval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--max-replicates-1m", type=int, default=20)
    parser.add_argument("--sizes", default="100,1000,100000,1000000")
    parser.add_argument("--rules", nargs="*", default=list(RULES))
    parser.add_argument("--fdr", default="default", help="comma-separated FDR levels, or 'default'")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    levels = [None if f == "default" else float(f) for f in args.fdr.split(",")]
    scenarios = args.scenarios.split(",")
    print(f"{'rule':18} {'fdr':>7} {'n':>9} " + " ".join(f"{s:>22}" for s in scenarios)
          + f"   {'null alarms/1k cells':>26}   seconds")
    for fdr in levels:
        for name in args.rules:
            for n in sizes:
                print(_row(name, fdr, n, scenarios, args), flush=True)


def _row(name: str, fdr: float | None, n: int, scenarios: list[str], args: argparse.Namespace) -> str:
    reps = min(args.replicates, args.max_replicates_1m) if n >= 1_000_000 else args.replicates
    started, cells, per_cell = time.perf_counter(), [], ""
    for scenario in scenarios:
        counts = alarm_counts(RULES[name], n, scenario, reps, fdr=fdr)
        lo, hi = wilson_interval(counts.runs_alarmed, counts.runs)
        cells.append(f"{counts.runs_alarmed:>3}/{counts.runs:<3} {counts.runs_alarmed / counts.runs:6.1%} "
                     f"[{lo:.0%},{hi:.0%}]")
        if scenario == "null" and counts.cells:
            high = wilson_interval(min(counts.findings, counts.cells), counts.cells)[1]
            rate = 1000 * counts.findings / counts.cells
            per_cell = f"{counts.findings:>4}/{counts.cells:<6} {rate:5.2f} (<{1000 * high:5.2f})"
    level = "default" if fdr is None else f"{fdr:g}"
    return (f"{name:18} {level:>7} {n:>9,} " + " ".join(f"{c:>22}" for c in cells) + f"   {per_cell:>26}"
            + f"   {time.perf_counter() - started:7.1f}")


if __name__ == "__main__":
    main()
