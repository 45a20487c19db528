"""``workbench shadow --metrics-out FILE``: the result's numbers in the Prometheus text exposition format, read
back with prometheus_client's own parser and compared with the result's tables."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from prometheus_client.parser import text_string_to_metric_families

from workbench.cli import main
from workbench.findings.model import CheckResult
from workbench.present.metrics import prometheus_text
from workbench.shadow import check_shadow

DATA = Path(__file__).resolve().parents[1] / "sample_data" / "shadow"


def parse(text: str) -> dict[str, dict[frozenset, float]]:
    """Metric name -> {labels: value}, checking every family is a documented gauge named workbench_..."""
    out: dict[str, dict[frozenset, float]] = {}
    for family in text_string_to_metric_families(text):
        assert family.name.startswith("workbench_") and family.type == "gauge" and family.documentation
        for sample in family.samples:
            assert sample.name == family.name
            out.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return out


def one(metrics: dict[str, dict[frozenset, float]], name: str, **labels: str) -> float:
    return metrics[name][frozenset(labels.items())]


@pytest.fixture(scope="module")
def result() -> CheckResult:
    return check_shadow(DATA / "production.parquet", DATA / "candidate.parquet", labels=DATA / "labels.parquet",
                        id="request_id", prediction="prediction", score="score", latency="latency_ms", error="error",
                        by="region", stages=[0.01, 0.05, 0.25, 1.0], stage=0.05)


@pytest.fixture(scope="module")
def metrics(result) -> dict[str, dict[frozenset, float]]:
    return parse(prometheus_text(result))


def test_the_verdict_is_a_gauge_with_the_decision_as_label(metrics):
    assert metrics["workbench_verdict"] == {
        frozenset({("check", "shadow"), ("decision", d)}): float(d == "rollback")
        for d in ("promote", "hold", "rollback")}
    assert one(metrics, "workbench_verdict_exit_code", check="shadow") == 1
    assert one(metrics, "workbench_verdict_next_stage", check="shadow") == 0
    assert one(metrics, "workbench_findings", check="shadow", severity="critical") == 4
    assert one(metrics, "workbench_shadow_confidence") == 0.95


def test_agreement_deltas_latency_errors_and_accuracy_equal_the_tables(result, metrics):
    agreement = result.tables["agreement"].filter(pl.col("scope") == "region=latam").row(0, named=True)
    for name in ("agreement", "agreement_low", "agreement_high"):
        assert one(metrics, f"workbench_shadow_{name}", scope="region=latam") == agreement[name]
    overall = result.tables["agreement"].row(0, named=True)
    assert overall["scope"] == "all" and agreement["kappa"] is None  # kappa is overall only: a null is left out
    assert metrics["workbench_shadow_kappa_high"] == {frozenset({("scope", "all")}): overall["kappa_high"]}
    scores = result.tables["scores"].row(0, named=True)
    assert one(metrics, "workbench_shadow_delta_mean_high", what="score", scope="all") == scores["mean_delta_high"]
    assert one(metrics, "workbench_shadow_delta_abs_quantile", what="score", scope="all", quantile="0.99") \
        == scores["abs_delta_p99"]
    latency = result.tables["latency"].filter(pl.col("side") == "candidate", pl.col("quantile") == 0.95)
    assert one(metrics, "workbench_shadow_latency", side="candidate", quantile="0.95") == latency["value"][0]
    guard = result.tables["guardrails"].filter(pl.col("guardrail") == "latency_p95").row(0, named=True)
    assert one(metrics, "workbench_shadow_latency_ratio", quantile="0.95") == guard["estimate"]
    errors = {r["side"]: r for r in result.tables["errors"].to_dicts()}
    assert one(metrics, "workbench_shadow_error_rate", side="production") == errors["production"]["rate"]
    assert one(metrics, "workbench_shadow_error_rate_increase_low") == errors["candidate"]["increase_low"]
    accuracy = result.tables["accuracy"].filter(pl.col("scope") == "all").row(0, named=True)
    assert one(metrics, "workbench_shadow_accuracy_difference", scope="all") == accuracy["difference"]
    assert one(metrics, "workbench_shadow_accuracy_difference_low", scope="all") == accuracy["difference_low"]
    assert one(metrics, "workbench_shadow_accuracy_difference_high", scope="all") == accuracy["difference_high"]
    assert one(metrics, "workbench_shadow_accuracy", side="candidate", scope="all") == \
        accuracy["right_candidate"] / accuracy["n_candidate"]
    assert one(metrics, "workbench_shadow_guardrail_breached", guardrail="accuracy", scope="region=latam") == 1
    assert one(metrics, "workbench_shadow_guardrail_breached", guardrail="accuracy", scope="all") == 0


def test_label_values_are_escaped_and_missing_numbers_left_out():
    scopes = ['device="tab"', "path=C:\\temp", "note=two\nlines", "all"]
    table = pl.DataFrame({"scope": scopes, "n": [10, 10, 10, 40], "agreement": [0.5, 0.25, None, 0.75],
                          "kappa": [float("nan"), 0.1, 0.2, float("inf")]})
    text = prometheus_text(CheckResult("shadow", (), (), tables={"agreement": table}))
    assert 'workbench_shadow_agreement{scope="device=\\"tab\\""} 0.5' in text.splitlines()
    assert 'workbench_shadow_agreement{scope="path=C:\\\\temp"} 0.25' in text.splitlines()
    metrics = parse(text)
    assert metrics["workbench_shadow_agreement"] == {frozenset({("scope", s)}): v
                                                     for s, v in zip(scopes, [0.5, 0.25, None, 0.75], strict=True)
                                                     if v is not None}
    assert metrics["workbench_shadow_kappa"] == {frozenset({("scope", "path=C:\\temp")}): 0.1,
                                                 frozenset({("scope", "note=two\nlines")}): 0.2,
                                                 frozenset({("scope", "all")}): float("inf")}
    assert "workbench_verdict" not in metrics  # no verdict, no verdict gauge


@pytest.mark.slow
def test_the_cli_writes_the_metrics_file_and_refuses_it_over_an_input(tmp_path, capsys):
    path = tmp_path / "shadow.prom"
    args = ["shadow", "--production", str(DATA / "production.parquet"), "--candidate",
            str(DATA / "candidate_same.parquet"), "--id", "request_id", "--prediction", "prediction", "--labels",
            str(DATA / "labels.parquet"), "--latency", "latency_ms", "--error", "error"]
    assert main([*args, "--metrics-out", str(path)]) == 0
    metrics = parse(path.read_text())
    assert one(metrics, "workbench_verdict", check="shadow", decision="promote") == 1
    assert one(metrics, "workbench_shadow_agreement", scope="all") == 1.0
    assert f"metrics written to {path}" in capsys.readouterr().out
    assert main([*args, "--metrics-out", str(DATA / "labels.parquet")]) == 2
    assert capsys.readouterr().err == f"workbench shadow: error: --metrics-out {str(DATA / 'labels.parquet')!r} is " \
        "one of the inputs; writing there would overwrite the data. Give another path.\n"
