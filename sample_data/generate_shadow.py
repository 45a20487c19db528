"""Deterministic generator of the shadow/canary sample (issue 5).

Run ``python sample_data/generate_shadow.py`` to rewrite ``sample_data/shadow/``:

* ``production.parquet``: 40,000 requests over 48 hours answered by the production model
  (``request_id``, ``ts``, ``region``, ``device``, ``score``, ``prediction``, ``latency_ms``,
  ``error``), with a few retried requests (same id logged twice);
* ``candidate.parquet`` — the **shadow scenario**: a new model on the same mirrored requests. It
  is slightly better overall, but reads ``basket_trend`` with the wrong sign in
  ``region=latam`` (it disagrees there and is worse there), it is about 2.5x slower at p95 and
  fails 1.8% of requests instead of 0.5%; it missed 0.3% of the requests;
* ``candidate_same.parquet`` — the **null scenario**: the same model deployed twice (identical
  predictions; latency and errors drawn afresh from production's distribution);
* ``labels.parquet``: the true outcome of 70% of the requests (``request_id``, ``label``,
  ``label_time``), arriving 1 to 48 hours after the request — some after the end of the logs;
* ``planted.json``: what was planted, for the tests and the walkthrough.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl

SEED = 20261125
OUT = Path(__file__).parent / "shadow"
N = 40_000
HOURS = 48
START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
REGIONS, REGION_P = ["us", "eu", "apac", "latam"], [0.4, 0.3, 0.2, 0.1]
DEVICES, DEVICE_P = ["mobile", "desktop"], [0.6, 0.4]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def requests(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The requests and their hidden features and outcome."""
    seconds = np.sort(rng.uniform(0, HOURS * 3600, N))
    region = rng.choice(REGIONS, N, p=REGION_P)
    device = rng.choice(DEVICES, N, p=DEVICE_P)
    recency, trend = rng.normal(size=N), rng.normal(size=N)
    signal = 1.6 * recency + 1.1 * trend + np.where(device == "mobile", 0.3, -0.2)
    label = (rng.random(N) < _sigmoid(signal)).astype(np.int8)
    hour = (seconds // 3600) % 24
    load = 1 + 0.8 * np.exp(-((hour - 19) ** 2) / 8)  # evening peak
    return {"seconds": seconds, "region": region, "device": device, "recency": recency, "trend": trend,
            "label": label, "load": load, "ids": np.array([f"r{i:06d}" for i in range(N)])}


def production_log(rng: np.random.Generator, req: dict) -> pl.DataFrame:
    score = _sigmoid(1.3 * req["recency"] + 0.8 * req["trend"] + rng.normal(0, 0.9, N))
    return _log(rng, req, score, latency_scale=1.0, error_rate=0.005)


def candidate_log(rng: np.random.Generator, req: dict) -> pl.DataFrame:
    trend = np.where(req["region"] == "latam", -req["trend"], req["trend"])  # the bug: sign flipped in latam
    score = _sigmoid(1.6 * req["recency"] + 1.1 * trend + np.where(req["device"] == "mobile", 0.3, -0.2)
                     + rng.normal(0, 0.6, N))
    log = _log(rng, req, score, latency_scale=2.5, error_rate=0.018)
    return log.filter(pl.Series(rng.random(len(log)) >= 0.003))  # requests the shadow never logged


def same_model_log(rng: np.random.Generator, req: dict, production: pl.DataFrame) -> pl.DataFrame:
    first = production.unique("request_id", keep="first", maintain_order=True)
    fresh = _log(rng, req, first["score"].to_numpy(), latency_scale=1.0, error_rate=0.005)
    return fresh


def _log(rng: np.random.Generator, req: dict, score: np.ndarray, latency_scale: float,
         error_rate: float) -> pl.DataFrame:
    base = rng.lognormal(np.log(35), 0.35, N) * req["load"]
    tail = np.where(rng.random(N) < 0.08, rng.exponential(60, N), 0.0)  # slow feature fetches
    latency = (base + tail) * np.where(latency_scale > 1, 1 + (latency_scale - 1) * (req["load"] - 0.6), 1.0)
    error = rng.random(N) < error_rate * req["load"]
    score = np.round(score, 4)
    ts = [START + dt.timedelta(seconds=float(s)) for s in req["seconds"]]
    log = pl.DataFrame({
        "request_id": req["ids"], "ts": ts, "region": req["region"], "device": req["device"],
        "score": score, "prediction": (score >= 0.5).astype(np.int8),
        "latency_ms": np.round(latency, 2), "error": error,
    })
    log = log.with_columns(pl.col("ts").dt.cast_time_unit("us"))
    retried = log.filter(pl.col("error")).head(40)  # a retry after a failure: logged again, succeeded
    retry = retried.with_columns(pl.col("ts") + dt.timedelta(seconds=2), error=pl.lit(False))
    return pl.concat([log, retry]).sort("ts")


def labels(rng: np.random.Generator, req: dict) -> pl.DataFrame:
    keep = rng.random(N) < 0.7
    delay = rng.uniform(1, 48, N) * 3600
    times = [START + dt.timedelta(seconds=float(s + d)) for s, d in zip(req["seconds"], delay, strict=True)]
    frame = pl.DataFrame({"request_id": req["ids"], "label": req["label"], "label_time": times})
    return frame.with_columns(pl.col("label_time").dt.cast_time_unit("us")).filter(pl.Series(keep))


def main() -> None:
    rng = np.random.default_rng(SEED)
    req = requests(rng)
    prod = production_log(rng, req)
    cand = candidate_log(rng, req)
    same = same_model_log(rng, req, prod)
    lab = labels(rng, req)
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir()
    for name, frame in (("production", prod), ("candidate", cand), ("candidate_same", same), ("labels", lab)):
        frame.write_parquet(OUT / f"{name}.parquet", statistics=False)
    planted = {
        "requests": N, "hours": HOURS, "end": (START + dt.timedelta(hours=HOURS)).isoformat(),
        "shadow": {"expected_verdict": "rollback", "slower_p95": "about 2.5x at peak load",
                   "error_rate": {"production": 0.005, "candidate": 0.018},
                   "disagreement_segment": {"region": "latam"}, "worse_segment": {"region": "latam"},
                   "better_overall": True, "missed_requests_share": 0.003},
        "null": {"expected_verdict": "promote", "same_predictions": True},
        "labels": {"share": 0.7, "delay_hours": [1, 48]},
    }
    (OUT / "planted.json").write_text(json.dumps(planted, indent=2) + "\n")


if __name__ == "__main__":
    main()
