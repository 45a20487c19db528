"""False-alarm rate, power and trivial-shift alarm rate of every alarm rule (not timed).

    python bench/simulate_alarms.py [--replicates 200] [--sizes 100,1000,100000,1000000] [--rules drift...]

For each rule of ``tests/alarm_simulation.py`` and each size, runs the check on ``replicates`` seeded draws of
each scenario (null: nothing changed; effect: a change worth an alert; trivial: a change too small to matter)
and prints the share that alarmed with its 95% Wilson interval. At 1M rows the replicates are capped
(``--max-replicates-1m``, default 20) to keep the run under an hour on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.alarm_simulation import RULES, SCENARIOS, alarm_rate
from workbench.stats import wilson_interval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--max-replicates-1m", type=int, default=20)
    parser.add_argument("--sizes", default="100,1000,100000,1000000")
    parser.add_argument("--rules", nargs="*", default=list(RULES))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'rule':18} {'n':>9} " + " ".join(f"{s:>22}" for s in SCENARIOS) + "   seconds")
    for name in args.rules:
        for n in sizes:
            reps = min(args.replicates, args.max_replicates_1m) if n >= 1_000_000 else args.replicates
            started, cells = time.perf_counter(), []
            for scenario in SCENARIOS:
                alarms, total = alarm_rate(RULES[name], n, scenario, reps)
                lo, hi = wilson_interval(alarms, total)
                cells.append(f"{alarms:>3}/{total:<3} {alarms / total:6.1%} [{lo:.0%},{hi:.0%}]")
            print(f"{name:18} {n:>9,} " + " ".join(f"{c:>22}" for c in cells)
                  + f"   {time.perf_counter() - started:7.1f}", flush=True)


if __name__ == "__main__":
    main()
