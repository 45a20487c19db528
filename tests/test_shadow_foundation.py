"""Shadow/canary foundation: reconciliation of two request logs and the paired statistics."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.contingency_tables import mcnemar

from workbench.errors import InputError
from workbench.shadow import cohen_kappa, mcnemar_exact, reconcile

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
    ],
)
def test_reconcile_bad_input(change, kwargs, message):
    prod, cand = logs()
    if "score" in kwargs:
        cand = cand.with_columns(p=pl.lit(0.5))
    production, candidate = (prod, change(cand)) if "request id" in message else (change(prod), cand)
    with pytest.raises(InputError, match=message):
        reconcile(production, candidate, id="rid", **kwargs)
