"""The decision rule measured, not assumed: no alarms on unchanged data at any size, power on real shifts."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from workbench.drift import check_drift

ALARM_KINDS = {"distribution_drift", "missing_rate_change", "new_category", "out_of_range"}
ZIPF_LEVELS = np.array([f"v{i}" for i in range(5000)])
ZIPF_P = 1 / np.arange(1, 5001) ** 1.1
ZIPF_P /= ZIPF_P.sum()


def same_distribution(rng: np.random.Generator, n: int) -> pl.DataFrame:
    """Eight column types that are hard on drift rules: normal, heavy-tailed (Pareto 1.1 and
    Cauchy), zero-inflated, integer-valued, high-cardinality (5,000 Zipf levels), low-cardinality,
    boolean, datetime, with some missing values."""
    normal = rng.normal(100, 15, n)
    normal[rng.random(n) < 0.05] = np.nan
    return pl.DataFrame({
        "normal": normal,
        "pareto": rng.pareto(1.1, n),
        "cauchy": rng.standard_cauchy(n),
        "zero_inflated": np.where(rng.random(n) < 0.7, 0.0, rng.exponential(50, n)),
        "counts": rng.poisson(2.0, n),
        "high_card": rng.choice(ZIPF_LEVELS, n, p=ZIPF_P),
        "low_card": rng.choice(["a", "b", "c"], n, p=[0.7, 0.2, 0.1]),
        "flag": rng.random(n) < 0.1,
        "when": pl.Series(np.datetime64("2025-01-01T00:00:00", "us") + rng.integers(0, 86400 * 365 * 10**6, n)),
    })


CATEGORIES = np.array([f"k{i:02d}" for i in range(12)])
CATEGORY_P = np.array([0.10, 0.18, 0.14, 0.12, 0.10, 0.08, 0.07, 0.06, 0.05, 0.04, 0.03, 0.03])


def category_sample(rng: np.random.Generator, n: int, move: float) -> pl.DataFrame:
    """One categorical column of twelve categories; the first one's share (10%) raised by ``move``
    (e.g. 0.10 = ten points), the others scaled down in proportion."""
    p = CATEGORY_P.copy()
    p[1:] *= (1 - p[0] - move) / p[1:].sum()
    p[0] += move
    return pl.DataFrame({"c": rng.choice(CATEGORIES, n, p=p)})


@pytest.mark.slow
@pytest.mark.parametrize(("n", "seeds"), [(1_000, range(30)), (100_000, range(8)), (1_000_000, range(3))])
def test_at_most_one_alarm_per_hundred_column_tests_on_unchanged_data(n, seeds):
    alarms, column_tests = [], 0
    for seed in seeds:
        rng = np.random.default_rng([n, seed])
        ref, cur = same_distribution(rng, n), same_distribution(rng, n)
        result = check_drift(ref, cur, seed=seed)
        column_tests += ref.width
        alarms += [(seed, f.kind, f.subject) for f in result.at_least("warning") if f.kind in ALARM_KINDS]
    assert len(alarms) <= column_tests / 100, alarms


@pytest.mark.parametrize("seed", range(3))
def test_a_quarter_sd_mean_shift_at_10k_rows_is_detected_and_nothing_else(seed):
    rng = np.random.default_rng([99, seed])
    ref, cur = same_distribution(rng, 10_000), same_distribution(rng, 10_000)
    cur = cur.with_columns(pl.col("normal") + 0.25 * 15)
    result = check_drift(ref, cur)
    flagged = {(f.kind, f.subject) for f in result.at_least("warning")}
    assert flagged == {("distribution_drift", "normal")}


def test_a_trivial_shift_at_a_million_rows_is_significant_but_not_an_alarm():
    rng = np.random.default_rng(11)
    ref = pl.DataFrame({"x": rng.normal(0, 1, 1_000_000)})
    cur = pl.DataFrame({"x": rng.normal(0.02, 1, 1_000_000)})
    result = check_drift(ref, cur)
    row = result.to_polars("columns").row(0, named=True)
    assert row["q_value"] < 0.05
    assert row["status"] == "small"
    assert not result.at_least("warning")


def test_small_samples_are_inconclusive_not_alarms():
    rng = np.random.default_rng(12)
    ref = pl.DataFrame({"x": rng.normal(0, 1, 5000)})
    cur = pl.DataFrame({"x": rng.normal(3, 1, 40)})  # a huge shift, but only 40 rows
    result = check_drift(ref, cur)
    assert not result.at_least("warning")
    assert [f.kind for f in result.findings] == ["insufficient_data"]
    assert result.to_polars("columns")["status"].to_list() == ["insufficient"]


@pytest.mark.parametrize("seed", range(2))
def test_a_ten_point_move_of_one_category_among_many_is_flagged_with_its_interval(seed):
    rng = np.random.default_rng([98, seed])
    ref, cur = category_sample(rng, 10_000, 0.0), category_sample(rng, 10_000, 0.10)
    result = check_drift(ref, cur, seed=seed)
    row = result.to_polars("columns").row(0, named=True)
    assert row["total_variation"] == pytest.approx(0.10, abs=0.02)  # on the old threshold: a coin flip
    assert row["effect"] == "max_share_change" and row["threshold"] == 0.05
    assert row["effect_value"] == pytest.approx(0.10, abs=0.02) and row["effect_low"] > 0.05
    (finding,) = result.at_least("warning")
    assert (finding.kind, finding.severity, finding.subject) == ("distribution_drift", "critical", "c")
    assert "largest category share change" in finding.message and "largest change: 'k00' " in finding.message


def test_a_one_point_move_of_a_category_at_a_million_rows_is_significant_but_not_an_alarm():
    rng = np.random.default_rng(13)
    ref, cur = category_sample(rng, 1_000_000, 0.0), category_sample(rng, 1_000_000, 0.01)
    result = check_drift(ref, cur)
    row = result.to_polars("columns").row(0, named=True)
    assert row["q_value"] < 1e-6
    assert row["max_share_change"] == pytest.approx(0.01, abs=0.002) and row["status"] == "small"
    assert not result.at_least("warning")
