"""workbench: an ML reliability workbench for Jupyter.

The leakage auditor is the first check: :func:`workbench.leakage.audit_leakage`.
"""

from workbench.findings import CheckResult, Finding, findings_schema, validate_findings
from workbench.leakage import audit_leakage

__version__ = "0.1.0"
__all__ = ["CheckResult", "Finding", "__version__", "audit_leakage", "findings_schema", "validate_findings"]
