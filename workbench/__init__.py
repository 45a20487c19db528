"""workbench: an ML reliability workbench for Jupyter.

Checks: :func:`workbench.leakage.audit_leakage` (point-in-time leakage),
:func:`workbench.drift.drift` (drift and schema evolution, with :func:`fit_profile` for a
reusable reference), :func:`workbench.drift.training_serving_skew`.
"""

from workbench.drift import drift, fit_profile, training_serving_skew
from workbench.findings import CheckResult, Finding, findings_schema, validate_findings
from workbench.leakage import audit_leakage

__version__ = "0.1.0"
__all__ = ["CheckResult", "Finding", "__version__", "audit_leakage", "drift", "findings_schema", "fit_profile",
           "training_serving_skew", "validate_findings"]
