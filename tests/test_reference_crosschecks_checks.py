"""The metrics the checks report, cross-checked through the public checks against scikit-learn, statsmodels,
scipy or a brute-force computation on the raw rows, on adversarial inputs (one-class segments, perfect
separation, scores of exactly 0 and 1, tiny segments, heavy tails, ties, nulls). The calibration slope and
intercept fit and the ECE binning are cross-checked in ``test_calibration_fit.py`` and ``test_calibration.py``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import polars as pl
import pytest
from scipy import stats
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
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.inter_rater import cohens_kappa
from statsmodels.stats.proportion import proportion_confint

from workbench.leakage.statistics import single_feature_auc
from workbench.leakage.training import proxy_counts
from workbench.performance import check_calibration, check_subgroups
from workbench.shadow import check_shadow
from workbench.shadow.paired import paired_difference
from workbench.stats import auc_interval

Z95 = stats.norm.ppf(0.975)


# -- subgroups ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def adversarial_scores() -> pl.DataFrame:
    """Segments built to break metrics: ``one`` has positives only, ``sep`` is perfectly separated with scores of
    exactly 0 and 1, ``tie`` has one score for every row, ``tiny`` has 5 rows, ``rest`` is ordinary (scores with
    4 decimals, so the AUC is exact)."""
    rng = np.random.default_rng(31)
    parts = []
    y = np.ones(150, int)
    parts.append(("one", y, rng.uniform(0, 1, 150).round(4)))
    y = rng.integers(0, 2, 60)
    parts.append(("sep", y, y.astype(float)))
    y = rng.integers(0, 2, 80)
    parts.append(("tie", y, np.full(80, 0.5)))
    parts.append(("tiny", np.array([1, 0, 1, 1, 0]), np.array([0.9, 0.2, 0.4, 0.6, 0.7])))
    y = rng.integers(0, 2, 500)
    parts.append(("rest", y, np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0.001, 0.999).round(4)))
    return pl.DataFrame({"seg": np.concatenate([[s] * len(y) for s, y, _ in parts]),
                         "y": np.concatenate([y for _, y, _ in parts]), "p": np.concatenate([p for _, _, p in parts])})


def _segment(frame: pl.DataFrame, scope: str) -> pl.DataFrame:
    return frame if scope == "all" else frame.filter(pl.col("seg") == scope.split("=", 1)[1])


def test_subgroup_classification_metrics_equal_scikit_learn_on_adversarial_segments(adversarial_scores):
    table = check_subgroups(adversarial_scores, target="y", by="seg", score="p", min_support=1).to_polars("segments")
    assert table.height == 6
    for r in table.iter_rows(named=True):
        part = _segment(adversarial_scores, r["scope"])
        y, p = part["y"].to_numpy(), part["p"].to_numpy()
        pred = (p >= 0.5).astype(int)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = {"accuracy": accuracy_score(y, pred), "brier": brier_score_loss(y, p, labels=[0, 1]),
                        "precision": precision_score(y, pred, zero_division=np.nan),
                        "recall": recall_score(y, pred, zero_division=np.nan),
                        "f1": f1_score(y, pred, zero_division=np.nan),
                        "auc": roc_auc_score(y, p) if len(set(y)) == 2 else math.nan}
        for name, value in expected.items():
            assert r[name] == pytest.approx(value, abs=1e-12, nan_ok=True), (r["scope"], name)
        for name, k, n in (("accuracy", (pred == y).sum(), len(y)), ("recall", (pred & y).sum(), y.sum())):
            assert (r[f"{name}_low"], r[f"{name}_high"]) == pytest.approx(
                proportion_confint(k, n, method="wilson"), abs=1e-12), (r["scope"], name)
        assert r["log_loss"] == pytest.approx(log_loss(y, p, labels=[0, 1]), rel=1e-12), r["scope"]


def test_subgroup_log_loss_equals_scikit_learn_on_scores_of_exactly_zero_and_one():
    rng = np.random.default_rng(32)
    y = rng.integers(0, 2, 200)
    p = rng.uniform(0.01, 0.99, 200).round(4)
    p[:20] = 1.0 - y[:20]  # confidently wrong
    p[20:40] = y[20:40]  # confidently right
    row = check_subgroups(pl.DataFrame({"seg": ["a"] * 200, "y": y, "p": p}), target="y", by="seg", score="p",
                          min_support=1).to_polars("segments").row(0, named=True)
    assert row["log_loss"] == pytest.approx(log_loss(y, p), rel=1e-9)


def test_subgroup_regression_metrics_equal_scikit_learn_on_heavy_tailed_errors():
    rng = np.random.default_rng(33)
    n = 3000
    y = rng.normal(size=n)
    pred = y + np.r_[rng.standard_cauchy(n // 2), rng.pareto(1.2, n - n // 2)]
    pred[:10] = y[:10]  # exact hits: zero error
    seg = rng.choice(["a", "b", "c"], n)
    table = check_subgroups(pl.DataFrame({"seg": seg, "y": y, "pred": pred}), target="y", by="seg", prediction="pred",
                            min_support=1).to_polars("segments")
    for r in table.iter_rows(named=True):
        m = np.ones(n, bool) if r["scope"] == "all" else seg == r["scope"].split("=")[1]
        err = np.abs(pred[m] - y[m])
        assert r["mae"] == pytest.approx(mean_absolute_error(y[m], pred[m]), rel=1e-9)
        assert r["rmse"] == pytest.approx(root_mean_squared_error(y[m], pred[m]), rel=1e-9)
        half = Z95 * err.std(ddof=1) / math.sqrt(m.sum())
        assert (r["mae_low"], r["mae_high"]) == pytest.approx((err.mean() - half, err.mean() + half), rel=1e-6)


def test_subgroup_accuracy_gap_equals_statsmodels_newcombe_and_z_test():
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

    rng = np.random.default_rng(34)
    n = 5000
    seg = rng.choice(["a", "b", "c"], n, p=[0.1, 0.3, 0.6])
    y = rng.integers(0, 2, n)
    right = rng.random(n) < np.where(seg == "a", 0.7, 0.8)
    frame = pl.DataFrame({"seg": seg, "y": y, "pred": np.where(right, y, 1 - y)})
    table = check_subgroups(frame, target="y", by="seg", prediction="pred").to_polars("segments")
    for r in table.filter(pl.col("depth") == 1).iter_rows(named=True):
        m = seg == r["scope"].split("=")[1]
        k, rest_k = right[m].sum(), right[~m].sum()
        lo, hi = confint_proportions_2indep(k, m.sum(), rest_k, (~m).sum(), method="newcomb", compare="diff")
        assert r["gap"] == pytest.approx(k / m.sum() - rest_k / (~m).sum())
        assert (r["gap_low"], r["gap_high"]) == pytest.approx((lo, hi), rel=1e-9)
        assert r["p_value"] == pytest.approx(proportions_ztest([k, rest_k], [m.sum(), (~m).sum()])[1], rel=1e-7)


def _auc_coverage_frame(per_class: int, segments: int, true_auc: float, seed: int) -> pl.DataFrame:
    """``segments`` independent samples (one segment each) of ``per_class`` positives and negatives with binormal
    scores whose population AUC is ``true_auc``, squashed into (0, 1) and rounded to 4 decimals."""
    rng = np.random.default_rng(seed)
    shift = math.sqrt(2) * stats.norm.ppf(true_auc)
    y = np.tile(np.r_[np.ones(per_class, int), np.zeros(per_class, int)], segments)
    z = rng.normal(size=y.size) + shift * y
    return pl.DataFrame({"seg": np.repeat(np.arange(segments), 2 * per_class).astype(str), "y": y,
                         "p": (1 / (1 + np.exp(-z / 3))).round(4)})


def test_auc_interval_of_the_proxy_check_covers_the_true_auc_on_small_perfectly_separable_samples():
    frame = _auc_coverage_frame(10, 600, 0.98, 35)
    p = frame["p"].to_numpy().reshape(600, 20)  # per sample: 10 positives, then 10 negatives
    pos, neg = p[:, :10, None], p[:, None, 10:]
    aucs = ((pos > neg) + 0.5 * (pos == neg)).mean(axis=(1, 2))  # Mann-Whitney, brute force over the pairs
    first = frame.head(20)
    assert aucs[0] == pytest.approx(roc_auc_score(first["y"].to_numpy(), first["p"].to_numpy()))
    covered = sum(lo <= 0.98 <= hi for lo, hi in (auc_interval(a, 10, 10) for a in aucs))
    assert (aucs == 1).mean() > 0.3 and covered / 600 >= 0.93


def test_subgroup_auc_interval_covers_the_true_auc_on_small_perfectly_separable_segments():
    frame = _auc_coverage_frame(10, 600, 0.98, 35)
    table = check_subgroups(frame, target="y", by="seg", score="p", min_support=1).to_polars("segments")
    table = table.filter(pl.col("depth") == 1)
    assert table.height == 600
    coverage = ((table["auc_low"] <= 0.98) & (table["auc_high"] >= 0.98)).mean()
    assert coverage >= 0.93


# -- calibration ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def extreme_calibration() -> tuple[pl.DataFrame, dict]:
    """Scores piled up near 0 and 1 (beta(0.3, 0.3)) with 50 rows at exactly 0 and 50 at exactly 1, five of each
    confidently wrong."""
    rng = np.random.default_rng(36)
    n = 3000
    p = rng.beta(0.3, 0.3, n)
    p[:50], p[50:100] = 0.0, 1.0
    y = (rng.random(n) < p).astype(int)
    y[:5], y[50:55] = 1, 0
    frame = pl.DataFrame({"p": p, "y": y})
    result = check_calibration(frame, frame, score="p", target="y", min_support=10)
    return frame, result


def test_calibration_brier_and_its_interval_equal_scikit_learn_and_a_normal_interval(extreme_calibration):
    frame, result = extreme_calibration
    row = result.to_polars("calibration").filter(pl.col("scope") == "all").row(0, named=True)
    y, p = frame["y"].to_numpy(), frame["p"].to_numpy()
    terms = (p - y) ** 2
    half = Z95 * terms.std(ddof=1) / math.sqrt(len(y))
    assert row["brier"] == pytest.approx(brier_score_loss(y, p), rel=1e-12)
    assert (row["brier_low"], row["brier_high"]) == pytest.approx((terms.mean() - half, terms.mean() + half),
                                                                  rel=1e-6)


def test_calibration_log_loss_equals_scikit_learn_on_scores_of_exactly_zero_and_one(extreme_calibration):
    frame, result = extreme_calibration
    row = result.to_polars("calibration").filter(pl.col("scope") == "all").row(0, named=True)
    assert row["log_loss"] == pytest.approx(log_loss(frame["y"].to_numpy(), frame["p"].to_numpy()), rel=1e-3)


def test_calibration_hosmer_lemeshow_equals_brute_force_on_its_equal_mass_bins(extreme_calibration):
    frame, result = extreme_calibration
    row = result.to_polars("calibration").filter(pl.col("scope") == "all").row(0, named=True)
    bins = result.to_polars("reliability").filter(
        (pl.col("scope") == "all") & (pl.col("side") == "current") & (pl.col("strategy") == "equal_mass")).sort("bin")
    y, p = frame["y"].to_numpy(), frame["p"].to_numpy()
    fine = np.minimum(np.floor(p * 1000), 999) / 1000  # the fine grid the bins are unions of
    h, df = 0.0, 0
    for lo, hi in bins.select("low", "high").iter_rows():
        m = (fine >= lo - 1e-12) & (fine < hi - 1e-12)
        n, observed, expected = m.sum(), y[m].sum(), p[m].sum()
        if 0 < expected < n:
            h += (observed - expected) ** 2 / (expected * (1 - expected / n))
            df += 1
    assert bins["n"].sum() == len(y)
    assert (row["hl_stat"], row["hl_df"]) == (pytest.approx(h, rel=1e-9), df)
    assert row["hl_p"] == pytest.approx(stats.chi2.sf(h, df), rel=1e-6, abs=1e-300)


# -- shadow ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shadow_pair() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Two logs of the same 3,000 requests: heavy-tailed latencies with ties and nulls, rare errors, 3-class
    predictions that mostly agree, scores, and labels for 2,000 requests."""
    rng = np.random.default_rng(37)
    n = 3000
    ids = np.arange(n).astype(str)
    y = rng.integers(0, 3, n)
    pred_p = np.where(rng.random(n) < 0.8, y, rng.integers(0, 3, n))
    pred_c = np.where(rng.random(n) < 0.85, pred_p, rng.integers(0, 3, n))
    lat_p = (rng.pareto(1.5, n) * 20).round(0)  # whole milliseconds: many ties
    lat_c = (rng.pareto(1.3, n) * 22).round(0)
    err_p = rng.random(n) < 0.01
    err_c = np.where(err_p, rng.random(n) < 0.8, rng.random(n) < 0.012)
    s_p = rng.uniform(0, 1, n).round(3)
    s_c = np.clip(s_p + rng.normal(0, 0.05, n), 0, 1)
    prod = pl.DataFrame({"rid": ids, "pred": pred_p, "ms": lat_p, "err": err_p, "s": s_p}).with_columns(
        pl.when(pl.int_range(pl.len()) % 97 == 0).then(None).otherwise(pl.col("ms")).alias("ms"))
    cand = pl.DataFrame({"rid": ids, "pred": pred_c, "ms": lat_c, "err": err_c, "s": s_c})
    labels = pl.DataFrame({"rid": ids[:2000], "label": y[:2000]})
    return prod, cand, labels


@pytest.fixture(scope="module")
def shadow_result(shadow_pair):
    prod, cand, labels = shadow_pair
    return check_shadow(prod, cand, id="rid", prediction="pred", latency="ms", error="err", score="s",
                        labels=labels, task="multiclass")


def test_latency_quantiles_and_intervals_equal_numpy_and_the_order_statistics_of_the_raw_rows(shadow_pair,
                                                                                              shadow_result):
    from workbench.shadow.quantiles import order_statistic_ranks

    table = shadow_result.to_polars("latency")
    for side, log in zip(("production", "candidate"), shadow_pair[:2], strict=False):
        x = np.sort(log["ms"].drop_nulls().to_numpy())
        for r in table.filter(pl.col("side") == side).iter_rows(named=True):
            lo, hi = order_statistic_ranks(len(x), r["quantile"], 0.95)
            assert r["n"] == len(x)
            assert r["value"] == pytest.approx(np.quantile(x, r["quantile"], method="linear"), rel=1e-12)
            assert (r["low"], r["high"]) == (x[lo - 1], x[hi - 1])
    profile = shadow_result.to_polars("latency_distribution").filter(pl.col("side") == "candidate")
    x = np.sort(shadow_pair[1]["ms"].to_numpy())
    assert profile["value"].to_list() == np.quantile(x, profile["level"].to_numpy(), method="lower").tolist()


def test_error_rates_equal_statsmodels_wilson_on_the_same_requests(shadow_pair, shadow_result):
    prod, cand, _ = shadow_pair
    errors = shadow_result.to_polars("errors")
    for side, log in (("production", prod), ("candidate", cand)):
        r = errors.filter(pl.col("side") == side).row(0, named=True)
        k = int(log["err"].sum())
        assert (r["n"], r["errors"]) == (3000, k)
        assert (r["rate_low"], r["rate_high"]) == pytest.approx(proportion_confint(k, 3000, method="wilson"),
                                                                abs=1e-12)
    only_p = int((prod["err"] & ~cand["err"]).sum())
    only_c = int((~prod["err"] & cand["err"]).sum())
    assert errors["increase"][0] == pytest.approx((only_c - only_p) / 3000)
    assert errors["increase_low"][0] < errors["increase"][0] < errors["increase_high"][0]


def test_accuracy_mcnemar_p_value_equals_statsmodels(shadow_pair, shadow_result):
    prod, cand, labels = shadow_pair
    y = labels["label"].to_numpy()
    right_p, right_c = prod["pred"].to_numpy()[:2000] == y, cand["pred"].to_numpy()[:2000] == y
    row = shadow_result.to_polars("accuracy").filter(pl.col("scope") == "all").row(0, named=True)
    b, c = int((right_p & ~right_c).sum()), int((right_c & ~right_p).sum())
    assert row["difference"] == pytest.approx((c - b) / 2000)
    assert row["p_value"] == pytest.approx(mcnemar([[0, b], [c, 0]], exact=True).pvalue, rel=1e-9)


def test_agreement_kappa_and_its_interval_equal_statsmodels(shadow_pair, shadow_result):
    prod, cand, _ = shadow_pair
    answered = ~(prod["err"] | cand["err"]).to_numpy()  # a request either side failed is not compared
    table = np.zeros((3, 3))
    np.add.at(table, (prod["pred"].to_numpy()[answered], cand["pred"].to_numpy()[answered]), 1)
    expected = cohens_kappa(table)
    row = shadow_result.to_polars("agreement").filter(pl.col("scope") == "all").row(0, named=True)
    assert (row["n"], row["not_compared"]) == (answered.sum(), 3000 - answered.sum())
    assert row["kappa"] == pytest.approx(expected.kappa, rel=1e-12)
    assert (row["kappa_low"], row["kappa_high"]) == pytest.approx((expected.kappa_low, expected.kappa_upp), rel=1e-9)
    assert (row["agreement_low"], row["agreement_high"]) == pytest.approx(
        proportion_confint(int(np.trace(table)), int(answered.sum()), method="wilson"), abs=1e-12)


def test_score_deltas_equal_numpy_within_one_bin_of_the_quantiles(shadow_pair, shadow_result):
    prod, cand, _ = shadow_pair
    d = cand["s"].to_numpy() - prod["s"].to_numpy()
    row = shadow_result.to_polars("scores").filter(pl.col("scope") == "all").row(0, named=True)
    half = Z95 * d.std(ddof=1) / math.sqrt(len(d))
    assert row["mean_delta"] == pytest.approx(d.mean(), abs=1e-12)
    assert (row["mean_delta_low"], row["mean_delta_high"]) == pytest.approx((d.mean() - half, d.mean() + half),
                                                                            rel=1e-9)
    assert row["mean_abs_delta"] == pytest.approx(np.abs(d).mean(), rel=1e-12)
    for q in (0.5, 0.9, 0.99):
        exact = np.quantile(np.abs(d), q, method="inverted_cdf")
        assert exact - 1e-12 <= row[f"abs_delta_p{round(q * 100)}"] <= exact + 1e-3 + 1e-12  # one bin: 1/1000
    assert row["share_large"] == pytest.approx(np.mean(np.abs(d) > 0.1))


def test_the_mae_ratio_equals_numpy_on_a_heavy_tailed_regression():
    rng = np.random.default_rng(38)
    n = 4000
    ids = np.arange(n).astype(str)
    y = rng.normal(10, 3, n)
    p = y + rng.standard_cauchy(n) * 0.5
    c = y + rng.standard_t(2, n) * 0.6
    result = check_shadow(pl.DataFrame({"rid": ids, "pred": p}), pl.DataFrame({"rid": ids, "pred": c}), id="rid",
                          prediction="pred", labels=pl.DataFrame({"rid": ids, "label": y}), task="regression")
    row = result.to_polars("accuracy").filter(pl.col("scope") == "all").row(0, named=True)
    ep, ec = np.abs(y - p), np.abs(y - c)
    assert (row["mae_production"], row["mae_candidate"]) == pytest.approx((ep.mean(), ec.mean()), rel=1e-9)
    assert (row["rmse_production"], row["rmse_candidate"]) == pytest.approx(
        (math.sqrt((ep**2).mean()), math.sqrt((ec**2).mean())), rel=1e-9)
    assert row["mae_ratio"] == pytest.approx(ec.mean() / ep.mean(), rel=1e-9)
    diff = ec - ep
    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(diff.mean()) / (diff.std(ddof=1) / math.sqrt(n))),
                                           rel=1e-6)


def _newcombe_paired(both: int, only_first: int, only_second: int, n: int, confidence: float = 0.95):
    """Newcombe's (1998) method 10 as published (Fagerland, Lydersen & Laake, *Statistical Analysis of
    Contingency Tables*, ch. 8; Altman et al., *Statistics with Confidence*, p. 52): the correlation of the 2x2
    table enters with its continuity correction, phi* = (A - n/2)/sqrt(...) when A = ad - bc > n/2, 0 when
    0 <= A <= n/2. Returns (second - first, low, high)."""
    a, b, c = both, only_first, only_second
    d = n - a - b - c
    r1, r2, c1, c2 = a + b, c + d, a + c, b + d
    p1, p2 = r1 / n, c1 / n
    l1, u1 = proportion_confint(r1, n, 1 - confidence, method="wilson")
    l2, u2 = proportion_confint(c1, n, 1 - confidence, method="wilson")
    psi = 0.0
    if min(r1, r2, c1, c2) > 0:
        big_a = a * d - b * c
        root = math.sqrt(r1 * r2 * c1 * c2)
        psi = (big_a - n / 2) / root if big_a > n / 2 else (0.0 if big_a >= 0 else big_a / root)
    est = p1 - p2
    low = est - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2 - 2 * psi * (p1 - l1) * (u2 - p2))
    high = est + math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2 - 2 * psi * (p2 - l2) * (u1 - p1))
    return -est, -high, -low


@pytest.mark.parametrize(("both", "only_first", "only_second", "n"), [(36, 12, 2, 50), (0, 0, 5, 100),
                                                                      (0, 7, 9, 400)])
def test_paired_difference_equals_newcombe_where_the_correlation_is_not_positive(both, only_first, only_second, n):
    assert paired_difference(both, only_first, only_second, n) == pytest.approx(
        _newcombe_paired(both, only_first, only_second, n), abs=1e-12)


@pytest.mark.parametrize(("both", "only_first", "only_second", "n"), [(40, 2, 9, 1000), (1, 1, 7, 21),
                                                                      (59, 6, 16, 161), (5, 3, 1, 100)])
def test_paired_difference_equals_newcombe_method_10_with_positive_correlation(both, only_first, only_second, n):
    assert paired_difference(both, only_first, only_second, n) == pytest.approx(
        _newcombe_paired(both, only_first, only_second, n), abs=1e-6)


# -- leakage --------------------------------------------------------------------------------------

def test_proxy_auc_of_a_categorical_feature_with_nulls_equals_scikit_learn_on_its_smoothed_rates():
    rng = np.random.default_rng(39)
    n = 2000
    c = rng.choice(["a", "b", "c", "rare", None], n, p=[0.3, 0.3, 0.3, 0.005, 0.095])
    y = (rng.random(n) < np.select([c == "a", c == "b", c == "c"], [0.2, 0.5, 0.7], 0.9)).astype(int)
    counts = proxy_counts(pl.DataFrame({"c": c, "y": y}).lazy(), "c", "y", pl.String)
    auc, n_pos, n_neg = single_feature_auc(counts)
    key = np.array(["<null>" if v is None else v for v in c])
    prior = y.mean()
    rate = {k: (y[key == k].sum() + 10 * prior) / ((key == k).sum() + 10) for k in set(key)}
    expected = roc_auc_score(y, [rate[k] for k in key])
    assert (auc, n_pos, n_neg) == (pytest.approx(max(expected, 1 - expected), abs=1e-12), y.sum(), n - y.sum())


def test_proxy_auc_of_a_perfect_or_reversed_predictor_and_its_interval():
    y = np.r_[np.zeros(30, int), np.ones(12, int)]
    for x in (y * 5.0 + 1, -(y * 5.0)):
        counts = proxy_counts(pl.DataFrame({"x": x, "y": y}).lazy(), "x", "y", pl.Float64)
        auc, n_pos, n_neg = single_feature_auc(counts)
        assert (auc, n_pos, n_neg) == (1.0, 12, 30)
        lo, hi = auc_interval(auc, n_pos, n_neg)
        assert (lo, hi) == pytest.approx(proportion_confint(12, 12, method="wilson"), abs=1e-12)


def test_proxy_auc_of_a_numeric_feature_leaves_nan_out_like_null():
    rng = np.random.default_rng(40)
    y = rng.integers(0, 2, 2000)
    x = rng.normal(size=2000) + y
    x[:30] = np.nan
    counts = proxy_counts(pl.DataFrame({"x": x, "y": y}).lazy(), "x", "y", pl.Float64)
    auc, n_pos, n_neg = single_feature_auc(counts)
    ok = ~np.isnan(x)
    assert n_pos + n_neg == ok.sum()
    assert auc == pytest.approx(roc_auc_score(y[ok], x[ok]), abs=1e-12)


# -- label-free estimate (CBPE) ---------------------------------------------------------------------

def test_estimated_accuracy_precision_and_recall_equal_brute_force_on_the_raw_rows():
    from workbench.performance import check_performance

    rng = np.random.default_rng(41)
    n = 3000
    p = rng.beta(0.5, 0.5, n).round(3)
    p[:40], p[40:80], p[80:120] = 0.0, 1.0, 0.5  # extremes, and ties at the threshold (predicted 1)
    y = (rng.random(n) < p).astype(float)
    y[rng.random(n) < 0.4] = np.nan  # labels not arrived yet
    seg = rng.choice(["a", "b"], n)
    frame = pl.DataFrame({"seg": seg, "p": p, "y": y}).with_columns(pl.col("y").fill_nan(None))
    table = check_performance(frame, by="seg", target="y", score="p").to_polars("estimates")
    for r in table.iter_rows(named=True):
        m = np.ones(n, bool) if r["scope"] == "all" else seg == r["scope"].split("=")[1]
        pm, ym = p[m], y[m]
        pred = pm >= 0.5
        q = np.where(pred, pm, 1 - pm)
        half = Z95 * math.sqrt((q * (1 - q)).sum()) / m.sum()
        assert (r["n"], r["labelled"]) == (m.sum(), (~np.isnan(ym)).sum())
        assert r["estimated_accuracy"] == pytest.approx(q.mean(), rel=1e-12)
        assert (r["estimated_accuracy_low"], r["estimated_accuracy_high"]) == pytest.approx(
            (q.mean() - half, q.mean() + half), rel=1e-9)
        assert r["estimated_precision"] == pytest.approx(pm[pred].mean(), rel=1e-12)
        assert r["estimated_recall"] == pytest.approx(pm[pred].sum() / pm.sum(), rel=1e-12)
        known = ~np.isnan(ym)
        assert r["realized_accuracy"] == pytest.approx(accuracy_score(ym[known], pred[known]), rel=1e-12)
