"""``SubgroupExplorer`` and ``CalibrationExplorer``: a performance result in a notebook.

SubgroupExplorer: the ranked alerts (pick one to see its segment over time), each segment's
metric with its interval, and the segment × window heatmap (click a row to see that segment over
time). CalibrationExplorer: the reliability diagram of reference and current, per scope and bin
strategy, with the calibration table. Everything is read from the result; nothing is recomputed.
"""

from __future__ import annotations

from html import escape
from typing import Any

from workbench.findings.html import glance_html
from workbench.findings.model import CheckResult, Finding
from workbench.present.performance_figures import (
    calibration_scopes,
    heatmap_figure,
    ranked_alerts,
    reliability_figure,
    scope_of,
    segments_figure,
    timeline_figure,
)
from workbench.widgets.base import Explorer

CALIBRATION_KINDS = ("calibration_drift", "overconfident", "underconfident")


class SubgroupExplorer(Explorer):
    """Interactive view of a performance :class:`CheckResult`, from ``check_performance(...)`` or
    ``check_subgroups(...)`` (needs ipywidgets and plotly). ``metric`` is the segments chart's metric
    (default ``"mae"`` for a regression, ``"accuracy"`` otherwise)."""

    checks = ("performance",)
    needs = ("segments",)

    def __init__(self, result: CheckResult, metric: str | None = None) -> None:
        self._requested_metric = metric
        super().__init__(result)

    def _sections(self) -> list[Any]:
        import ipywidgets as w
        import plotly.graph_objects as go

        result = self.result
        regression = result.parameters.get("task") == "regression"
        self.metric = self._requested_metric or ("mae" if regression else "accuracy")
        alerts = ranked_alerts(result)
        options = [(f"{i + 1}. [{f.severity}] {f.message[:110]}", i) for i, f in enumerate(alerts)]
        self._alerts = alerts
        self.alert = w.Select(options=options or [("No alert", -1)], rows=min(8, max(2, len(options))),
                              layout={"width": "100%"})
        self.segments = go.FigureWidget(segments_figure(result, self.metric))
        self.heatmap = go.FigureWidget(heatmap_figure(result))
        first = scope_of(alerts[0]) if alerts else "all"
        self.timeline = go.FigureWidget(timeline_figure(result, first))
        self.detail = w.HTML(_alert_html(alerts[0]) if alerts else "")
        self.alert.observe(self._on_alert, names="value")
        for trace in self.heatmap.data:
            trace.on_click(self._on_heatmap_click)
        for trace in self.segments.data:
            trace.on_click(self._on_segment_click)
        return [w.HTML("<h4>Alerts, largest impact first</h4>"), self.alert, self.detail, self.timeline,
                self.segments, self.heatmap]

    def show_scope(self, scope: str) -> None:
        """Draw ``scope`` (``"all"`` or ``"col=value[, col=value]"``) over time."""
        fresh = timeline_figure(self.result, scope)
        with self.timeline.batch_update():
            self.timeline.data = ()
            for trace in fresh.data:
                self.timeline.add_trace(trace)
            self.timeline.layout.shapes = fresh.layout.shapes
            self.timeline.layout.title = fresh.layout.title

    def _on_alert(self, change: dict[str, Any]) -> None:
        i = change["new"]
        if i is None or i < 0:
            return
        finding = self._alerts[i]
        self.detail.value = _alert_html(finding)
        self.show_scope(scope_of(finding))

    def _on_heatmap_click(self, trace: Any, points: Any, state: Any = None) -> None:
        if points.point_inds:
            cell = points.point_inds[0]
            row = cell[0] if isinstance(cell, list | tuple) else cell
            self.show_scope(trace.y[row])

    def _on_segment_click(self, trace: Any, points: Any, state: Any = None) -> None:
        if points.point_inds:
            self.show_scope(trace.y[points.point_inds[0]])


class CalibrationExplorer(Explorer):
    """Reliability diagrams of a result with calibration: a ``calibration`` result
    (:func:`~workbench.check_calibration`), or a ``performance`` result given a score and a reference
    (needs ipywidgets and plotly). Above them, a calibration result's findings table; for a performance
    result, only its calibration alerts (its whole findings table heads :class:`SubgroupExplorer`)."""

    checks = ("calibration", "performance")
    needs = ("reliability", "calibration")

    @classmethod
    def _missing_hint(cls, result: CheckResult) -> str:
        hint = ("Run check_calibration(...), or check_performance(..., score=..., reference=...), for reliability "
                "diagrams.")
        if result.check == "performance" and "segments" in result.tables:
            hint += " This result's segments open with SubgroupExplorer.from_result(result)."
        return hint

    def _header(self) -> str:
        if self.result.check == "calibration":
            return super()._header()
        alerts = [f for f in self.result.findings if f.kind in CALIBRATION_KINDS]
        text = "".join(f"<li>{escape(f.message)}</li>" for f in alerts) or "<li>No calibration alert.</li>"
        return f"{glance_html(self.result.glance())}<ul>{text}</ul>"

    def _sections(self) -> list[Any]:
        import ipywidgets as w
        import plotly.graph_objects as go

        scopes = calibration_scopes(self.result)
        self.scope = w.Dropdown(options=scopes, value=scopes[0], description="scope")
        self.strategy = w.ToggleButtons(options=[("equal width", "equal_width"), ("equal mass", "equal_mass")],
                                        value="equal_width")
        self.figure = go.FigureWidget(reliability_figure(self.result, scopes[0], "equal_width"))
        self.table = w.HTML(calibration_table_html(self.result))
        self.scope.observe(self._redraw, names="value")
        self.strategy.observe(self._redraw, names="value")
        return [w.HBox([self.scope, self.strategy]), self.figure, self.table]

    def _redraw(self, change: dict[str, Any] | None = None) -> None:
        fresh = reliability_figure(self.result, self.scope.value, self.strategy.value)
        with self.figure.batch_update():
            self.figure.data = ()
            for trace in fresh.data:
                self.figure.add_trace(trace)
            self.figure.layout.title = fresh.layout.title


def calibration_table_html(result: CheckResult) -> str:
    """Per scope: n, ECE (current vs reference), slope with interval, Brier, conclusive. A slope
    that could not be estimated shows why (the table's ``slope_note``) instead of a number."""
    table = result.to_polars("calibration")
    cols = ["scope", "n", "ece", "reference_ece", "ece_change", "slope", "slope_low", "slope_high", "brier",
            "conclusive"]
    head = "".join(f"<th>{c}</th>" for c in cols)
    body = "".join("<tr>" + "".join(_cell(r, c) for c in cols) + "</tr>"
                   for r in table.select(*cols, "slope_note").iter_rows(named=True))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(row: dict[str, Any], col: str) -> str:
    """One cell of the calibration table; the slope's cells carry its note when it has none."""
    if col.startswith("slope") and row[col] is None and row["slope_note"]:
        if col == "slope":
            return f"<td style='color:#64748b'>{escape(row['slope_note'])}</td>"
        return "<td>—</td>"
    return f"<td>{_fmt(row[col])}</td>"


def _alert_html(finding: Finding) -> str:
    return (f"<div style='margin:4px 0'><b>{escape(finding.kind)}</b>: {escape(finding.message)}"
            f"<div style='color:#64748b'>{escape(finding.suggestion)}</div></div>")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return escape(str(v))


__all__ = ["CalibrationExplorer", "SubgroupExplorer", "calibration_table_html"]
