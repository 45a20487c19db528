"""False alerts per 1,000 tested cells and power of the LLM check (not timed).

    python bench/simulate_llm_alarms.py [--replicates 10] [--per-hour 1000] [--hours 168]

Null: a week of hourly request logs with nothing planted (``tests/llm_logs.py``); every tested cell
counts (scope × window or recent span of the ungrounded rate and of the four retrieval metrics,
and every active window of every tested API key, user and segment value). Effect: one planted
change at a time — ungrounded answers 4% -> 11% on query_type=billing for the last 12 hours (with
a model_version switch), one API key at 20x for 3 hours, the hit rate halved for the last 12 hours
(an index rebuild) — and the share of draws whose findings name it (its kind on its scope), with a
95% Wilson interval.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from llm_logs import llm_logs

from workbench import check_llm
from workbench.stats import wilson_interval

EFFECTS = {
    "hallucination": ("hallucination_rate_increase", {"query_type": "billing"}),
    "spike": ("token_spike", {"api_key": "key-007"}),
    "retrieval": ("retrieval_quality_drop", None),
}


def tested_cells(result) -> int:
    cells = sum(int(result.tables[t]["tested"].sum()) for t in ("ungrounded", "retrieval") if t in result.tables)
    return cells + int(result.tables["usage"]["active_windows"].sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=10)
    parser.add_argument("--per-hour", type=int, default=1000)
    parser.add_argument("--hours", type=int, default=168)
    args = parser.parse_args()
    started = time.perf_counter()
    alerts = cells = 0
    for seed in range(args.replicates):
        result = check_llm(llm_logs(1000 + seed, hours=args.hours, per_hour=args.per_hour))
        alerts += len(result.at_least("warning"))
        cells += tested_cells(result)
    _, high = wilson_interval(alerts, cells, 0.95)
    print(f"null: {alerts} false alerts in {cells:,} tested cells = {1000 * alerts / cells:.3f} per 1,000 "
          f"(95% upper bound {1000 * high:.3f}); {args.replicates} logs of {args.hours} hours x ~{args.per_hour}/h")
    for name, (kind, segment) in EFFECTS.items():
        found = 0
        for seed in range(args.replicates):
            result = check_llm(llm_logs(2000 + seed, hours=args.hours, per_hour=args.per_hour, **{name: True}))
            found += any(f.scope.get("segment") == segment for f in result.by_kind(kind))
        low, high = wilson_interval(found, args.replicates, 0.95)
        print(f"power, {name}: {found}/{args.replicates} = {found / args.replicates:.0%} [{low:.0%}, {high:.0%}]")
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
