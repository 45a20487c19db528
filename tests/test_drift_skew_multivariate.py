"""Training/serving skew and the multivariate domain classifier."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from workbench.drift import check_drift, check_skew, domain_classifier
from workbench.errors import ConfigError, InputError

MON = Path(__file__).resolve().parents[1] / "sample_data" / "monitoring"
TRAINING = str(MON / "training_features.parquet")
SERVING = str(MON / "current" / "date=2026-03-0[12]" / "*.parquet")


def test_skew_counts_exactly_the_rows_that_differ():
    result = check_skew(TRAINING, SERVING, id="request_id")
    planted = json.loads((MON / "planted.json").read_text())["skew"]
    truth = pl.read_parquet(TRAINING).join(pl.read_parquet(SERVING), on="request_id", suffix="_s")
    expected = int((np.abs(truth["sessions_7d"].to_numpy() - truth["sessions_7d_s"].to_numpy()) > 1e-6).sum())
    table = result.to_polars("features")
    row = table.filter(pl.col("feature") == "sessions_7d").row(0, named=True)
    assert row["differing"] == expected and row["compared"] == truth.height
    assert row["share"] == pytest.approx(planted["skewed"]["sessions_7d"], abs=0.02)
    assert [f.subject for f in result.by_kind("training_serving_skew")] == ["sessions_7d"]
    assert table.filter(pl.col("feature") == "claims")["differing"].item() == 0  # 1e-13 float noise is not skew
    assert result.parameters["coverage"]["serving_only"] == planted["serving_only"]
    finding = result.by_kind("training_serving_skew")[0]
    assert finding.severity == "critical" and len(finding.evidence) == 5
    ex = finding.evidence[0]
    assert abs(ex["training"] - ex["serving"]) == pytest.approx(1.0)


def test_skew_treats_null_against_value_as_a_difference_and_null_against_null_as_equal():
    a = pl.DataFrame({"id": [1, 2, 3, 4], "x": [1.0, None, None, 2.0], "s": ["a", None, "b", "c"]})
    b = pl.DataFrame({"id": [1, 2, 3, 4], "x": [1.0, None, 5.0, 2.0], "s": ["a", None, None, "C"]})
    table = check_skew(a, b, id="id").to_polars("features")
    assert dict(zip(table["feature"], table["differing"], strict=True)) == {"x": 1, "s": 2}


@pytest.mark.parametrize(
    ("training", "serving", "message"),
    [
        ({"id": [1, 1, 2], "x": [1, 2, 3]}, {"id": [1, 2], "x": [1, 2]}, "training: 1 duplicate values of 'id'"),
        ({"id": [1, None], "x": [1, 2]}, {"id": [1, 2], "x": [1, 2]}, "training: 1 rows have a null 'id'"),
        ({"id": ["1", "2"], "x": [1, 2]}, {"id": [1, 2], "x": [1, 2]}, "id column 'id' is String in training"),
        ({"id": [1, 2], "x": [1, 2]}, {"id": [3, 4], "x": [1, 2]}, "no 'id' value appears in both"),
        ({"id": [1, 2], "x": [1, 2]}, {"iid": [1, 2], "x": [1, 2]}, "id='id' is not a column of serving"),
    ],
)
def test_skew_bad_input(training, serving, message):
    with pytest.raises(InputError, match=message):
        check_skew(pl.DataFrame(training), pl.DataFrame(serving), id="id")


@pytest.mark.slow
def test_domain_classifier_finds_the_driving_column():
    result = check_drift(str(MON / "reference.parquet"), str(MON / "current" / "date=2026-03-0[1234]" / "*.parquet"),
                         exclude=["request_id", "ts"], score="score", target="label", multivariate=True)
    mv = result.by_kind("multivariate_drift")
    assert mv and mv[0].metrics["value"] > 0.75
    assert result.to_polars("drivers")["column"][0] == "latency_ms"
    lo, hi = mv[0].metrics["interval"]
    assert lo <= mv[0].metrics["value"] <= hi


@pytest.mark.slow
def test_domain_classifier_is_quiet_on_two_samples_of_one_distribution():
    rng = np.random.default_rng(5)

    def sample(n):
        x = rng.normal(0, 1, n)
        return pl.DataFrame({"x": x, "y": x + rng.normal(0, 1, n), "c": rng.choice(["a", "b"], n)})

    result = domain_classifier(sample(5000), sample(5000))
    assert not result.findings
    assert 0.45 < result.parameters["auc"] < 0.56


@pytest.mark.slow
def test_domain_classifier_catches_a_changed_relationship_with_unchanged_margins():
    rng = np.random.default_rng(6)
    x = rng.normal(0, 1, 8000)
    ref = pl.DataFrame({"x": x[:4000], "y": x[:4000] + rng.normal(0, 0.3, 4000)})
    cur = pl.DataFrame({"x": x[4000:], "y": -x[4000:] + rng.normal(0, 0.3, 4000)})  # same margins, new correlation
    assert not check_drift(ref, cur).at_least("warning")
    assert domain_classifier(ref, cur).by_kind("multivariate_drift")


@pytest.mark.slow
def test_domain_classifier_says_when_it_sampled():
    rng = np.random.default_rng(7)
    ref = pl.DataFrame({"x": rng.normal(0, 1, 30_000)})
    cur = pl.DataFrame({"x": rng.normal(1, 1, 30_000)})
    result = domain_classifier(ref, cur, max_rows=5_000)
    assert result.parameters["sampled"] == {"reference": [5000, 30000], "current": [5000, 30000]}
    assert "5,000 of 30,000 reference" in result.findings[0].message


def test_multivariate_needs_the_reference_rows(tmp_path):
    from workbench.drift import fit_profile

    df = pl.DataFrame({"x": [1.0, 2.0, 3.0] * 100})
    with pytest.raises(ConfigError, match="needs the reference data"):
        check_drift(fit_profile(df), df, multivariate=True)
