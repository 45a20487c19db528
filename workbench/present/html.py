"""Self-contained, small HTML for a :class:`CheckResult` (the notebook repr and report file)."""

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


def result_page(result: CheckResult) -> str:
    """A standalone HTML page (works offline) for the result; a drift result adds its
    per-column overview and schema changes."""
    extra = {"drift": drift_tables_html, "shadow": guardrails_html}.get(result.check, lambda r: "")(result)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>workbench {escape(result.check)}</title>"
            f"</head><body>{result_html(result, max_findings=10_000)}{extra}</body></html>")


_STATUS_COLORS = {"drift": "#b3261e", "small": "#9a6700", "stable": "#475569", "insufficient": "#94a3b8"}


def drift_tables_html(result: CheckResult) -> str:
    """Every compared column over all of current (effect with its interval, PSI, KS, q-value,
    status), sorted by effect relative to its threshold, then the schema changes."""
    from workbench.present.drift_figures import overview

    rows = []
    for r in overview(result).iter_rows(named=True):
        interval = "" if r["effect_low"] is None else f" ({_num(r['effect_low'])}–{_num(r['effect_high'])})"
        color = _STATUS_COLORS.get(r["status"] or "", "#475569")
        rows.append(
            f"<tr><td>{escape(r['column'])}</td><td>{escape(r['kind'])}</td>"
            f"<td>{escape(r['effect'])}</td><td>{_num(r['effect_value'])}{interval}</td><td>{r['threshold']}</td>"
            f"<td>{_num(r['psi'])}</td><td>{_num(r['ks'])}</td><td>{_num(r['q_value'], '.2g')}</td>"
            f"<td>{r['n_reference']:,} / {r['n_current']:,}</td>"
            f"<td style='color:{color};font-weight:600'>{escape(r['status'] or '')}</td></tr>")
    head = "".join(f"<th>{h}</th>" for h in ("column", "kind", "effect", "value (95% CI)", "threshold", "PSI", "KS",
                                              "q", "n ref / cur", "status"))
    schema = result.to_polars("schema")
    schema_rows = "".join(
        "<tr>" + "".join(f"<td>{escape('' if v is None else str(v))}</td>" for v in r) + "</tr>"
        for r in schema.select("column", "change", "reference_dtype", "current_dtype", "detail").iter_rows())
    schema_html = (f"<h4>Schema changes</h4><table><thead><tr><th>column</th><th>change</th><th>reference</th>"
                   f"<th>current</th><th>detail</th></tr></thead><tbody>{schema_rows}</tbody></table>"
                   if schema.height else "<h4>Schema changes</h4><p>None.</p>")
    return (f"<div class='wb-result'><h4>Columns over all of current</h4><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>{schema_html}</div>")


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


_CHECK_COLORS = {"breached": "#b3261e", "insufficient": "#94a3b8", "unproven": "#9a6700", "suspect": "#9a6700",
                 "within": "#1a7f37"}


def guardrails_html(result: CheckResult) -> str:
    """Every guardrail the verdict evaluated: scope, n, estimate, bounds, tolerance and status."""
    v = getattr(result, "verdict", None)
    if v is None or not v.checks:
        return ""
    rows = []
    for c in v.checks:
        fmt = ".2f" if c.unit == "ratio" else "+.4f"
        rows.append(f"<tr><td>{escape(c.guardrail)}</td><td>{escape(c.scope)}</td><td>{c.n:,}</td>"
                    f"<td>{_num(c.estimate, fmt)}</td><td>{_num(c.harm_low, fmt)}</td><td>{_num(c.harm_high, fmt)}</td>"
                    f"<td>{_num(c.tolerance, fmt)}</td><td style='color:{_CHECK_COLORS.get(c.status, '#475569')};"
                    f"font-weight:600'>{escape(c.status)}</td></tr>")
    head = "".join(f"<th>{h}</th>" for h in ("guardrail", "scope", "n", "harm", "lower bound (rollback level)",
                                              "upper bound (promote level)", "tolerance", "status"))
    levels = v.levels
    note = (f"Rollback tests at one-sided level {levels['alpha_rollback']:.2g} ({levels['tests']} tests × "
            f"{levels['looks']} planned looks); promote bounds at {levels['alpha_promote']:.2g}.")
    return (f"<div class='wb-result'><h4>Guardrails</h4><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table><div class='wb-muted'>{escape(note)}</div></div>")


def _num(x: float | None, fmt: str = ".3f") -> str:
    return "" if x is None or x != x else format(x, fmt)
