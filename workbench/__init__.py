"""workbench: an ML reliability workbench for Jupyter.

The checks, one per ``workbench`` command, each named ``check_<command>`` and returning a
:class:`CheckResult` whose ``check`` field names it (docs/vocabulary.md):

* :func:`check_leakage` — point-in-time leakage audit of a training set (``workbench leakage``);
* :func:`check_drift` — drift and schema evolution against a reference (``workbench drift``), with
  :func:`fit_profile` for a reusable reference profile;
* :func:`check_skew` — training/serving skew, request by request (``workbench skew``);
* :func:`check_shadow` — shadow or canary comparison with a promote/hold/rollback verdict (``workbench shadow``);
* :func:`check_llm` — an LLM application's request log: ungrounded answers, token and cost spikes, retrieval
  quality, each localized against its own baseline;
* :func:`check_performance` — performance per segment and window, late labels, calibration and label-free
  estimates (``workbench performance``); its parts :func:`check_subgroups` (results say ``"performance"``)
  and :func:`check_calibration` (results say ``"calibration"``) are reached on the command line through
  ``workbench performance``;
* :func:`check_service` — serving operations from request logs, spans and metrics: retries, idempotency,
  fallbacks, timeouts, circuit breakers, per-stage latency (results say ``"service"``).

Each check loads on first use (``workbench.check_drift`` imports the drift check only, never the leakage
auditor). The findings contract: :class:`CheckResult`, :class:`Finding`, :func:`findings_schema`,
:func:`validate_findings`.
"""

import importlib
from typing import Any

from workbench.findings import CheckResult, Finding, findings_schema, validate_findings
from workbench.metadata import version

__version__ = version()

# name -> the subpackage it is imported from on first use
_LAZY = {
    "check_leakage": "workbench.leakage",
    "check_drift": "workbench.drift",
    "check_skew": "workbench.drift",
    "fit_profile": "workbench.drift",
    "check_shadow": "workbench.shadow",
    "check_performance": "workbench.performance",
    "check_subgroups": "workbench.performance",
    "check_calibration": "workbench.performance",
    "check_llm": "workbench.llm",
    "check_service": "workbench.service",
}

__all__ = ["CheckResult", "Finding", "__version__", "check_calibration", "check_drift", "check_leakage",
           "check_llm", "check_performance", "check_service", "check_shadow", "check_skew", "check_subgroups",
           "findings_schema", "fit_profile", "validate_findings"]


def __getattr__(name: str) -> Any:
    # the checks load on first use, so a scheduled drift run does not import the leakage auditor
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The server extension (report endpoints for the JupyterLab sidebar)."""
    return [{"module": "workbench.server"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """The prebuilt JupyterLab extension shipped in the package."""
    return [{"src": "labextension", "dest": "workbench-lab"}]
