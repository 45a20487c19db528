"""``DriftExplorer``: explore a drift result in a notebook.

An overview of every column's effect with its interval (click a point to pick the column), a
columns × windows heatmap (click a cell to pick column and window), the reference and current
distributions of the picked column in the picked scope, and the schema changes. Everything is
read from the result's tables; nothing is recomputed.
"""

from __future__ import annotations

from html import escape
from typing import Any

from workbench.findings.model import CheckResult
from workbench.present.drift_figures import distribution_figure, effects_figure, heatmap_figure, overview
from workbench.widgets.base import Explorer


class DriftExplorer(Explorer):
    """Interactive view of a drift :class:`CheckResult` (needs ipywidgets, anywidget and plotly)."""

    checks = ("drift",)
    needs = ("columns", "bins", "schema")

    def _sections(self) -> list[Any]:
        import ipywidgets as w

        from workbench.widgets.plot import PlotWidget

        result = self.result
        columns = overview(result)["column"].to_list()
        scopes = result.to_polars("columns")["scope"].unique(maintain_order=True).to_list()
        self.column = w.Dropdown(options=columns, value=columns[0] if columns else None, description="column")
        self.scope = w.Dropdown(options=[(_scope_text(x), x) for x in scopes], value="all" if "all" in scopes else None,
                                description="scope")
        self.effects = PlotWidget(effects_figure(result))
        self.heatmap = PlotWidget(heatmap_figure(result))
        self.distribution = PlotWidget(distribution_figure(result, self.column.value or "", "all"))
        self.schema = w.HTML(schema_html(result))
        self.effects.on_click(self._on_effect_click)
        self.heatmap.on_click(self._on_heatmap_click)
        self.column.observe(self._redraw, names="value")
        self.scope.observe(self._redraw, names="value")
        sections: list[Any] = [self.effects]
        if self.heatmap.data:
            sections.append(self.heatmap)
        return [*sections, w.HBox([self.column, self.scope]), self.distribution, w.HTML("<h4>Schema changes</h4>"),
                self.schema]

    def _on_effect_click(self, trace: Any, points: Any, state: Any = None) -> None:
        if points.point_inds:
            self.column.value = trace.y[points.point_inds[0]]

    def _on_heatmap_click(self, trace: Any, points: Any, state: Any = None) -> None:
        # plotly reports a heatmap cell as [row, column]; its x comes back reformatted as a date
        # (e.g. "2026-03-07"), so look the labels up in the trace by position
        if not points.point_inds:
            return
        cell = points.point_inds[0]
        if isinstance(cell, list | tuple) and len(cell) == 2:
            row, col = cell
            self.scope.value = trace.x[col]
            self.column.value = trace.y[row]

    def _redraw(self, change: dict[str, Any] | None = None) -> None:
        if self.column.value is None:
            return
        self.distribution.show(distribution_figure(self.result, self.column.value, self.scope.value or "all"))


def _scope_text(scope: str) -> str:
    """'2026-03-07T00:00:00+00:00' → '2026-03-07 00:00'; segments and 'all' unchanged."""
    if len(scope) >= 16 and scope[4] == "-" and scope[10] == "T":
        return f"{scope[:10]} {scope[11:16]}"
    return scope


def schema_html(result: CheckResult) -> str:
    """HTML table of the schema changes in a drift result."""
    schema = result.to_polars("schema")
    if schema.height == 0:
        return "<p>No schema changes.</p>"
    cols = ["column", "change", "reference_dtype", "current_dtype", "detail"]
    head = "".join(f"<th>{c}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{escape('' if r[c] is None else str(r[c]))}</td>" for c in cols) + "</tr>"
                   for r in schema.select(cols).iter_rows(named=True))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


__all__ = ["DriftExplorer", "schema_html"]
