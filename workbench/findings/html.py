"""The findings table in small, self-contained HTML: a result's notebook repr, and the head of
every HTML page the presentation layer builds (:mod:`workbench.present.html`). It opens with the
at-a-glance header (:func:`glance_html`), which the widgets and report pages show too."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.findings.glance import Glance
    from workbench.findings.model import CheckResult

_COLORS = {"critical": "#b3261e", "warning": "#9a6700", "info": "#475569"}
_STYLE = (
    "<style>.wb-result{font-family:system-ui,sans-serif;font-size:13px;max-width:1100px}"
    ".wb-result table{border-collapse:collapse;width:100%}.wb-result td,.wb-result th{border-bottom:1px solid #ddd;"
    "padding:4px 6px;text-align:left !important;vertical-align:top}.wb-sev{font-weight:600;text-transform:uppercase;"
    "font-size:11px}.wb-muted{color:#64748b}</style>"
)
_GLANCE_STYLE = (
    "<style>.wb-glance{font-family:system-ui,sans-serif;font-size:13px;margin:4px 0 10px}"
    ".wb-glance-head{font-size:15px;font-weight:600;margin-bottom:6px}"
    ".wb-glance-level{display:inline-block;color:#fff;border-radius:3px;padding:1px 6px;margin-right:8px;"
    "font-size:11px;text-transform:uppercase;vertical-align:2px}.wb-tiles{display:flex;flex-wrap:wrap;gap:8px}"
    ".wb-tile{border:1px solid #cbd5e1;border-left-width:5px;border-radius:4px;padding:4px 10px;min-width:110px}"
    ".wb-tile-label{font-size:11px;color:#64748b}.wb-tile-value{font-size:14px;font-weight:600}</style>"
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
        f"{_STYLE}<div class='wb-result'>{glance_html(result.glance())}{verdict_html(result)}"
        f"<h4>{escape(result.check)}: {len(result.findings)} finding(s)</h4>"
        "<table><thead><tr><th>severity</th><th>kind</th><th>subject</th><th>finding</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        f"<div class='wb-muted'>Inputs: {inputs}</div>{rule_text}</div>"
    )


_LEVEL_COLORS = {"ok": "#1a7f37", **_COLORS}


def glance_html(glance: Glance) -> str:
    """The at-a-glance header: the level and headline on one line, then the tiles (label above value,
    a coloured edge for the tile's level). Plain HTML and CSS: it shows without JavaScript."""
    color = _LEVEL_COLORS[glance.level]
    tiles = "".join(
        f"<div class='wb-tile wb-level-{t.level}' style='border-left-color:{_LEVEL_COLORS[t.level]}'>"
        f"<div class='wb-tile-label'>{escape(t.label)}</div><div class='wb-tile-value'>{escape(t.value)}</div></div>"
        for t in glance.tiles)
    return (f"{_GLANCE_STYLE}<div class='wb-glance wb-level-{glance.level}'><div class='wb-glance-head'>"
            f"<span class='wb-glance-level' style='background:{color}'>{escape(glance.level)}</span>"
            f"<span class='wb-glance-headline'>{escape(glance.headline)}</span></div>"
            f"<div class='wb-tiles'>{tiles}</div></div>")


_VERDICT_COLORS = {"promote": "#1a7f37", "hold": "#9a6700", "rollback": "#b3261e"}


def verdict_html(result: CheckResult) -> str:
    """The gate verdict's reasons (empty for checks without one); the decision itself is the
    status line of the glance above it."""
    v = getattr(result, "verdict", None)
    if v is None:
        return ""
    color = _VERDICT_COLORS[v.decision]
    reasons = "".join(f"<li>{escape(r)}</li>" for r in v.reasons)
    return (f"<div style='border-left:6px solid {color};padding:4px 10px;margin:6px 0'>"
            f"<div style='font-weight:700;color:{color}'>Why</div>"
            f"<ul style='margin:4px 0'>{reasons}</ul></div>")
