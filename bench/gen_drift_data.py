"""Reference/current parquet files for the drift benchmark (deterministic, written in 1M-row chunks).

    python bench/gen_drift_data.py --rows 1000000 --out bench/data/drift/1000000

Columns: num_00..num_19 (float64: normal, lognormal, uniform, exponential in turn) and cat_0..cat_4
(strings with 5, 12, 20, 35, 50 Zipf-like levels). Planted in current: num_00 mean +0.5 sd,
num_01 scale x1.5, num_02 a different shape (uniform -> skewed), cat_0 level probabilities reversed.
Everything else has the same distribution on both sides.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CHUNK = 1_000_000
CARDS = [5, 12, 20, 35, 50]
PLANTED = ["num_00", "num_01", "num_02", "cat_0"]


def numeric(rng: np.random.Generator, i: int, n: int, drifted: bool) -> np.ndarray:
    kind = i % 4
    if kind == 0:
        x = rng.normal(10.0 * i, 1.0 + i, n)
    elif kind == 1:
        x = rng.lognormal(0.0, 0.5 + 0.05 * i, n)
    elif kind == 2:
        x = rng.uniform(-i - 1.0, i + 1.0, n)
    else:
        x = rng.exponential(1.0 + 0.1 * i, n)
    if drifted and i == 0:
        x = x + 0.5 * (1.0 + i)
    elif drifted and i == 1:
        mid = np.exp((0.5 + 0.05 * i) ** 2 / 2)
        x = mid + (x - mid) * 1.5
    elif drifted and i == 2:
        x = np.clip(rng.exponential(1.0, n) - 1.0, -3.0, 3.0)
    return x


def chunk(rng: np.random.Generator, n: int, drifted: bool) -> pa.Table:
    cols = {f"num_{i:02d}": numeric(rng, i, n, drifted) for i in range(20)}
    for j, card in enumerate(CARDS):
        p = 1.0 / np.arange(1, card + 1) ** 0.8
        p /= p.sum()
        if drifted and j == 0:
            p = p[::-1]
        levels = np.array([f"c{j}_v{k:02d}" for k in range(card)])
        cols[f"cat_{j}"] = levels[rng.choice(card, n, p=p)]
    return pa.table(cols)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    for side, drifted in (("reference", False), ("current", True)):
        writer = None
        for k, start in enumerate(range(0, a.rows, CHUNK)):
            rng = np.random.default_rng([20261125, int(drifted), k])
            table = chunk(rng, min(CHUNK, a.rows - start), drifted)
            writer = writer or pq.ParquetWriter(a.out / f"{side}.parquet", table.schema)
            writer.write_table(table)
        writer.close()


if __name__ == "__main__":
    main()
