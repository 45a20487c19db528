"""The auditor on the churn sample: exactly the planted leaks, nothing on the honest features."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from tests.conftest import CHURN, run_config
from workbench.findings import validate_findings


def _counts(result, kind):
    return {f.subject: f.metrics["affected_rows"] for f in result.by_kind(kind)}


def test_planted_point_in_time_violations_are_found_with_exact_row_counts(churn_result, planted):
    found = {}
    for kind in ("future_data", "non_asof_join", "late_arrival", "feature_mismatch"):
        for subject, rows in _counts(churn_result, kind).items():
            found.setdefault(subject, {})[kind] = rows
    assert found == planted["violations"]
    n = planted["rows"]
    share = churn_result.by_kind("future_data")[0].metrics["affected_share"]
    assert share == pytest.approx(planted["violations"]["total_spend"]["future_data"] / n)


def test_honest_features_are_not_flagged(churn_result, planted):
    flagged = {f.subject for f in churn_result.at_least("warning")}
    assert not flagged & set(planted["honest_features"]) - set(planted["stale_feature"])
    features = churn_result.to_polars("features").filter(pl.col("feature").is_in(planted["honest_features"]))
    assert features["ok"].to_list() == [planted["rows"]] * len(planted["honest_features"])


def test_stale_feature_counts_rows_older_than_ttl(churn_result, planted):
    assert _counts(churn_result, "stale_feature") == planted["stale_feature"]


def test_target_proxy_flags_only_the_undeclared_proxy(churn_result, planted):
    flagged = [f for f in churn_result.by_kind("target_proxy") if f.severity != "info"]
    assert [f.subject for f in flagged] == planted["target_proxy"]
    metrics = flagged[0].metrics
    assert metrics["lineage"] == "none" and metrics["interval"][0] > 0.9
    proxy = churn_result.to_polars("proxy")
    honest = proxy.filter(pl.col("feature").is_in(planted["honest_features"]))
    assert (honest["auc"] < 0.9).all()


def test_target_proxy_auc_matches_scikit_learn(churn_result):
    from sklearn.metrics import roc_auc_score

    training = pl.read_parquet(CHURN / "training.parquet")
    proxy = churn_result.to_polars("proxy")
    for feature in ("winback_contacted", "txn_count_30d", "spend_90d"):
        expected = roc_auc_score(training["churned"].to_numpy(), training[feature].cast(pl.Float64).to_numpy())
        got = proxy.filter(pl.col("feature") == feature)["auc"][0]
        assert got == pytest.approx(max(expected, 1 - expected), abs=1e-12)


def test_split_contamination_counts_and_range(churn_result, planted):
    entity = churn_result.by_kind("split_entity_overlap")[0]
    assert entity.metrics["value"] == planted["split"]["shared_entities"]
    assert entity.metrics["n"] == planted["split"]["test_entities"]
    overlap = churn_result.by_kind("split_time_overlap")[0]
    lo, hi = (dt.datetime.fromisoformat(x) for x in planted["split"]["overlap"])
    assert [dt.datetime.fromisoformat(x) for x in overlap.scope["window"]] == [lo, hi]
    assert overlap.metrics["affected_rows"] == planted["split"]["test_rows_in_overlap"]


def test_duplicate_rows_counted_with_cross_split_copies(churn_result, planted):
    (dup,) = churn_result.by_kind("duplicate_rows")
    assert dup.metrics["affected_rows"] == planted["duplicate_rows"]["extra_rows"]
    assert dup.metrics["cross_split_rows"] == planted["duplicate_rows"]["cross_split_rows"]


def test_lateness_profile_matches_direct_quantiles(churn_result):
    tx = pl.read_parquet(CHURN / "transactions.parquet")
    late_h = ((tx["ingested_at"] - tx["event_time"]).dt.total_seconds(fractional=True) / 3600)
    row = churn_result.to_polars("lateness").filter(pl.col("source") == "transactions").row(0, named=True)
    assert row["lateness_p99_hours"] == pytest.approx(late_h.quantile(0.99, interpolation="linear"))
    assert row["lateness_max_hours"] == pytest.approx(late_h.max())
    assert 0 < row["unavailable_at_prediction_share"] < 0.01


def test_clean_training_set_reports_nothing_above_info(clean_result):
    assert clean_result.at_least("warning") == ()
    assert {f.kind for f in clean_result.findings} <= {"late_data_profile", "target_proxy"}


def test_findings_json_validates_and_ids_are_stable(churn_result):
    doc = churn_result.to_dict()
    validate_findings(doc)
    again = run_config("audit.yaml").to_dict()
    assert [f["id"] for f in doc["findings"]] == [f["id"] for f in again["findings"]]
    assert doc["inputs"] == again["inputs"]
    assert doc["parameters"]["rule"]["statement"] == "legal iff time and available_time < prediction_time"


def test_the_audit_runs_where_its_inputs_are_and_has_no_engine_parameter(churn_result):
    assert churn_result.parameters["engine"] == "polars"  # parquet paths: read and audited by polars
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'engine'"):
        run_config("audit.yaml", engine="duckdb")


def test_feature_store_rule_ignores_late_arrivals(planted):
    from workbench.leakage import make_rule

    feast_like = run_config("audit.yaml", rule=make_rule(inclusive=True, use_available_time=False))
    assert "txn_count_7d" not in _counts(feast_like, "late_arrival")
    assert feast_like.parameters["rule"]["statement"] == \
        "legal iff time only (available_time ignored) <= prediction_time"
    assert "total_spend" in _counts(feast_like, "future_data")


def test_embargo_moves_the_cutoff():
    from workbench.leakage import make_rule

    embargoed = run_config("audit_clean.yaml", rule=make_rule(embargo="2d"))
    # honest features built without an embargo now use data from inside the embargo window
    assert _counts(embargoed, "future_data") or _counts(embargoed, "late_arrival")
    assert embargoed.parameters["rule"]["embargo_seconds"] == 2 * 86400
