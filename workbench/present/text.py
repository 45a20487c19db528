"""Plain-text summary of a :class:`CheckResult` for terminals and logs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.findings.model import CheckResult


def result_text(result: CheckResult) -> str:
    """The at-a-glance lines (status, tiles), then one line per finding, most severe first, then the
    inputs and parameters that matter."""
    lines = [*result.glance().lines(), "", f"{result.check}: {len(result.findings)} finding(s)"]
    verdict = getattr(result, "verdict", None)
    if verdict is not None:
        lines.append(f"verdict: {verdict.decision.upper()}")
        lines += [f"  - {reason}" for reason in verdict.reasons]
    for f in result.findings:
        lines.append(f"  [{f.severity.upper():8}] {f.kind:22} {f.subject}: {f.message}")
        lines.append(f"  {'':10} {'':22} -> {f.suggestion}")
    lines.append("inputs: " + ", ".join(f"{i.name} ({i.rows:,} rows, {i.fingerprint})" for i in result.inputs))
    rule = result.parameters.get("rule")
    if rule:
        label = "point-in-time rule" if result.check == "leakage" else "decision rule"
        lines.append(f"{label}: {rule['statement']}")
    return "\n".join(lines)
