"""Production/candidate request logs and late labels for the shadow benchmark (deterministic).

    python bench/gen_shadow_data.py --rows 10000000 --out bench/data/shadow/10000000

Each log has ``rows`` requests (int64 ``request_id``, ``ts``, ``region`` with 8 values,
``prediction`` 0/1, ``score``, ``latency_ms``, ``error``), written in 1M-row chunks; 0.1% of the
requests are logged twice (a retry) and the candidate misses 0.2% of them. ``labels.parquet``
holds the outcome of 30% of the requests. The candidate flips 5% of the predictions (20% in one
region), is 1.3x slower and fails 1% of requests instead of 0.5%.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CHUNK = 1_000_000
REGIONS = np.array(["us", "eu", "apac", "latam", "mena", "ca", "uk", "anz"])
START = np.datetime64(dt.datetime(2026, 3, 1), "us")


def chunk(rng: np.random.Generator, start: int, n: int) -> dict[str, pa.Table]:
    ids = np.arange(start, start + n, dtype=np.int64)
    ts = START + (ids * 17_000).astype("timedelta64[us]")
    region = rng.integers(0, len(REGIONS), n)
    label = (rng.random(n) < 0.4).astype(np.int8)
    score = np.clip(np.where(label == 1, rng.beta(5, 3, n), rng.beta(3, 5, n)), 0, 1)
    flip = rng.random(n) < np.where(region == 3, 0.2, 0.05)
    score_c = np.clip(np.where(flip, 1 - score, score + rng.normal(0, 0.02, n)), 0, 1)
    out = {}
    for side, s, slow, err in (("production", score, 1.0, 0.005), ("candidate", score_c, 1.3, 0.01)):
        latency = rng.lognormal(np.log(30), 0.5, n) * slow
        table = pa.table({"request_id": ids, "ts": ts, "region": REGIONS[region], "prediction": (s >= 0.5).astype(
            np.int8), "score": s, "latency_ms": latency, "error": rng.random(n) < err})
        retry = table.take(np.flatnonzero(rng.random(n) < 0.001))
        keep = np.ones(n, bool) if side == "production" else rng.random(n) >= 0.002
        out[side] = pa.concat_tables([table.filter(pa.array(keep)), retry])
    labelled = rng.random(n) < 0.3
    out["labels"] = pa.table({"request_id": ids[labelled], "label": label[labelled]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    writers: dict[str, pq.ParquetWriter] = {}
    for start in range(0, args.rows, CHUNK):
        for name, table in chunk(rng, start, min(CHUNK, args.rows - start)).items():
            if name not in writers:
                writers[name] = pq.ParquetWriter(args.out / f"{name}.tmp", table.schema)
            writers[name].write_table(table)
    for name, w in writers.items():
        w.close()
        (args.out / f"{name}.tmp").rename(args.out / f"{name}.parquet")


if __name__ == "__main__":
    main()
