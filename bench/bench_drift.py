"""Drift benchmark: workbench vs Evidently's DataDriftPreset and the read-everything floor, one run.

    python bench/bench_drift.py [--rows 1000000] [--big 10000000] [--repeat 5] [--no-evidently]

Generates the files once (bench/data/drift/, git-ignored), creates Evidently's own virtualenv
(bench/.venv-evidently, git-ignored: Evidently 0.7 needs pandas<3 and plotly<6) on first use,
then runs every job ``--repeat`` times, round-robin, each in a fresh process, and prints the median
wall time, the peak memory (max RSS of that process) and which columns each tool flagged.

Jobs: floor (polars reads both files and sums every column), workbench (fit the reference
profile + compare), monitor (load a saved profile + compare current only), Evidently
(``Report([DataDriftPreset()])``, defaults, --rows only, one run: it takes minutes). Targets
(issue 3): Evidently / workbench >= 100x; workbench <= 2x floor; monitor <= 1.3x floor; at
--big rows per side, workbench peak memory <= 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EVIDENTLY = ["evidently==0.7.23", "pandas==2.3.3", "plotly==5.24.1", "pyarrow==26.0.1"]
PLANTED = ["cat_0", "num_00", "num_01", "num_02"]


def evidently_python() -> Path:
    venv = HERE / ".venv-evidently"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *EVIDENTLY], check=True)
    return python


def data(rows: int) -> Path:
    out = HERE / "data" / "drift" / str(rows)
    if not (out / "current.parquet").exists():
        subprocess.run([sys.executable, str(HERE / "gen_drift_data.py"), "--rows", str(rows), "--out", str(out)],
                       check=True)
    return out


def run_once(cmd: list[str]) -> tuple[float, float, dict]:
    """Wall time, peak RSS (MB) and printed JSON of one fresh process (os.wait4: this child's rusage)."""
    out = Path(f"/tmp/wb_bench_out_{os.getpid()}.txt")  # one per benchmark process: runs may overlap
    start = time.perf_counter()
    pid = os.posix_spawn(cmd[0], cmd, os.environ.copy(),
                         file_actions=[(os.POSIX_SPAWN_OPEN, 1, str(out),
                                        os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)])
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_maxrss / 1024, json.loads(out.read_text().strip().splitlines()[-1])


def measure(jobs: dict[str, list[str]], repeat: int) -> dict[str, dict]:
    """Run the jobs round-robin, ``repeat`` rounds, so that a slow phase of the machine hits every
    job alike; median wall time, largest peak memory, the last run's printed JSON (``out``) and every
    run's (``outs``) per job."""
    runs: dict[str, list] = {name: [] for name in jobs}
    for _ in range(repeat):
        for name, cmd in jobs.items():
            runs[name].append(run_once(cmd))
    return {name: {"wall_s": statistics.median(w for w, _, _ in r), "runs": [round(w, 3) for w, _, _ in r],
                   "peak_mb": max(m for _, m, _ in r), "out": r[-1][2], "outs": [o for _, _, o in r]}
            for name, r in runs.items()}


def report(rows: int, repeat: int, with_evidently: bool) -> dict:
    d = data(rows)
    py = sys.executable
    job = str(HERE / "run_drift_job.py")
    subprocess.run([py, job, "fit", str(d)], check=True, capture_output=True)  # the saved profile for "monitor"
    jobs = {
        "floor: polars reads both files, sums every column": [py, job, "floor", str(d)],
        "workbench: fit reference profile + compare": [py, job, "workbench", str(d)],
        "workbench monitor: saved profile + compare current": [py, job, "monitor", str(d)],
    }
    if with_evidently:
        jobs["evidently 0.7.23 DataDriftPreset (defaults)"] = [str(evidently_python()),
                                                               str(HERE / "run_evidently_drift.py"), str(d)]
    ours = {k: v for k, v in jobs.items() if not k.startswith("evidently")}
    results = measure(ours, repeat)
    results.update(measure({k: v for k, v in jobs.items() if k.startswith("evidently")}, 1))
    print(f"\n{rows:,} rows per side, 20 numeric + 5 categorical columns; median of {repeat} fresh processes, "
          "run round-robin (Evidently: 1 run)")
    print(f"{'job':54} {'wall s':>8} {'peak MB':>8}  runs")
    for name, r in results.items():
        print(f"{name:54} {r['wall_s']:8.2f} {r['peak_mb']:8.0f}  {r['runs']}")
    floor = results["floor: polars reads both files, sums every column"]["wall_s"]
    ours = results["workbench: fit reference profile + compare"]["wall_s"]
    monitor = results["workbench monitor: saved profile + compare current"]["wall_s"]
    print(f"workbench / floor: {ours / floor:.2f}x (target <= 2); monitor / floor: {monitor / floor:.2f}x "
          "(target <= 1.3)")
    if with_evidently:
        ev = results["evidently 0.7.23 DataDriftPreset (defaults)"]["wall_s"]
        print(f"evidently / workbench: {ev / ours:.0f}x (target >= 100)")
    for name, r in results.items():
        if "flagged" in r["out"]:
            print(f"flagged by {name.split(':')[0]}: {r['out']['flagged']} (planted: {PLANTED})")
    return results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--big", type=int, default=10_000_000, help="rows per side for the memory check (0: skip)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-evidently", action="store_true")
    a = ap.parse_args()
    report(a.rows, a.repeat, not a.no_evidently)
    if a.big:
        big = report(a.big, max(1, a.repeat // 2), False)
        peak = big["workbench: fit reference profile + compare"]["peak_mb"]
        print(f"peak memory at {a.big:,} rows per side: {peak:.0f} MB (target <= 1536 MB)")


if __name__ == "__main__":
    main()
