"""False-alarm rate of the drift decision rule on unchanged data, over many seeds (not timed).

    python bench/false_alarm_rate.py

Draws reference and current from the same distribution (the nine hard column types of
tests/test_drift_false_alarms.py) at 1k, 10k and 100k rows, runs ``drift`` with the default
rule and counts alarms (warning or critical drift, missing-rate, new-category or range
findings) per column-test.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_drift_false_alarms import ALARM_KINDS, same_distribution

from workbench.drift import drift


def main() -> None:
    total_alarms = total_tests = 0
    for n, seeds in [(1_000, 200), (10_000, 100), (100_000, 20)]:
        alarms = tests = small = 0
        for s in range(seeds):
            rng = np.random.default_rng([7, n, s])
            ref, cur = same_distribution(rng, n), same_distribution(rng, n)
            result = drift(ref, cur, seed=s)
            tests += ref.width
            alarms += sum(f.kind in ALARM_KINDS for f in result.at_least("warning"))
            small += int((result.to_polars("columns")["status"] == "small").sum())
        total_alarms, total_tests = total_alarms + alarms, total_tests + tests
        print(f"n={n:>7,}: {alarms} alarms in {tests:,} column-tests ({alarms / tests:.2%}); "
              f"{small} significant-but-small")
    print(f"all: {total_alarms} alarms in {total_tests:,} column-tests ({total_alarms / total_tests:.2%})")


if __name__ == "__main__":
    main()
