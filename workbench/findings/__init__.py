"""Findings contract: :class:`Finding`, :class:`CheckResult` and the JSON Schema."""

from workbench.findings.model import (
    FINDINGS_MIME,
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
    "FINDINGS_MIME",
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
