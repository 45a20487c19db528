"""Self-contained HTML pages for a :class:`CheckResult` (the report file), built on the findings
table of :mod:`workbench.findings.html`, with the drift tables and the shadow guardrails."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from workbench.findings.html import result_html

if TYPE_CHECKING:
    from workbench.findings.model import CheckResult

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
