"""Shadow benchmark: 10M request pairs joined and compared, against a polars floor and pandas.

    python bench/bench_shadow.py [--rows 10000000] [--repeat 3]

Generates the logs once (bench/data/shadow/, git-ignored; see gen_shadow_data.py), then runs
each job ``--repeat`` times, round-robin, each in a fresh process, and prints the median wall
time and the peak memory (max RSS). Jobs (run_shadow_job.py): floor (polars join + the headline
metrics, no retry rule, no validation, no statistics), workbench (``check_shadow`` with labels
and a segment column, the verdict included), pandas (merge + the same headline metrics with
numpy and statsmodels' McNemar). Target (issue 5): workbench < 10 s at 10M pairs on this machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from bench_drift import measure

HERE = Path(__file__).resolve().parent


def data(rows: int) -> Path:
    out = HERE / "data" / "shadow" / str(rows)
    if not (out / "labels.parquet").exists():
        subprocess.run([sys.executable, str(HERE / "gen_shadow_data.py"), "--rows", str(rows), "--out", str(out)],
                       check=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    d = data(a.rows)
    py, job = sys.executable, str(HERE / "run_shadow_job.py")
    jobs = {"floor: polars join + headline metrics": [py, job, "floor", str(d)],
            "workbench: check_shadow + verdict": [py, job, "workbench", str(d)],
            "pandas: merge + headline metrics": [py, job, "pandas", str(d)]}
    results = measure(jobs, a.repeat)
    print(f"\n{a.rows:,} requests per log (0.1% retried, 0.2% missed by the candidate), 30% labelled, 8 regions; "
          f"median of {a.repeat} fresh processes, round-robin")
    print(f"{'job':40} {'wall s':>8} {'peak MB':>8}  runs")
    for name, r in results.items():
        print(f"{name:40} {r['wall_s']:8.2f} {r['peak_mb']:8.0f}  {r['runs']}")
    floor, ours, pandas = (results[k]["wall_s"] for k in jobs)
    print(f"workbench: {ours:.2f} s (target < 10 s); workbench / floor: {ours / floor:.2f}x; "
          f"pandas / workbench: {pandas / ours:.2f}x")
    print(f"workbench verdict: {results['workbench: check_shadow + verdict']['out']}")


if __name__ == "__main__":
    main()
