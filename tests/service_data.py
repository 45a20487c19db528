"""Simulated serving request logs and spans for the service check's tests: a null log (nothing changes) and
planted incidents (a retry storm without backoff from one client, an error class whose retries never succeed,
a dependency outage with fallbacks and an open circuit breaker, timeouts, a duplicated-processing bug, a slow
stage in one region)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
CLIENTS = [f"c{i}" for i in range(8)]
REGIONS = ["eu", "us", "ap"]
ENDPOINTS = ["/score", "/rank"]
STAGES = {"fetch_features": 20.0, "embed": 15.0, "retrieve": 40.0, "generate": 120.0}


@dataclass
class Plan:
    """What to plant; every field off gives a null log."""

    storm: bool = False  # client c3: 70% retried at once from hour 3 to 4
    always_fails: bool = False  # error class InvalidInput retried, never succeeds
    outage: bool = False  # feature-store falls back for 40% of requests from 2:00 to 2:40, breaker open 2:20-2:40
    timeouts: bool = False  # 10% timeouts from 4:00 to 4:30
    duplicates: int = 0  # keys processed twice with different outputs (the first half also two side effects)
    slow_stage: bool = False  # stage retrieve 3x slower in region ap from 5:00 to 6:00
    extra: dict = field(default_factory=dict)


def make_log(rng: np.random.Generator, n: int = 20_000, plan: Plan | None = None, hours: float = 6.0) -> pl.DataFrame:
    """``n`` original requests over ``hours`` with their retries, as a serving request log."""
    plan = plan or Plan()
    seconds = np.sort(rng.uniform(0, hours * 3600, n))
    client = rng.choice(CLIENTS, n)
    region = rng.choice(REGIONS, n, p=[0.45, 0.45, 0.10])
    endpoint = rng.choice(ENDPOINTS, n)
    rows: list[dict] = []
    for i in range(n):
        t = START + dt.timedelta(seconds=float(seconds[i]))
        h = seconds[i] / 3600
        key = f"k{i}"
        storm = plan.storm and client[i] == "c3" and 3 <= h < 4
        outage = plan.outage and 2 <= h < 2 + 40 / 60
        breaker = outage and h >= 2 + 20 / 60
        fb = rng.random() < (0.4 if outage else 0.02)  # a cached feature now and then: the baseline
        timeout = rng.random() < (0.10 if plan.timeouts and 4 <= h < 4.5 else 0.005)
        invalid = plan.always_fails and rng.random() < 0.01
        down = outage and not breaker and rng.random() < 0.3  # the dependency fails until the breaker opens
        attempt, fail = 1, rng.random() < 0.03 or storm or invalid or timeout or down
        while True:
            status = "ok" if not fail else ("timeout" if timeout and attempt == 1 else "error")
            error = None if status == "ok" else ("Timeout" if status == "timeout" else
                                                 "InvalidInput" if invalid else
                                                 "DependencyDown" if down else "Unavailable")
            latency = float(rng.gamma(4, 50)) + (400 if status == "timeout" else 0)
            rows.append({"request_id": f"r{i}-{attempt}", "timestamp": t, "client_id": client[i],
                         "region": region[i], "endpoint": endpoint[i], "idempotency_key": key, "attempt": attempt,
                         "status": status, "error_class": error, "latency_ms": latency,
                         "output_hash": f"h{i}" if status == "ok" else None,
                         "side_effect_id": f"s{i}" if status == "ok" else None,
                         "fallback": bool(fb and status == "ok"),
                         "dependency": "feature-store" if (fb and status == "ok") or breaker else None,
                         "circuit_open": bool(breaker)})
            if status == "ok" or attempt >= 3:
                break
            gap = 0.005 if storm else float(rng.uniform(1, 4)) * 2 ** (attempt - 1)
            t = t + dt.timedelta(milliseconds=latency) + dt.timedelta(seconds=gap)
            attempt += 1
            fail = invalid or (storm and rng.random() < 0.7) or rng.random() < 0.2
    log = pl.DataFrame(rows, infer_schema_length=None)
    if plan.duplicates:
        ok = log.filter((pl.col("status") == "ok") & (pl.col("attempt") == 1)).head(plan.duplicates * 50)
        picked = ok.sample(plan.duplicates, seed=int(rng.integers(1 << 30)))
        half = plan.duplicates // 2
        again = picked.with_row_index("j").with_columns(
            (pl.col("request_id") + "-dup"), (pl.col("output_hash") + "-x"),
            pl.when(pl.col("j") < half).then(pl.col("side_effect_id") + "-x").otherwise(pl.col("side_effect_id"))
            .alias("side_effect_id"),
            (pl.col("timestamp") + pl.duration(seconds=2))).drop("j")
        log = pl.concat([log, again])
    return log.sort("timestamp")


def make_spans(rng: np.random.Generator, log: pl.DataFrame, plan: Plan | None = None) -> pl.DataFrame:
    """A flattened span table for the log's ok attempts: a root span per request and one span per stage
    (trace id = the request id padded to 32 hex digits by :func:`trace_id`)."""
    plan = plan or Plan()
    ok = log.filter(pl.col("status") == "ok").select("request_id", "timestamp", "region")
    rows = []
    for j, (rid, ts, region) in enumerate(ok.iter_rows()):
        trace, root = trace_id(rid), f"{j + 1:016x}"
        h = (ts - START).total_seconds() / 3600
        t = ts
        for s, (name, mean) in enumerate(STAGES.items()):
            ms = float(rng.gamma(4, mean / 4))
            if plan.slow_stage and name == "retrieve" and region == "ap" and 5 <= h < 6:
                ms *= 3
            rows.append({"trace_id": trace, "span_id": f"{j:08x}{s + 1:08x}", "parent_span_id": root, "name": name,
                         "start_time": t, "end_time": t + dt.timedelta(milliseconds=ms)})
            t = t + dt.timedelta(milliseconds=ms)
        rows.append({"trace_id": trace, "span_id": root, "parent_span_id": None, "name": "POST /score",
                     "start_time": ts, "end_time": t})
    return pl.DataFrame(rows)


def trace_id(request_id: str) -> str:
    """A request id as a 32-hex-digit trace id (stable)."""
    import hashlib

    return hashlib.md5(request_id.encode()).hexdigest()
