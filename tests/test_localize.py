"""workbench.localize: the per-cell metrics against independent computations (scipy, statsmodels,
numpy on the raw values) and the scope × window search with a metric whose bad direction is up."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest

from workbench.localize import WINDOW, Wording, findings, localize, mean, proportion
from workbench.localize.metrics import fisher_one_sided


@pytest.mark.parametrize("k,n,bk,bn", [(10, 300, 1200, 30000), (0, 50, 30, 5000), (8, 84, 3000, 150000),
                                       (40, 60, 100, 200), (3, 3, 0, 10)])
def test_fisher_one_sided_equals_scipys_hypergeometric_tails(k, n, bk, bn):
    up = stats.hypergeom.sf(k - 1, n + bn, k + bk, n)
    down = stats.hypergeom.cdf(k, n + bn, k + bk, n)
    assert fisher_one_sided(k, n, bk, bn, higher=True) == pytest.approx(up, rel=1e-9, abs=1e-15)
    assert fisher_one_sided(k, n, bk, bn, higher=False) == pytest.approx(down, rel=1e-9, abs=1e-15)
    table = [[k, n - k], [bk, bn - bk]]
    assert fisher_one_sided(k, n, bk, bn, higher=True) == pytest.approx(
        stats.fisher_exact(table, alternative="greater")[1], rel=1e-9)


def test_a_proportion_whose_bad_direction_is_up_is_the_pooled_z_test_of_statsmodels():
    rate = proportion("ungrounded_rate", "bad", count="judged", label="Ungrounded answers", higher_is_worse=True)
    out = rate.compare({"judged": 400, "bad": 40}, {"judged": 5000, "bad": 200}, 0.95)
    z, p = proportions_ztest([40, 200], [400, 5000], alternative="larger")
    assert out["z"] == pytest.approx(z) and out["p_value"] == pytest.approx(p)
    assert out["value"] == 0.1 and out["baseline"] == 0.04 and out["worse_by"] == pytest.approx(0.06)
    assert out["difference_low"] < 0.06 < out["difference_high"]
    exact = proportion("r", "bad", count="judged", label="R", higher_is_worse=True, exact=True)
    assert exact.compare({"judged": 400, "bad": 40}, {"judged": 5000, "bad": 200}, 0.95)["p_value"] == pytest.approx(
        stats.fisher_exact([[40, 360], [200, 4800]], alternative="greater")[1])


def test_a_mean_with_welch_and_with_the_baselines_spread_matches_numpy_on_the_raw_values():
    rng = np.random.default_rng(3)
    window, baseline = rng.exponential(1.3, 80), rng.exponential(1.0, 4000)

    def sums(x):
        return {"n": len(x), "s": float(x.sum()), "q": float((x**2).sum())}

    welch = mean("m", "s", "q", label="M").compare(sums(window), sums(baseline), 0.95)
    se = math.sqrt(window.var(ddof=1) / len(window) + baseline.var(ddof=1) / len(baseline))
    assert welch["z"] == pytest.approx((window.mean() - baseline.mean()) / se)
    t = stats.ttest_ind(window, baseline, equal_var=False, alternative="greater")
    assert welch["p_value"] == pytest.approx(t.pvalue, rel=0.2)  # normal vs t tail at n=80
    pooled = mean("m", "s", "q", label="M", pooled=True).compare(sums(window), sums(baseline), 0.95)
    se0 = baseline.std(ddof=1) * math.sqrt(1 / len(window) + 1 / len(baseline))
    assert pooled["z"] == pytest.approx((window.mean() - baseline.mean()) / se0)
    assert pooled["p_value"] == pytest.approx(stats.norm.sf(pooled["z"]))
    assert pooled["difference_low"] == welch["difference_low"]  # the interval stays Welch's


def test_a_rise_in_one_segments_last_hours_is_found_and_worded_by_the_metric():
    rng = np.random.default_rng(0)
    rows = []
    for w in range(48):
        for seg in ("a", "b", "c"):
            judged = int(rng.poisson(300))
            rate = 0.15 if seg == "b" and w >= 42 else 0.04
            rows.append({WINDOW: 1000 + w, "s": seg, "judged": judged, "bad": int(rng.binomial(judged, rate))})
    cells = pl.DataFrame(rows)
    metric = proportion("ungrounded_rate", "bad", count="judged", label="Ungrounded answers", higher_is_worse=True,
                        exact=True)
    found = localize(cells, ["s"], 1, metric, dt.timedelta(hours=1), None, min_support=50, margin=0.02,
                     confidence=0.95, fdr=0.01, names={"s": "segment"})
    out = findings(found.alerts, metric, Wording("llm", "hallucination_rate_increase", "ungrounded_rate", "Look."),
                   margin=0.02, confidence=0.95, every=dt.timedelta(hours=1), zone=None, last=found.last,
                   names={"s": "segment"})
    assert [f.scope["segment"] for f in out] == [{"segment": "b"}]
    assert out[0].scope["window"] == ["1970-02-13T10:00:00", "1970-02-13T16:00:00"]
    assert out[0].message.startswith("Ungrounded answers rose 9.9 points on segment=b in the last 6 hours "
                                     "(4.1% → 14.0%")
    assert out[0].message.endswith("It also explains the rise seen on all traffic.")
    assert out[0].severity == "critical" and out[0].metrics["explains"] == ["all traffic"]
    b = cells.filter(pl.col("s") == "b")
    late = b.filter(pl.col(WINDOW) >= 1042)
    assert out[0].metrics["n"] == late["judged"].sum()
    assert out[0].metrics["value"] == pytest.approx(late["bad"].sum() / late["judged"].sum())
