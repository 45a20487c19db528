"""Statistics against independent implementations."""

from __future__ import annotations

import narwhals as nw
import numpy as np
import polars as pl
import pytest
from scipy import stats as st
from sklearn.metrics import log_loss, roc_auc_score

from workbench.performance.calibration_stats import scores_after
from workbench.stats import auc_from_counts, auc_interval, log_loss_terms, wilson_interval


def _extreme_scores() -> tuple[np.ndarray, np.ndarray]:
    """300 outcomes with scores of exactly 0 and 1 (some confidently wrong), values within 1e-17
    of the ends, and ordinary scores."""
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 300)
    p = rng.uniform(0, 1, 300)
    p[:10], p[10:20] = 1.0 - y[:10], y[10:20]  # confidently wrong, confidently right
    p[20:25], p[25:30] = 1e-17, 1 - 1e-17
    return y, p


def test_log_loss_terms_equal_scikit_learn_on_scores_of_exactly_zero_and_one_for_every_kind_of_input():
    y, p = _extreme_scores()
    expected = log_loss(y, p)
    assert np.mean(log_loss_terms(y.astype(float), p)) == pytest.approx(expected, rel=1e-12)
    frame = pl.DataFrame({"y": y.astype(float), "p": p})
    assert frame.select(log_loss_terms(pl.col("y"), pl.col("p")).mean()).item() == pytest.approx(expected, rel=1e-12)
    lazy = nw.from_native(frame.lazy())
    got = lazy.select(log_loss_terms(nw.col("y"), nw.col("p")).mean()).collect().item()
    assert got == pytest.approx(expected, rel=1e-12)
    assert log_loss_terms(1, 0.0) == pytest.approx(-np.log(np.finfo(float).eps))  # 36.04, not 13.8 or 34.5


def test_recalibration_what_if_log_loss_equals_scikit_learn_on_the_rows_given_their_bin_scores():
    y, p = _extreme_scores()
    bins = np.minimum((p * 10).astype(int), 9)
    mapped = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 1.0])  # the ends exactly 0 and 1
    n = np.bincount(bins, minlength=10).astype(float)
    pos = np.bincount(bins, weights=y, minlength=10)
    assert scores_after(mapped, n, pos)["log_loss"] == pytest.approx(log_loss(y, mapped[bins]), rel=1e-12)


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (57, 4739), (1, 1_000_000)])
def test_wilson_interval_matches_scipy(k, n):
    expected = st.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson_interval(k, n) == pytest.approx((expected.low, expected.high), abs=1e-12)


def test_auc_from_counts_matches_scikit_learn_with_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    score = rng.integers(0, 7, 2000) + y  # many ties
    values = np.unique(score)
    pos = np.array([((score == v) & (y == 1)).sum() for v in values])
    neg = np.array([((score == v) & (y == 0)).sum() for v in values])
    assert auc_from_counts(pos, neg) == pytest.approx(roc_auc_score(y, score), abs=1e-12)


def test_auc_interval_contains_estimate_and_shrinks_with_n():
    lo1, hi1 = auc_interval(0.8, 50, 50)
    lo2, hi2 = auc_interval(0.8, 5000, 5000)
    assert lo1 < lo2 < 0.8 < hi2 < hi1
    assert np.isnan(auc_interval(0.8, 0, 10)[0])


def test_auc_interval_does_not_collapse_at_perfect_separation():
    lo, hi = auc_interval(1.0, 5, 5)
    assert hi == 1.0 and lo == pytest.approx(st.binomtest(5, 5).proportion_ci(method="wilson").low)


@pytest.mark.slow
def test_binned_auc_for_many_distinct_values_is_close_to_exact():
    import polars as pl

    from workbench.leakage.statistics import single_feature_auc
    from workbench.leakage.training import proxy_counts

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 150_000)
    x = rng.normal(size=y.size) + 0.8 * y
    counts = proxy_counts(pl.DataFrame({"x": x, "y": y}).lazy(), "x", "y", pl.Float64)
    assert counts.height == 1000  # binned: more than 100k distinct values
    auc, n_pos, n_neg = single_feature_auc(counts)
    assert auc == pytest.approx(roc_auc_score(y, x), abs=1e-4)
    assert n_pos + n_neg == y.size
    import duckdb  # the same bins (exact order statistics as edges) where the data is
    import narwhals as nw
    from polars.testing import assert_frame_equal

    rel = duckdb.connect().from_arrow(pl.DataFrame({"x": x, "y": y}).to_arrow())
    assert_frame_equal(proxy_counts(nw.from_native(rel), "x", "y", pl.Float64, engine="duckdb"), counts)


def test_benjamini_hochberg_and_two_proportions_equal_statsmodels():
    from statsmodels.stats.multitest import multipletests
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

    from workbench.stats import benjamini_hochberg, two_proportions

    p = np.random.default_rng(9).uniform(0, 0.2, 50) ** 2
    assert benjamini_hochberg(p) == pytest.approx(multipletests(p, method="fdr_bh")[1], rel=1e-12)
    diff, low, high, p_value = two_proportions(160, 200, 70, 100)
    assert diff == pytest.approx(0.7 - 0.8)
    assert (low, high) == pytest.approx(confint_proportions_2indep(70, 100, 160, 200, method="newcomb"), rel=1e-9)
    assert p_value == pytest.approx(proportions_ztest([70, 160], [100, 200])[1], rel=1e-9)
