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
- :func:`add_static_figures` prepares an executed notebook for a standalone HTML page: its
  figures are saved as plotly's JSON (``application/vnd.plotly.v1+json``, no JavaScript in the
  notebook), and each gets a ``text/html`` drawing, the first with the bundle inlined once,
  gzipped and base64-encoded (:func:`bundle_loader`: ~0.7 MB instead of 1.5 MB; the browser
  unpacks it with ``DecompressionStream``).
"""

from __future__ import annotations

import base64
import gzip
import json
from functools import cache
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import plotly.graph_objects as go

BUNDLE = Path(__file__).with_name("static") / "plotly-cartesian.min.js"
PLOTLY_JS_VERSION = "4.1.1"
PLOTLY_MIME = "application/vnd.plotly.v1+json"
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
    """A ``<div id=div_id>`` and the script that draws ``figure`` into it once plotly.js is there:
    after :func:`bundle_loader`'s promise ``window.wbPlotly``, or with ``window.Plotly``."""
    spec = json.dumps({**figure_json(figure), "config": CONFIG}).replace("</", "<\\/")
    return (f'<div id="{escape(div_id)}" class="wb-plot"></div>\n<script type="text/javascript">'
            f"(function(){{var s={spec};(window.wbPlotly||Promise.resolve(window.Plotly)).then(function(Plotly)"
            f"{{Plotly.newPlot({json.dumps(div_id)},s.data,s.layout,s.config);}});}})();</script>")


@cache
def packed_bundle() -> bytes:
    """The bundle gzipped (~0.5 MB; the same bytes every time): what a page or a widget receives."""
    return gzip.compress(BUNDLE.read_bytes(), compresslevel=9, mtime=0)


@cache
def bundle_loader() -> str:
    """A ``<script>`` that unpacks the gzipped, base64-encoded bundle and runs it, leaving the
    promise ``window.wbPlotly`` (resolved with ``window.Plotly``) for :func:`figure_html`'s scripts."""
    packed = base64.b64encode(packed_bundle()).decode()
    return ('<script type="text/javascript">window.wbPlotly=(async function(){'
            f'var b=Uint8Array.from(atob("{packed}"),function(c){{return c.charCodeAt(0);}});'
            'var code=await new Response(new Blob([b]).stream().pipeThrough(new DecompressionStream("gzip"))).text();'
            'var s=document.createElement("script");s.text=code;document.head.appendChild(s);return window.Plotly;'
            "})();</script>")


def add_static_figures(notebook: Any) -> int:
    """Give every plotly figure output of ``notebook`` (an nbformat node, changed in place) a
    ``text/html`` drawing, the first one preceded by :func:`bundle_loader` (one copy per page), so that
    nbconvert's HTML draws the charts offline. Outputs that already have HTML keep it. Returns the
    number of figures given a drawing."""
    drawn = 0
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if PLOTLY_MIME not in data or "text/html" in data:
                continue
            bundle = "" if drawn else bundle_loader() + "\n"
            data["text/html"] = bundle + figure_html(data[PLOTLY_MIME], f"wb-figure-{drawn + 1}")
            drawn += 1
    return drawn


__all__ = ["BUNDLE", "CONFIG", "PLOTLY_JS_VERSION", "PLOTLY_MIME", "add_static_figures", "bundle_loader", "figure_html",
           "figure_json", "packed_bundle", "plotly_js"]
