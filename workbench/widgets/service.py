"""``ServiceExplorer``: a serving-operations result (``check_service``) in a notebook.

Top to bottom: the findings table; the alerts (pick one, or click its bar in the incident timeline, to see
its scope: the finding's numbers, the incident it belongs to, and the stage breakdown and request rates of
its segment); the incident timeline; the stage breakdown; the request rates; the queue depth and the GPU
utilization series with the alert windows shaded. Everything is read from the result; nothing is recomputed.
"""

from __future__ import annotations

from html import escape
from typing import Any

import polars as pl

from workbench.findings.model import CheckResult, Finding
from workbench.present.service_figures import (
    alert_label,
    alerts,
    focus_range,
    gpu_figure,
    queue_figure,
    rates_figure,
    scope_of,
    stage_figure,
    timeline_figure,
)
from workbench.widgets.base import Explorer

TABLES = ("stages", "retries", "fallbacks", "timeouts", "queues", "gpu", "incidents")


class ServiceExplorer(Explorer):
    """Interactive view of a ``check_service`` :class:`CheckResult` (needs ipywidgets, anywidget and plotly).

    ``select(finding_id)`` shows an alert's scope, as picking it in the list or clicking its bar does; the
    stage and rate charts then show that alert's segment (all traffic for an alert without one)."""

    checks = ("service",)

    @classmethod
    def refusal(cls, result: CheckResult) -> str | None:
        """As :meth:`Explorer.refusal`; a service result needs at least one of the tables it draws."""
        reason = super().refusal(result)
        if reason is None and not set(TABLES) & set(result.tables):
            return (f"{cls.__name__} reads the table(s) {list(TABLES)} of the result (at least one); this result "
                    f"has {sorted(result.tables) or 'no tables'}. {cls._missing_hint(result)}")
        return reason

    def _sections(self) -> list[Any]:
        import ipywidgets as w

        from workbench.widgets.plot import PlotWidget

        self.alerts = alerts(self.result)
        options = [(alert_label(f), f.id) for f in self.alerts]
        self.picker = w.Select(options=options, rows=min(max(len(options), 1), 8), description="alerts",
                               layout={"width": "100%"})
        self.details = w.HTML(details_html(self.result, None))
        self.timeline = PlotWidget(timeline_figure(self.result))
        self.stages = PlotWidget(stage_figure(self.result))
        self.rates = PlotWidget(rates_figure(self.result))
        self.queues = PlotWidget(queue_figure(self.result))
        self.gpus = PlotWidget(gpu_figure(self.result))
        self.timeline.on_click(self._on_click)
        self.picker.observe(self._on_pick, names="value")
        return [self.picker, self.details, self.timeline, self.stages, self.rates, self.queues, self.gpus]

    def select(self, finding_id: str) -> None:
        """Show the alert ``finding_id``'s scope: its numbers and incident, its segment's stages and rates."""
        finding = next((f for f in self.result.findings if f.id == finding_id), None)
        self.details.value = details_html(self.result, finding)
        if finding is None:
            return
        if self.picker.value != finding_id and finding_id in {v for _, v in self.picker.options}:
            self.picker.value = finding_id
        scope = scope_of(finding)
        self.stages.show(stage_figure(self.result, scope if _has_scope(self.result, "stages", scope) else "all"))
        rates = rates_figure(self.result, scope if any(_has_scope(self.result, t, scope)
                                                       for t in ("retries", "fallbacks", "timeouts")) else "all")
        span = focus_range(finding)
        for widget, fig in ((self.rates, rates), (self.queues, self.queues.fig), (self.gpus, self.gpus.fig)):
            if span is not None:
                fig.update_xaxes(range=span)
            widget.show(fig)

    def _on_pick(self, change: dict[str, Any]) -> None:
        if change.get("new"):
            self.select(change["new"])

    def _on_click(self, trace: Any, points: Any, state: Any = None) -> None:
        if points.point_inds:
            self.select(trace.customdata[points.point_inds[0]])


def _has_scope(result: CheckResult, table: str, scope: str) -> bool:
    return table in result.tables and result.tables[table].filter(pl.col("scope") == scope).height > 0


def details_html(result: CheckResult, finding: Finding | None) -> str:
    """An alert's scope in HTML: its message and suggestion, scope, numbers, and the incident it belongs to
    (its first cause and the other findings). ``None``: how to pick one."""
    if finding is None:
        n = len(alerts(result))
        return (f"<div class='wb-result'><p class='wb-muted'>{n} alert(s): pick one above, or click its bar in the "
                "incident timeline, to see its scope.</p></div>")
    numbers = "".join(f"<tr><td>{escape(k)}</td><td>{escape(_fmt(v))}</td></tr>" for k, v in finding.metrics.items())
    scope = "".join(f"<tr><td>{escape(k)}</td><td>{escape(_fmt(v))}</td></tr>" for k, v in finding.scope.items())
    return (f"<div class='wb-result'><h4>{escape(alert_label(finding))}</h4><p>{escape(finding.message)}</p>"
            f"<p class='wb-muted'>{escape(finding.suggestion)}</p>{_incident_html(result, finding)}"
            f"<table><tbody>{scope}{numbers}</tbody></table></div>")


def _incident_html(result: CheckResult, finding: Finding) -> str:
    if "incidents" not in result.tables:
        return ""
    rows = result.to_polars("incidents").filter(pl.col("ids").list.contains(finding.id))
    if not rows.height:
        return ""
    row = rows.row(0, named=True)
    first = "this finding" if row["first_cause_id"] == finding.id else (
        f"{row['first_cause']} on {row['first_cause_scope']} ({row['first_cause_subject']})")
    return (f"<p>Incident {row['incident']} ({row['findings']} finding(s), {row['start']:%Y-%m-%d %H:%M} → "
            f"{row['end']:%H:%M} UTC): probable first cause {escape(first)}; kinds "
            f"{escape(', '.join(sorted(set(row['kinds']))))}.</p>")


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict):
        return ", ".join(f"{k}={_fmt(x)}" for k, x in v.items())
    if isinstance(v, list | tuple):
        return " → ".join(_fmt(x) for x in v) if len(v) == 2 else ", ".join(_fmt(x) for x in v)
    return str(v)


__all__ = ["ServiceExplorer", "details_html"]
