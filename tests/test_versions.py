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

DATA = Path(__file__).parent / "data"
STORED = sorted((DATA / "findings-1.0.0").glob("*.json"))
# every earlier 1.x version the package wrote: 1.0.0, and 1.1.0 (+ workbench_version) before the glance of 1.2.0
EARLIER = sorted([*STORED, *(DATA / "findings-1.1.0").glob("*.json")])


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
    assert doc["schema_version"] == SCHEMA_VERSION == "1.2.0"
    assert doc["glance"] == {"level": "info", "headline": "0 columns drifted, 0 schema changes",
                             "tiles": [{"label": "columns drifted", "value": "0", "level": "ok"},
                                       {"label": "schema changes", "value": "0", "level": "ok"}]}
    validate_findings(doc)


def test_the_schema_id_carries_its_version():
    assert findings_schema()["$id"] == f"workbench/findings/{SCHEMA_VERSION}"


def test_install_hints_name_the_distribution():
    assert install_hint("ml") == "pip install 'ml-reliability-workbench[ml]'"


@pytest.mark.parametrize("path", EARLIER, ids=[f"{p.parent.name}-{p.stem}" for p in EARLIER])
def test_a_findings_file_of_an_earlier_1_x_version_stays_valid_and_readable(path):
    doc = json.loads(path.read_text())
    written = path.parent.name.removeprefix("findings-")
    assert doc["schema_version"] == written and ("workbench_version" in doc) == (written != "1.0.0")
    assert "glance" not in doc
    validate_findings(doc)
    findings = read_findings(path)
    assert len(findings) == len(doc["findings"]) > 0


def test_the_stored_files_cover_every_check_with_a_file_per_check():
    for written in ("1.0.0", "1.1.0"):
        files = (DATA / f"findings-{written}").glob("*.json")
        assert {json.loads(p.read_text())["check"] for p in files} == {"leakage", "drift", "shadow", "performance"}


def test_a_findings_file_of_a_newer_major_version_is_refused_by_name(tmp_path):
    doc = json.loads(STORED[0].read_text()) | {"schema_version": "2.0.0"}
    path = tmp_path / "new.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"schema version is 2\.0\.0; this workbench reads 1\.x"):
        read_findings(path)
    with pytest.raises(jsonschema.ValidationError):
        validate_findings(doc)


def test_a_findings_list_without_a_schema_version_is_read_as_written(tmp_path):
    path = tmp_path / "hand-written.json"
    finding = {"severity": "critical", "kind": "k", "message": "m"}
    path.write_text(json.dumps({"findings": [finding]}))
    assert read_findings(path) == [finding]
