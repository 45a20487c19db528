"""``LeakageExplorer``: explore a leakage audit result in a notebook.

Shows the findings table, a feature picker with that feature's lag histogram and leaking
example rows, and the lateness of each source. Everything is read from the result's
tables; nothing is recomputed.
"""

from __future__ import annotations

from html import escape
from typing import Any

import polars as pl

from workbench.findings.model import CheckResult
from workbench.present.figures import lag_figure, lateness_figure
from workbench.widgets.base import Explorer


class LeakageExplorer(Explorer):
    """Interactive view of a leakage :class:`CheckResult` (needs ipywidgets, anywidget and plotly)."""

    checks = ("leakage",)
    needs = ("examples", "lag_histogram", "lateness_histogram")

    def _sections(self) -> list[Any]:
        import ipywidgets as w

        from workbench.widgets.plot import PlotWidget

        self.features = self._leaky_features()
        self.picker = w.Dropdown(options=self.features, description="feature",
                                 value=self.features[0] if self.features else None)
        self.lag_plot = PlotWidget(lag_figure(self.result, self.picker.value or ""))
        self.examples = w.HTML()
        self.picker.observe(self._on_pick, names="value")
        self._show(self.picker.value)
        sections: list[Any] = []
        if self.features:
            sections += [w.HTML("<h4>Leaking rows by feature</h4>"), self.picker, self.lag_plot, self.examples]
        if self.result.to_polars("lateness_histogram").height:
            sections += [w.HTML("<h4>Late-arriving data</h4>"), PlotWidget(lateness_figure(self.result))]
        return sections

    def _leaky_features(self) -> list[str]:
        examples = self.result.to_polars("examples")
        hist = self.result.to_polars("lag_histogram")
        # stale rows are listed with their feature's examples, but a stale feature does not leak
        names = examples.filter(pl.col("kind") != "stale_feature")["feature"].to_list() if examples.height else []
        names += hist["feature"].to_list() if hist.height else []
        return list(dict.fromkeys(names))

    def _on_pick(self, change: dict[str, Any]) -> None:
        self._show(change["new"])

    def _show(self, feature: str | None) -> None:
        if feature is None:
            return
        self.lag_plot.show(lag_figure(self.result, feature))
        self.examples.value = examples_html(self.result, feature)


def examples_html(result: CheckResult, feature: str, limit: int = 20) -> str:
    """HTML table of a feature's example rows from the result (leaking rows, and stale rows
    with their snapshot's age)."""
    ex = result.to_polars("examples")
    rows = ex.filter(pl.col("feature") == feature).head(limit) if ex.height else ex
    if rows.height == 0:
        return "<p>No example rows recorded for this feature.</p>"
    cols = [c for c in ("kind", "entity", "prediction_time", "training_value", "point_in_time_value", "lag_hours",
                        "age_hours") if c in rows.columns]
    head = "".join(f"<th>{c}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_fmt(r[c]))}</td>" for c in cols) + "</tr>" for r in rows.iter_rows(named=True)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    return "" if value is None else str(value)


__all__ = ["LeakageExplorer", "examples_html"]
