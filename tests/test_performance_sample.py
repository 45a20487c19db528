"""The shipped performance sample through check_performance() and `workbench performance`: every planted
problem is found where it was planted, and the small noisy segment is left alone."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from workbench.cli import main
from workbench.findings import validate_findings
from workbench.performance import check_performance

DATA = Path(__file__).parent.parent / "sample_data" / "performance"
PLANTED = json.loads((DATA / "planted.json").read_text())
AS_OF = dt.datetime.fromisoformat(PLANTED["as_of"])
ARGS = {"labels": DATA / "labels.parquet", "id": "request_id", "label_time": "label_time", "as_of": AS_OF,
        "prediction": "prediction", "score": "score", "by": ["region", "device", "plan"], "timestamp": "ts",
        "window": "1h"}


@pytest.fixture(scope="module")
def result():
    return check_performance(DATA / "predictions.parquet", reference=DATA / "reference.parquet", **ARGS)


def test_the_planted_drop_is_found_in_its_segment_and_last_hours(result):
    planted = PLANTED["performance_drop"]
    window = [dt.datetime.fromisoformat(t) for t in planted["window"]]
    drops = [f for f in result.by_kind("performance_drop") if f.scope.get("segment") == planted["segment"]
             and dt.datetime.fromisoformat(f.scope["window"][1]) > window[0]]
    assert len(drops) == 1  # one alert for the planted span, not one per hour
    f = drops[0]
    assert f.severity == "critical"
    assert [dt.datetime.fromisoformat(t) for t in f.scope["window"]] == [
        dt.datetime.fromisoformat(t) for t in planted["window"]]
    assert f.message.startswith("Accuracy dropped ") and "on region=eu in the last 6 hours" in f.message


def test_the_persistently_weak_pair_is_found_and_its_parents_are_not(result):
    disparities = [f.scope["segment"] for f in result.by_kind("segment_disparity")]
    assert PLANTED["segment_disparity"]["segment"] in disparities
    assert {"region": "apac"} not in disparities and {"device": "tablet"} not in disparities


def test_the_small_noisy_segment_is_inconclusive_and_never_alerted(result):
    row = result.to_polars("segments").filter(pl.col("scope") == "region=test").row(0, named=True)
    assert row["n"] <= PLANTED["noisy_segment"]["rows"] and not row["conclusive"]
    assert not [f for f in result.findings if f.scope.get("segment", {}).get("region") == "test"]


def test_degrading_calibration_is_found_late_in_the_week(result):
    over = result.by_kind("overconfident")
    windows = sorted(f.scope["window"][0] for f in over if "window" in f.scope and "segment" not in f.scope)
    assert windows and windows[0] >= "2026-03-04"
    slopes = result.to_polars("calibration").filter(pl.col("scope_kind") == "window").sort("scope")["slope"]
    assert slopes[0] > 0.9 and slopes[-1] < 0.8


def test_labels_arrive_late_and_the_estimate_covers_the_rest(result):
    est = result.to_polars("estimates").filter(pl.col("scope_kind") == "window").sort("scope")
    assert est["label_coverage"][-1] < est["label_coverage"][0] == 1.0
    assert result.parameters["labels"]["pending"] > 0


def test_performance_cli_exit_status_and_findings_json(tmp_path):
    out = tmp_path / "f.json"
    args = ["performance", "--predictions", str(DATA / "predictions.parquet"), "--labels", str(DATA / "labels.parquet"),
            "--id", "request_id", "--label-time", "label_time", "--as-of", PLANTED["as_of"], "--prediction",
            "prediction", "--score", "score", "--by", "region", "--by", "device", "--timestamp", "ts", "--window", "1h",
            "--out", str(out), "--quiet"]
    assert main(args) == 1  # the planted drop is critical
    doc = json.loads(out.read_text())
    validate_findings(doc)
    assert {f["kind"] for f in doc["findings"]} >= {"performance_drop", "segment_disparity"}
    assert main([*args, "--fail-on", "none"]) == 0
    assert main([*args[:-3], "--target", "label"]) == 2  # labels given twice


def test_the_estimate_matches_realized_accuracy_while_calibration_holds_and_drifts_after(result):
    days = (result.to_polars("estimates").filter(pl.col("scope_kind") == "window")
            .with_columns(day=pl.col("scope").str.slice(0, 10))
            .group_by("day").agg(pl.col("estimate_error").drop_nulls().mean().alias("error")).sort("day"))
    first, last = days["error"][0], days["error"][-1]
    assert abs(first) < 0.015  # day 1: scores still calibrated, the estimate is right
    assert last > 0.03  # day 7: overconfident scores overestimate accuracy
    assert "estimate_assumption" in {f.kind for f in result.findings}
