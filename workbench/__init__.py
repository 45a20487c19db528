"""workbench: an ML reliability workbench for Jupyter.

Checks: :func:`workbench.leakage.audit_leakage` (point-in-time leakage),
:func:`workbench.drift.drift` (drift and schema evolution, with
:func:`workbench.drift.fit_profile` for a reusable reference) and
:func:`workbench.drift.training_serving_skew` (import them from ``workbench.drift``).
"""

from typing import Any

from workbench.findings import CheckResult, Finding, findings_schema, validate_findings
from workbench.metadata import version

__version__ = version()
__all__ = ["CheckResult", "Finding", "__version__", "audit_leakage", "findings_schema", "validate_findings"]


def __getattr__(name: str) -> Any:
    # the checks load on first use, so a scheduled drift run does not import the leakage auditor
    if name == "audit_leakage":
        from workbench.leakage import audit_leakage

        return audit_leakage
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The server extension (report endpoints for the JupyterLab sidebar)."""
    return [{"module": "workbench.server"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """The prebuilt JupyterLab extension shipped in the package."""
    return [{"src": "labextension", "dest": "workbench-lab"}]
