"""One version, from the package metadata; findings files of earlier 1.x versions stay readable."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version as installed
from pathlib import Path

import jsonschema
import pytest

from workbench import __version__
from workbench.findings import CheckResult, Finding, findings_schema, validate_findings
from workbench.findings.model import SCHEMA_VERSION
from workbench.metadata import DISTRIBUTION, install_hint, version
from workbench.reports.run import read_findings

STORED = sorted((Path(__file__).parent / "data" / "findings-1.0.0").glob("*.json"))


def test_the_version_is_the_distributions_metadata():
    assert DISTRIBUTION == "ml-reliability-workbench"
    assert __version__ == version() == installed(DISTRIBUTION)


def test_the_cli_prints_the_metadata_version():
    out = subprocess.run([sys.executable, "-m", "workbench.cli", "--version"], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == f"workbench {installed(DISTRIBUTION)} ({DISTRIBUTION})"


def test_every_findings_document_names_the_version_that_wrote_it():
    finding = Finding(check="drift", kind="k", severity="info", subject="s", message="m", suggestion="none")
    doc = CheckResult(check="drift", findings=(finding,), inputs=()).to_dict()
    assert doc["workbench_version"] == installed(DISTRIBUTION)
    assert doc["schema_version"] == SCHEMA_VERSION == "1.1.0"
    validate_findings(doc)


def test_the_schema_id_carries_its_version():
    assert findings_schema()["$id"] == f"workbench/findings/{SCHEMA_VERSION}"


def test_install_hints_name_the_distribution():
    assert install_hint("ml") == "pip install 'ml-reliability-workbench[ml]'"


@pytest.mark.parametrize("path", STORED, ids=[p.stem for p in STORED])
def test_a_findings_file_of_version_1_0_0_stays_valid_and_readable(path):
    doc = json.loads(path.read_text())
    assert doc["schema_version"] == "1.0.0" and "workbench_version" not in doc
    validate_findings(doc)
    findings = read_findings(path)
    assert len(findings) == len(doc["findings"]) > 0


def test_the_stored_files_cover_every_check_with_a_file_per_check():
    assert {json.loads(p.read_text())["check"] for p in STORED} == {"leakage", "drift", "shadow", "performance"}


def test_a_findings_file_of_a_newer_major_version_is_refused_by_name(tmp_path):
    doc = json.loads(STORED[0].read_text()) | {"schema_version": "2.0.0"}
    path = tmp_path / "new.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"schema version is 2\.0\.0; this workbench reads 1\.x"):
        read_findings(path)
    with pytest.raises(jsonschema.ValidationError):
        validate_findings(doc)


def test_a_json_file_without_a_schema_version_is_refused(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"findings": []}))
    with pytest.raises(ValueError, match="schema version is missing"):
        read_findings(path)
