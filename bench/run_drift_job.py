"""One drift job in one process (timed from outside by bench_drift.py).

    python bench/run_drift_job.py floor|workbench|fit|monitor DATA_DIR

floor: read both files and sum every column (polars, streaming) — the physical floor.
workbench: fit the reference profile and compare current (workbench.check_drift).
fit: fit the profile and save it to DATA_DIR/reference.profile.json.
monitor: load that profile and compare current (a scheduled monitoring run).
Prints one JSON line: the job and the columns flagged (warning or critical).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl


def main() -> None:
    job, data = sys.argv[1], Path(sys.argv[2])
    ref, cur = data / "reference.parquet", data / "current.parquet"
    if job == "floor":
        def sums(path: Path) -> pl.LazyFrame:
            schema = pl.scan_parquet(path).collect_schema()
            return pl.scan_parquet(path).select(
                pl.col(c).str.len_bytes().sum() if schema[c] == pl.String else pl.col(c).sum() for c in schema)
        out = pl.collect_all([sums(ref), sums(cur)], engine="streaming")
        print(json.dumps({"job": job, "columns": out[0].width}))
        return
    from workbench.drift import DriftProfile, check_drift, fit_profile

    profile_path = data / "reference.profile.json"
    if job == "fit":
        fit_profile(str(ref)).save(profile_path)
        print(json.dumps({"job": job}))
        return
    reference = DriftProfile.load(profile_path) if job == "monitor" else str(ref)
    result = check_drift(reference, str(cur))
    flagged = sorted({f.subject for f in result.at_least("warning") if f.kind == "distribution_drift"})
    print(json.dumps({"job": job, "flagged": flagged}))


if __name__ == "__main__":
    main()
