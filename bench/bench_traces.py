"""Span reading benchmark: an OTLP/JSON export against the same spans as parquet.

    python bench/bench_traces.py [--mb 1000] [--repeat 3]

Generates the export once (bench/data/traces/, git-ignored; see gen_traces_data.py: RAG requests of
4-5 spans with GenAI attributes, JSON lines as the Collector's file exporter writes them, and the same
spans as parquet), then runs each job ``--repeat`` times, round-robin, each in a fresh process
(run_traces_job.py), and prints the median read time (in the process, after imports), the median wall
time of the process and its peak memory (max RSS). Target (issue 19): reading the OTLP export within
a small factor of reading the parquet.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

from bench_drift import measure

HERE = Path(__file__).resolve().parent


def data(mb: int) -> Path:
    out = HERE / "data" / "traces" / str(mb)
    if not (out / "spans.parquet").exists():
        subprocess.run([sys.executable, str(HERE / "gen_traces_data.py"), "--mb", str(mb), "--out", str(out)],
                       check=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    d = data(a.mb)
    py, job = sys.executable, str(HERE / "run_traces_job.py")
    jobs = {"otlp: read_spans(export.jsonl)": [py, job, "otlp", str(d)],
            "parquet: read_spans(spans.parquet)": [py, job, "parquet", str(d)],
            "floor: polars.read_parquet(spans.parquet)": [py, job, "floor", str(d)]}
    results = measure(jobs, a.repeat)  # round-robin: a slow phase of the machine hits every job alike
    for r in results.values():  # the read time each job printed, next to the process's wall time
        r |= {"read_s": statistics.median(o["read_s"] for o in r["outs"]), "runs": [o["read_s"] for o in r["outs"]],
              "rows": r["out"]["rows"]}
    sizes = {p.name: p.stat().st_size / 1e6 for p in (d / "export.jsonl", d / "spans.parquet")}
    print(f"\n{results['otlp: read_spans(export.jsonl)']['rows']:,} spans; export {sizes['export.jsonl']:,.0f} MB, "
          f"parquet {sizes['spans.parquet']:,.0f} MB; median of {a.repeat} fresh processes, round-robin")
    print(f"{'job':44} {'read s':>7} {'wall s':>7} {'peak MB':>8}  runs (read s)")
    for name, r in results.items():
        print(f"{name:44} {r['read_s']:7.2f} {r['wall_s']:7.2f} {r['peak_mb']:8.0f}  {r['runs']}")
    otlp, parquet, floor = (results[k]["read_s"] for k in jobs)
    print(f"otlp / parquet (read_spans both): {otlp / parquet:.2f}x; otlp / polars.read_parquet: {otlp / floor:.2f}x")


if __name__ == "__main__":
    main()
