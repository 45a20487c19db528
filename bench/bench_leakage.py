"""Leakage audit benchmark: workbench (inputs on polars, and as duckdb relations) vs Timefence, one run.

    python bench/bench_leakage.py [--labels 1000000] [--events 10000000] [--repeat 3]

Generates the data once (bench/data/, git-ignored), creates Timefence's own virtualenv
(bench/.venv-timefence, git-ignored) on first use, then runs each job ``--repeat`` times in
a fresh process, serially, and prints the median wall time, the peak memory (max RSS) and
what each tool found. Target (issue 2): workbench < 20 s and < 4 GB at 1M labels / 10M events.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TIMEFENCE = "timefence==0.9.1"


def _timefence_python() -> Path:
    venv = HERE / ".venv-timefence"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", TIMEFENCE], check=True)
    return python


def _run(cmd: list[str], repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        runs.append(json.loads(out))
    best = runs[-1]
    best["wall_s_runs"] = [r["wall_s"] for r in runs]
    best["wall_s"] = statistics.median(best["wall_s_runs"])
    best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    return best


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--labels", type=int, default=1_000_000)
    p.add_argument("--events", type=int, default=10_000_000)
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args()
    data = HERE / "data" / f"{a.labels}_{a.events}"
    if not (data / "training.parquet").exists():
        subprocess.run([sys.executable, str(HERE / "gen_leakage_data.py"), "--labels", str(a.labels),
                        "--events", str(a.events), "--out", str(data)], check=True)
    ours = [sys.executable, str(HERE / "run_workbench_audit.py"), str(data)]
    common = "spend_to_date,total_spend,balance"
    jobs = {
        "workbench polars, all 4 features + lateness/split/proxy checks": [*ours, "--engine", "polars"],
        "workbench duckdb relations, all 4 features + lateness/split/proxy checks": [*ours, "--engine",
                                                                                     "duckdb-relations"],
        "workbench polars, the 3 features Timefence can express": [*ours, "--engine", "polars", "--features", common],
        "workbench duckdb relations, the 3 features Timefence can express": [*ours, "--engine", "duckdb-relations",
                                                                             "--features", common],
        "timefence 0.9.1 (duckdb), the same 3 features": [str(_timefence_python()),
                                                         str(HERE / "run_timefence_audit.py"), str(data)],
    }
    results = {}
    print(f"{a.labels:,} label rows, {a.events:,} events; median of {a.repeat} runs, each in a fresh process")
    print(f"{'job':66} {'wall s':>7} {'peak MB':>8}  runs")
    for name, cmd in jobs.items():
        r = results[name] = _run(cmd, a.repeat)
        print(f"{name:66} {r['wall_s']:7.2f} {r['peak_rss_mb']:8,}  {r['wall_s_runs']}")
    tf = results["timefence 0.9.1 (duckdb), the same 3 features"]
    wb = results["workbench polars, the 3 features Timefence can express"]
    print(f"\nratio timefence / workbench (same 3 features): {tf['wall_s'] / wb['wall_s']:.2f}x")
    for name, r in results.items():
        print(f"found by {name}: {json.dumps(r['found'])}")


if __name__ == "__main__":
    main()
