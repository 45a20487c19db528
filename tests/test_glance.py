"""The at-a-glance header: one function per check kind (and a generic one), computed from a result's
findings, tables and verdict; rendered first by the terminal text, the HTML and the findings JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from tests.conftest import CHURN, ROOT
from workbench import check_drift
from workbench.cli import main
from workbench.findings import CheckResult, Finding, InputSummary, validate_findings
from workbench.findings.glance import GLANCES, Glance, Tile, generic_glance, glance
from workbench.findings.html import result_html
from workbench.present.html import result_page
from workbench.present.text import result_text

STORED = Path(__file__).parent / "data" / "findings-1.0.0"


def _from_document(doc: dict[str, Any]) -> CheckResult:
    """A result rebuilt from a findings file of the sample data (no tables; the verdict as a mapping)."""
    findings = tuple(Finding(check=doc["check"], kind=f["kind"], severity=f["severity"], subject=f["subject"],
                             message=f["message"], suggestion=f["suggestion"], metrics=f["metrics"], scope=f["scope"])
                     for f in doc["findings"])
    inputs = tuple(InputSummary(i["name"], i["rows"], tuple(i.get("columns", ())), i["fingerprint"])
                   for i in doc["inputs"])
    return CheckResult(doc["check"], findings, inputs, parameters=doc["parameters"], verdict=doc.get("verdict"))


def _stored(check: str) -> CheckResult:
    return _from_document(json.loads((STORED / f"{check}.json").read_text()))


def _tiles(g: Glance) -> list[tuple[str, str, str]]:
    return [(t.label, t.value, t.level) for t in g.tiles]


def test_drift_counts_drifted_columns_and_schema_changes():
    g = glance(_stored("drift"))
    assert (g.level, g.headline) == ("critical", "6 columns drifted, 2 schema changes")
    assert _tiles(g) == [("columns drifted", "6", "critical"), ("schema changes", "2", "warning"),
                         ("largest shift", "latency_ms (9.9× its threshold)", "critical"),
                         ("rows", "20,000 reference / 21,000 current", "info")]


def test_drift_of_a_live_result_counts_the_compared_columns():
    rng = np.random.default_rng(3)
    reference = pl.DataFrame({"x": rng.normal(0, 1, 2000), "y": rng.normal(0, 1, 2000), "z": rng.normal(0, 1, 2000)})
    current = reference.with_columns(x=pl.col("x") + 1)
    g = check_drift(reference, current).glance()
    assert g.headline == "1 of 3 columns drifted, 0 schema changes"
    assert g.tiles[0] == Tile("columns drifted", "1 of 3", "critical")
    quiet = check_drift(reference, reference).glance()
    assert (quiet.level, quiet.headline) == ("ok", "0 of 3 columns drifted, 0 schema changes")


def test_leakage_counts_leaking_features_and_split_problems():
    g = glance(_stored("leakage"))
    assert (g.level, g.headline) == ("critical", "4 features leak, 3 critical; the split leaks (3 problems)")
    assert _tiles(g) == [
        ("leaking features", "balance, total_spend, txn_count_7d and 1 more", "critical"),
        ("split problems", "duplicate rows, entity overlap, time overlap", "critical"),
        ("stale features", "support_tickets", "warning"), ("rows", "7,961 training", "info")]


def test_performance_names_the_worst_alert_with_its_scope():
    g = glance(_stored("performance"))
    assert g.headline == "worst: performance drop on region=eu; 2026-03-07 18:00–2026-03-08 00:00 (77.0% → 65.2%)"
    assert _tiles(g) == [("worst alert", "performance_drop · region=eu; 2026-03-07 18:00–2026-03-08 00:00", "critical"),
                         ("drops and disparities", "3", "critical"), ("calibration alerts", "7", "critical"),
                         ("unlabelled", "4.2%", "info")]


def test_shadow_shows_the_verdict():
    g = glance(_stored("shadow"))
    assert (g.level, g.headline) == ("critical", "ROLLBACK: 3 of 9 guardrails breached")
    assert _tiles(g) == [("guardrails breached", "3 of 9", "critical"), ("traffic", "5% → 0%", "critical"),
                         ("requests compared", "39,878", "info")]


def test_a_check_without_its_own_function_gets_the_generic_header():
    assert "llm" not in GLANCES
    findings = (Finding("llm", "cost_spike", "critical", "cost", "m", "s"),
                Finding("llm", "grounding_drop", "warning", "grounded", "m", "s"),
                Finding("llm", "note", "info", "tokens", "m", "s"))
    result = CheckResult("llm", findings, (InputSummary("requests", 1200, (), "sha1:0"),))
    g = glance(result)
    assert g == generic_glance(result)
    assert (g.level, g.headline) == ("critical", "2 findings to act on; worst: cost_spike on cost")
    assert _tiles(g) == [("findings", "1 critical · 1 warning · 1 info", "critical"),
                         ("worst", "cost_spike: cost", "critical"), ("rows", "1,200 requests", "info")]
    empty = glance(CheckResult("service", (), ()))
    assert (empty.level, empty.headline, _tiles(empty)) == ("ok", "nothing to act on", [("findings", "none", "ok")])


def test_a_level_outside_the_scale_is_refused():
    with pytest.raises(ValueError, match="level must be one of"):
        Glance("drift", "bad", "x")  # type: ignore[arg-type]


def test_the_findings_json_carries_the_glance_and_reads_it_back(churn_result):
    doc = json.loads(churn_result.to_json())
    validate_findings(doc)
    assert doc["schema_version"] == "1.2.0"
    assert Glance.from_dict(doc["check"], doc["glance"]) == churn_result.glance()


def test_the_text_opens_with_the_glance(churn_result):
    lines = result_text(churn_result).splitlines()
    assert lines[:2] == churn_result.glance().lines()
    assert lines[0] == "[CRITICAL] leakage: 4 features leak, 3 critical; the split leaks (3 problems)"


def test_the_html_shows_the_tiles_before_the_table(churn_result):
    html = result_html(churn_result)
    assert html.index("wb-glance") < html.index("<table>")
    assert html.count("class='wb-tile ") == len(churn_result.glance().tiles) == 4
    assert "4 features leak, 3 critical" in html
    page = result_page(churn_result)
    assert page.index("wb-tiles") < page.index("<table>")


def test_the_cli_prints_the_glance_first_and_not_with_quiet(capsys):
    assert main(["leakage", "--config", str(CHURN / "audit.yaml"), "--fail-on", "none"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "[CRITICAL] leakage: 4 features leak, 3 critical; the split leaks (3 problems)"
    assert out[1].startswith("  leaking features: balance, total_spend, txn_count_7d and 1 more | split problems:")
    assert main(["leakage", "--config", str(CHURN / "audit.yaml"), "--fail-on", "none", "--quiet"]) == 0
    assert "[CRITICAL]" not in capsys.readouterr().out


def test_the_readme_shows_the_glance_lines_its_first_command_prints(capsys):
    """The README's first command runs these four checks; its text block is their first two lines each."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = readme.split("The glance lines:\n\n```text\n", 1)[1].split("```", 1)[0].splitlines()
    printed = []
    for args in (["leakage", "--config", "sample_data/churn/audit.yaml", "--fail-on", "none"],
                 ["drift", "--config", "sample_data/monitoring/drift.yaml", "--fail-on", "none"],
                 ["shadow", "--config", "sample_data/shadow/shadow.yaml"],
                 ["performance", "--config", "sample_data/performance/performance.yaml", "--fail-on", "none"]):
        main([args[0], args[1], str(ROOT / args[2]), *args[3:]])
        printed += capsys.readouterr().out.splitlines()[:2]
    assert shown == printed


@pytest.mark.parametrize(("decision", "level"), [("promote", "ok"), ("hold", "warning")])
def test_a_verdict_without_breaches_heads_with_its_first_reason(decision, level):
    doc = json.loads((STORED / "shadow.json").read_text())
    guardrails = [g | {"status": "within"} for g in doc["verdict"]["guardrails"]]
    doc["verdict"] |= {"decision": decision, "reasons": ["first reason.", "second."], "guardrails": guardrails}
    g = glance(_from_document(doc))
    assert (g.level, g.headline) == (level, f"{decision.upper()}: first reason.")
    assert g.tiles[0] == Tile("guardrails breached", "0 of 9", "ok")


def test_a_clean_training_set_heads_with_no_leak(clean_result):
    g = clean_result.glance()
    assert g.headline == "0 features leak"
    assert [(t.label, t.value) for t in g.tiles[:2]] == [("leaking features", "none"), ("split problems", "none")]


def test_drift_alerts_that_are_not_about_one_column_are_other_alerts():
    findings = (Finding("drift", "distribution_drift", "critical", "x", "m", "s", {"effect": 0.3, "threshold": 0.1}),
                Finding("drift", "empty_window", "warning", "2026-03-02", "m", "s"),
                Finding("drift", "insufficient_data", "info", "2026-03-03", "m", "s"))
    g = glance(CheckResult("drift", findings, ()))
    assert g.headline == "1 column drifted, 0 schema changes"
    assert _tiles(g) == [("columns drifted", "1", "critical"), ("schema changes", "0", "ok"),
                         ("largest shift", "x (3.0× its threshold)", "critical"),
                         ("other alerts", "empty window", "warning")]
