"""Findings contract: :class:`Finding`, :class:`CheckResult` and the JSON Schema."""

from workbench.findings.model import (
    SCHEMA_VERSION,
    SEVERITY_RANK,
    CheckResult,
    Finding,
    InputSummary,
    Severity,
    finding_id,
)
from workbench.findings.schema import findings_schema, validate_findings

__all__ = [
    "SCHEMA_VERSION",
    "SEVERITY_RANK",
    "CheckResult",
    "Finding",
    "InputSummary",
    "Severity",
    "finding_id",
    "findings_schema",
    "validate_findings",
]
