"""Shadow/canary foundation: reconciliation of two request logs and the paired statistics."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.contingency_tables import mcnemar

from workbench.errors import ConfigError, InputError
from workbench.shadow import check_shadow, cohen_kappa, mcnemar_exact, reconcile

T0 = dt.datetime(2026, 3, 1)


def confusion(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    m = np.zeros((k, k))
    np.add.at(m, (a, b), 1)
    return m


@pytest.mark.parametrize(("seed", "k"), [(0, 2), (1, 3), (2, 4), (3, 2)])
def test_kappa_equals_scikit_learn(seed, k):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, k, 3000)
    b = np.where(rng.random(3000) < 0.7, a, rng.integers(0, k, 3000))
    assert cohen_kappa(confusion(a, b, k)).value == pytest.approx(cohen_kappa_score(a, b))


def test_kappa_interval_covers_the_population_kappa():
    rng = np.random.default_rng(4)
    cells = np.array([[0.45, 0.05], [0.10, 0.40]])
    po, pe = np.trace(cells), cells.sum(1) @ cells.sum(0)
    true = (po - pe) / (1 - pe)
    covered = sum(
        (k := cohen_kappa(rng.multinomial(500, cells.ravel()).reshape(2, 2))).low <= true <= k.high
        for _ in range(400))
    assert 0.92 <= covered / 400 <= 0.98


@pytest.mark.parametrize(("b", "c"), [(7, 15), (0, 0), (0, 9), (30, 31), (3, 120), (500, 430)])
def test_mcnemar_equals_statsmodels(b, c):
    expected = mcnemar([[100, b], [c, 100]], exact=True).pvalue
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def logs():
    prod = pl.DataFrame({
        "rid": ["a", "b", "b", "c", "d", None],
        "ts": [T0, T0, T0 + dt.timedelta(seconds=5), T0, T0, T0],
        "pred": [1, 0, 1, 1, 0, 1],
        "ms": [10.0, 12.0, 11.0, 9.0, 30.0, 8.0],
        "err": [False, True, False, False, False, False],
    })
    cand = pl.DataFrame({
        "rid": ["a", "b", "c", "c", "e"],
        "ts": [T0, T0, T0, T0, T0],
        "pred": [1, 1, 0, 1, 0],
        "ms": [20.0, 25.0, 18.0, 19.0, 40.0],
        "err": [False, False, True, False, False],
    })
    return prod, cand


def test_reconcile_counts_everything_it_sets_aside():
    prod, cand = logs()
    rec = reconcile(prod, cand, id="rid", timestamp="ts", prediction="pred", latency="ms", error="err")
    assert rec.counts == {
        "production_rows": 6, "production_null_ids": 1, "production_duplicates": 1,
        "candidate_rows": 5, "candidate_null_ids": 0, "candidate_duplicates": 1,
        "matched": 3, "production_only": 1, "candidate_only": 1,
    }
    rows = rec.matched.sort("rid").collect()
    assert rows["rid"].to_list() == ["a", "b", "c"]
    # b: the later production attempt wins; c: same timestamp on the candidate, the successful attempt wins
    assert rows.filter(pl.col("rid") == "b")["pred_production"].item() == 1
    assert rows.filter(pl.col("rid") == "c")["err_candidate"].item() is False


def test_reconcile_does_not_depend_on_row_order():
    prod, cand = logs()
    cand = cand.with_columns(err=pl.lit(False))  # c's two attempts now tie on time and error
    a = reconcile(prod, cand, id="rid", timestamp="ts", prediction="pred", error="err").matched.sort("rid").collect()
    b = reconcile(prod.reverse(), cand.reverse(), id="rid", timestamp="ts", prediction="pred",
                  error="err").matched.sort("rid").collect()
    assert a.equals(b)


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        (lambda df: df.with_columns(pl.col("rid").cast(pl.Categorical)), {}, "request id 'rid' is String in the"),
        (lambda df: df.with_columns(ms=-pl.col("ms")), {"latency": "ms"}, "negative 'ms'"),
        (lambda df: df.with_columns(p=pl.col("ms")), {"score": "p"}, r"'p' outside \[0, 1\]"),
        (lambda df: df, {"latency": "latency_ms"}, "latency='latency_ms' is not a column of the production log"),
        (lambda df: df.with_columns(err=pl.lit("no")), {"error": "err"}, "error column 'err' must be boolean"),
        (lambda df: df.with_columns(pl.col("pred").cast(pl.String)), {"prediction": "pred"},
         "prediction 'pred' is String in the production log but Int64 in the candidate log"),
    ],
)
def test_reconcile_bad_input(change, kwargs, message):
    prod, cand = logs()
    if "score" in kwargs:
        cand = cand.with_columns(p=pl.lit(0.5))
    production, candidate = (prod, change(cand)) if "request id" in message else (change(prod), cand)
    with pytest.raises(InputError, match=message):
        reconcile(production, candidate, id="rid", **kwargs)


def shadow_logs(seed: int, *, slower: float = 1.0, flips_in_eu: float = 0.0, error_rate: float = 0.01,
                missing: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    n = 20_000
    seg = rng.choice(["eu", "us", "apac"], n, p=[0.2, 0.5, 0.3])
    pred = rng.integers(0, 2, n)
    ids = np.arange(n).astype(str)
    prod = pl.DataFrame({"rid": ids, "region": seg, "pred": pred, "ms": rng.gamma(4, 10, n),
                         "err": rng.random(n) < 0.01})
    flipped = np.where((seg == "eu") & (rng.random(n) < flips_in_eu), 1 - pred, pred)
    cand = pl.DataFrame({"rid": ids, "region": seg, "pred": flipped, "ms": rng.gamma(4, 10, n) * slower,
                         "err": rng.random(n) < error_rate})
    return prod, cand.head(n - missing)


def test_check_shadow_finds_slow_failing_and_locally_disagreeing_candidate():
    prod, cand = shadow_logs(1, slower=3.0, flips_in_eu=0.2, error_rate=0.03, missing=300)
    result = check_shadow(prod, cand, id="rid", prediction="pred", latency="ms", error="err", by="region")
    found = {(f.kind, f.severity, tuple(f.scope.get("segment", {}).items())) for f in result.findings}
    assert found == {("disagreement", "critical", (("region", "eu"),)), ("latency_regression", "critical", ()),
                     ("error_rate_regression", "critical", ()), ("coverage_gap", "warning", ())}
    # both guardrail findings are critical because each guardrail is breached: each alone rolls back
    assert [c.guardrail for c in result.verdict.checks if c.status == "breached"] == ["latency_p95", "error_rate"]
    agreement = result.to_polars("agreement").row(0, named=True)
    matched = prod.join(cand, on="rid", suffix="_c")
    answered = matched.filter(~pl.col("err") & ~pl.col("err_c"))  # a failed request is not compared
    assert (agreement["n"], agreement["not_compared"]) == (answered.height, matched.height - answered.height)
    assert agreement["agree"] == int((answered["pred"] == answered["pred_c"]).sum())
    assert agreement["kappa"] == pytest.approx(cohen_kappa_score(answered["pred"], answered["pred_c"]))
    lat = result.to_polars("latency").filter((pl.col("side") == "candidate") & (pl.col("quantile") == 0.95)).row(
        0, named=True)
    assert lat["value"] == pytest.approx(np.quantile(matched["ms_c"].to_numpy(), 0.95))
    assert lat["low"] <= lat["value"] <= lat["high"]


@pytest.mark.parametrize("seed", range(3))
def test_check_shadow_is_quiet_on_the_same_model_twice(seed):
    prod, cand = shadow_logs(10 + seed)
    result = check_shadow(prod, cand, id="rid", prediction="pred", latency="ms", error="err", by="region")
    assert not result.findings


def test_quantile_intervals_cover_the_true_quantile():
    from workbench.shadow.quantiles import order_statistic_ranks

    rng = np.random.default_rng(3)
    true_p95 = -np.log(0.05)  # of Exp(1)
    covered = 0
    for _ in range(400):
        x = np.sort(rng.exponential(1.0, 500))
        lo, hi = order_statistic_ranks(500, 0.95)
        covered += x[lo - 1] <= true_p95 <= x[hi - 1]
    assert covered / 400 >= 0.93


def labelled_logs(seed: int, acc_c_eu: float, acc_c_rest: float):
    rng = np.random.default_rng(seed)
    n = 20_000
    seg = rng.choice(["eu", "us", "apac"], n, p=[0.2, 0.5, 0.3])
    y = rng.integers(0, 2, n)
    ids = np.arange(n).astype(str)
    acc_p = np.where(seg == "eu", 0.85, 0.80)
    acc_c = np.where(seg == "eu", acc_c_eu, acc_c_rest)
    prod = pl.DataFrame({"rid": ids, "region": seg, "pred": np.where(rng.random(n) < acc_p, y, 1 - y)})
    cand = pl.DataFrame({"rid": ids, "region": seg, "pred": np.where(rng.random(n) < acc_c, y, 1 - y)})
    labels = pl.DataFrame({"rid": [*ids[:15_000], "zz1"], "label": [*y[:15_000], 0]})
    return prod, cand, labels


def test_a_candidate_better_overall_but_worse_in_one_segment_is_caught():
    prod, cand, labels = labelled_logs(5, acc_c_eu=0.75, acc_c_rest=0.86)
    result = check_shadow(prod, cand, id="rid", prediction="pred", by="region", labels=labels)
    regressions = result.by_kind("accuracy_regression")
    assert [(f.scope, f.severity) for f in regressions] == [({"segment": {"region": "eu"}}, "critical")]
    acc = result.to_polars("accuracy")
    assert acc.filter(pl.col("scope") == "all")["difference"].item() > 0  # better overall
    eu = acc.filter(pl.col("scope") == "region=eu").row(0, named=True)
    both = prod.join(cand, on="rid", suffix="_c").join(labels, on="rid").filter(pl.col("region") == "eu")
    p_right, c_right = both["pred"] == both["label"], both["pred_c"] == both["label"]
    table = [[int((p_right & c_right).sum()), int((p_right & ~c_right).sum())],
             [int((~p_right & c_right).sum()), int((~p_right & ~c_right).sum())]]
    assert eu["p_value"] == pytest.approx(mcnemar(table, exact=True).pvalue, rel=1e-9, abs=1e-300)
    assert [f.kind for f in result.by_kind("unmatched_labels")] == ["unmatched_labels"]


def test_no_accuracy_regression_for_the_same_model_twice():
    prod, cand, labels = labelled_logs(6, acc_c_eu=0.85, acc_c_rest=0.80)
    result = check_shadow(prod, cand, id="rid", prediction="pred", by="region", labels=labels)
    assert not result.by_kind("accuracy_regression")


def test_labels_are_validated():
    prod, cand, labels = labelled_logs(7, 0.8, 0.8)
    with pytest.raises(InputError, match="labels: 1 duplicate values of 'rid'"):
        check_shadow(prod, cand, id="rid", prediction="pred", labels=pl.concat([labels, labels.head(1)]))
    with pytest.raises(InputError, match="label='y' is not a column of labels"):
        check_shadow(prod, cand, id="rid", prediction="pred", labels=labels, label="y")
    with pytest.raises(ConfigError, match="labels need prediction="):
        check_shadow(prod, cand, id="rid", labels=labels)
