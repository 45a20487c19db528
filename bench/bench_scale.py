"""Scale-out benchmark: drift (fit the reference profile + compare current) on 100M rows x 25
columns from parquet, on polars and duckdb, out of core; Spark local on 10M rows with its overhead.

    python bench/bench_scale.py [--rows 100000000] [--spark-rows 10000000] [--repeat 1]

Data: bench/gen_drift_data.py (20 numeric + 5 categorical columns; 4 planted drifts), one
parquet file per side, generated once under bench/data/drift/<rows>/ (git-ignored; 100M rows
per side take 27 GB). Every job runs in a fresh process; the floor is polars reading both files
and summing every column. Prints wall time, peak memory (the process's max RSS; for Spark also
the JVM's) and the columns each engine flagged.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench_drift import PLANTED, data, measure

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000_000)
    ap.add_argument("--spark-rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    py, job, floor_job = sys.executable, str(HERE / "run_scale_job.py"), str(HERE / "run_drift_job.py")
    big, small = str(data(a.rows)), str(data(a.spark_rows))
    jobs = {
        f"{a.rows:,}: floor (polars reads both files, sums every column)": [py, floor_job, "floor", big],
        f"{a.rows:,}: workbench drift, polars": [py, job, "polars", big],
        f"{a.rows:,}: workbench drift, duckdb": [py, job, "duckdb", big],
        f"{a.spark_rows:,}: workbench drift, polars": [py, job, "polars", small],
        f"{a.spark_rows:,}: workbench drift, Spark local[2]": [py, job, "spark", small],
    }
    results = measure(jobs, a.repeat)
    print(f"\ndrift, fit + compare, 20 numeric + 5 categorical columns per side; median of {a.repeat} fresh "
          "process(es), round-robin")
    print(f"{'job':62} {'wall s':>8} {'peak MB':>8}  runs")
    for name, r in results.items():
        print(f"{name:62} {r['wall_s']:8.1f} {r['peak_mb']:8.0f}  {r['runs']}")
    names = list(results)
    floor, pol, duck, pol_small, spark = (results[n] for n in names)
    print(f"polars / floor at {a.rows:,}: {pol['wall_s'] / floor['wall_s']:.2f}x; duckdb / polars: "
          f"{duck['wall_s'] / pol['wall_s']:.2f}x")
    out = spark["out"]
    print(f"Spark / polars at {a.spark_rows:,}: {spark['wall_s'] / pol_small['wall_s']:.1f}x (session start "
          f"{out['session_start_s']} s, drift {out['drift_s']} s, JVM peak {out['jvm_peak_mb']} MB)")
    for name, r in results.items():
        if "flagged" in r["out"]:
            print(f"flagged by {name}: {r['out']['flagged']} (planted: {PLANTED})")


if __name__ == "__main__":
    main()
