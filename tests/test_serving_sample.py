"""The shipped serving sample (sample_data/serving): deterministic, and every planted fact holds when counted by
brute force from the rows; the metrics checks find what was planted there and stay quiet on the decoys."""

from __future__ import annotations

import datetime as dt
import importlib.util
import itertools
import json
from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from workbench.service.incidents import incidents, window_of
from workbench.service.metrics import metrics_findings
from workbench.telemetry import read_spans, stages_from_spans

DATA = Path(__file__).parent.parent / "sample_data" / "serving"
PLANTED = json.loads((DATA / "planted.json").read_text())
LOG_COLUMNS = ["request_id", "timestamp", "client_id", "region", "endpoint", "host", "model_version",
               "idempotency_key", "attempt", "status", "error_class", "latency_ms", "output_hash", "side_effect_id",
               "fallback", "dependency", "circuit_open"]


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.fixture(scope="module")
def log() -> pl.DataFrame:
    return pl.read_parquet(DATA / "requests.parquet")


@pytest.fixture(scope="module")
def metrics() -> pl.DataFrame:
    return pl.read_parquet(DATA / "metrics.parquet")


@pytest.fixture(scope="module")
def checked(metrics):
    return metrics_findings(metrics, capacity={"inference": PLANTED["queue"]["capacity"]})


def _generator():
    spec = importlib.util.spec_from_file_location("serving_generate", DATA / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_generator_rewrites_the_same_files(tmp_path):
    _generator().main(tmp_path)
    for name in ("requests", "spans", "metrics"):
        assert_frame_equal(pl.read_parquet(tmp_path / f"{name}.parquet"), pl.read_parquet(DATA / f"{name}.parquet"))
    assert json.loads((tmp_path / "planted.json").read_text()) == PLANTED


def test_the_files_are_small_and_have_the_documented_columns(log, metrics):
    assert sum((DATA / f).stat().st_size for f in ("requests.parquet", "spans.parquet", "metrics.parquet")) < 4e6
    assert log.columns == LOG_COLUMNS and log.height == PLANTED["rows"]["requests"]
    assert log["request_id"].is_unique().all() and log["timestamp"].dtype == pl.Datetime("us", "UTC")
    assert set(log["status"].unique()) == {"ok", "error", "timeout", "rejected"}
    assert metrics.columns == ["timestamp", "metric", "value", "host", "gpu", "queue"]
    span = metrics["timestamp"].max() - metrics["timestamp"].min()
    assert span == dt.timedelta(days=2) - dt.timedelta(seconds=10)
    assert metrics["timestamp"].dt.second().unique().sort().to_list() == [0, 10, 20, 30, 40, 50]


# -- the dependency outage ------------------------------------------------------------------------------------
def test_fallbacks_and_the_circuit_breaker_during_the_outage(log):
    outage = PLANTED["dependency_outage"]
    start, end = t(outage["start"]), t(outage["end"])
    opened, closed = (t(x) for x in outage["circuit_open"])
    features = log.filter(pl.col("endpoint").is_in(["/predict", "/recommend"]))
    during = features.filter(pl.col("timestamp").is_between(start, end, closed="left"))
    before = features.filter(pl.col("timestamp") < start)
    assert during["fallback"].mean() == pytest.approx(outage["fallback_share_during"], abs=1e-4)
    assert during["fallback"].mean() > 0.6 and before["fallback"].mean() < 0.005
    assert set(log.filter(pl.col("fallback"))["dependency"].unique()) == {"feature_store"}
    breaker = log.filter(pl.col("circuit_open"))
    assert breaker["timestamp"].min() >= opened and breaker["timestamp"].max() < closed
    assert (breaker["timestamp"].min() - opened) < dt.timedelta(minutes=1)
    # the breaker helped: no timeouts while it was open, fast answers instead of 2-second waits
    open_rows = features.filter(pl.col("timestamp").is_between(opened, closed, closed="left"))
    closed_rows = features.filter(pl.col("timestamp").is_between(start, opened, closed="left"))
    assert (open_rows["status"] == "timeout").sum() == 0 and (closed_rows["status"] == "timeout").sum() > 10
    assert open_rows["latency_ms"].median() < 100 < closed_rows["latency_ms"].median()


def test_the_retry_storm_comes_from_one_client_without_backoff(log):
    storm = PLANTED["dependency_outage"]["retry_storm"]
    start, end = (t(PLANTED["dependency_outage"][k]) for k in ("start", "end"))
    attempts: dict[str, list[dict]] = defaultdict(list)
    for row in log.sort("timestamp").iter_rows(named=True):
        attempts[row["idempotency_key"]].append(row)
    per_client: dict[tuple[str, bool], list[int]] = defaultdict(lambda: [0, 0])
    gaps: dict[str, list[float]] = defaultdict(list)
    for rows in attempts.values():
        first = rows[0]
        inside = start <= first["timestamp"] < end
        per_client[(first["client_id"], inside)][0] += 1
        per_client[(first["client_id"], inside)][1] += len(rows) - 1
        for a, b in itertools.pairwise(rows):
            if b["attempt"] > a["attempt"]:
                gaps[first["client_id"]].append(
                    (b["timestamp"] - a["timestamp"]).total_seconds() * 1000 - a["latency_ms"])
    originals, retries = per_client[("batch-scorer", True)]
    assert retries / originals > 3 and retries == storm["retries"]
    for client in ("web", "mobile", "partner-api"):
        assert per_client[(client, True)][1] / per_client[(client, True)][0] < 0.5
        assert per_client[(client, False)][1] / per_client[(client, False)][0] < 0.02
    assert max(gaps["batch-scorer"]) < storm["backoff_ms"][1] + 1  # immediately, no backoff
    assert min(gaps["web"]) > 800  # the others back off a second or more
    # the errors it retries never succeed: no key whose attempts met FeatureStoreUnavailable ends ok
    doomed = [rows for rows in attempts.values() if any(r["error_class"] == "FeatureStoreUnavailable" for r in rows)]
    assert doomed and not any(r["status"] == "ok" for rows in doomed for r in rows)
    assert {r["client_id"] for rows in doomed for r in rows} == {"batch-scorer"}


def test_duplicated_processing_and_the_idempotent_replays(log):
    planted = PLANTED["duplicated_processing"]
    effects: dict[str, set] = defaultdict(set)
    outputs: dict[str, set] = defaultdict(set)
    processed: dict[str, list[dict]] = defaultdict(list)
    for row in log.filter(pl.col("status") == "ok").iter_rows(named=True):
        processed[row["idempotency_key"]].append(row)
        effects[row["idempotency_key"]].add(row["side_effect_id"])
        outputs[row["idempotency_key"]].add(row["output_hash"])
    twice = sorted(k for k, v in effects.items() if len(v) > 1)
    assert twice == planted["keys"] and len(twice) == 40
    assert sum(len(outputs[k]) > 1 for k in twice) == planted["different_output"] == 25
    rows = [r for k in twice for r in processed[k]]
    assert {r["endpoint"] for r in rows} == {"/notify"} and {r["model_version"] for r in rows} == {"v13"}
    lo, hi = (t(x) for x in planted["window"])
    assert all(lo <= r["timestamp"] < hi + dt.timedelta(seconds=10) for r in rows)
    replayed = [k for k, v in processed.items() if len(v) > 1 and k not in twice]
    assert len(replayed) == PLANTED["decoys"]["idempotent_replays"]["keys"] == 30
    assert all(len(effects[k]) == 1 and len(outputs[k]) == 1 and processed[k][0]["model_version"] == "v12"
               for k in replayed)


# -- the metrics ----------------------------------------------------------------------------------------------
def _series(metrics, metric, **labels) -> pl.DataFrame:
    where = pl.col("metric") == metric
    for k, v in labels.items():
        where &= pl.col(k) == v
    return metrics.filter(where).sort("timestamp")


def test_the_queue_grows_before_rejections_start(metrics, log):
    q = PLANTED["queue"]
    rejected = _series(metrics, "queue_rejected_total", host="a")
    increase = rejected.with_columns(pl.col("value").diff().alias("inc"))
    first = increase.filter(pl.col("inc") > 0)["timestamp"].min()
    assert first == t(q["first_rejection"]) and rejected["value"].max() == q["rejected_items"]
    depth = _series(metrics, "queue_depth", host="a")
    at = depth.filter(pl.col("timestamp").is_between(t(q["pressure"][0]), first))
    assert at["value"][0] < 50 and at["value"][-1] > 0.95 * q["capacity"]
    assert (at["value"].diff().drop_nulls() > 0).mean() > 0.9  # it grew, sample after sample
    rejects = log.filter(pl.col("status") == "rejected")
    assert rejects.height == q["rejected_requests"] and set(rejects["host"]) == {"a"}
    assert rejects["timestamp"].min() >= first
    assert _series(metrics, "queue_rejected_total", host="b")["value"].max() == 0


def test_host_b_restarts_with_a_gap_and_counters_from_zero(metrics):
    gap = PLANTED["metrics_gap"]
    b = _series(metrics, "requests_total", host="b")
    stamps = b["timestamp"]
    missing = stamps.diff().drop_nulls() > dt.timedelta(seconds=10)
    assert int(missing.sum()) == 1
    i = int(missing.arg_true()[0]) + 1
    assert (stamps[i - 1], stamps[i]) == (t(gap["from"]), t(gap["to"]))
    assert (stamps[i] - stamps[i - 1]) // dt.timedelta(seconds=10) - 1 == gap["missing_samples"]
    assert b["value"][i] < b["value"][i - 1]  # the counter restarted
    assert metrics.filter(pl.col("host") == "b")["timestamp"].n_unique() == 17280 - gap["missing_samples"]


def test_the_input_bound_gpu_and_the_idle_nights(metrics):
    g = PLANTED["input_bound_gpu"]
    window = pl.col("timestamp").is_between(t(g["start"]), t(g["end"]), closed="left")
    util = _series(metrics, "gpu_utilization", host=g["host"], gpu=g["gpu"]).filter(window)["value"]
    wait = _series(metrics, "dataloader_wait_seconds", host=g["host"], gpu=g["gpu"]).filter(window)["value"]
    assert util.mean() == pytest.approx(g["utilization"], abs=0.01) and (wait / 10).mean() == pytest.approx(
        g["wait_share"], abs=0.01)
    other = _series(metrics, "gpu_utilization", host=g["host"], gpu="0").filter(window)["value"]
    assert other.mean() > util.mean() + 0.15
    night = metrics.filter((pl.col("metric") == "gpu_utilization") & (pl.col("timestamp").dt.hour().is_between(1, 4)))
    assert night["value"].mean() < 0.05


def test_the_slow_endpoint_is_slow_all_the_time(log):
    per_hour = log.filter(pl.col("status") == "ok").group_by(pl.col("timestamp").dt.truncate("6h"), "endpoint").agg(
        pl.col("latency_ms").median())
    slow = per_hour.filter(pl.col("endpoint") == "/batch_score")["latency_ms"]
    fast = per_hour.filter(pl.col("endpoint") != "/batch_score")["latency_ms"]
    assert slow.min() > 10 * fast.max()


def test_spans_read_as_a_span_table_and_add_up_to_the_log(log):
    spans = read_spans(DATA / "spans.parquet")
    roots = spans.filter(pl.col("is_root"))
    assert roots.height == log.height and not spans["parent_missing"].any() and not spans["clock_skew"].any()
    assert (spans["trace_id"] == spans["request_id"]).all()  # a request is a trace: the log's id is its trace id
    joined = roots.join(log, on="request_id", how="inner", validate="1:1")
    assert joined.height == log.height
    assert (joined["duration_ms"] - joined["latency_ms"]).abs().max() < 0.01
    stages = stages_from_spans(spans)
    total = stages.group_by("request_id").agg(pl.col("latency_ms").sum()).join(
        roots.select(pl.col("trace_id").alias("request_id"), "duration_ms"), on="request_id")
    assert (total["latency_ms"] - total["duration_ms"]).abs().max() < 0.01
    outage = PLANTED["dependency_outage"]
    fetch = spans.filter((pl.col("name") == "feature_fetch") & (pl.col("endpoint") != "/notify") & pl.col(
        "start_time").is_between(
        t(outage["start"]), t(outage["circuit_open"][0]), closed="left"))
    assert fetch["duration_ms"].median() == 2000 and (fetch["status_code"] == "error").all()


# -- the metrics checks on the sample ---------------------------------------------------------------------------
def test_the_metrics_checks_find_what_was_planted_and_nothing_else(checked):
    tables, found = checked
    alerts = sorted((f.kind, f.subject) for f in found if f.severity != "info")
    assert alerts == [("gpu_underutilized", "host=b, gpu=1"), ("metrics_gap", "15 series"),
                      ("queue_backpressure", "host=a, queue=inference")]
    (queue,) = [f for f in found if f.kind == "queue_backpressure"]
    q = PLANTED["queue"]
    assert queue.severity == "critical" and queue.metrics["rejections_start"] == t(q["first_rejection"])
    assert abs((window_of(queue)[0] - t(q["pressure"][0])).total_seconds()) <= 60
    predicted = queue.metrics["detected_at"] + dt.timedelta(seconds=queue.metrics["seconds_to_full"])
    assert abs((predicted - t(q["first_rejection"])).total_seconds()) < 120
    (gpu,) = [f for f in found if f.kind == "gpu_underutilized"]
    g = PLANTED["input_bound_gpu"]
    start, end = window_of(gpu)
    assert gpu.metrics["cause"] == "input_bound"
    assert abs((start - t(g["start"])).total_seconds()) <= 60 and abs((end - t(g["end"])).total_seconds()) <= 60
    (gap,) = [f for f in found if f.kind == "metrics_gap"]
    assert gap.scope == {"segment": {"host": "b"}, "window": [PLANTED["metrics_gap"]["from"],
                                                              PLANTED["metrics_gap"]["to"]]}
    # the decoys: the spike on host b drained, the nights are idle (not underutilized)
    assert tables["queues"].filter(pl.col("host") == "b")["depth"].max() > 400
    assert not tables["queues"].filter(pl.col("host") == "b")["growing"].any()
    night = tables["gpu"].filter(pl.col("timestamp").dt.hour().is_between(1, 4))["state"]
    assert set(night) == {"idle", "low_load"} and (night == "idle").mean() > 0.97  # a lone request is low load


def test_the_metrics_findings_are_three_incidents(checked):
    table = incidents(checked[1])
    assert table["first_cause"].to_list() == ["queue_backpressure", "metrics_gap", "gpu_underutilized"]
    assert table["start"][0] >= t(PLANTED["dependency_outage"]["start"])
