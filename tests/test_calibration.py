"""Calibration check: numbers equal direct computations, planted miscalibration is found, a
calibrated model is left alone, bad input is refused."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import brier_score_loss, log_loss

from workbench.errors import ConfigError, InputError
from workbench.performance import calibration_stats as cs
from workbench.performance import check_calibration


def logs(seed: int, n: int, slope: float = 1.0, shift: float = 0.0, days: int = 7) -> pl.DataFrame:
    """Scores p = sigmoid(z); the outcome follows sigmoid(slope * z + shift): slope < 1 makes the
    scores overconfident, > 1 underconfident, 1 and 0 calibrated."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(slope * z + shift)))).astype(np.int8)
    start = dt.datetime(2026, 3, 1)
    seconds = np.sort(rng.uniform(0, days * 86400, n)).astype("timedelta64[s]")
    return pl.DataFrame({"p": 1 / (1 + np.exp(-z)), "y": y, "seg": rng.choice(["a", "b", "c"], n),
                         "ts": np.datetime64(start) + seconds})


@pytest.fixture(scope="module")
def drifted():
    return check_calibration(logs(0, 40_000), logs(1, 30_000, slope=0.6), score="p", target="y", timestamp="ts",
                             by="seg")


def numpy_ece(p: np.ndarray, y: np.ndarray, edges: np.ndarray) -> float:
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    total = 0.0
    for b in range(len(edges) - 1):
        m = idx == b
        if m.any():
            total += m.sum() * abs(p[m].mean() - y[m].mean())
    return total / len(p)


def test_ece_equals_numpy_with_the_same_bins_and_brier_log_loss_equal_scikit_learn(drifted):
    cur = logs(1, 30_000, slope=0.6)
    p, y = cur["p"].to_numpy(), cur["y"].to_numpy()
    row = drifted.to_polars("calibration").filter(pl.col("scope") == "all").row(0, named=True)
    assert row["ece"] == pytest.approx(numpy_ece(p, y, np.linspace(0, 1, 11)), abs=1e-12)
    rel = drifted.to_polars("reliability").filter((pl.col("scope") == "all") & (pl.col("side") == "current")
                                                   & (pl.col("strategy") == "equal_mass")).sort("bin")
    edges = np.array([*rel["low"].to_list(), rel["high"][-1]])
    assert row["ece_equal_mass"] == pytest.approx(numpy_ece(p, y, edges), abs=1e-12)
    assert row["brier"] == pytest.approx(brier_score_loss(y, p))
    assert row["log_loss"] == pytest.approx(log_loss(y, p))
    assert row["ece_low"] <= row["ece"] <= row["ece_high"]
    assert row["mce_low"] <= row["mce"] <= row["mce_high"] and row["mce"] >= row["ece"]


def test_calibration_slope_matches_a_logistic_regression_on_the_logit():
    import statsmodels.api as sm

    df = logs(2, 20_000, slope=0.7, shift=0.3)
    p, y = df["p"].to_numpy(), df["y"].to_numpy()
    fit = sm.Logit(y, sm.add_constant(np.log(p / (1 - p)))).fit(disp=0)
    n = np.bincount(np.minimum((p * 1000).astype(int), 999), minlength=1000).astype(float)
    pos = np.bincount(np.minimum((p * 1000).astype(int), 999), weights=y, minlength=1000)
    logit = np.bincount(np.minimum((p * 1000).astype(int), 999), weights=np.log(p / (1 - p)), minlength=1000)
    ours = cs.logistic_recalibration(n, pos, logit)
    assert ours.slope == pytest.approx(fit.params[1], abs=0.01)
    assert ours.intercept == pytest.approx(fit.params[0], abs=0.01)
    assert ours.slope_se == pytest.approx(fit.bse[1], rel=0.05)


def test_isotonic_map_equals_scikit_learn_on_the_bins():
    rng = np.random.default_rng(3)
    n = rng.integers(0, 30, 1000).astype(float)
    pos = rng.binomial(n.astype(int), np.linspace(0.05, 0.95, 1000) ** 2).astype(float)
    ours = cs.isotonic_map(n, pos)
    ok = n > 0
    x = np.arange(1000)[ok]
    expected = IsotonicRegression().fit(x, pos[ok] / n[ok], sample_weight=n[ok]).predict(x)
    assert np.allclose(ours[ok], expected)
    assert np.all(np.diff(ours) >= -1e-12)


def test_overconfident_scores_are_found_and_folded_over_windows_and_segments(drifted):
    kinds = {(f.kind, f.severity, bool(f.scope)) for f in drifted.findings}
    assert ("calibration_drift", "critical", False) in kinds
    assert ("overconfident", "critical", False) in kinds
    over = next(f for f in drifted.findings if f.kind == "overconfident" and not f.scope)
    assert 0.5 < over.metrics["value"] < 0.7
    assert len(over.metrics["also_in"]) >= 8  # 7 days and 3 segments, most folded under the overall alert
    assert not drifted.by_kind("underconfident")


def test_underconfident_scores_are_found():
    result = check_calibration(logs(4, 30_000), logs(5, 20_000, slope=1.6), score="p", target="y")
    (f,) = result.by_kind("underconfident")
    assert f.metrics["value"] > 1.3 and not result.by_kind("overconfident")


@pytest.mark.parametrize("seed", range(4))
def test_a_calibrated_model_raises_nothing(seed):
    result = check_calibration(logs(10 + seed, 30_000), logs(20 + seed, 20_000), score="p", target="y", timestamp="ts",
                               by="seg")
    assert not result.findings
    table = result.to_polars("calibration")
    assert table["conclusive"].all()


def test_small_or_single_class_scopes_are_inconclusive_never_alerted():
    cur = logs(6, 20_000, slope=0.5).with_columns(
        seg=pl.when(pl.int_range(pl.len()) < 50).then(pl.lit("tiny")).otherwise(pl.col("seg")))
    result = check_calibration(logs(7, 20_000), cur, score="p", target="y", by="seg")
    tiny = result.to_polars("calibration").filter(pl.col("scope") == "seg=tiny").row(0, named=True)
    assert tiny["n"] == 50 and not tiny["conclusive"]
    assert not [f for f in result.findings if f.scope.get("segment") == {"seg": "tiny"}]
    one_class = check_calibration(logs(8, 5_000), logs(9, 5_000).with_columns(y=pl.lit(1, pl.Int8)), score="p",
                                  target="y")
    assert not one_class.to_polars("calibration")["conclusive"][0]
    assert not one_class.by_kind("overconfident")


def test_recalibration_fitted_on_a_miscalibrated_reference_helps_current():
    ref, cur = logs(11, 40_000, slope=0.6), logs(12, 20_000, slope=0.6)
    table = check_calibration(ref, cur, score="p", target="y").to_polars("recalibration")
    before = table.filter(pl.col("method") == "none").row(0, named=True)
    for method in ("isotonic", "platt"):
        after = table.filter(pl.col("method") == method).row(0, named=True)
        assert after["ece"] < before["ece"] / 2 and after["brier"] < before["brier"]


def test_unlabelled_rows_are_counted_and_left_out():
    cur = logs(13, 10_000).with_columns(y=pl.when(pl.int_range(pl.len()) % 4 == 0).then(None).otherwise(pl.col("y")))
    result = check_calibration(logs(14, 10_000), cur, score="p", target="y")
    (f,) = result.by_kind("unlabelled_rows")
    assert f.metrics["affected_rows"] == 2_500
    assert result.to_polars("calibration")["n"][0] == 7_500


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        (lambda d: d.with_columns(p=pl.col("p") * 2), {}, r"current: \d[\d,]* rows have 'p' outside \[0, 1\]"),
        (lambda d: d.with_columns(p=pl.when(pl.int_range(pl.len()) == 3).then(float("nan")).otherwise(pl.col("p"))),
         {}, "current: 1 rows have a NaN or null 'p'"),
        (lambda d: d.with_columns(y=pl.col("y") + 1), {}, "other than 0 or 1"),
        (lambda d: d.with_columns(ts=pl.col("ts").cast(pl.String)), {"timestamp": "ts"},
         "timestamp column 'ts' must be a datetime"),
        (lambda d: d, {"by": "region"}, "by\\[0\\]='region' is not a column of reference"),
    ],
)
def test_bad_input_is_refused_with_the_fix(change, kwargs, message):
    with pytest.raises(InputError, match=message):
        check_calibration(logs(15, 2_000), change(logs(16, 2_000)), score="p", target="y", **kwargs)


def test_a_window_without_a_timestamp_is_a_parameter_error():
    with pytest.raises(ConfigError, match="window needs timestamp"):
        check_calibration(logs(15, 2_000), logs(16, 2_000), score="p", target="y", window="1h")


@pytest.mark.parametrize("bins", [1, 3, 7, 15, 1000])
def test_any_bin_count_gives_the_ece_of_a_direct_computation_with_edges_on_the_0001_grid(bins):
    """Edges are i / bins rounded to the 0.001 grid (15 bins: 0, 0.067, 0.133, ...); the ECE equals
    a row-level computation with those edges, and the reliability table states them."""
    ref, cur = logs(30, 5_000), logs(31, 5_000, slope=0.7)
    result = check_calibration(ref, cur, score="p", target="y", bins=bins, resamples=50)
    edges = np.floor(np.arange(bins + 1) * 1000 / bins + 0.5) / 1000
    p, y = cur["p"].to_numpy(), cur["y"].to_numpy()
    assert result.to_polars("calibration")["ece"][0] == pytest.approx(numpy_ece(p, y, edges), abs=1e-12)
    rel = result.to_polars("reliability").filter((pl.col("scope") == "all") & (pl.col("side") == "current")
                                                  & (pl.col("strategy") == "equal_width")).sort("bin")
    nonempty = np.histogram(p, edges)[0] > 0
    assert rel["low"].to_list() == pytest.approx(edges[:-1][nonempty].tolist())
    assert rel["high"].to_list() == pytest.approx(edges[1:][nonempty].tolist())
    if bins == 15:
        assert edges[1:4].tolist() == [0.067, 0.133, 0.2]


@pytest.mark.parametrize("bins", [0, 1001, 2.5, True, "10"])
def test_a_bin_count_outside_1_to_1000_is_refused(bins):
    with pytest.raises(ConfigError, match="The 'bins' parameter of check_calibration must be"):
        check_calibration(logs(32, 500), logs(33, 500), score="p", target="y", bins=bins)
