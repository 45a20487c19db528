"""check_service on the whole serving sample (requests, spans and metrics) against sample_data/serving/planted.json:
every planted problem is found in its scope and its time, no decoy alerts, and the incident timeline tells the
outage (one cause, its symptoms and its 14:30 flare-up), the restart's gap, the duplicated processing and the
input-bound GPU apart."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from workbench.service import check_service
from workbench.service.incidents import window_of

DATA = Path(__file__).parent.parent / "sample_data" / "serving"
PLANTED = json.loads((DATA / "planted.json").read_text())
MINUTE = dt.timedelta(minutes=1)


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


OUTAGE = (t(PLANTED["dependency_outage"]["start"]), t(PLANTED["dependency_outage"]["end"]))
BREAKER = tuple(t(x) for x in PLANTED["dependency_outage"]["circuit_open"])
DUPLICATES = tuple(t(x) for x in PLANTED["duplicated_processing"]["window"])
GPU = (t(PLANTED["input_bound_gpu"]["start"]), t(PLANTED["input_bound_gpu"]["end"]))
GAP = (t(PLANTED["metrics_gap"]["from"]), t(PLANTED["metrics_gap"]["to"]))


@pytest.fixture(scope="module")
def result():
    return check_service(pl.read_parquet(DATA / "requests.parquet"), spans=pl.read_parquet(DATA / "spans.parquet"),
                         metrics=pl.read_parquet(DATA / "metrics.parquet"))


def _within(finding, span: tuple[dt.datetime, dt.datetime], slack: dt.timedelta = MINUTE) -> bool:
    start, end = window_of(finding)
    return span[0] - slack <= start and end <= span[1] + slack


def _one(result, kind: str, **where):
    found = [f for f in result.at_least("warning") if f.kind == kind
             and all((f.metrics.get(k) if k == "rule" else f.scope.get(k)) == v for k, v in where.items())]
    assert len(found) == 1, (kind, where, [(f.subject, f.scope) for f in result.by_kind(kind)])
    return found[0]


def test_the_outage_its_fallbacks_timeouts_and_stage_waits(result):
    fallback = _one(result, "fallback_rate_increase", segment=None)
    assert fallback.subject == PLANTED["dependency_outage"]["dependency"] and _within(fallback, OUTAGE, dt.timedelta(0))
    assert fallback.severity == "critical"
    assert all(_within(f, OUTAGE) for f in result.by_kind("fallback_rate_increase"))
    timeouts = result.by_kind("timeout_rate_increase")
    assert timeouts and all(_within(f, OUTAGE) for f in timeouts)
    # the fetch waits 2 s before the breaker opens and again when it closes on a flaky store: feature_fetch only
    stages = result.by_kind("stage_latency_regression")
    assert {f.subject for f in stages} == {"feature_fetch"} and all(_within(f, OUTAGE) for f in stages)
    assert {window_of(f)[0] for f in stages} == {OUTAGE[0], BREAKER[1]}


def test_the_circuit_breaker_helped(result):
    breaker = _one(result, "circuit_breaker_open")
    assert breaker.subject == "feature_store" and _within(breaker, BREAKER)
    m = breaker.metrics
    assert m["helped"] == "yes" and m["timeout_share"] == 0 and m["baseline_timeout_share"] > 0.05
    assert m["p95_ms"] < 150 and m["baseline_p95_ms"] > 2000
    assert m["measures"] == {"failed": "lower", "timeouts": "fell", "latency": "fell"}


def test_the_retry_storm_from_batch_scorer(result):
    storm = PLANTED["dependency_outage"]["retry_storm"]
    rate = _one(result, "retry_storm", rule="retry_rate", segment={"client_id": storm["client_id"]})
    start, end = window_of(rate)
    assert start == OUTAGE[0] and end <= OUTAGE[1] + dt.timedelta(minutes=20)  # the hour window it lies in
    assert rate.metrics["events"] == storm["retries"]
    no_backoff = _one(result, "retry_storm", rule="no_backoff", segment={"client_id": storm["client_id"]})
    assert _within(no_backoff, OUTAGE)
    (error,) = storm["retried_error_classes_never_succeed"]
    fails = _one(result, "retry_storm", rule="always_fails", error_class=error)
    assert _within(fails, BREAKER)
    # all traffic retries more during the outage; only batch-scorer is named beside it
    clients = {f.scope["segment"]["client_id"] for f in result.by_kind("retry_storm")
               if "client_id" in (f.scope.get("segment") or {})}
    assert clients == {storm["client_id"]}


def test_the_queue_grows_then_rejects(result):
    q = PLANTED["queue"]
    queue = _one(result, "queue_backpressure")
    assert queue.scope["segment"] == {"host": q["host"], "queue": q["queue"]} and queue.severity == "critical"
    assert abs(window_of(queue)[0] - t(q["pressure"][0])) <= MINUTE
    assert queue.metrics["rejections_start"] == t(q["first_rejection"]) and queue.metrics["rejected"] == q[
        "rejected_items"]


def test_the_duplicated_processing_and_not_the_replays(result):
    planted = PLANTED["duplicated_processing"]
    effects = _one(result, "idempotency_violation", rule="duplicate_side_effect")
    outputs = _one(result, "idempotency_violation", rule="different_output")
    assert effects.metrics["violating_keys"] == len(planted["keys"]) and effects.severity == "critical"
    assert outputs.metrics["violating_keys"] == planted["different_output"]
    assert _within(effects, DUPLICATES) and _within(outputs, DUPLICATES)
    # the /notify client retried those requests: retries per original rose there, at the same time
    notify = _one(result, "retry_storm", rule="retry_rate", segment={"endpoint": planted["endpoint"]})
    assert window_of(notify) == DUPLICATES


def test_the_gpu_and_the_gap(result):
    g = PLANTED["input_bound_gpu"]
    gpu = _one(result, "gpu_underutilized")
    assert gpu.scope["segment"] == {"host": g["host"], "gpu": g["gpu"]} and gpu.metrics["cause"] == "input_bound"
    assert _within(gpu, GPU)
    gap = _one(result, "metrics_gap")
    assert gap.scope["segment"] == {"host": PLANTED["metrics_gap"]["host"]} and window_of(gap) == GAP


def test_no_decoy_alerts(result):
    """Every alert lies in a planted problem's time: nothing for the slow /batch_score endpoint (the eu mix
    fluctuation at 15:15 on day 1), the idempotent replays under v12, the queue burst on host b, the idle
    nights or the counter resets."""
    planted = [OUTAGE, DUPLICATES, GPU, GAP]
    stray = [(f.kind, f.subject, f.scope) for f in result.at_least("warning")
             if not any(_within(f, span, dt.timedelta(minutes=20)) for span in planted)]
    assert stray == []
    assert not [f for f in result.by_kind("stage_latency_regression") if f.subject in ("inference", "postprocess")]
    assert not [f for f in result.at_least("warning") if window_of(f)[1] < DUPLICATES[0] and f.kind ==
                "idempotency_violation"]


def test_the_incident_timeline(result):
    table = result.tables["incidents"]
    assert table["first_cause"].to_list() == ["fallback_rate_increase", "metrics_gap", "retry_storm",
                                              "gpu_underutilized"]
    outage = table.row(0, named=True)
    assert (outage["start"], outage["end"]) == (OUTAGE[0], OUTAGE[0] + dt.timedelta(hours=1))
    # one incident with every symptom, the 14:30 flare-up included (it started as the breaker closed)
    assert set(outage["kinds"]) == {"fallback_rate_increase", "circuit_breaker_open", "timeout_rate_increase",
                                    "retry_storm", "queue_backpressure", "stage_latency_regression"}
    assert outage["kinds"].count("timeout_rate_increase") == 3 and outage["severity"] == "critical"
    duplicated = table.row(2, named=True)
    assert sorted(duplicated["kinds"]) == ["idempotency_violation", "idempotency_violation", "retry_storm"]
