"""Write THIRD_PARTY_NOTICES.md from the licenses the JupyterLab builder collected.

    python extensions/workbench-lab/write_notices.py

The prebuilt extension (``workbench/labextension/static``) bundles code of other npm packages; the builder lists
them, with their license texts, in ``third-party-licenses.json``. This script turns that list into the notices
file shipped in the wheel; ``tests/test_release_files.py`` fails when the two disagree (run it after a frontend
dependency changes).
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LICENSES = ROOT / "workbench" / "labextension" / "static" / "third-party-licenses.json"
MODULES = ROOT / "extensions" / "workbench-lab" / "node_modules"  # license files, where the list has no text
NOTICES = ROOT / "THIRD_PARTY_NOTICES.md"

HEADER = """# Third-party notices

The workbench is licensed under the Apache License 2.0 (`LICENSE`). Its prebuilt JupyterLab extension
(`share/jupyter/labextensions/workbench-lab`, built from `extensions/workbench-lab`) bundles code of the
npm packages below, each under its own license, reproduced here. The Python packages the workbench depends on
are installed separately, each with its own license, and are not bundled.

Written by `python extensions/workbench-lab/write_notices.py` from the builder's `third-party-licenses.json`.
"""


def notices(licenses: dict) -> str:
    """The notices text for the builder's ``licenses`` document (``{"packages": [...]}``)."""
    parts = [HEADER]
    for package in sorted(licenses["packages"], key=lambda p: p["name"]):
        text = (package.get("licenseText") or "").strip() or _license_file(package["name"])
        parts.append(f"## {package['name']} {package.get('versionInfo', '')}".rstrip()
                     + f"\n\nLicense: {package.get('licenseId') or 'not stated'}\n\n```text\n{text}\n```\n")
    return "\n".join(parts)


def _license_file(name: str) -> str:
    """The package's own license file from ``node_modules`` (the builder's list leaves some texts out)."""
    for candidate in sorted((MODULES / name).glob("LICEN[CS]E*")):
        return candidate.read_text(encoding="utf-8").strip()
    raise SystemExit(f"no license text for {name}: install the frontend's packages first (jlpm install)")


def main() -> None:
    NOTICES.write_text(notices(json.loads(LICENSES.read_text(encoding="utf-8"))), encoding="utf-8")
    print(f"wrote {NOTICES}")


if __name__ == "__main__":
    main()
