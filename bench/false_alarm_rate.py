"""False-alarm rate and categorical power of the drift decision rule, over many seeds (not timed).

    python bench/false_alarm_rate.py            # everything
    python bench/false_alarm_rate.py null       # only the false-alarm rate on unchanged data
    python bench/false_alarm_rate.py category   # only the categorical share moves

``null``: draws reference and current from the same distribution (the nine hard column types of
tests/test_drift_false_alarms.py) at 1k, 10k and 100k rows, runs ``check_drift`` with the default
rule and counts alarms (warning or critical drift, missing-rate, new-category or range
findings) per column-test.

``category``: one category among twelve moves its share by 10 points (10% -> 20%) at 1k, 10k and
100k rows, and by 1 point (10% -> 11%) at 1M rows; counts how often ``distribution_drift`` is raised
(warning or critical) and how often the comparison is significant but ``small``.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_drift_false_alarms import ALARM_KINDS, category_sample, same_distribution

from workbench.drift import check_drift


def null_rate() -> None:
    total_alarms = total_tests = 0
    for n, seeds in [(1_000, 200), (10_000, 100), (100_000, 20)]:
        alarms = tests = small = 0
        kinds: Counter[str] = Counter()
        for s in range(seeds):
            rng = np.random.default_rng([7, n, s])
            ref, cur = same_distribution(rng, n), same_distribution(rng, n)
            result = check_drift(ref, cur, seed=s)
            tests += ref.width
            found = [f for f in result.at_least("warning") if f.kind in ALARM_KINDS]
            alarms += len(found)
            kinds.update(f"{f.kind}:{f.subject}" for f in found)
            small += int((result.to_polars("columns")["status"] == "small").sum())
        total_alarms, total_tests = total_alarms + alarms, total_tests + tests
        print(f"n={n:>7,}: {alarms} alarms in {tests:,} column-tests ({alarms / tests:.2%}); "
              f"{small} significant-but-small; {dict(kinds)}", flush=True)
    print(f"all: {total_alarms} alarms in {total_tests:,} column-tests ({total_alarms / total_tests:.2%})")


def category_moves() -> None:
    for n, seeds, points in [(1_000, 40, 10), (10_000, 20, 10), (100_000, 5, 10), (1_000_000, 3, 1)]:
        flagged: Counter[str] = Counter()
        statuses: Counter[str] = Counter()
        for s in range(seeds):
            rng = np.random.default_rng([8, n, s])
            ref, cur = category_sample(rng, n, 0.0), category_sample(rng, n, points / 100)
            result = check_drift(ref, cur, seed=s)
            row = result.to_polars("columns").row(0, named=True)
            statuses[row["status"]] += 1
            drifted = [f for f in result.at_least("warning") if f.kind == "distribution_drift"]
            flagged[drifted[0].severity if drifted else "none"] += 1
        print(f"{points:>2}-point move of one of 12 categories, n={n:>9,} per side, {seeds} seeds: "
              f"distribution_drift {dict(flagged)}; status {dict(statuses)}", flush=True)


if __name__ == "__main__":
    parts = sys.argv[1:] or ["null", "category"]
    if "null" in parts:
        null_rate()
    if "category" in parts:
        category_moves()
