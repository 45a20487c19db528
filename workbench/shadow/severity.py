"""One severity rule for the findings of the guardrails, read off the verdict.

A guardrail finding (``latency_regression``, ``error_rate_regression``, ``accuracy_regression``)
is **critical** when its guardrail is breached on its scope, i.e. it makes the verdict rollback by
itself, and **warning** otherwise (significant at ``confidence`` but not established at the
rollback level, or too little data: the verdict holds). So ``max_severity == "critical"`` exactly
when some guardrail finding asks for a rollback, and an alert on critical findings never misses
one. A guardrail breached without a finding (its rollback bound is one-sided at
``alpha_rollback``, the finding's interval two-sided at ``confidence``, so with one or two tests
the bound can be the less strict) gets a critical finding made from the check. ``coverage_gap``
follows the same rule where the verdict is concerned (see :func:`coverage_severity`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

from workbench.findings.model import Finding, Severity
from workbench.shadow.verdict import GuardrailCheck

GUARDRAIL_KINDS = ("latency_regression", "error_rate_regression", "accuracy_regression")
_ROLE = {"latency_regression": "latency", "error_rate_regression": "error", "accuracy_regression": "prediction"}
_ADVICE = {
    "latency_regression": "Profile the candidate under the same load (feature fetches, model size, batch size) "
                          "before sending it more traffic.",
    "error_rate_regression": "Read the candidate's error logs for the failing requests before sending it more "
                             "traffic.",
    "accuracy_regression": "Look at the requests only production gets right in this scope before promoting the "
                           "candidate.",
}


def kind_of(check: GuardrailCheck) -> str:
    """The finding kind that reports a guardrail check (``latency_p95`` -> ``latency_regression``,
    ``error_rate``, ``accuracy`` and ``mae_ratio`` likewise)."""
    if check.guardrail.startswith("latency_p"):
        return "latency_regression"
    return "error_rate_regression" if check.guardrail == "error_rate" else "accuracy_regression"


def scope_text(finding: Finding) -> str:
    """A finding's scope as the guardrail checks name it: ``"all"`` or ``"column=value"``."""
    segment = finding.scope.get("segment") or {}
    if not segment:
        return "all"
    (column, value), = segment.items()
    return f"{column}={value}"


def coverage_severity(matched: int, production_only: int, max_coverage_gap: float) -> Severity:
    """``coverage_gap``: critical when no request could be compared at all (nothing can be judged,
    whatever the cause), warning when the share of production's requests the candidate did not log
    is beyond ``max_coverage_gap`` (the verdict holds for it), info otherwise."""
    if matched == 0:
        return "critical"
    return "warning" if production_only / (matched + production_only) > max_coverage_gap else "info"


def by_verdict(findings: Sequence[Finding], checks: Sequence[GuardrailCheck], roles: Mapping[str, str | None],
               alpha_rollback: float) -> list[Finding]:
    """``findings`` with the guardrail findings' severity set by the rule of the module docstring,
    and a critical finding added for every breached guardrail that has none. ``checks``: the
    verdict's judged checks; ``roles``: role -> the user's column (the findings' subject);
    ``alpha_rollback``: the level of the rollback bounds (in the added findings' metrics)."""
    breached = {(kind_of(c), c.scope): c for c in checks if c.status == "breached"}
    out, reported = [], set()
    for f in findings:
        if f.kind in GUARDRAIL_KINDS:
            key = (f.kind, scope_text(f))
            reported.add(key)
            f = replace(f, severity="critical" if key in breached else "warning")
        out.append(f)
    out += [_from_check(c, kind, roles, alpha_rollback) for (kind, scope), c in breached.items()
            if (kind, scope) not in reported]
    return out


def _from_check(check: GuardrailCheck, kind: str, roles: Mapping[str, str | None],
                alpha_rollback: float) -> Finding:
    """The critical finding of a breached guardrail that no finding reported: its judged message
    (estimate, tolerance, rollback bound, n)."""
    scope = {}
    if check.scope != "all":
        column, _, value = check.scope.partition("=")
        scope = {"segment": {column: value}}
    metrics = {"effect": check.estimate, "bound": check.harm_low, "threshold": check.tolerance, "n": check.n,
               "alpha": alpha_rollback}
    return Finding("shadow", kind, "critical", roles.get(_ROLE[kind]) or check.guardrail,
                   f"The candidate's {check.message}", _ADVICE[kind],
                   {k: v for k, v in metrics.items() if not (isinstance(v, float) and math.isnan(v))}, scope)


__all__ = ["GUARDRAIL_KINDS", "by_verdict", "coverage_severity", "kind_of", "scope_text"]
