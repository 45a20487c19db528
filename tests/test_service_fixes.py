"""Wrong answers of check_service found on the serving sample, each pinned on a small generated log: whether a
circuit breaker helped (judged on the requests it protects), stage latency against each endpoint's own baseline
(an endpoint-mix change is not a regression), and retries without backoff placed where they happened."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from workbench.service import check_service

START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def _at(minutes: float) -> dt.datetime:
    return START + dt.timedelta(minutes=minutes)


def _breaker_log(seed: int, *, fallback_works: bool = True) -> pl.DataFrame:
    """Three hours; the dependency is down from minute 100 to 140, its breaker open from 108 to 130. Before the
    breaker opens, requests of /predict wait 2 s and time out 40% of the time; while it is open they are served
    fast with a fallback (``fallback_works``) or fail fast. /batch needs the dependency and fails either way; its
    client retries those failures at once, four more times. /notify does not use the dependency."""
    rng = np.random.default_rng(seed)
    rows = []
    n = 6_000
    seconds = np.sort(rng.uniform(0, 180 * 60, n))
    endpoint = rng.choice(["/predict", "/batch", "/notify"], n, p=[0.55, 0.15, 0.3])
    for i in range(n):
        t, ep = START + dt.timedelta(seconds=float(seconds[i])), str(endpoint[i])
        minute = seconds[i] / 60
        down, breaker = 100 <= minute < 140, 108 <= minute < 130
        client = "batch" if ep == "/batch" else "app"
        status, latency, fallback, is_open = "ok", float(rng.gamma(4, 10)), False, False
        if ep != "/notify" and breaker:
            is_open, latency = True, float(rng.gamma(2, 2))
            if ep == "/predict" and fallback_works:
                fallback = True
            else:
                status = "error"
        elif ep != "/notify" and down:
            latency = 2000.0 + float(rng.gamma(2, 5))
            status = "timeout" if ep == "/batch" or rng.random() < 0.4 else "ok"
            fallback = status == "ok"
        elif rng.random() < 0.01:
            status = "error"
        attempts = 5 if client == "batch" and status != "ok" else 1
        for a in range(1, attempts + 1):
            rows.append({"request_id": f"r{i}-{a}", "idempotency_key": f"k{i}", "attempt": a,
                         "timestamp": t + dt.timedelta(milliseconds=a * 50), "client_id": client, "endpoint": ep,
                         "status": status, "latency_ms": latency, "fallback": fallback,
                         "dependency": "store" if fallback or is_open else None, "circuit_open": is_open})
    return pl.DataFrame(rows, infer_schema_length=None)


def test_a_breaker_helps_when_the_requests_it_protects_stop_timing_out():
    log = _breaker_log(1)
    # what fooled the old rule: counted per attempt over all traffic, the failure share rose while it was open
    # (the batch client's five attempts per always-failing request)
    during = log.filter(pl.col("timestamp").is_between(_at(108), _at(130)))
    before = log.filter(pl.col("timestamp").is_between(_at(86), _at(108), closed="left"))
    failed = pl.col("status").is_in(["error", "timeout"]).mean()
    assert during.select(failed).item() > before.select(failed).item() + 0.05
    (finding,) = check_service(log, window="5m").by_kind("circuit_breaker_open")
    m = finding.metrics
    assert m["helped"] == "yes" and m["measures"]["timeouts"] == "fell" and m["measures"]["latency"] == "fell"
    assert m["baseline_timeout_share"] > 0.2 and m["timeout_share"] == 0
    assert m["protected_cells"] == 2  # (client app, /predict) and (client batch, /batch); /notify is not protected
    assert m["p95_ms"] < 100 < 2000 < m["baseline_p95_ms"]
    # the originals of the protected cells, counted by hand
    protected = during.filter((pl.col("attempt") == 1) & (pl.col("endpoint") != "/notify"))
    assert m["n"] == protected.height and m["value"] == protected.select(failed).item()
    assert "it helped (timeouts" in finding.message


def test_a_breaker_whose_requests_still_fail_did_not_help():
    (finding,) = check_service(_breaker_log(2, fallback_works=False), window="5m").by_kind("circuit_breaker_open")
    m = finding.metrics
    # timeouts became fast errors: failures rose, so the verdict is not 'yes'
    assert m["measures"]["failed"] == "rose" and m["measures"]["timeouts"] == "fell"
    assert m["helped"] == "unclear"
