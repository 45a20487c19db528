"""Performance benchmark: 10M prediction rows, 3 segment columns, hourly windows over a week.

    python bench/bench_performance.py [--rows 10000000] [--repeat 3] [--no-fairlearn]

Generates the log once (bench/data/performance/, git-ignored; see gen_performance_data.py), then
runs each job in a fresh process, round-robin, and prints the median wall time and the peak
memory (max RSS). Jobs (run_performance_job.py): floor (polars counts rows and correct predictions
per hour × segment cell), workbench (``check_performance()``: segments and pairs with intervals,
localized drops over 168 hourly windows and recent spans, calibration against a 1M-row reference,
estimates), fairlearn (``MetricFrame`` per segment combination: no windows, no intervals, no tests;
one run). Target (issue 4): workbench < 15 s and < 3 GB peak on this machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from bench_drift import measure

HERE = Path(__file__).resolve().parent


def data(rows: int) -> Path:
    out = HERE / "data" / "performance" / str(rows)
    if not (out / "predictions.parquet").exists():
        subprocess.run([sys.executable, str(HERE / "gen_performance_data.py"), "--rows", str(rows), "--out",
                        str(out)], check=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-fairlearn", action="store_true")
    a = ap.parse_args()
    d = data(a.rows)
    py, job = sys.executable, str(HERE / "run_performance_job.py")
    jobs = {"floor: polars cell counts": [py, job, "floor", str(d)],
            "workbench: check_performance()": [py, job, "workbench", str(d)]}
    results = measure(jobs, a.repeat)
    if not a.no_fairlearn:
        results |= measure({"fairlearn 0.15 MetricFrame (1 run)": [py, job, "fairlearn", str(d)]}, 1)
    print(f"\n{a.rows:,} predictions, 3 segment columns (96 cells), hourly windows over a week; "
          f"median of {a.repeat} fresh processes, round-robin")
    print(f"{'job':40} {'wall s':>8} {'peak MB':>8}  runs")
    for name, r in results.items():
        print(f"{name:40} {r['wall_s']:8.2f} {r['peak_mb']:8.0f}  {r['runs']}")
    ours = results["workbench: check_performance()"]
    floor = results["floor: polars cell counts"]["wall_s"]
    print(f"workbench: {ours['wall_s']:.2f} s (target < 15 s), peak {ours['peak_mb']:.0f} MB (target < 3072 MB); "
          f"{ours['wall_s'] / floor:.1f}x the floor")
    if not a.no_fairlearn:
        print(f"fairlearn / workbench: {results['fairlearn 0.15 MetricFrame (1 run)']['wall_s'] / ours['wall_s']:.1f}x")
    print(f"workbench critical alerts: {ours['out']}")


if __name__ == "__main__":
    main()
