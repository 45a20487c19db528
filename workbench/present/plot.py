"""How a plotly figure reaches a browser: the one module that turns figures into what plotly.js draws.

The explorers (:class:`workbench.widgets.plot.PlotWidget`) and the report pages both draw with
the minified *cartesian* plotly.js bundle shipped here (``static/plotly-cartesian.min.js``,
plotly.js 4.1.1, MIT, ~1.5 MB: bar, box, heatmap, histogram, scatter, …; the version plotly.py 7.1
targets). Neither imports plotly's ``FigureWidget`` (its import pulls in nbformat and jsonschema,
seconds in a fresh kernel) nor inlines the full 4.8 MB bundle.

- :func:`figure_json` is the figure as plotly.js reads it: ``{"data": [...], "layout": {...}}``.
  Anything that restyles every figure (a theme) belongs here.
- :func:`plotly_js` is the bundle's text; :func:`figure_html` a ``<div>`` plus the script that
  draws one figure into it, for a page that loaded the bundle once.
"""

from __future__ import annotations

import json
from functools import cache
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import plotly.graph_objects as go

BUNDLE = Path(__file__).with_name("static") / "plotly-cartesian.min.js"
PLOTLY_JS_VERSION = "4.1.1"
# what a chart offers in its toolbar: no plotly logo, no link to the plotly cloud
CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True}


def figure_json(figure: go.Figure | dict[str, Any]) -> dict[str, Any]:
    """``figure`` (a ``go.Figure`` or plotly's JSON of one) as plotly.js reads it: plain JSON
    types only (numbers, strings, lists, dicts; numpy arrays as plotly's typed-array dicts)."""
    if isinstance(figure, dict):
        return {"data": figure.get("data", []), "layout": figure.get("layout", {})}
    import plotly.io as pio

    doc: dict[str, Any] = json.loads(pio.to_json(figure, validate=False))
    return {"data": doc.get("data", []), "layout": doc.get("layout", {})}


@cache
def plotly_js() -> str:
    """The text of the shipped plotly.js bundle (it sets ``window.Plotly`` when run)."""
    return BUNDLE.read_text(encoding="utf-8")


def figure_html(figure: go.Figure | dict[str, Any], div_id: str) -> str:
    """A ``<div id=div_id>`` and the script that draws ``figure`` into it with ``window.Plotly``
    (the page loads :func:`plotly_js` once, before these scripts run)."""
    spec = json.dumps({**figure_json(figure), "config": CONFIG}).replace("</", "<\\/")
    return (f'<div id="{escape(div_id)}" class="wb-plot"></div>\n<script type="text/javascript">'
            f"(function(){{var s={spec};Plotly.newPlot({json.dumps(div_id)},s.data,s.layout,s.config);}})();"
            "</script>")


__all__ = ["BUNDLE", "CONFIG", "PLOTLY_JS_VERSION", "figure_html", "figure_json", "plotly_js"]
