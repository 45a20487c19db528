"""check_performance(): labels joined as they arrive, the label-free estimate validated against realized
accuracy, its assumption checked, bad label input refused."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from workbench.errors import ConfigError, InputError
from workbench.performance import check_performance

END = dt.datetime(2026, 3, 8)


def scored(seed: int, n: int = 40_000, slope: float = 1.0, days: int = 7) -> pl.DataFrame:
    """Scores p = sigmoid(z); outcomes follow sigmoid(slope * z) (slope 1: calibrated)."""
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, days * 86_400, n)) * 1_000_000
    z = rng.normal(0, 2, n)
    p = 1 / (1 + np.exp(-z))
    y = (rng.random(n) < 1 / (1 + np.exp(-slope * z))).astype(np.int8)
    return pl.DataFrame({"rid": np.arange(n), "ts": np.datetime64("2026-03-01T00:00:00", "us") + t.astype(
        "timedelta64[us]"), "region": rng.choice(["us", "eu", "apac"], n), "score": p,
        "pred": (p >= 0.5).astype(np.int8), "y": y})


def split_labels(df: pl.DataFrame, delay_hours: int = 24) -> tuple[pl.DataFrame, pl.DataFrame]:
    labels = df.select("rid", pl.col("y").alias("label"),
                       (pl.col("ts") + pl.duration(hours=delay_hours)).alias("label_time"))
    return df.drop("y"), labels


def run(cur: pl.DataFrame, labels: pl.DataFrame, reference: pl.DataFrame | None, **kwargs):
    return check_performance(cur, labels=labels, id="rid", label_time="label_time", as_of=END, prediction="pred",
                             score="score", by="region", timestamp="ts", window="1d",
                             reference=None if reference is None else reference.rename({"y": "label"}), **kwargs)


def test_labels_known_at_as_of_are_joined_and_the_rest_counted():
    cur, labels = split_labels(scored(1))
    extra = pl.DataFrame({"rid": [10**9], "label": [1], "label_time": [dt.datetime(2026, 3, 2)]}).cast(labels.schema)
    result = run(cur, pl.concat([labels, extra]), scored(2))
    counts = result.parameters["labels"]
    arrived = labels.filter(pl.col("label_time") <= END)
    assert counts["labelled"] == arrived.height and counts["pending"] == labels.height - arrived.height
    assert counts["given"] - counts["matched"] == 1
    assert [f.kind for f in result.by_kind("unmatched_labels")] == ["unmatched_labels"]
    (f,) = result.by_kind("unlabelled_rows")
    assert f.metrics["affected_rows"] == cur.height - arrived.height
    last = result.to_polars("estimates").filter(pl.col("scope") == "2026-03-07 00:00").row(0, named=True)
    assert last["labelled"] == 0 and last["realized_accuracy"] is None and last["estimated_accuracy"] > 0.5


def test_the_estimate_tracks_realized_accuracy_when_the_scores_are_calibrated():
    df = scored(3)
    cur, labels = split_labels(df, delay_hours=0)
    result = run(cur, labels, scored(4))
    assert result.parameters["estimate_assumption"]["holds"] is True
    table = result.to_polars("estimates").filter(pl.col("realized_accuracy").is_not_null())
    half = (table["estimated_accuracy_high"] - table["estimated_accuracy"]) / 1.96
    # the realized accuracy of n requests differs from its expectation by about one standard error
    assert ((table["estimate_error"].abs() <= 3 * np.sqrt(2) * half).mean()) == 1.0
    truth = (df["pred"] == df["y"]).mean()
    overall = table.filter(pl.col("scope") == "all").row(0, named=True)
    assert overall["realized_accuracy"] == pytest.approx(truth)


def test_the_estimate_is_flagged_when_its_assumption_fails_on_the_reference():
    cur, labels = split_labels(scored(5, slope=0.5))
    result = run(cur, labels, scored(6, slope=0.5))
    check = result.parameters["estimate_assumption"]
    assert check["checked"] and check["holds"] is False
    (f,) = result.by_kind("estimate_assumption")
    assert "does NOT hold" in f.message
    table = result.to_polars("estimates").filter(pl.col("scope") == "all").row(0, named=True)
    assert table["estimated_accuracy"] - table["realized_accuracy"] > 0.05  # overconfident scores overestimate


def test_calibration_drift_in_current_is_reported_with_the_performance():
    cur, labels = split_labels(scored(7, slope=0.6))
    result = run(cur, labels, scored(8))
    assert result.by_kind("calibration_drift") and result.by_kind("overconfident")
    assert {"calibration", "reliability", "recalibration", "estimates", "segments"} <= set(result.tables)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda c, lab: (pl.concat([c, c.head(3)]), lab), "predictions: 3 repeated values of 'rid'"),
        (lambda c, lab: (c.with_columns(rid=pl.when(pl.col("rid") == 5).then(None).otherwise(pl.col("rid"))), lab),
         "predictions: 1 rows have a null 'rid'"),
        (lambda c, lab: (c, pl.concat([lab, lab.head(2)])), "labels: 2 duplicate values of 'rid'"),
        (lambda c, lab: (c, lab.with_columns(pl.col("rid").cast(pl.String))), "labels: 'rid' is String"),
        (lambda c, lab: (c, lab.with_columns(pl.col("label_time").dt.replace_time_zone("UTC"))),
         "Mixed naive and time-zone-aware"),
    ],
)
def test_bad_label_input_is_refused_with_the_fix(make, message):
    cur, labels = make(*split_labels(scored(9, n=3_000)))
    with pytest.raises(InputError, match=message):
        run(cur, labels, None)


def test_either_target_or_labels():
    df = scored(10, n=2_000)
    with pytest.raises(ConfigError, match="give either target="):
        check_performance(df, by="region", prediction="pred")
    with pytest.raises(ConfigError, match="labels= needs id="):
        check_performance(df.drop("y"), by="region", prediction="pred",
                          labels=df.select("rid", pl.col("y").alias("label")))


def test_a_missing_column_is_named_with_the_fix():
    df = scored(11, n=2_000)
    with pytest.raises(InputError, match="by\\[0\\]='zone' is not a column of predictions"):
        check_performance(df, by="zone", target="y", prediction="pred")


def test_a_regression_log_gets_coverage_and_realized_mae_per_window():
    rng = np.random.default_rng(12)
    n = 20_000
    ts = np.datetime64("2026-03-01T00:00:00", "us") + np.sort(rng.integers(0, 7 * 86_400, n) * 1_000_000).astype(
        "timedelta64[us]")
    y = rng.normal(100, 10, n)
    df = pl.DataFrame({"ts": ts, "region": rng.choice(["a", "b"], n), "pred": y + rng.normal(0, 5, n),
                       "y": np.where(rng.random(n) < 0.9, y, np.nan)}).with_columns(pl.col("y").fill_nan(None))
    result = check_performance(df, target="y", prediction="pred", by="region", timestamp="ts", window="1d")
    est = result.to_polars("estimates")
    assert est.columns == ["scope", "scope_kind", "n", "labelled", "label_coverage", "realized_mae"]
    row = est.filter(pl.col("scope") == "all").row(0, named=True)
    labelled = df.drop_nulls("y")
    assert row["realized_mae"] == pytest.approx((labelled["y"] - labelled["pred"]).abs().mean())
    assert row["label_coverage"] == pytest.approx(labelled.height / n)
