"""Shadow comparison of regression models: prediction deltas, localized large changes, the MAE
ratio with its interval on labels, and the verdict."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from workbench.errors import InputError
from workbench.shadow import Guardrails, check_shadow
from workbench.shadow.regression import _ratio_interval


def regression_logs(seed: int, worse_in_eu: float = 1.0, n: int = 20_000):
    rng = np.random.default_rng(seed)
    region = rng.choice(["eu", "us", "apac"], n, p=[0.2, 0.5, 0.3])
    y = rng.gamma(3, 10, n)
    noise_p = rng.normal(0, 5, n)
    pred_p = y + noise_p
    pred_c = np.where(region == "eu", y + rng.normal(0, 5 * worse_in_eu, n), y + noise_p * 0.8)
    ids = np.arange(n)
    prod = pl.DataFrame({"rid": ids, "region": region, "pred": pred_p})
    cand = pl.DataFrame({"rid": ids, "region": region, "pred": pred_c})
    labels = pl.DataFrame({"rid": ids, "label": y})
    return prod, cand, labels


def test_mae_rmse_and_ratio_equal_numpy_and_the_worse_segment_is_rolled_back():
    prod, cand, labels = regression_logs(1, worse_in_eu=1.4)
    result = check_shadow(prod, cand, id="rid", prediction="pred", by="region", labels=labels)
    assert result.parameters["task"] == "regression"
    acc = result.to_polars("accuracy")
    for scope, mask in (("all", np.ones(prod.height, bool)), ("region=eu", (prod["region"] == "eu").to_numpy())):
        y = labels["label"].to_numpy()[mask]
        e_p = np.abs(y - prod["pred"].to_numpy()[mask])
        e_c = np.abs(y - cand["pred"].to_numpy()[mask])
        row = acc.filter(pl.col("scope") == scope).row(0, named=True)
        assert row["mae_production"] == pytest.approx(e_p.mean())
        assert row["rmse_candidate"] == pytest.approx(np.sqrt((e_c**2).mean()))
        assert row["mae_ratio"] == pytest.approx(e_c.mean() / e_p.mean())
    assert acc.filter(pl.col("scope") == "all")["mae_ratio"].item() < 1  # better overall
    (finding,) = result.by_kind("accuracy_regression")
    assert finding.scope == {"segment": {"region": "eu"}} and finding.severity == "critical"
    v = result.verdict
    assert v.decision == "rollback"
    assert [(c.guardrail, c.scope) for c in v.checks if c.status == "breached"] == [("mae_ratio", "region=eu")]
    (dis,) = result.by_kind("disagreement")
    assert dis.scope == {"segment": {"region": "eu"}} and "changes the prediction by more than" in dis.message
    deltas = result.to_polars("prediction_deltas").filter(pl.col("scope") == "all").row(0, named=True)
    d = cand["pred"].to_numpy() - prod["pred"].to_numpy()
    assert deltas["mean_delta"] == pytest.approx(d.mean())
    width = np.abs(d).max() / 1000
    assert abs(deltas["abs_delta_p90"] - np.quantile(np.abs(d), 0.9, method="inverted_cdf")) <= width + 1e-9


def test_the_same_regression_model_twice_is_promoted():
    prod, _, labels = regression_logs(2)
    result = check_shadow(prod, prod, id="rid", prediction="pred", by="region", labels=labels,
                          guardrails=Guardrails(require_accuracy=True))
    assert result.verdict.decision == "promote"
    assert not result.findings


@pytest.mark.parametrize("paired", [True, False])
def test_mae_ratio_interval_covers_the_true_ratio(paired):
    rng = np.random.default_rng(3)
    true = 1.1  # E|N(0, 1.1 s)| / E|N(0, s)|
    covered = 0
    for _ in range(1000):
        n = 400
        z = rng.normal(size=n)
        e_p = np.abs(z * 5)
        other = 0.6 * z + 0.8 * rng.normal(size=n) if paired else rng.normal(size=n)
        e_c = np.abs(other * 5 * true)
        r = {"n_production": n, "n_candidate": n, "sum_production": e_p.sum(), "sum_candidate": e_c.sum(),
             "sq_production": (e_p**2).sum(), "sq_candidate": (e_c**2).sum(), "cross": (e_p * e_c).sum()}
        _, lo, hi = _ratio_interval(r, paired)(0.95)
        covered += lo <= true <= hi
    assert 0.93 <= covered / 1000 <= 0.97


def test_labels_that_cannot_equal_the_prediction_are_refused():
    rng = np.random.default_rng(4)
    logs = pl.DataFrame({"rid": np.arange(200), "pred": rng.integers(0, 2, 200)})
    labels = pl.DataFrame({"rid": np.arange(200), "label": rng.integers(0, 2, 200).astype(str)})
    with pytest.raises(InputError, match="labels: 'label' is String but the prediction is Int64"):
        check_shadow(logs, logs, id="rid", prediction="pred", labels=labels)
    prod, cand, labels = regression_logs(5, n=500)
    with pytest.raises(InputError, match="a regression needs numeric labels"):
        check_shadow(prod, cand, id="rid", prediction="pred", labels=labels.with_columns(pl.col("label").cast(str)))
    with pytest.raises(InputError, match="task='regression' needs a numeric prediction"):
        check_shadow(prod.with_columns(pl.col("pred").cast(str)), cand.with_columns(pl.col("pred").cast(str)),
                     id="rid", prediction="pred", task="regression")
