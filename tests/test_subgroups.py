"""Subgroup performance: numbers equal fairlearn's MetricFrame, planted weak slices are found
(and folded along the hierarchy), noise and small segments are left alone, bad input refused."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from fairlearn.metrics import MetricFrame
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    f1_score,
    log_loss,
    mean_absolute_error,
    precision_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)

from workbench.errors import ConfigError, InputError
from workbench.performance import check_subgroups
from workbench.stats import wilson_interval


def predictions(seed: int, n: int = 40_000, weak_pair: float = 0.0, weak_region: float = 0.0,
                tiny: int = 0) -> pl.DataFrame:
    """Scored binary predictions: accuracy 85% everywhere, minus ``weak_pair`` on apac & mobile
    and ``weak_region`` on latam; ``tiny`` rows of a segment "xx" that is right only half the time."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["us", "eu", "apac", "latam"], n, p=[0.4, 0.3, 0.2, 0.1])
    device = rng.choice(["mobile", "desktop"], n)
    if tiny:
        region[:tiny] = "xx"
    y = rng.integers(0, 2, n)
    acc = 0.85 - weak_pair * ((region == "apac") & (device == "mobile")) - weak_region * (region == "latam")
    acc = np.where(region == "xx", 0.5, acc)
    right = rng.random(n) < acc
    strong, weak = rng.beta(6, 2, n), rng.beta(2, 6, n)
    p = np.where(right, np.where(y == 1, strong, weak), np.where(y == 1, weak, strong)).round(4)  # AUC exact at 1e-4
    pred = (p >= 0.5).astype(np.int8)
    return pl.DataFrame({"region": region, "device": device, "y": y, "p": p, "pred": pred})


METRICS = {"accuracy": accuracy_score, "precision": precision_score, "recall": recall_score, "f1": f1_score}


@pytest.mark.parametrize("by", [["region"], ["region", "device"]])
def test_classification_metrics_equal_fairlearn_metricframe(by):
    df = predictions(1, weak_pair=0.1)
    result = check_subgroups(df, target="y", prediction="pred", score="p", by=["region", "device"])
    table = result.to_polars("segments")
    y, pred, p = df["y"].to_numpy(), df["pred"].to_numpy(), df["p"].to_numpy()
    mf = MetricFrame(metrics=METRICS, y_true=y, y_pred=pred, sensitive_features=df.select(by).to_pandas())
    mf_scores = MetricFrame(metrics={"auc": roc_auc_score, "log_loss": log_loss, "brier": brier_score_loss},
                            y_true=y, y_pred=p, sensitive_features=df.select(by).to_pandas())
    for key, values in mf.by_group.iterrows():
        key = key if isinstance(key, tuple) else (key,)
        scope = ", ".join(f"{c}={v}" for c, v in zip(by, key, strict=True))
        row = table.filter(pl.col("scope") == scope).row(0, named=True)
        for name in METRICS:
            assert row[name] == pytest.approx(values[name], abs=1e-12), (scope, name)
        for name in ("auc", "log_loss", "brier"):
            assert row[name] == pytest.approx(mf_scores.by_group.loc[key if len(by) > 1 else key[0], name],
                                              rel=1e-9), (scope, name)
    overall = table.filter(pl.col("scope") == "all").row(0, named=True)
    assert overall["accuracy"] == pytest.approx(mf.overall["accuracy"])
    assert overall["auc"] == pytest.approx(roc_auc_score(y, p))


def test_auc_of_unrounded_scores_is_within_the_bin_resolution():
    df = predictions(8).with_columns(p=pl.col("p") + pl.Series(np.random.default_rng(0).uniform(0, 1e-4, 40_000)))
    df = df.with_columns(p=pl.col("p").clip(0, 1))
    row = check_subgroups(df, target="y", score="p", by="region").to_polars("segments").row(0, named=True)
    assert row["auc"] == pytest.approx(roc_auc_score(df["y"].to_numpy(), df["p"].to_numpy()), abs=1e-3)


def test_regression_metrics_equal_fairlearn_and_a_worse_segment_is_found():
    rng = np.random.default_rng(2)
    n = 30_000
    region = rng.choice(["a", "b", "c"], n)
    y = rng.normal(50, 10, n)
    pred = y + rng.normal(0, np.where(region == "c", 8.0, 5.0), n)
    df = pl.DataFrame({"region": region, "y": y, "pred": pred})
    result = check_subgroups(df, target="y", prediction="pred", by="region")
    assert result.parameters["task"] == "regression" and result.check == "performance"
    mf = MetricFrame(metrics={"mae": mean_absolute_error, "rmse": root_mean_squared_error}, y_true=y, y_pred=pred,
                     sensitive_features=region)
    table = result.to_polars("segments")
    for key, values in mf.by_group.iterrows():
        row = table.filter(pl.col("scope") == f"region={key}").row(0, named=True)
        assert row["mae"] == pytest.approx(values["mae"]) and row["rmse"] == pytest.approx(values["rmse"])
    (f,) = result.by_kind("segment_disparity")
    assert f.scope == {"segment": {"region": "c"}} and f.severity == "critical"


def test_a_weak_pair_is_found_and_folded_under_a_flagged_parent_only_if_not_clearly_worse():
    result = check_subgroups(predictions(3, weak_pair=0.2, weak_region=0.12), target="y", prediction="pred", by=[
        "region", "device"])
    scopes = [(f.scope["segment"], f.severity) for f in result.by_kind("segment_disparity")]
    assert ({"region": "apac", "device": "mobile"}, "critical") in scopes  # clearly worse than apac as a whole
    assert ({"region": "latam"}, "critical") in scopes
    latam = next(f for f in result.findings if f.scope["segment"] == {"region": "latam"})
    assert set(latam.metrics["also_in"]) <= {"region=latam, device=mobile", "region=latam, device=desktop"}
    assert not [s for s, _ in scopes if s.get("region") in ("us", "eu")]
    slices = result.to_polars("slices")
    assert slices["impact"].is_sorted(descending=True)


def test_a_small_noisy_segment_is_inconclusive_and_never_alerted():
    result = check_subgroups(predictions(4, tiny=60), target="y", prediction="pred", by=["region", "device"])
    xx = result.to_polars("segments").filter(pl.col("scope") == "region=xx").row(0, named=True)
    assert xx["n"] == 60 and not xx["conclusive"] and xx["accuracy"] < 0.7
    assert not [f for f in result.findings if f.scope["segment"].get("region") == "xx"]


def test_no_alert_on_logs_with_nothing_planted():
    alerts = tests = 0
    for seed in range(12):
        result = check_subgroups(predictions(100 + seed, n=20_000), target="y", prediction="pred",
                                 by=["region", "device"])
        tests += int(result.to_polars("segments")["conclusive"].sum())
        alerts += len(result.by_kind("segment_disparity"))
    assert tests >= 12 * 14 and alerts <= tests / 1000


def test_wilson_and_auc_intervals_cover_by_simulation():
    from workbench.stats import auc_interval

    rng = np.random.default_rng(5)
    covered = sum(lo <= 0.85 <= hi for lo, hi in (wilson_interval(int(k), 150) for k in rng.binomial(150, 0.85, 2000)))
    assert 0.93 <= covered / 2000 <= 0.97
    true_auc, hits = 0.7602499389065233, 0  # P(N(1, 1) > N(0, 1)) = Phi(1 / sqrt(2))
    for _ in range(600):
        pos, neg = rng.normal(1, 1, 150), rng.normal(0, 1, 250)
        auc = (pos[:, None] > neg[None, :]).mean()
        lo, hi = auc_interval(auc, 150, 250, 0.95)
        hits += lo <= true_auc <= hi
    # the Wilson widening makes the interval conservative at a moderate AUC (it covers more than 95%)
    assert hits / 600 >= 0.95


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        (lambda d: d.with_columns(p=pl.col("p") + 1), {}, "outside \\[0, 1\\]"),
        (lambda d: d.with_columns(y=pl.col("y") * 3), {}, "other than 0 or 1"),
        (lambda d: d.with_columns(y=pl.when(pl.col("y") == 1).then(None).otherwise(0)), {},
         "rows have no 'y'; pass the labelled rows only"),
        (lambda d: d.head(0), {}, "predictions: no rows"),
        (lambda d: d, {"by": ["region", "zone"]}, "by\\[1\\]='zone' is not a column of predictions"),
    ],
)
def test_bad_input_is_refused_with_the_fix(change, kwargs, message):
    args = {"target": "y", "prediction": "pred", "score": "p", "by": ["region", "device"]} | kwargs
    with pytest.raises(InputError, match=message):
        check_subgroups(change(predictions(6, n=2_000)), **args)


def test_no_segment_column_is_a_parameter_error():
    with pytest.raises(ConfigError, match="by needs at least one segment column"):
        check_subgroups(predictions(6, n=2_000), target="y", prediction="pred", by=[])


def test_a_null_segment_is_a_segment_named_null():
    df = predictions(7, n=10_000).with_columns(device=pl.when(pl.int_range(pl.len()) < 500).then(None)
                                               .otherwise(pl.col("device")))
    table = check_subgroups(df, target="y", prediction="pred", by=["device"]).to_polars("segments")
    assert table.filter(pl.col("scope") == "device=null")["n"].item() == 500


def test_f1_bootstrap_interval_covers_the_population_f1():
    from workbench.performance.subgroups import _f1_interval

    rng = np.random.default_rng(9)
    cells = np.array([0.30, 0.08, 0.12, 0.50])  # tp, fp, fn, tn shares
    true_f1 = 2 * cells[0] / (2 * cells[0] + cells[1] + cells[2])
    covered = 0
    for _ in range(400):
        tp, fp, fn, _tn = rng.multinomial(500, cells)
        lo, hi = _f1_interval(int(tp), int(fp), int(fn), 0.95)
        covered += lo <= true_f1 <= hi
    assert 0.92 <= covered / 400 <= 0.98


def test_a_text_target_is_refused_with_the_mapping_to_write():
    frame = pl.DataFrame({"seg": ["a", "b"] * 50, "churned": ["yes", "no"] * 50, "p": [0.2, 0.7] * 50})
    with pytest.raises(InputError, match=r"target 'churned' must be 0/1 numbers or booleans, got String; .*"
                                         r"\(pl.col\('churned'\) == 'yes'\).cast\(pl.Int8\)"):
        check_subgroups(frame, target="churned", by="seg", score="p")
