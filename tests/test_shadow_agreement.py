"""Agreement between the two models: one definition of the compared requests (both answered) for
the overall rate, kappa and every segment, checked against a brute-force reference."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import cohen_kappa_score

from workbench.shadow import Guardrails, check_shadow

OPS_ONLY = Guardrails(require_accuracy=False)


def identical_models_with_errors(seed: int, n: int = 20_000, *, fallback: int | None = None):
    """The same predictions on both sides; ~1% of requests fail on each side (independently). A
    failed request logs no prediction, or ``fallback`` when given."""
    rng = np.random.default_rng(seed)
    ids = np.arange(n)
    region = rng.choice(["eu", "us", "apac", "latam"], n)
    pred = rng.integers(0, 3, n)

    def side(err: np.ndarray) -> pl.DataFrame:
        shown = pl.Series("pred", pred).cast(pl.Int64)
        shown = pl.select(pl.when(pl.Series(err)).then(pl.lit(fallback, pl.Int64)).otherwise(shown)).to_series()
        return pl.DataFrame({"rid": ids, "region": region, "pred": shown, "err": err})

    return side(rng.random(n) < 0.01), side(rng.random(n) < 0.01)


@pytest.mark.parametrize("fallback", [None, 0])
def test_identical_models_with_failures_agree_everywhere(fallback):
    prod, cand = identical_models_with_errors(0, fallback=fallback)
    result = check_shadow(prod, cand, id="rid", prediction="pred", error="err", by="region", guardrails=OPS_ONLY)
    table = result.to_polars("agreement")
    assert table["scope"].to_list() == ["all", "region=apac", "region=eu", "region=latam", "region=us"]
    assert table["flip_rate"].to_list() == [0.0] * 5
    assert table["agreement"].to_list() == [1.0] * 5
    assert not result.by_kind("disagreement")
    failed = int((prod["err"] | cand["err"]).sum())
    assert 300 < failed < 500  # ~1% on each side
    overall = table.row(0, named=True)
    assert (overall["n"], overall["not_compared"]) == (prod.height - failed, failed)
    segments = table.filter(pl.col("scope") != "all")
    assert int(segments["n"].sum()) == overall["n"] and int(segments["not_compared"].sum()) == failed
    assert overall["kappa"] == pytest.approx(1.0)


def brute_force_agreement(prod: pl.DataFrame, cand: pl.DataFrame) -> dict[str, dict[str, int]]:
    """Per scope: compared requests (both answered: a prediction on both sides, no error on
    either), agreements, and matched requests not compared; pure Python over the rows."""
    out: dict[str, dict[str, int]] = {}
    cand_rows = {r["rid"]: r for r in cand.iter_rows(named=True)}
    for r in prod.iter_rows(named=True):
        c = cand_rows.get(r["rid"])
        if c is None:
            continue
        both = r["pred"] is not None and c["pred"] is not None and not r["err"] and not c["err"]
        for scope in ("all", f"region={r['region']}"):
            tally = out.setdefault(scope, {"n": 0, "agree": 0, "not_compared": 0})
            tally["n"] += both
            tally["agree"] += both and r["pred"] == c["pred"]
            tally["not_compared"] += not both
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_agreement_per_segment_equals_a_brute_force_count(seed):
    rng = np.random.default_rng(seed)
    n = 3000
    ids = np.arange(n)
    region = pl.Series(rng.choice(["a", "b", "c", "x"], n)).replace("x", None)  # a null segment too
    pred = rng.integers(0, 2, n)

    def side(flip: float) -> pl.DataFrame:
        p = np.where(rng.random(n) < flip, 1 - pred, pred)
        shown = pl.Series("pred", p).cast(pl.Int64).scatter(np.flatnonzero(rng.random(n) < 0.03), None)
        return pl.DataFrame({"rid": ids, "region": region, "pred": shown, "err": rng.random(n) < 0.02})

    prod, cand = side(0.0), side(0.15)
    cand = cand.filter(pl.col("rid") % 97 != 0)  # some requests only production logged
    table = check_shadow(prod, cand, id="rid", prediction="pred", error="err", by="region",
                         guardrails=OPS_ONLY).to_polars("agreement")
    expected = brute_force_agreement(prod, cand)
    got = {r["scope"]: r for r in table.iter_rows(named=True)}
    assert set(got) == {"all", "region=a", "region=b", "region=c", "region=None"} == set(expected)
    for scope, tally in expected.items():
        row = got[scope]
        assert {k: row[k] for k in tally} == tally, scope
        assert row["agreement"] == pytest.approx(tally["agree"] / tally["n"])
    both = prod.join(cand, on="rid", suffix="_c").filter(
        pl.col("pred").is_not_null() & pl.col("pred_c").is_not_null() & ~pl.col("err") & ~pl.col("err_c"))
    assert got["all"]["kappa"] == pytest.approx(cohen_kappa_score(both["pred"], both["pred_c"]))


def test_regression_agreement_leaves_out_nan_null_and_failed_predictions_everywhere():
    rng = np.random.default_rng(7)
    n = 3000
    region = rng.choice(["a", "b"], n)
    base = rng.normal(10, 2, n)

    def side(noise: float) -> pl.DataFrame:
        value = base + rng.normal(0, noise, n)
        value[rng.random(n) < 0.02] = np.nan
        shown = pl.Series("pred", value).scatter(np.flatnonzero(rng.random(n) < 0.02), None)
        return pl.DataFrame({"rid": np.arange(n), "region": region, "pred": shown, "err": rng.random(n) < 0.02})

    prod, cand = side(0.0), side(0.3)
    table = check_shadow(prod, cand, id="rid", prediction="pred", error="err", by="region", large_change=0.25,
                         guardrails=OPS_ONLY).to_polars("agreement")
    expected: dict[str, dict[str, int]] = {}
    for r, c in zip(prod.iter_rows(named=True), cand.iter_rows(named=True), strict=True):
        both = all(v is not None and not np.isnan(v) for v in (r["pred"], c["pred"])) and not r["err"] \
            and not c["err"]
        for scope in ("all", f"region={r['region']}"):
            tally = expected.setdefault(scope, {"n": 0, "agree": 0, "not_compared": 0})
            tally["n"] += both
            tally["agree"] += both and abs(c["pred"] - r["pred"]) <= 0.25
            tally["not_compared"] += not both
    got = {r["scope"]: {k: r[k] for k in ("n", "agree", "not_compared")} for r in table.iter_rows(named=True)}
    assert got == expected


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_nan_predictions_of_a_regression_are_left_out_of_the_deltas_and_the_default_large_change(engine):
    """A NaN prediction crashed the deltas on polars and made duckdb's largest delta (the bin width)
    NaN; the default large_change (a tenth of production's standard deviation) was NaN, so every
    request "flipped"."""
    import duckdb

    rng = np.random.default_rng(8)
    n = 2000
    p = rng.normal(10, 2, n)
    c = p + rng.normal(0, 0.1, n)
    p[::50], c[7::40] = np.nan, np.nan
    prod = pl.DataFrame({"rid": np.arange(n), "pred": p})
    cand = pl.DataFrame({"rid": np.arange(n), "pred": c})
    if engine == "duckdb":
        con = duckdb.connect()
        prod, cand = con.from_arrow(prod.to_arrow()), con.from_arrow(cand.to_arrow())
    result = check_shadow(prod, cand, id="rid", prediction="pred", guardrails=OPS_ONLY)
    assert result.parameters["large_change"] == pytest.approx(0.1 * np.nanstd(p, ddof=1))
    ok = ~np.isnan(p) & ~np.isnan(c)
    d = (c - p)[ok]
    deltas = result.to_polars("prediction_deltas").row(0, named=True)
    assert deltas["n"] == ok.sum() and deltas["mean_delta"] == pytest.approx(d.mean())
    exact = np.quantile(np.abs(d), 0.99, method="inverted_cdf")
    assert exact - 1e-9 <= deltas["abs_delta_p99"] <= exact + np.abs(d).max() / 1000 + 1e-9
    overall = result.to_polars("agreement").row(0, named=True)
    assert (overall["n"], overall["not_compared"]) == (ok.sum(), n - ok.sum())
    assert overall["flip_rate"] == pytest.approx((np.abs(d) > result.parameters["large_change"]).mean())
    assert not result.by_kind("disagreement")
