"""``ShadowComparison``: a shadow or canary comparison in a notebook.

The verdict with its reasons at the top; the guardrails it evaluated; latency distributions of
both sides side by side; disagreement by segment; paired accuracy per segment with intervals.
Click a segment in either chart to see every number about it. Everything is read from the
result; nothing is recomputed.
"""

from __future__ import annotations

from html import escape
from typing import Any

from workbench.findings.html import result_html
from workbench.findings.model import CheckResult
from workbench.present.html import guardrails_html
from workbench.present.shadow_figures import accuracy_figure, disagreement_figure, latency_figure, segment_details


class ShadowComparison:
    """Interactive view of a shadow :class:`CheckResult` (needs ipywidgets and plotly)."""

    def __init__(self, result: CheckResult) -> None:
        if result.check != "shadow":
            raise ValueError(f"ShadowComparison shows shadow/canary results, got a {result.check!r} result.")
        import ipywidgets as w
        import plotly.graph_objects as go

        self.result = result
        self.latency = go.FigureWidget(latency_figure(result))
        self.disagreement = go.FigureWidget(disagreement_figure(result))
        self.accuracy = go.FigureWidget(accuracy_figure(result))
        self.details = w.HTML(details_html(result, "all"))
        for fig in (self.disagreement, self.accuracy):
            for trace in fig.data:
                trace.on_click(self._on_click)
        self.widget = w.VBox([w.HTML(result_html(result)), w.HTML(guardrails_html(result)), self.latency,
                              self.disagreement, self.accuracy, self.details])

    def select(self, scope: str) -> None:
        """Show every number about ``scope`` (``"all"`` or ``"column=value"``)."""
        self.details.value = details_html(self.result, scope)

    def _on_click(self, trace: Any, points: Any, state: Any = None) -> None:
        if points.point_inds:
            self.select(trace.y[points.point_inds[0]])

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def details_html(result: CheckResult, scope: str) -> str:
    """The rows of the agreement, score-delta and accuracy tables about one scope."""
    rows = segment_details(result, scope)
    body = "".join(f"<tr><td>{escape(t)}</td><td>{escape(v)}</td></tr>" for t, v in rows.iter_rows())
    return (f"<div class='wb-result'><h4>{escape(scope)}</h4>"
            + (f"<table><tbody>{body}</tbody></table>" if body else "<p>No numbers for this scope.</p>") + "</div>")
