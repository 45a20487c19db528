"""Drift statistics cross-checked against scipy and direct numpy computations on the same bins."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from workbench.drift import check_drift, fit_profile
from workbench.drift.compare import pool_rare
from workbench.stats import benjamini_hochberg, two_proportions
from workbench.stats import distances as S


def _all_row(result, column):
    return result.to_polars("columns").filter((pl.col("column") == column) & (pl.col("scope") == "all")).row(
        0, named=True)


def _bins(result, column):
    b = result.to_polars("bins").filter((pl.col("column") == column) & (pl.col("scope") == "all")).sort("bin")
    return b["reference_count"].to_numpy(), b["current_count"].to_numpy()


def test_ks_equals_scipy_when_every_value_is_an_edge():
    rng = np.random.default_rng(3)
    ref = rng.integers(0, 5, 4000)
    cur = rng.choice(5, 3000, p=[0.1, 0.2, 0.2, 0.2, 0.3])
    result = check_drift(pl.DataFrame({"x": ref}), pl.DataFrame({"x": cur}))
    row = _all_row(result, "x")
    expected = stats.ks_2samp(ref, cur, method="asymp")
    assert row["ks"] == pytest.approx(expected.statistic, abs=1e-12)
    assert row["p_value"] == pytest.approx(expected.pvalue, rel=0.1, abs=0.02)


def test_binned_ks_is_a_close_lower_bound_of_the_exact_statistic():
    rng = np.random.default_rng(4)
    ref, cur = rng.normal(0, 1, 20_000), rng.normal(0.3, 1.2, 20_000)
    row = _all_row(check_drift(pl.DataFrame({"x": ref}), pl.DataFrame({"x": cur})), "x")
    exact = stats.ks_2samp(ref, cur).statistic
    assert row["ks"] <= exact + 1e-12
    assert exact - row["ks"] < 0.02


def test_bin_counts_equal_a_brute_force_binning():
    rng = np.random.default_rng(5)
    ref = np.concatenate([rng.lognormal(0, 1, 5000), np.zeros(3000)])
    cur = np.concatenate([rng.lognormal(0.2, 1, 4000), np.zeros(1000), [np.nan] * 50])
    result = check_drift(pl.DataFrame({"x": ref}), pl.DataFrame({"x": cur}))
    edges = np.array(fit_profile(pl.DataFrame({"x": ref}))["x"].edges)
    expected_ref = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=len(edges) + 1)
    finite_cur = cur[~np.isnan(cur)]
    expected_cur = np.bincount(np.searchsorted(edges, finite_cur, side="left"), minlength=len(edges) + 1)
    got_ref, got_cur = _bins(result, "x")
    np.testing.assert_array_equal(got_ref, expected_ref)
    np.testing.assert_array_equal(got_cur, expected_cur)
    assert edges[0] == 0.0  # the zero mass has a bin of its own


def test_effect_sizes_equal_direct_numpy_on_the_same_bins():
    rng = np.random.default_rng(6)
    ref, cur = rng.gamma(2.0, 3.0, 8000), rng.gamma(2.4, 3.0, 6000)
    result = check_drift(pl.DataFrame({"x": ref}), pl.DataFrame({"x": cur}))
    row = _all_row(result, "x")
    r, c = _bins(result, "x")
    p, q = r / r.sum(), c / c.sum()
    pf, qf = np.clip(p, 1e-4, None), np.clip(q, 1e-4, None)
    assert row["psi"] == pytest.approx(sum((qi - pi) * np.log(qi / pi) for pi, qi in zip(pf, qf, strict=True)))
    assert row["jensen_shannon"] == pytest.approx(jensenshannon(p, q, base=2))
    assert row["total_variation"] == pytest.approx(0.5 * np.abs(p - q).sum())
    prof = fit_profile(pl.DataFrame({"x": ref}))["x"]
    edges = np.array(prof.edges)
    gap = np.abs(np.cumsum(p) - np.cumsum(q))[: len(edges)]
    spread = (edges[-1] - edges[0]) / (stats.norm.ppf(0.9) - stats.norm.ppf(0.1))
    assert row["wasserstein"] == pytest.approx(np.trapezoid(gap, edges) / spread)
    assert row["effect"] == "wasserstein"
    assert row["effect_low"] <= row["wasserstein"] <= row["effect_high"]


def test_scaled_wasserstein_reads_in_standard_deviations_for_normal_data():
    rng = np.random.default_rng(7)
    ref, cur = rng.normal(0, 2, 200_000), rng.normal(1.0, 2, 200_000)  # a 0.5 sd shift
    row = _all_row(check_drift(pl.DataFrame({"x": ref}), pl.DataFrame({"x": cur})), "x")
    # over the inner 80% of the reference, a shift of d covers about 0.8 d of area
    assert row["wasserstein"] == pytest.approx(0.5 * 0.8, abs=0.03)


def test_scaled_wasserstein_is_unchanged_by_rescaling_to_the_float_limit():
    # uniform values in [-1, 1] times 1.7e308 put the inner edges near ±1.36e308, where
    # edges[-1] - edges[0] overflows; the scaled distance must not depend on the unit
    rng = np.random.default_rng(17)
    ref, cur = rng.uniform(-1, 1, 5000), rng.uniform(-0.6, 1, 4000)
    small = _all_row(check_drift(pl.DataFrame({"x": ref}), pl.DataFrame({"x": cur})), "x")
    big_ref = pl.DataFrame({"x": ref * 1.7e308})
    big = _all_row(check_drift(big_ref, pl.DataFrame({"x": cur * 1.7e308})), "x")
    edges = fit_profile(big_ref)["x"].edges
    assert edges[-1] - edges[0] == np.inf and np.isfinite(fit_profile(big_ref)["x"].spread)
    assert small["wasserstein"] > 0.1
    assert big["wasserstein"] == pytest.approx(small["wasserstein"], rel=1e-9)
    assert (big["effect"], big["status"]) == (small["effect"], small["status"]) == ("wasserstein", "drift")


def test_a_spread_beyond_the_float_range_falls_back_to_total_variation_with_a_note():
    # with 3 bins the inner edges are -1.5e308 and 1.5e308: the spread, (3e308) / 0.86, is not a float
    ref = pl.DataFrame({"x": [-1.5e308] * 100 + [1.5e308] * 200})
    cur = pl.DataFrame({"x": [-1.5e308] * 200 + [1.5e308] * 200})
    profile = fit_profile(ref, bins=3)
    assert profile["x"].edges == (-1.5e308, 1.5e308) and profile["x"].spread is None
    row = _all_row(check_drift(profile, cur), "x")
    assert row["wasserstein"] is None  # not a silent 0
    assert row["effect"] == "total_variation" and row["effect_value"] == pytest.approx(1 / 3 - 1 / 6)
    assert row["status"] == "drift" and "float range" in row["note"]


def test_wasserstein_is_nan_not_zero_for_an_undefined_scale():
    ref, cur = np.array([[5, 5, 5]]), np.array([[1, 5, 9]])
    for edges, scale in [([0.0, 1.0], np.inf), ([0.0, 1.0], np.nan), ([0.0, np.inf], 1.0), ([0.0, 1.0], 0.0)]:
        assert np.isnan(S.wasserstein(ref, cur, np.array(edges), scale)).all()


def test_chi_square_equals_scipy_on_categorical_counts():
    rng = np.random.default_rng(8)
    cats = np.array(["a", "b", "c", "d", "e"])
    ref = rng.choice(cats, 5000, p=[0.3, 0.3, 0.2, 0.1, 0.1])
    cur = rng.choice(cats, 4000, p=[0.25, 0.3, 0.25, 0.1, 0.1])
    result = check_drift(pl.DataFrame({"c": ref}), pl.DataFrame({"c": cur}))
    row = _all_row(result, "c")
    table = np.array([[np.sum(ref == k) for k in cats], [np.sum(cur == k) for k in cats]])
    chi2, p, _dof, _ = stats.chi2_contingency(table, correction=False)
    assert row["test"] == "chi2"
    assert row["statistic"] == pytest.approx(chi2)
    assert row["p_value"] == pytest.approx(p)


def test_rare_bins_are_pooled_before_the_chi_square_test():
    ref, cur = pool_rare(np.array([500, 400, 3, 2, 1]), np.array([50, 40, 1, 0, 1]))
    np.testing.assert_array_equal(ref, [500, 400, 6])
    np.testing.assert_array_equal(cur, [50, 40, 2])


def test_bootstrap_batches_comparisons_and_leaves_empty_ones_undefined():
    rng = np.random.default_rng(11)
    ref = np.array([[500, 300, 200], [500, 300, 200], [500, 300, 200]])
    cur = np.array([[50, 30, 20], [0, 0, 0], [20, 30, 50]])
    lo, hi = S.bootstrap(ref, cur, {"tv": S.total_variation}, rng=rng)["tv"]
    assert np.isnan(lo[1]) and np.isnan(hi[1])
    point = S.total_variation(ref, cur)
    assert lo[2] <= point[2] <= hi[2]
    assert hi[0] < lo[2]  # no shift vs a clear shift: the intervals do not overlap


def test_benjamini_hochberg_equals_scipy():
    p = np.random.default_rng(9).uniform(0, 0.2, 40)
    np.testing.assert_allclose(benjamini_hochberg(p), stats.false_discovery_control(p))


def test_two_proportions_interval_contains_the_difference_and_matches_the_z_test():
    diff, lo, hi, p = two_proportions(20, 1000, 45, 1000)
    assert lo < diff < hi and diff == pytest.approx(0.025)
    pooled = 65 / 2000
    z = 0.025 / np.sqrt(pooled * (1 - pooled) * 2 / 1000)
    assert p == pytest.approx(2 * stats.norm.sf(z))


def test_bootstrap_interval_covers_the_true_total_variation():
    rng = np.random.default_rng(10)
    p = np.array([0.5, 0.3, 0.2])
    q = np.array([0.4, 0.35, 0.25])
    true_tv = 0.5 * np.abs(p - q).sum()
    covered = 0
    for _ in range(200):
        r, c = rng.multinomial(2000, p), rng.multinomial(2000, q)
        lo, hi = S.bootstrap(r, c, {"tv": S.total_variation}, rng=rng, resamples=300)["tv"]
        covered += lo[0] <= true_tv <= hi[0]
    assert covered / 200 >= 0.88


def test_category_effects_equal_direct_numpy_and_a_diffuse_shift_is_governed_by_total_variation():
    rng = np.random.default_rng(7)
    levels = np.array([f"c{i:02d}" for i in range(20)])
    p = np.full(20, 0.05)
    q = p + np.where(np.arange(20) % 2 == 0, 0.013, -0.013)  # 1.3 points each way: total variation 0.13
    ref = pl.DataFrame({"c": rng.choice(levels, 50_000, p=p)})
    cur = pl.DataFrame({"c": rng.choice(levels, 50_000, p=q)})
    row = _all_row(check_drift(ref, cur), "c")
    counts_ref = ref["c"].value_counts().sort("c")["count"].to_numpy()
    counts_cur = cur["c"].value_counts().sort("c")["count"].to_numpy()
    pr, qr = counts_ref / counts_ref.sum(), counts_cur / counts_cur.sum()
    assert row["max_share_change"] == pytest.approx(np.abs(pr - qr).max())
    assert row["total_variation"] == pytest.approx(0.5 * np.abs(pr - qr).sum())
    assert row["max_share_change"] < 0.05 < 0.1 < row["total_variation"]
    assert (row["effect"], row["threshold"], row["status"]) == ("total_variation", 0.1, "drift")
