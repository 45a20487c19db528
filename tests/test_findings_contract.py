"""The findings contract: schema, serialisation, tables and notebook repr."""

from __future__ import annotations

import json

import jsonschema
import polars as pl
import pytest

from workbench.findings import SCHEMA_VERSION, CheckResult, Finding, findings_schema, validate_findings


def test_shipped_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(findings_schema())
    assert findings_schema()["properties"]["schema_version"]["pattern"].startswith("^1")


def test_result_round_trips_through_json(churn_result):
    doc = json.loads(churn_result.to_json())
    assert doc["schema_version"] == SCHEMA_VERSION
    assert doc["check"] == "leakage"
    assert {"name", "rows", "fingerprint"} <= set(doc["inputs"][0])
    for f in doc["findings"]:
        assert set(f) >= {"id", "kind", "severity", "subject", "scope", "metrics", "message", "suggestion"}


def test_schema_rejects_a_finding_without_severity(churn_result):
    doc = churn_result.to_dict()
    del doc["findings"][0]["severity"]
    with pytest.raises(jsonschema.ValidationError, match="severity"):
        validate_findings(doc)


def test_result_is_frozen_and_sorted_by_severity(churn_result):
    with pytest.raises(AttributeError):
        churn_result.check = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        churn_result.tables["features"] = pl.DataFrame()  # type: ignore[index]
    ranks = [{"critical": 0, "warning": 1, "info": 2}[f.severity] for f in churn_result.findings]
    assert ranks == sorted(ranks)


def test_findings_table_and_named_tables(churn_result):
    table = churn_result.to_polars()
    assert table.height == len(churn_result.findings)
    assert set(churn_result.tables) == {"features", "lag_histogram", "examples", "lateness", "lateness_histogram",
                                        "proxy", "checks"}
    with pytest.raises(KeyError, match="available"):
        churn_result.to_polars("nope")


def test_html_repr_is_small_and_self_contained(churn_result):
    html = churn_result._repr_html_()
    assert len(html) < 50_000
    assert "<script" not in html and "http" not in html
    assert "total_spend" in html


def test_finding_id_depends_on_subject_not_message():
    a = Finding("c", "future_data", "warning", "x", "one", "s")
    b = Finding("c", "future_data", "critical", "x", "two", "t")
    c = Finding("c", "future_data", "warning", "y", "one", "s")
    assert a.id == b.id != c.id


def test_nan_metrics_serialise_as_null():
    f = Finding("c", "k", "info", "x", "m", "s", metrics={"value": float("nan")})
    doc = CheckResult("c", (f,), ()).to_dict()
    assert doc["findings"][0]["metrics"]["value"] is None
    validate_findings(doc)


def test_notebook_display_carries_the_findings_json_for_the_lab_renderer(churn_result):
    from workbench.findings import FINDINGS_MIME

    bundle = churn_result._repr_mimebundle_()
    assert set(bundle) == {FINDINGS_MIME, "text/html", "text/plain"}
    validate_findings(bundle[FINDINGS_MIME])
    assert json.loads(json.dumps(bundle[FINDINGS_MIME])) == json.loads(churn_result.to_json())
    assert [f["kind"] for f in bundle[FINDINGS_MIME]["findings"]] == [f.kind for f in churn_result.findings]
