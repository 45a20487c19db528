"""``PlotWidget``: one plotly figure in a notebook, drawn by plotly.js, clicks sent back to Python.

A small anywidget instead of plotly's ``FigureWidget``: importing that pulls in nbformat and
jsonschema (seconds in a fresh kernel), and its saved state carries a 4.9 MB JavaScript bundle.
This widget syncs only the figure's JSON (:func:`workbench.present.plot.figure_json`); its front
end (``plot.js``) asks the kernel for the shipped plotly.js bundle once per page. The Python side
keeps the ``go.Figure`` it shows as ``widget.fig`` (``widget.data`` is its traces; ``widget.layout``
stays the ipywidgets layout of the widget's box).

Wire format (custom messages, ``type`` first):

- front end → kernel ``{"type": "plotly.js"}``: send the bundle; answered by
  ``{"type": "plotly.js", "version": ..., "encoding": "gzip"}`` with the gzipped bundle (~0.5 MB) as
  the one buffer, which the browser unpacks with ``DecompressionStream``;
- front end → kernel ``{"type": "click", "points": [{"trace": int, "point": int | [row, col]}]}``:
  a click; each trace's points go to the callbacks given to :meth:`PlotWidget.on_click`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from workbench.present.plot import CONFIG, PLOTLY_JS_VERSION, figure_json, packed_bundle

if TYPE_CHECKING:
    import plotly.graph_objects as go


@dataclass(frozen=True)
class Points:
    """The clicked points of one trace: ``point_inds`` are indices into the trace's arrays
    (``[row, column]`` for a heatmap cell), as plotly's own click callbacks give them."""

    trace_index: int
    point_inds: list[Any]


ClickCallback = Callable[[Any, Points], None]


class PlotWidget(anywidget.AnyWidget):
    """A plotly figure drawn in the notebook; :meth:`show` replaces it, :meth:`on_click` listens."""

    _esm = Path(__file__).with_name("plot.js")
    figure = traitlets.Dict().tag(sync=True)
    config = traitlets.Dict(CONFIG).tag(sync=True)

    def __init__(self, figure: go.Figure) -> None:
        super().__init__()
        self._callbacks: list[ClickCallback] = []
        self.show(figure)
        self.on_msg(self._on_message)

    def show(self, figure: go.Figure) -> None:
        """Draw ``figure`` instead of the current one (the front end redraws in place)."""
        self.fig: go.Figure = figure
        self.figure = figure_json(figure)

    @property
    def data(self) -> tuple[Any, ...]:
        """The traces of the figure shown."""
        return tuple(self.fig.data)

    def on_click(self, callback: ClickCallback) -> None:
        """Call ``callback(trace, points)`` for each trace with a clicked point."""
        self._callbacks.append(callback)

    def click(self, points: list[dict[str, Any]]) -> None:
        """Handle a click as the front end reports it (``[{"trace": i, "point": p}, ...]``)."""
        by_trace: dict[int, list[Any]] = {}
        for p in points:
            by_trace.setdefault(int(p["trace"]), []).append(p["point"])
        for index, inds in by_trace.items():
            if 0 <= index < len(self.fig.data):
                for callback in self._callbacks:
                    callback(self.fig.data[index], Points(index, inds))

    def _on_message(self, _widget: Any, content: dict[str, Any], _buffers: list[bytes]) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "plotly.js":
            self.send({"type": "plotly.js", "version": PLOTLY_JS_VERSION, "encoding": "gzip"},
                      buffers=[packed_bundle()])
        elif kind == "click":
            self.click(content.get("points") or [])


__all__ = ["PlotWidget", "Points"]
