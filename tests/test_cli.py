"""The ``workbench`` console script: exit codes, outputs, schema."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import CHURN
from workbench.cli import main
from workbench.findings import validate_findings


def test_leaky_set_exits_1_and_writes_valid_findings(tmp_path, capsys):
    out, report = tmp_path / "f.json", tmp_path / "r.html"
    code = main(["leakage", "--config", str(CHURN / "audit.yaml"), "--out", str(out),
                 "--report", str(report)])
    assert code == 1
    doc = json.loads(out.read_text())
    validate_findings(doc)
    assert {f["kind"] for f in doc["findings"]} >= {"future_data", "non_asof_join", "late_arrival"}
    assert report.read_text().startswith("<!doctype html>")
    printed = capsys.readouterr().out
    assert "FAIL: 6 finding(s) at or above critical" in printed
    assert "total_spend" in printed


def test_clean_set_exits_0(capsys):
    assert main(["leakage", "--config", str(CHURN / "audit_clean.yaml"), "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == "PASS: no finding at or above critical"


@pytest.mark.parametrize("fail_on,code", [("none", 0), ("critical", 0), ("warning", 0), ("info", 1)])
def test_fail_on_threshold(fail_on, code):
    args = ["leakage", "--config", str(CHURN / "audit_clean.yaml"), "--quiet", "--fail-on", fail_on]
    assert main(args) == code


def test_flags_without_config_run_the_declaration_free_checks(tmp_path):
    out = tmp_path / "f.json"
    code = main(["leakage", "--training", str(CHURN / "training.parquet"), "--entity", "customer_id",
                 "--prediction-time", "prediction_time", "--target", "churned", "--split", "split",
                 "--out", str(out), "--quiet"])
    assert code == 1
    kinds = {f["kind"] for f in json.loads(out.read_text())["findings"]}
    assert kinds == {"split_entity_overlap", "split_time_overlap", "duplicate_rows", "target_proxy"}


def test_input_error_exits_2_and_names_the_column(capsys):
    code = main(["leakage", "--training", str(CHURN / "training.parquet"), "--entity", "custmer_id",
                 "--prediction-time", "prediction_time"])
    assert code == 2
    err = capsys.readouterr().err
    assert "entity='custmer_id' is not a column of training. Did you mean 'customer_id'?" in err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["leakage", "--fail-on", "sometimes"])
    assert exc.value.code == 2
    assert main(["leakage"]) == 2
    assert "missing --training, --entity, --prediction-time" in capsys.readouterr().err
    assert main(["leakage", "--config", "nope.yaml"]) == 2


@pytest.mark.slow
def test_console_script_help_and_schema():
    exe = shutil.which("workbench") or f"{sys.executable} -m workbench.cli"
    help_text = subprocess.run([*exe.split(), "--help"], capture_output=True, text=True, check=True).stdout
    assert all(name in help_text for name in ("schema", "leakage", "drift", "skew", "shadow", "performance", "report"))
    schema = subprocess.run([*exe.split(), "schema", "findings"], capture_output=True, text=True, check=True).stdout
    assert json.loads(schema)["title"] == "workbench findings"
    proc = subprocess.run([*exe.split(), "leakage", "--config", str(CHURN / "audit.yaml"), "--quiet"],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr == ""
