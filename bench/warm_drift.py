"""Drift's time in a warm process: where a fixed per-run cost shows (fresh-process timings hide it in noise).

    python bench/warm_drift.py [DATA_DIR] [--runs 5] [--profile]

DATA_DIR: a folder written by ``bench/bench_drift.py`` (default ``bench/data/drift/1000000``, with
``reference.parquet``, ``current.parquet`` and ``reference.profile.json``). Runs fit + compare and the monitoring
run (saved profile + compare) twice to warm up, then ``--runs`` times each, and prints their median seconds and
the time polars itself spent reading the two files and summing every column (the floor, same process).
``--profile``: also print the 25 most expensive functions of one fit + compare (cProfile, cumulative time).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
from pathlib import Path

import polars as pl

from workbench.drift import DriftProfile, check_drift


def timed(run, runs: int) -> float:
    """Median seconds of ``runs`` calls of ``run``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def floor(ref: str, cur: str) -> None:
    def sums(path: str) -> pl.LazyFrame:
        schema = pl.scan_parquet(path).collect_schema()
        return pl.scan_parquet(path).select(
            pl.col(c).str.len_bytes().sum() if schema[c] == pl.String else pl.col(c).sum() for c in schema)
    pl.collect_all([sums(ref), sums(cur)], engine="streaming")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=str(Path(__file__).resolve().parent / "data/drift/1000000"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    data = Path(args.data)
    ref, cur = str(data / "reference.parquet"), str(data / "current.parquet")
    profile = DriftProfile.load(data / "reference.profile.json")
    jobs = {"floor": lambda: floor(ref, cur), "fit + compare": lambda: check_drift(ref, cur),
            "monitor": lambda: check_drift(profile, cur)}
    for run in jobs.values():
        timed(run, 2)
    for name, run in jobs.items():
        print(f"{name:15s} {timed(run, args.runs):.3f} s (median of {args.runs}, warm)")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(check_drift, ref, cur)
        pstats.Stats(profiler).sort_stats("cumtime").print_stats(25)


if __name__ == "__main__":
    main()
