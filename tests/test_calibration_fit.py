"""The calibration slope fit: agrees with statsmodels' unpenalized logistic regression under- and
overconfident, at tiny n, and says "not estimated" (never a number) under perfect separation; the
calibration check classifies direction and folds segments from a fit it can trust, and warns nothing."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm
from scipy.stats import chi2
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

from workbench.performance import calibration_stats as cs
from workbench.performance import check_calibration


def scores_and_outcomes(seed: int, n: int, slope: float, spread: float) -> tuple[np.ndarray, np.ndarray]:
    """p = sigmoid(z), z ~ N(0, spread); y ~ Bernoulli(sigmoid(slope * z)): the true calibration
    slope is ``slope`` (< 1 overconfident, > 1 underconfident)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, spread, n)
    return 1 / (1 + np.exp(-z)), (rng.random(n) < 1 / (1 + np.exp(-slope * z))).astype(float)


def fine_bins(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n, positives and Σ logit(p) per 0.001 score bin, as the engine computes them."""
    b = np.minimum((p * cs.FINE_BINS).astype(int), cs.FINE_BINS - 1)
    q = np.clip(p, cs.LOGIT_CLIP, 1 - cs.LOGIT_CLIP)
    logit = np.log(q / (1 - q))
    return (np.bincount(b, minlength=cs.FINE_BINS).astype(float), np.bincount(b, weights=y, minlength=cs.FINE_BINS),
            np.bincount(b, weights=logit, minlength=cs.FINE_BINS))


def statsmodels_grouped(n: np.ndarray, pos: np.ndarray, sum_logit: np.ndarray):
    """The same grouped data (successes, failures per bin at the bin's mean logit) fitted by statsmodels."""
    ok = n > 0
    endog = np.column_stack([pos[ok], n[ok] - pos[ok]])
    return sm.GLM(endog, sm.add_constant(sum_logit[ok] / n[ok]), family=sm.families.Binomial()).fit()


@pytest.mark.parametrize("slope", [0.2, 0.5, 1.0, 2.0, 5.0])
@pytest.mark.parametrize(("spread", "n"), [(1.5, 20_000), (4.0, 20_000), (2.0, 40)])
def test_slope_and_intercept_equal_statsmodels_on_the_same_bins(slope, spread, n):
    p, y = scores_and_outcomes(int(slope * 10 + spread) + n, n, slope, spread)
    bins = fine_bins(p, y)
    ours = cs.logistic_recalibration(*bins)
    ref = statsmodels_grouped(*bins)
    assert isinstance(ours, cs.LogisticFit)
    assert ours.slope == pytest.approx(ref.params[1], rel=1e-8, abs=1e-9)
    assert ours.intercept == pytest.approx(ref.params[0], rel=1e-8, abs=1e-9)
    assert ours.slope_se == pytest.approx(ref.bse[1], rel=1e-4)
    assert ours.intercept_se == pytest.approx(ref.bse[0], rel=1e-4)


@pytest.mark.parametrize("slope", [0.2, 0.5, 1.0, 2.0, 5.0])
@pytest.mark.parametrize("spread", [1.5, 4.0])
def test_slope_is_close_to_statsmodels_on_the_rows(slope, spread):
    """Rows are fitted at their bin's mean logit: within 1% of the row-level fit here (the bins at
    the extremes of the score are wide in logit, so scores piled up there widen the gap)."""
    p, y = scores_and_outcomes(100 + int(slope * 10 + spread), 20_000, slope, spread)
    ours = cs.logistic_recalibration(*fine_bins(p, y))
    q = np.clip(p, cs.LOGIT_CLIP, 1 - cs.LOGIT_CLIP)
    rows = sm.GLM(y, sm.add_constant(np.log(q / (1 - q))), family=sm.families.Binomial()).fit()
    assert ours.slope == pytest.approx(rows.params[1], rel=0.01)
    assert ours.intercept == pytest.approx(rows.params[0], abs=0.01)
    assert ours.slope_se == pytest.approx(rows.bse[1], rel=0.01)


def test_strongly_overconfident_scores_no_longer_diverge():
    """The undamped fit returned slopes of order ±1e11 here; the true slope is 0.3."""
    p, y = scores_and_outcomes(7, 20_000, 0.3, 8.0)
    ours = cs.logistic_recalibration(*fine_bins(p, y))
    assert isinstance(ours, cs.LogisticFit)
    assert 0.25 < ours.slope < 0.35 and ours.slope_se < 0.02 and ours.iterations < 20


@pytest.mark.parametrize(
    ("p", "y"),
    [(np.linspace(0.01, 0.99, 200), (np.linspace(0.01, 0.99, 200) > 0.5)),  # complete separation
     (np.linspace(0.01, 0.99, 200), (np.linspace(0.01, 0.99, 200) < 0.5)),  # reversed
     (np.r_[np.linspace(0.1, 0.5, 50), [0.5, 0.5], np.linspace(0.5, 0.9, 50)],  # quasi-complete: tie at 0.5
      np.r_[np.zeros(50), [0, 1], np.ones(50)])],
)
def test_perfect_separation_is_not_estimated_where_statsmodels_warns(p, y):
    y = y.astype(float)
    with pytest.warns(PerfectSeparationWarning):
        statsmodels_grouped(*fine_bins(p, y))
    ours = cs.logistic_recalibration(*fine_bins(p, y))
    assert isinstance(ours, cs.Unestimable) and "perfectly separated" in ours.reason


@pytest.mark.parametrize(
    ("p", "y", "reason"),
    [(np.full(50, 0.3), np.r_[np.zeros(25), np.ones(25)], "one 0.001-wide bin"),
     (np.linspace(0.1, 0.9, 50), np.zeros(50), "one class only"),
     (np.array([]), np.array([]), "no labelled rows")],
)
def test_degenerate_scopes_say_why_the_slope_is_not_estimated(p, y, reason):
    ours = cs.logistic_recalibration(*fine_bins(p, y))
    assert isinstance(ours, cs.Unestimable) and reason in ours.reason


def test_a_fit_that_cannot_converge_says_so():
    p, y = scores_and_outcomes(8, 5_000, 1.0, 2.0)
    ours = cs.logistic_recalibration(*fine_bins(p, y), max_iterations=1)
    assert isinstance(ours, cs.Unestimable) and "did not converge in 1 iterations" in ours.reason


def scenario(seed: int, n: int, slopes: dict[str, float], spread: float) -> pl.DataFrame:
    """Scores sigmoid(z), z ~ N(0, spread); outcomes with the calibration slope of each region;
    ``channel`` has no effect at all."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "west"], n, p=[0.2, 0.4, 0.4])
    z = rng.normal(0, spread, n)
    slope = np.vectorize(slopes.get)(region)
    y = (rng.random(n) < 1 / (1 + np.exp(-slope * z))).astype(np.int8)
    return pl.DataFrame({"p": 1 / (1 + np.exp(-z)), "y": y, "region": region,
                         "channel": rng.choice(["web", "app"], n)})


def test_users_scenario_overconfident_overall_one_underconfident_region_and_a_channel_without_effect():
    """Strongly overconfident scores overall (slope 0.3 in two regions), one region underconfident
    (slope 3), a channel with no effect. The divergent fit called the whole model underconfident,
    gave channel=web its own alert and folded north into the wrong finding."""
    reference = scenario(0, 20_000, {"north": 1, "south": 1, "west": 1}, 1.5)
    current = scenario(1, 20_000, {"north": 3, "south": 0.3, "west": 0.3}, 4.0)
    result = check_calibration(reference, current, score="p", target="y", by=["region", "channel"])
    (overall,) = [f for f in result.findings if f.kind in ("overconfident", "underconfident") and not f.scope]
    assert overall.kind == "overconfident" and 0.3 < overall.metrics["value"] < 0.45
    (north,) = result.by_kind("underconfident")
    assert north.scope == {"segment": {"region": "north"}} and 2.5 < north.metrics["value"] < 3.5
    assert not [f for f in result.findings if "channel" in f.scope.get("segment", {})]
    assert {"channel=web", "channel=app"} <= set(overall.metrics["also_in"])
    slopes = result.to_polars("calibration")["slope"].to_list()
    assert all(0 < s < 5 for s in slopes)


def test_a_separated_segment_shows_no_slope_and_its_reason_and_never_alerts():
    reference = scenario(2, 10_000, {"north": 1, "south": 1, "west": 1}, 1.5)
    current = scenario(3, 10_000, {"north": 1, "south": 1, "west": 1}, 1.5).with_columns(
        region=pl.when(pl.int_range(pl.len()) < 400).then(pl.lit("sep")).otherwise(pl.col("region")),
        y=pl.when(pl.int_range(pl.len()) < 400).then((pl.col("p") > 0.5).cast(pl.Int8)).otherwise(pl.col("y")))
    result = check_calibration(reference, current, score="p", target="y", by="region", min_support=200)
    row = result.to_polars("calibration").filter(pl.col("scope") == "region=sep").row(0, named=True)
    assert row["conclusive"] and row["n"] == 400
    assert row["slope"] is None and row["slope_low"] is None and "perfectly separated" in row["slope_note"]
    assert "slope_q" not in row or row["slope_q"] is None
    assert not [f for f in result.findings if f.scope.get("segment") == {"region": "sep"}
                and f.kind in ("overconfident", "underconfident")]


def test_a_perfectly_separating_score_overall_gives_an_info_finding_with_the_reason():
    rng = np.random.default_rng(4)
    p = rng.random(2_000)
    frame = pl.DataFrame({"p": p, "y": (p > 0.6).astype(np.int8)})
    result = check_calibration(frame, frame, score="p", target="y")
    (f,) = result.by_kind("slope_not_estimated")
    assert f.severity == "info" and "perfectly separated" in f.message
    assert not result.by_kind("overconfident") and not result.by_kind("underconfident")


def adversarial(name: str) -> pl.DataFrame:
    rng = np.random.default_rng(5)
    n = 500
    p, y, seg = rng.random(n), (rng.random(n) < 0.5), rng.choice(["a", "b"], n)
    if name == "constant_scores":
        p = np.full(n, 0.5)
    elif name == "all_0_labels":
        y = np.zeros(n, bool)
    elif name == "all_1_in_one_segment":
        y = np.where(seg == "a", True, y)
    elif name == "scores_exactly_0_and_1":
        p = rng.choice([0.0, 1.0], n)
    elif name == "separated_by_exact_0_and_1":
        p = y.astype(float)
    elif name == "tiny_segments":
        seg = np.where(np.arange(n) < 2, "tiny", np.where(np.arange(n) == 2, "one", seg))
    elif name == "one_row":
        p, y, seg = p[:1], y[:1], seg[:1]
    ts = [dt.datetime(2026, 3, 1) + dt.timedelta(hours=int(h)) for h in rng.integers(0, 48, len(p))]
    return pl.DataFrame({"p": p, "y": y.astype(np.int8), "seg": seg, "ts": ts})


@pytest.mark.parametrize("name", ["constant_scores", "all_0_labels", "all_1_in_one_segment", "scores_exactly_0_and_1",
                                  "separated_by_exact_0_and_1", "tiny_segments", "one_row"])
@pytest.mark.parametrize("reference", ["healthy", "same"])
def test_adversarial_inputs_raise_no_warning(name, reference):
    """Warnings (e.g. Hosmer–Lemeshow's 0/0 on empty bins, an overflowing exp in the fit) used to
    reach the user; under warnings-as-errors every run completes."""
    current = adversarial(name)
    ref = adversarial("healthy") if reference == "healthy" else current
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for min_support in (1, 200):
            result = check_calibration(ref, current, score="p", target="y", by="seg", timestamp="ts", window="1d",
                                       min_support=min_support, resamples=50)
            assert result.to_polars("calibration").height >= 1


def test_hosmer_lemeshow_with_empty_and_degenerate_bins_counts_only_the_others():
    n = np.zeros(cs.FINE_BINS)
    pos, sum_p = np.zeros(cs.FINE_BINS), np.zeros(cs.FINE_BINS)
    n[[100, 500, 999]], pos[[100, 500, 999]], sum_p[[100, 500, 999]] = [10, 10, 5], [3, 4, 5], [1.05, 5.05, 5.0]
    groups = cs.equal_width_groups(10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h, df, p = cs.hosmer_lemeshow(n, pos, sum_p, groups)
    expected = (3 - 1.05) ** 2 / (1.05 * (1 - 0.105)) + (4 - 5.05) ** 2 / (5.05 * (1 - 0.505))
    assert df == 2 and h == pytest.approx(expected) and p == pytest.approx(chi2.sf(expected, 2))
