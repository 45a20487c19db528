"""What a report template calls to hand its results to the run: ``emit(result)`` writes the
findings JSON where the running report collects it (and does nothing outside a run)."""

from __future__ import annotations

import os
from pathlib import Path

from workbench.findings.model import CheckResult

FINDINGS_DIR = "WORKBENCH_FINDINGS_DIR"


def emit(result: CheckResult, name: str | None = None) -> Path | None:
    """Write ``result``'s findings JSON as ``<name or check>.json`` in the run's findings folder;
    return its path, or None when not running under ``workbench report run``."""
    folder = os.environ.get(FINDINGS_DIR)
    if not folder:
        return None
    path = Path(folder) / f"{name or result.check}.json"
    result.to_json(str(path))
    return path
