"""The findings table in small, self-contained HTML: a result's notebook repr, and the head of
every HTML page the presentation layer builds (:mod:`workbench.present.html`)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.findings.model import CheckResult

_COLORS = {"critical": "#b3261e", "warning": "#9a6700", "info": "#475569"}
_STYLE = (
    "<style>.wb-result{font-family:system-ui,sans-serif;font-size:13px;max-width:1100px}"
    ".wb-result table{border-collapse:collapse;width:100%}.wb-result td,.wb-result th{border-bottom:1px solid #ddd;"
    "padding:4px 6px;text-align:left !important;vertical-align:top}.wb-sev{font-weight:600;text-transform:uppercase;"
    "font-size:11px}.wb-muted{color:#64748b}</style>"
)


def result_html(result: CheckResult, *, max_findings: int = 50) -> str:
    """Findings table with severity, subject, message and suggestion; inputs and rule below."""
    rows = []
    for f in result.findings[:max_findings]:
        color = _COLORS[f.severity]
        rows.append(
            f"<tr><td class='wb-sev' style='color:{color}'>{escape(f.severity)}</td>"
            f"<td><code>{escape(f.kind)}</code></td><td>{escape(f.subject)}</td>"
            f"<td>{escape(f.message)}<div class='wb-muted'>{escape(f.suggestion)}</div></td></tr>"
        )
    more = len(result.findings) - max_findings
    if more > 0:
        rows.append(f"<tr><td colspan=4 class='wb-muted'>… {more} more (see result.findings)</td></tr>")
    if not rows:
        rows.append("<tr><td colspan=4>No findings.</td></tr>")
    inputs = ", ".join(f"{escape(i.name)} ({i.rows:,} rows)" for i in result.inputs)
    rule = result.parameters.get("rule", {})
    label = "Point-in-time rule" if result.check == "leakage" else "Decision rule"
    rule_text = f"<div class='wb-muted'>{label}: {escape(rule['statement'])}</div>" if rule else ""
    return (
        f"{_STYLE}<div class='wb-result'>{verdict_html(result)}"
        f"<h4>{escape(result.check)}: {len(result.findings)} finding(s)</h4>"
        "<table><thead><tr><th>severity</th><th>kind</th><th>subject</th><th>finding</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        f"<div class='wb-muted'>Inputs: {inputs}</div>{rule_text}</div>"
    )


_VERDICT_COLORS = {"promote": "#1a7f37", "hold": "#9a6700", "rollback": "#b3261e"}


def verdict_html(result: CheckResult) -> str:
    """The gate verdict with its reasons (empty for checks without one)."""
    v = getattr(result, "verdict", None)
    if v is None:
        return ""
    color = _VERDICT_COLORS[v.decision]
    reasons = "".join(f"<li>{escape(r)}</li>" for r in v.reasons)
    return (f"<div style='border-left:6px solid {color};padding:4px 10px;margin:6px 0'>"
            f"<div style='font-size:18px;font-weight:700;color:{color}'>{escape(v.decision.upper())}</div>"
            f"<ul style='margin:4px 0'>{reasons}</ul></div>")
