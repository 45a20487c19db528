"""Prediction logs for the performance benchmark (deterministic, written in 1M-row chunks).

    python bench/gen_performance_data.py --rows 10000000 --out bench/data/performance/10000000

Columns: ``ts`` (a week, uniform), ``region`` (8 values), ``device`` (3), ``plan`` (4), ``score``,
``prediction`` (score >= 0.5), ``label``. Planted: accuracy drops 15 points on region=eu in the
last 6 hours; region=apac & device=tablet is persistently 10 points worse.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CHUNK = 1_000_000
REGIONS = np.array(["us", "eu", "apac", "latam", "mena", "ca", "uk", "anz"])
DEVICES = np.array(["mobile", "desktop", "tablet"])
PLANS = np.array(["free", "basic", "pro", "enterprise"])
WEEK_US = 7 * 86_400 * 1_000_000


def chunk(rng: np.random.Generator, n: int) -> pa.Table:
    t = rng.integers(0, WEEK_US, n)
    region, device, plan = rng.integers(0, 8, n), rng.integers(0, 3, n), rng.integers(0, 4, n)
    y = (rng.random(n) < 0.4).astype(np.int8)
    acc = np.full(n, 0.88)
    acc[(region == 2) & (device == 2)] -= 0.10
    acc[(region == 1) & (t >= WEEK_US - 6 * 3_600_000_000)] -= 0.15
    right = rng.random(n) < acc
    strong, weak = rng.beta(6, 2, n), rng.beta(2, 6, n)
    score = np.where(right, np.where(y == 1, strong, weak), np.where(y == 1, weak, strong))
    ts = np.datetime64("2026-03-01T00:00:00", "us") + t.astype("timedelta64[us]")
    return pa.table({"ts": ts, "region": REGIONS[region], "device": DEVICES[device], "plan": PLANS[plan],
                     "score": score, "prediction": (score >= 0.5).astype(np.int8), "label": y})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(9)
    with pq.ParquetWriter(a.out / "predictions.tmp", chunk(np.random.default_rng(0), 1).schema) as w:
        for start in range(0, a.rows, CHUNK):
            w.write_table(chunk(rng, min(CHUNK, a.rows - start)))
    (a.out / "predictions.tmp").rename(a.out / "predictions.parquet")


if __name__ == "__main__":
    main()
