"""Statistics against independent implementations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st
from sklearn.metrics import roc_auc_score

from workbench.stats import auc_from_counts, auc_interval, wilson_interval


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


def test_binned_auc_for_many_distinct_values_is_close_to_exact():
    import polars as pl

    from workbench.leakage.checks import proxy_counts, single_feature_auc

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
