"""Every statistic of the hot path against an independent reference (scipy, statsmodels, scikit-learn or a
brute-force computation on the raw rows written here), on adversarial inputs: extreme values, ties, constant
columns, tiny and large n, heavy tails, NaN/null, perfect separation, one class only, empty bins.

This file: the distribution tails, the interval and test functions, the drift statistics (function level and
through ``check_drift``), exact order statistics and quantiles. The checks' reported metrics (performance,
calibration, shadow, leakage) are in ``test_reference_crosschecks_checks.py``. Every assertion is the
reference's value, within the statistic's documented approximation.
"""

from __future__ import annotations

import math
import warnings

import duckdb
import narwhals as nw
import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import jensenshannon
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, proportions_ztest

from workbench.drift import check_drift, fit_profile
from workbench.drift.compare import MIN_EXPECTED
from workbench.engine.ranks import lower_quantiles, order_statistics
from workbench.leakage.summaries import quantiles_of
from workbench.shadow.quantiles import order_statistic_ranks
from workbench.stats import auc_from_counts, benjamini_hochberg, two_proportions, wilson_interval
from workbench.stats import distances as S
from workbench.stats import tails as D

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- distribution tails ------------------------------------------------------------------------

@FAST
@given(dof=st.integers(1, 20_000), x=st.floats(1e-12, 1e5))
def test_chi_square_tail_equals_scipy_anywhere(dof, x):
    assert D.chi2_sf(x, dof) == pytest.approx(stats.chi2.sf(x, dof), rel=1e-7, abs=1e-300)


@pytest.mark.parametrize(("x", "dof"), [(1e-300, 1), (0.0, 3), (1e-9, 10_000), (2_000.0, 1), (1e5, 50_000),
                                        (1e5 + 2_000, 1e5)])
def test_chi_square_tail_at_the_extremes(x, dof):
    assert D.chi2_sf(x, dof) == pytest.approx(stats.chi2.sf(x, dof), rel=1e-7, abs=1e-300)


@FAST
@given(n=st.integers(1, 10_000_000), k_frac=st.floats(0, 1), p=st.floats(1e-9, 1 - 1e-9))
def test_binomial_tails_equal_scipy_anywhere(n, k_frac, p):
    k = round(k_frac * n)
    for ours, reference in ((D.binom_sf(k, n, p), stats.binom.sf(k, n, p)),
                            (D.binom_cdf(k, n, p), stats.binom.cdf(k, n, p))):
        if reference >= 1e-250:
            assert ours == pytest.approx(reference, rel=1e-7, abs=1e-290)
        else:  # near the float64 floor only the order of magnitude is kept (documented in distributions.py)
            assert ours < 1e-240


@pytest.mark.parametrize(("k", "n", "p"), [(0, 1, 0.0), (0, 1, 1.0), (-3, 1, 0.5), (1, 1, 0.5), (7, 5, 0.3)])
def test_binomial_tails_at_degenerate_arguments(k, n, p):
    assert D.binom_sf(k, n, p) == pytest.approx(stats.binom.sf(k, n, p), abs=1e-15)
    assert D.binom_cdf(k, n, p) == pytest.approx(stats.binom.cdf(k, n, p), abs=1e-15)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 7, 10, 20, 50, 100])
def test_kolmogorov_tail_never_understates_the_exact_p_value_where_decisions_are_taken(n):
    # tiny effective sizes get a conservative p-value (a missed alarm, never a false one)
    d = np.linspace(0.001, 1.0, 1000)
    exact = stats.kstwo.sf(d, n)
    ours = np.array([D.kolmogorov_sf(x, n) for x in d])
    decisive = (exact > 1e-6) & (exact < 0.05)
    assert (ours[decisive] >= exact[decisive] * (1 - 0.05)).all()
    if n >= 4:
        assert (ours >= exact - 0.005).all()


@pytest.mark.parametrize(("n", "claim"), [(1, "abs"), (2, "abs"), (3, "abs"), (10, "abs"), (10, "rel"), (20, "rel")])
def test_kolmogorov_tail_is_exact_at_small_effective_sizes(n, claim):
    # up to n = 30 the finite-n distribution is computed exactly (it was off by 0.156 at n = 1, x118 at n = 2)
    d = np.linspace(0.001, 1.0, 1000)
    exact = stats.kstwo.sf(d, n)
    ours = np.array([D.kolmogorov_sf(x, n) for x in d])
    if claim == "abs":
        np.testing.assert_allclose(ours, exact, atol=0.02)
    else:
        decisive = (exact > 1e-4) & (exact < 0.05)
        np.testing.assert_allclose(ours[decisive], exact[decisive], rtol=0.05)


# -- intervals and tests on proportions ------------------------------------------------------------

@pytest.mark.parametrize("confidence", [0.5, 0.8, 0.9, 0.95, 0.99, 0.9999])
@pytest.mark.parametrize(("k", "n"), [(0, 1), (1, 1), (0, 2), (1, 2), (2, 5), (5, 5), (0, 10**9), (3, 10**9),
                                      (10**9 - 1, 10**9)])
def test_wilson_interval_equals_statsmodels(k, n, confidence):
    expected = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    assert wilson_interval(k, n, confidence) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_wilson_interval_of_nothing_is_undefined():
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


@pytest.mark.parametrize(("k1", "n1", "k2", "n2"), [
    (0, 1, 1, 1), (0, 5, 5, 5), (1, 2, 0, 3), (3, 10, 3, 10), (0, 100, 1, 100), (20, 1000, 45, 1000),
    (1, 10**6, 30, 10**6), (999_990, 10**6, 999_999, 10**6), (7, 9, 2, 40_000)])
def test_two_proportions_equals_statsmodels_newcombe_and_pooled_z_test(k1, n1, k2, n2):
    diff, lo, hi, p = two_proportions(k1, n1, k2, n2)
    ref_lo, ref_hi = confint_proportions_2indep(k2, n2, k1, n1, method="newcomb", compare="diff")
    _, ref_p = proportions_ztest([k2, k1], [n2, n1])
    assert diff == pytest.approx(k2 / n2 - k1 / n1, abs=1e-15)
    assert (lo, hi) == pytest.approx((ref_lo, ref_hi), rel=1e-9, abs=1e-12)
    assert p == pytest.approx(ref_p, rel=1e-7, abs=1e-300)


@pytest.mark.parametrize(("k1", "n1", "k2", "n2"), [(0, 100, 0, 50), (100, 100, 7, 7)])
def test_two_proportions_without_any_spread_is_not_significant(k1, n1, k2, n2):
    # statsmodels' z-test divides 0 by 0 here (nan); no difference at all must read p = 1
    diff, lo, hi, p = two_proportions(k1, n1, k2, n2)
    ref_lo, ref_hi = confint_proportions_2indep(k2, n2, k1, n1, method="newcomb", compare="diff")
    assert (diff, p) == (0.0, 1.0)
    assert (lo, hi) == pytest.approx((ref_lo, ref_hi), abs=1e-12)


@pytest.mark.parametrize(("k", "n", "expected"), [(0, 1, 0.5), (1, 1, 0.5), (0, 100, 0.0), (3, 100, 0.0),
                                                  (5, 100, 0.02), (40, 100, 0.3), (100, 100, 0.99),
                                                  (12, 10**7, 1e-6), (1, 3, 1.0)])
def test_excess_share_p_value_equals_the_exact_one_sided_binomial_test(k, n, expected):
    ref = stats.binomtest(k, n, expected, alternative="greater").pvalue
    assert S.excess_share_pvalue(k, n, expected) == pytest.approx(ref, rel=1e-7, abs=1e-300)


@FAST
@given(st.lists(st.one_of(st.sampled_from([0.0, 1.0, 1e-300, 0.05, 0.05, 0.5]), st.floats(0, 1)),
                min_size=1, max_size=60))
@example([0.01] * 7)
@example([1.0])
def test_benjamini_hochberg_equals_statsmodels(pvalues):
    p = np.array(pvalues)
    np.testing.assert_allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1], rtol=1e-12,
                               atol=1e-300)


def test_benjamini_hochberg_leaves_nan_out_of_the_count():
    p = np.array([0.01, np.nan, 0.04, np.nan, 0.03])
    q = benjamini_hochberg(p)
    assert np.isnan(q[[1, 3]]).all()
    np.testing.assert_allclose(q[[0, 2, 4]], multipletests(p[[0, 2, 4]], method="fdr_bh")[1])
    assert np.isnan(benjamini_hochberg(np.array([np.nan, np.nan]))).all()


# -- drift statistics on bin counts ---------------------------------------------------------------

counts_pair = st.integers(2, 12).flatmap(lambda k: st.tuples(
    st.lists(st.one_of(st.just(0), st.integers(0, 10**7)), min_size=k, max_size=k),
    st.lists(st.one_of(st.just(0), st.integers(0, 50)), min_size=k, max_size=k)))


@FAST
@given(counts_pair)
@example(([1, 0, 0], [0, 0, 1]))  # disjoint supports
@example(([5, 5], [5, 5]))
def test_effect_sizes_equal_scipy_and_brute_force_on_any_counts(pair):
    r, c = (np.array(x) for x in pair)
    if r.sum() == 0 or c.sum() == 0:
        return
    p, q = r / r.sum(), c / c.sum()
    assert S.jensen_shannon(r, c) == pytest.approx(jensenshannon(p, q, base=2), abs=1e-7)
    assert S.total_variation(r, c) == pytest.approx(0.5 * np.abs(p - q).sum(), abs=1e-12)
    # KS on the bins = the two-sample KS of rows whose values are the bin indices
    rows_r, rows_c = np.repeat(np.arange(len(r)), np.minimum(r, 2_000)), np.repeat(np.arange(len(c)), c)
    if r.max() <= 2_000:
        assert S.ks_statistic(r, c) == pytest.approx(stats.ks_2samp(rows_r, rows_c).statistic, abs=1e-12)
    pf, qf = np.maximum(p, 1e-4), np.maximum(q, 1e-4)
    assert S.psi(r, c) == pytest.approx(sum((b - a) * math.log(b / a) for a, b in zip(pf, qf, strict=True)),
                                        rel=1e-9, abs=1e-12)


table_pair = st.integers(2, 8).flatmap(lambda k: st.tuples(
    st.lists(st.one_of(st.just(0), st.integers(0, 10**6)), min_size=k, max_size=k),
    st.lists(st.one_of(st.just(0), st.integers(0, 10**6)), min_size=k, max_size=k)))


@FAST
@given(table_pair)
@example(([10, 0, 5], [0, 10, 5]))
@example(([1, 0], [0, 1]))
@example(([5, 5, 0], [5, 5, 0]))
def test_chi_square_homogeneity_equals_scipy_on_any_table(pair):
    table = np.array(pair)
    table = table[:, table.sum(axis=0) > 0]
    stat, dof, p = S.chi2_homogeneity(np.array(pair[0]), np.array(pair[1]))
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        assert (stat, dof, p) == (0.0, 0, 1.0)
        return
    ref_stat, ref_p, ref_dof, _ = stats.chi2_contingency(table, correction=False)
    assert (stat, dof) == (pytest.approx(ref_stat, rel=1e-9, abs=1e-9), ref_dof)
    assert p == pytest.approx(ref_p, rel=1e-6, abs=1e-300)


@pytest.mark.parametrize(("n_ref", "n_cur"), [(30, 40), (200, 300), (5_000, 3_000), (100_000, 90)])
def test_ks_p_value_equals_scipy_asymptotic_one(n_ref, n_cur):
    rng = np.random.default_rng(n_ref + n_cur)
    ref, cur = rng.normal(size=n_ref), rng.standard_cauchy(n_cur) * 0.5 + 0.2
    r = stats.ks_2samp(ref, cur, method="asymp")
    expected = stats.kstwo.sf(r.statistic, round(n_ref * n_cur / (n_ref + n_cur)))  # scipy's asymp definition
    assert r.pvalue == pytest.approx(expected)
    assert S.ks_pvalue(r.statistic, n_ref, n_cur) == pytest.approx(expected, abs=0.02)
    if 1e-4 < expected < 0.05:
        assert S.ks_pvalue(r.statistic, n_ref, n_cur) == pytest.approx(expected, rel=0.05)


# -- drift, through the public check --------------------------------------------------------------

def _rows(result, column):
    return result.to_polars("columns").filter((pl.col("column") == column) & (pl.col("scope") == "all")).row(
        0, named=True)


def _brute_bins(ref: np.ndarray, cur: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts per bin ``(e[i-1], e[i]]`` of the non-missing (non-null, non-NaN) raw values."""
    ref, cur = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    k = len(edges) + 1
    return (np.bincount(np.searchsorted(edges, ref, side="left"), minlength=k),
            np.bincount(np.searchsorted(edges, cur, side="left"), minlength=k))


def test_drift_ks_and_p_value_equal_scipy_on_integer_data_with_nan_null_and_new_values():
    rng = np.random.default_rng(21)
    ref = rng.integers(0, 6, 3000).astype(float)
    cur = rng.choice(8, 2500, p=[0.1, 0.1, 0.2, 0.2, 0.1, 0.1, 0.1, 0.1]).astype(float)  # 6, 7 beyond the range
    cur[:40] = np.nan
    cur_frame = pl.DataFrame({"x": cur}).with_columns(
        pl.when(pl.int_range(pl.len()) < 20).then(None).otherwise(pl.col("x")).alias("x"))  # 20 nulls, 20 NaN
    row = _rows(check_drift(pl.DataFrame({"x": ref}), cur_frame), "x")
    valid = cur[~np.isnan(cur)]
    expected = stats.ks_2samp(ref, valid, method="asymp")
    assert (row["n_reference"], row["n_current"]) == (3000, 2460)
    assert row["ks"] == pytest.approx(expected.statistic, abs=1e-12)
    assert row["p_value"] == pytest.approx(expected.pvalue, rel=0.05)
    assert row["missing_current"] == pytest.approx(40 / 2500)


def test_drift_q_values_equal_statsmodels_benjamini_hochberg_over_every_test_of_the_run():
    rng = np.random.default_rng(22)
    n = 4000
    ref = pl.DataFrame({"a": rng.normal(size=n), "b": rng.pareto(1.5, n), "c": rng.choice(["x", "y", "z"], n),
                        "d": rng.integers(0, 3, n), "seg": rng.choice(["s", "t"], n)})
    cur = pl.DataFrame({"a": rng.normal(0.05, 1, n), "b": rng.pareto(1.4, n), "c": rng.choice(["x", "y", "w"], n),
                        "d": rng.integers(0, 3, n), "seg": rng.choice(["s", "t"], n)}).with_columns(
        pl.when(pl.col("a") > 1.5).then(None).otherwise(pl.col("a")).alias("a"))
    tests = check_drift(ref, cur, by="seg").to_polars("tests")
    assert tests.height >= 12
    p = tests["p_value"].to_numpy()
    np.testing.assert_allclose(tests["q_value"].to_numpy(), multipletests(p, method="fdr_bh")[1], rtol=1e-12)


def _pooled(ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """The 2 x k table after merging every category whose expected count in the smaller sample is below 5."""
    expected = (ref + cur) / (ref.sum() + cur.sum()) * min(ref.sum(), cur.sum())
    rare = expected < MIN_EXPECTED
    if rare.sum() <= 1:
        return np.vstack([ref, cur])
    return np.vstack([np.append(ref[~rare], ref[rare].sum()), np.append(cur[~rare], cur[rare].sum())])


def test_drift_chi_square_equals_scipy_with_rare_new_and_other_categories():
    rng = np.random.default_rng(23)
    cats = [f"c{i}" for i in range(30)]
    weights = np.r_[np.full(5, 0.18), np.full(25, 0.1 / 25)]
    ref = rng.choice(cats, 6000, p=weights)
    cur = np.concatenate([rng.choice(cats, 1500, p=weights), ["brand_new"] * 6, [None] * 30])
    result = check_drift(pl.DataFrame({"c": ref}), pl.DataFrame({"c": cur}), max_categories=8)
    row = _rows(result, "c")
    prof = fit_profile(pl.DataFrame({"c": ref}), max_categories=8)["c"]
    kept = list(prof.categories)
    valid = np.array([v for v in cur if v is not None])
    ref_counts = np.array([np.sum(ref == k) for k in kept] + [np.sum(~np.isin(ref, kept))])
    cur_counts = np.array([np.sum(valid == k) for k in kept] + [np.sum(~np.isin(valid, kept))])
    table = _pooled(ref_counts.astype(float), cur_counts.astype(float))
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    assert row["test"] == "chi2" and row["n_current"] == len(valid)
    assert row["statistic"] == pytest.approx(chi2) and row["p_value"] == pytest.approx(p, rel=1e-6)
    assert row["total_variation"] == pytest.approx(0.5 * np.abs(ref_counts / ref_counts.sum()
                                                                 - cur_counts / cur_counts.sum()).sum())


@pytest.mark.parametrize(("ref", "cur"), [
    (np.full(500, 3.0), np.full(400, 3.0)),
    (np.full(500, -7.5), np.r_[np.full(390, -7.5), np.full(10, np.nan)]),
])
def test_drift_of_a_constant_column_is_zero_with_p_value_one(ref, cur):
    row = _rows(check_drift(pl.DataFrame({"x": ref}), pl.DataFrame({"x": cur})), "x")
    assert stats.ks_2samp(ref, cur[~np.isnan(cur)]).statistic == 0.0
    assert (row["ks"], row["psi"], row["jensen_shannon"], row["total_variation"], row["p_value"]) == (
        0.0, 0.0, 0.0, 0.0, 1.0)
    assert row["status"] == "stable" and row["severity"] is None


@pytest.mark.parametrize("tails", ["cauchy", "pareto", "lognormal"])
def test_drift_effect_sizes_equal_brute_force_on_heavy_tails(tails):
    rng = np.random.default_rng(24)
    draw = {"cauchy": lambda s, n: rng.standard_cauchy(n) * s, "pareto": lambda s, n: rng.pareto(1.0 / s, n),
            "lognormal": lambda s, n: rng.lognormal(0, 2 * s, n)}[tails]
    ref, cur = draw(1.0, 5000), draw(1.3, 4000)
    row = _rows(check_drift(pl.DataFrame({"x": ref}), pl.DataFrame({"x": cur})), "x")
    edges = np.array(fit_profile(pl.DataFrame({"x": ref}))["x"].edges)
    r, c = _brute_bins(ref, cur, edges)
    p, q = r / r.sum(), c / c.sum()
    assert row["total_variation"] == pytest.approx(0.5 * np.abs(p - q).sum())
    assert row["jensen_shannon"] == pytest.approx(jensenshannon(p, q, base=2))
    exact_ks = stats.ks_2samp(ref, cur).statistic
    assert row["ks"] <= exact_ks + 1e-12 and row["ks"] == pytest.approx(np.abs(np.cumsum(p) - np.cumsum(q)).max())
    # scaled Wasserstein: the trapezoid over the inner edges, against the exact area between the raw
    # empirical CDFs over the same range (within the binning's approximation)
    grid = np.linspace(edges[0], edges[-1], 200_001)
    gap = np.abs(np.searchsorted(np.sort(ref), grid, "right") / len(ref)
                 - np.searchsorted(np.sort(cur), grid, "right") / len(cur))
    spread = (edges[-1] - edges[0]) / (stats.norm.ppf(0.9) - stats.norm.ppf(0.1))
    assert row["wasserstein"] == pytest.approx(np.trapezoid(gap, grid) / spread, rel=0.1)


def test_drift_scaled_wasserstein_survives_values_near_the_float_limit():
    block_ref, block_cur = [1e308, -1e308, 0.0, 1.0, 2.0], [1e308, -1e308, 0.0, 1.0, 2.0, 2.0, 2.0]
    ref, cur = np.array(block_ref * 100), np.array(block_cur * 100)
    row = _rows(check_drift(pl.DataFrame({"x": ref}), pl.DataFrame({"x": cur})), "x")
    edges = np.array(fit_profile(pl.DataFrame({"x": ref}))["x"].edges)
    scale = 1e308  # work in units of 1e308 so nothing overflows
    e = edges / scale
    r, c = _brute_bins(ref, cur, edges)
    gap = np.abs(np.cumsum(r / r.sum()) - np.cumsum(c / c.sum()))[: len(e)]
    area = np.sum(0.5 * (gap[:-1] + gap[1:]) * np.diff(e))
    expected = area / ((e[-1] - e[0]) / (stats.norm.ppf(0.9) - stats.norm.ppf(0.1)))
    assert expected == pytest.approx(0.146, abs=0.001)
    assert row["wasserstein"] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(("n_ref", "n_cur"), [(1, 1), (2, 2), (5, 5), (1, 5)])
def test_drift_on_tiny_samples_reports_brute_force_effects_and_never_decides(n_ref, n_cur):
    ref, cur = np.arange(float(n_ref)), np.arange(float(n_cur)) + 0.5
    row = _rows(check_drift(pl.DataFrame({"x": ref}), pl.DataFrame({"x": cur})), "x")
    edges = np.array(fit_profile(pl.DataFrame({"x": ref}))["x"].edges)
    r, c = _brute_bins(ref, cur, edges)
    assert row["total_variation"] == pytest.approx(0.5 * np.abs(r / r.sum() - c / c.sum()).sum())
    assert row["ks"] == pytest.approx(np.abs(np.cumsum(r / r.sum()) - np.cumsum(c / c.sum())).max())
    assert row["status"] == "insufficient" and row["severity"] is None and row["q_value"] is None


def test_drift_missing_rate_change_equals_statsmodels_on_the_raw_rows():
    rng = np.random.default_rng(25)
    ref = rng.normal(size=5000)
    ref[:50] = np.nan
    cur = rng.normal(size=4000)
    cur[:200] = np.nan
    frame = pl.DataFrame({"x": cur}).with_columns(
        pl.when(pl.int_range(pl.len()) < 100).then(None).otherwise(pl.col("x")).alias("x"))  # 100 null + 100 NaN
    tests = check_drift(pl.DataFrame({"x": ref}), frame).to_polars("tests").filter(pl.col("test") == "missing_rate")
    row = tests.row(0, named=True)
    lo, hi = confint_proportions_2indep(200, 4000, 50, 5000, method="newcomb", compare="diff")
    assert row["effect"] == pytest.approx(200 / 4000 - 50 / 5000)
    assert (row["low"], row["high"]) == pytest.approx((lo, hi), rel=1e-9)
    assert row["p_value"] == pytest.approx(proportions_ztest([200, 50], [4000, 5000])[1], rel=1e-7)


def test_drift_bootstrap_interval_covers_the_true_total_variation_at_small_n():
    # a brute-force population: TV between two known 4-bin distributions, 120 rows per side
    rng = np.random.default_rng(26)
    p, q = np.array([0.4, 0.3, 0.2, 0.1]), np.array([0.25, 0.3, 0.25, 0.2])
    true = 0.5 * np.abs(p - q).sum()
    refs, curs = rng.multinomial(120, p, size=300), rng.multinomial(120, q, size=300)
    lo, hi = S.bootstrap(refs, curs, {"tv": S.total_variation}, rng=rng, resamples=400)["tv"]
    coverage = np.mean((lo <= true) & (true <= hi))
    assert coverage >= 0.88


# -- exact order statistics and quantiles --------------------------------------------------------

values = st.lists(st.one_of(st.sampled_from([0.0, 1.0, 1.0, -2.5, 1e300, -1e300]),
                            st.floats(allow_nan=False, allow_infinity=True, width=64), st.just(math.nan),
                            st.none()), min_size=1, max_size=40)


def _frames(xs: list) -> dict[str, nw.LazyFrame]:
    df = pl.DataFrame({"x": pl.Series(xs, dtype=pl.Float64)})
    return {"polars": nw.from_native(df.lazy()),
            "duckdb": nw.from_native(duckdb.connect().from_arrow(df.to_arrow()))}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values, st.data())
@example([math.nan, None, 3.0, 3.0, -math.inf, math.inf], None)
def test_order_statistics_equal_numpy_sort_with_ties_nan_and_nulls_on_polars_and_duckdb(xs, data):
    present = np.array([x for x in xs if x is not None], dtype=float)
    if len(present) == 0:
        return
    expected = np.sort(present)  # numpy sorts NaN last, above +inf, as every engine here
    ranks = list(range(1, len(present) + 1))
    if data is not None:
        ranks = data.draw(st.lists(st.integers(1, len(present)), min_size=1, max_size=10))
    for engine, lf in _frames(xs).items():
        got = order_statistics(lf, engine, "x", ranks, name="t", check="test", n=len(present))
        np.testing.assert_array_equal(got, expected[np.array(ranks) - 1], err_msg=engine)


def _lower_quantiles(xs: list, probs: list[float]) -> list[float | None]:
    """The reference: numpy's sort of the values neither null nor NaN, at index floor(p·(n − 1))."""
    present = np.sort(np.array([x for x in xs if x is not None and not math.isnan(x)], dtype=float))
    return [float(present[math.floor(p * (len(present) - 1))]) if len(present) else None for p in probs]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values, st.lists(st.floats(0, 1), min_size=1, max_size=9))
@example([math.nan, None, 3.0, 3.0, -math.inf, math.inf], [0.1, 0.5, 0.9])
@example([math.nan, None], [0.5])
def test_lower_quantiles_equal_numpy_sort_brought_to_polars_or_ranked_in_place(xs, probs):
    expected = _lower_quantiles(xs, probs)
    for engine, lf in _frames(xs).items():
        for local_rows in (0, 1000):  # ranked where the data is, or brought to polars
            got = lower_quantiles(lf, engine, ["x"], probs, name="t", check="test", local_rows=local_rows)
            assert got["x"].to_list() == [expected], (engine, local_rows)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.one_of(st.integers(-5, 5).map(float), st.floats(-1e6, 1e6)), min_size=1, max_size=60))
def test_lag_quantiles_equal_numpy_linear_quantiles(xs):
    x = np.array(xs)
    for engine, lf in _frames(xs).items():
        q = quantiles_of(lf, engine, "x", n=len(x), name="t", check="test")
        expected = np.quantile(x, [0.5, 0.9, 0.99], method="linear")
        assert [q["p50"], q["p90"], q["p99"]] == pytest.approx(expected, rel=1e-12, abs=1e-9), engine
        assert q["max"] == x.max()


def test_lag_quantiles_of_heavy_tails_at_large_n():
    x = np.random.default_rng(27).pareto(0.7, 200_001) * 3600.0
    q = quantiles_of(_frames(x.tolist())["polars"], "polars", "x", n=len(x), name="t", check="test")
    assert [q["p50"], q["p90"], q["p99"], q["max"]] == pytest.approx(
        [*np.quantile(x, [0.5, 0.9, 0.99]), x.max()], rel=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 10, 57, 1000, 100_000])
@pytest.mark.parametrize("p", [0.01, 0.5, 0.95, 0.99])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.999])
def test_quantile_interval_ranks_equal_a_brute_force_binomial_search(n, p, confidence):
    tail = (1 - confidence) / 2
    j = np.arange(0, n + 2)
    cdf = stats.binom.cdf(j - 1, n, p)  # cdf[j] = P(B <= j - 1)
    low = int(j[cdf <= tail * (1 + 1e-12)].max())
    high = int(j[(j >= 1) & (cdf >= (1 - tail) * (1 - 1e-12))].min())
    assert order_statistic_ranks(n, p, confidence) == (max(low, 1), min(high, n))
    lo, hi = max(low, 1), min(high, n)
    if (lo, hi) == (low, high):  # not clipped: the coverage P(l <= B < u) is at least the confidence
        assert stats.binom.cdf(hi - 1, n, p) - stats.binom.cdf(lo - 1, n, p) >= confidence - 1e-9


# -- AUC from counts ------------------------------------------------------------------------------

@FAST
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 1)), min_size=2, max_size=200))
@example([(0, 0), (1, 1)])  # perfect separation
@example([(1, 0), (0, 1)])  # perfectly wrong
@example([(3, 0), (3, 1)])  # one tied value
def test_auc_from_counts_equals_scikit_learn_with_ties(pairs):
    from sklearn.metrics import roc_auc_score

    score, y = (np.array(v) for v in zip(*pairs, strict=True))
    values = np.unique(score)
    pos = np.array([((score == v) & (y == 1)).sum() for v in values])
    neg = np.array([((score == v) & (y == 0)).sum() for v in values])
    if len(set(y)) < 2:
        assert math.isnan(auc_from_counts(pos, neg))  # one class only: undefined (scikit-learn raises)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert auc_from_counts(pos, neg) == pytest.approx(roc_auc_score(y, score), abs=1e-12)

