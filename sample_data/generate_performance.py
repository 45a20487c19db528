"""Deterministic generator of the performance sample (issue 4).

Run ``python sample_data/generate_performance.py`` to rewrite ``sample_data/performance/``:

* ``reference.parquet``: 30,000 labelled, calibrated predictions from the validation period
  (``request_id``, ``ts``, ``region``, ``device``, ``plan``, ``score``, ``prediction``, ``label``);
* ``predictions.parquet``: a week of 84,000 served predictions (same columns, no label);
* ``labels.parquet``: outcomes (``request_id``, ``label``, ``label_time``): most arrive within 6
  hours, one in five takes 1 to 3 days — some have not arrived by the end of the sample;
* ``planted.json``: what was planted, for the tests and the walkthrough.

Planted: accuracy drops about 15 points on ``region=eu`` in the last 6 hours of the week; the
combination ``region=apac`` & ``device=tablet`` is about 10 points worse all week (neither apac nor
tablet alone is); ``region=test`` has 40 requests predicted at random (a small noisy segment that
must not alert); the scores' calibration degrades over the week (calibration slope 1.0 on day 1
falling to 0.7 on day 7: the model becomes overconfident).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl

SEED = 20261125
OUT = Path(__file__).parent / "performance"
START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
DAYS, PER_DAY = 7, 12_000
REGIONS, REGION_P = ["us", "eu", "apac", "latam"], [0.4, 0.3, 0.2, 0.1]
DEVICES, DEVICE_P = ["mobile", "desktop", "tablet"], [0.5, 0.35, 0.15]
PLANS = ["free", "pro"]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def requests(rng: np.random.Generator, n: int, start: dt.datetime, days: float, slope_end: float) -> pl.DataFrame:
    """Scored requests: outcome ~ Bernoulli(sigmoid(slope(t) * z)) while the model says sigmoid(z)."""
    seconds = np.sort(rng.uniform(0, days * 86_400, n))
    region = rng.choice(REGIONS, n, p=REGION_P)
    device = rng.choice(DEVICES, n, p=DEVICE_P)
    z = rng.normal(0, 2.2, n)
    slope = 1.0 - (1.0 - slope_end) * seconds / (days * 86_400)
    label = (rng.random(n) < _sigmoid(slope * z)).astype(np.int8)
    score = _sigmoid(z)
    ts = np.datetime64(start.replace(tzinfo=None), "us") + (seconds * 1e6).astype("timedelta64[us]")
    return pl.DataFrame({"request_id": [f"q{i:07d}" for i in range(n)], "ts": ts, "region": region,
                         "device": device, "plan": rng.choice(PLANS, n), "score": score, "label": label}).with_columns(
        pl.col("ts").dt.replace_time_zone("UTC"))


def plant(rng: np.random.Generator, frame: pl.DataFrame, end: dt.datetime) -> pl.DataFrame:
    """Make the model wrong where planted: flip the score of a share of the rows."""
    n = frame.height
    pair = (frame["region"] == "apac") & (frame["device"] == "tablet")
    late_eu = (frame["region"] == "eu") & (frame["ts"] >= end - dt.timedelta(hours=6))
    flip = np.where(pair.to_numpy(), 0.12, 0.0) + np.where(late_eu.to_numpy(), 0.19, 0.0)
    flipped = rng.random(n) < flip
    score = np.where(flipped, 1 - frame["score"].to_numpy(), frame["score"].to_numpy())
    tiny = np.zeros(n, bool)
    tiny[rng.choice(n, 40, replace=False)] = True
    region = np.where(tiny, "test", frame["region"].to_numpy())
    score = np.where(tiny, rng.random(n), score)
    return frame.with_columns(score=pl.Series(score.round(4)), region=pl.Series(region))


def main() -> None:
    rng = np.random.default_rng(SEED)
    end = START + dt.timedelta(days=DAYS)
    reference = requests(rng, 30_000, START - dt.timedelta(days=14), 7, slope_end=1.0)
    reference = reference.with_columns(score=pl.col("score").round(4))
    current = plant(rng, requests(rng, DAYS * PER_DAY, START, DAYS, slope_end=0.7), end)
    reference = reference.with_columns(prediction=(pl.col("score") >= 0.5).cast(pl.Int8))
    current = current.with_columns(prediction=(pl.col("score") >= 0.5).cast(pl.Int8))
    late = rng.random(current.height) < 0.2
    delay_h = np.where(late, rng.uniform(24, 72, current.height), rng.uniform(0.5, 6, current.height))
    labels = current.select("request_id", "label", (pl.col("ts") + pl.Series(
        (delay_h * 3.6e9).astype("timedelta64[us]"))).alias("label_time"))
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir()
    cols = ["request_id", "ts", "region", "device", "plan", "score", "prediction"]
    reference.select(*cols, "label").write_parquet(OUT / "reference.parquet", statistics=False)
    current.select(cols).write_parquet(OUT / "predictions.parquet", statistics=False)
    labels.write_parquet(OUT / "labels.parquet", statistics=False)
    as_of = end + dt.timedelta(hours=12)
    planted = {
        "end": end.isoformat(), "as_of": as_of.isoformat(),
        "performance_drop": {"segment": {"region": "eu"}, "window": [(end - dt.timedelta(hours=6)).isoformat(),
                                                                      end.isoformat()], "points": 15},
        "segment_disparity": {"segment": {"region": "apac", "device": "tablet"}, "points": 10},
        "noisy_segment": {"segment": {"region": "test"}, "rows": 40},
        "calibration": {"slope_day_1": 1.0, "slope_day_7": 0.7, "kind": "overconfident"},
        "labels": {"share_late": 0.2, "fast_delay_hours": [0.5, 6], "late_delay_hours": [24, 72]},
    }
    (OUT / "planted.json").write_text(json.dumps(planted, indent=2) + "\n")


if __name__ == "__main__":
    main()
