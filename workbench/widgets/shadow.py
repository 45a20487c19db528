"""``ShadowExplorer``: a shadow or canary comparison in a notebook.

The verdict with its reasons at the top; the guardrails it evaluated; latency distributions of
both sides side by side; disagreement by segment; paired accuracy per segment with intervals.
Click a segment in either chart to see every number about it. Everything is read from the
result; nothing is recomputed.
"""

from __future__ import annotations

from html import escape
from typing import Any

from workbench.findings.model import CheckResult
from workbench.present.html import guardrails_html
from workbench.present.shadow_figures import accuracy_figure, disagreement_figure, latency_figure, segment_details
from workbench.widgets.base import Explorer


class ShadowExplorer(Explorer):
    """Interactive view of a shadow or canary :class:`CheckResult` (needs ipywidgets, anywidget and plotly).

    The charts of a comparison without latency, predictions or labels say so in their titles."""

    checks = ("shadow",)

    def _sections(self) -> list[Any]:
        import ipywidgets as w

        from workbench.widgets.plot import PlotWidget

        self.latency = PlotWidget(latency_figure(self.result))
        self.disagreement = PlotWidget(disagreement_figure(self.result))
        self.accuracy = PlotWidget(accuracy_figure(self.result))
        self.details = w.HTML(details_html(self.result, "all"))
        self.disagreement.on_click(self._on_click)
        self.accuracy.on_click(self._on_click)
        return [w.HTML(guardrails_html(self.result)), self.latency, self.disagreement, self.accuracy, self.details]

    def select(self, scope: str) -> None:
        """Show every number about ``scope`` (``"all"`` or ``"column=value"``)."""
        self.details.value = details_html(self.result, scope)

    def _on_click(self, trace: Any, points: Any, state: Any = None) -> None:
        if points.point_inds:
            self.select(trace.y[points.point_inds[0]])


def details_html(result: CheckResult, scope: str) -> str:
    """The rows of the agreement, score-delta and accuracy tables about one scope."""
    rows = segment_details(result, scope)
    body = "".join(f"<tr><td>{escape(t)}</td><td>{escape(v)}</td></tr>" for t, v in rows.iter_rows())
    return (f"<div class='wb-result'><h4>{escape(scope)}</h4>"
            + (f"<table><tbody>{body}</tbody></table>" if body else "<p>No numbers for this scope.</p>") + "</div>")


__all__ = ["ShadowExplorer", "details_html"]
