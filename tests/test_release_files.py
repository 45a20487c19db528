"""The files a release needs: license, third-party notices that match the bundled frontend, a changelog entry
for the version being built, contribution notes."""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _write_notices():
    spec = importlib.util.spec_from_file_location("write_notices", ROOT / "extensions/workbench-lab/write_notices.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_license_is_the_apache_license_the_metadata_names():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert set(project["license-files"]) == {"LICENSE", "THIRD_PARTY_NOTICES.md"}


def test_the_notices_list_every_package_the_built_extension_bundles():
    builder = json.loads((ROOT / "workbench/labextension/static/third-party-licenses.json").read_text())
    notices = (ROOT / "THIRD_PARTY_NOTICES.md").read_text()
    listed = re.findall(r"^## (\S+) (\S+)$", notices, re.M)
    assert sorted(listed) == sorted((p["name"], p["versionInfo"]) for p in builder["packages"]), \
        "run: python extensions/workbench-lab/write_notices.py"
    assert notices.count("```text") == len(builder["packages"])
    assert "(no license text" not in notices


def test_the_notices_are_what_the_script_writes_from_the_builders_list():
    module = _write_notices()
    builder = json.loads(module.LICENSES.read_text())
    assert module.notices(builder) == (ROOT / "THIRD_PARTY_NOTICES.md").read_text()


def test_the_changelog_has_an_entry_for_the_version_in_pyproject():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert re.search(rf"^## {re.escape(version)}\b", (ROOT / "CHANGELOG.md").read_text(), re.M)


def test_the_contributing_notes_name_commands_that_exist():
    text = (ROOT / "CONTRIBUTING.md").read_text()
    for path in re.findall(r"`((?:tests|bench|workbench|extensions)/[\w/.-]+\.(?:py|md))`", text):
        assert (ROOT / path).exists(), path
    assert 'pip install -c constraints.txt -e ".[dev]"' in text and '-m "not slow"' in text
