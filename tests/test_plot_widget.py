"""PlotWidget (workbench.widgets.plot): the explorers' charts without plotly's FigureWidget. It syncs
the figure's JSON, answers the front end's request for plotly.js with the shipped bundle, turns the
front end's click messages into the explorers' callbacks, and keeps the first widget fast (no
nbformat/jsonschema import). Explorers carry a text/html fallback for pages without a kernel."""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
import pytest

from workbench.drift import check_drift
from workbench.present.plot import (
    BUNDLE,
    PLOTLY_JS_VERSION,
    PLOTLY_MIME,
    add_static_figures,
    bundle_loader,
    figure_html,
    figure_json,
    plotly_js,
)
from workbench.widgets import DriftExplorer
from workbench.widgets.plot import PlotWidget, Points

ROOT = Path(__file__).resolve().parents[1]


def _figure() -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=["a", "b"], y=[1, 2], name="first")
    fig.add_heatmap(z=[[1.0, None], [0.5, 2.0]], x=["w1", "w2"], y=["c1", "c2"])
    fig.update_layout(title="two traces")
    return fig


def test_the_widget_syncs_the_figure_json_and_reads_like_the_figure():
    fig = _figure()
    plot = PlotWidget(fig)
    assert plot.figure["data"] == [
        {"x": ["a", "b"], "y": [1, 2], "name": "first", "type": "bar"},
        {"z": [[1.0, None], [0.5, 2.0]], "x": ["w1", "w2"], "y": ["c1", "c2"], "type": "heatmap"}]
    assert plot.figure["layout"]["title"] == {"text": "two traces"}
    json.dumps(plot.figure)  # plain JSON: what the comm sends
    assert plot.data[0].name == "first" and plot.fig.layout.title.text == "two traces"
    assert type(plot.layout).__name__ == "Layout" and "layout" in plot.get_state()  # the widget's own box layout
    other = go.Figure(go.Scatter(x=[1], y=[2]))
    plot.show(other)
    assert [t["type"] for t in plot.figure["data"]] == ["scatter"] and plot.fig is other


def test_a_click_message_calls_back_with_the_trace_and_its_points():
    plot = PlotWidget(_figure())
    seen: list[tuple[str, Points]] = []
    plot.on_click(lambda trace, points: seen.append((trace.type, points)))
    plot._on_message(plot, {"type": "click", "points": [{"trace": 1, "point": [1, 0]}, {"trace": 0, "point": 1}]}, [])
    assert seen == [("heatmap", Points(1, [[1, 0]])), ("bar", Points(0, [1]))]
    plot._on_message(plot, {"type": "click", "points": [{"trace": 7, "point": 0}]}, [])  # no such trace: ignored
    assert len(seen) == 2


def test_the_front_end_gets_the_shipped_bundle_once_asked(monkeypatch):
    plot = PlotWidget(_figure())
    sent: list[tuple[dict, list[bytes]]] = []
    monkeypatch.setattr(plot, "send", lambda content, buffers=None: sent.append((content, buffers)))
    plot._on_message(plot, {"type": "plotly.js"}, [])
    [(content, buffers)] = sent
    assert content == {"type": "plotly.js", "version": PLOTLY_JS_VERSION, "encoding": "gzip"}
    [packed] = buffers
    assert gzip.decompress(packed) == BUNDLE.read_bytes() and len(packed) < 600_000  # a third of the bundle
    assert f"plotly.js (cartesian - minified) v{PLOTLY_JS_VERSION}" in plotly_js()[:200]
    assert "window.Plotly = Plotly" in plotly_js()[-200:]


def test_the_bundle_draws_every_trace_type_the_figures_use():
    """The cartesian bundle has bar, heatmap and scatter (what workbench/present draws); a figure module
    that starts using another trace type must check the bundle has it."""
    used = set()
    for path in (ROOT / "workbench" / "present").glob("*figures.py"):
        text = path.read_text()
        used |= {t for t in ("bar", "heatmap", "scatter", "histogram", "box", "violin", "pie", "contour")
                 if f"add_{t}(" in text or f"go.{t.capitalize()}(" in text}
    assert used == {"bar", "heatmap", "scatter"}
    head = plotly_js()[:2000]
    assert "cartesian" in head


def test_figure_html_draws_one_figure_into_its_div():
    html = figure_html(_figure(), "fig-1")
    assert html.startswith('<div id="fig-1" class="wb-plot"></div>')
    spec = json.loads(html[html.index("var s=") + 6:html.index(";(window.wbPlotly")])
    assert spec["data"] == figure_json(_figure())["data"] and spec["config"]["displaylogo"] is False
    assert 'Plotly.newPlot("fig-1",s.data,s.layout,s.config)' in html


def test_the_page_bundle_is_the_shipped_one_gzipped_once():
    loader = bundle_loader()
    packed = loader[loader.index('atob("') + 6:loader.index('")')]
    assert gzip.decompress(base64.b64decode(packed)) == BUNDLE.read_bytes()
    assert len(loader) < 800_000 < BUNDLE.stat().st_size  # ~0.7 MB in the page instead of 1.5 MB


def test_add_static_figures_draws_each_figure_and_inlines_the_bundle_once():
    import nbformat

    fig = figure_json(_figure())
    notebook = nbformat.v4.new_notebook()
    cells = [nbformat.v4.new_code_cell("f") for _ in range(3)]
    cells[0].outputs = [nbformat.v4.new_output("display_data", data={PLOTLY_MIME: fig, "text/plain": "Figure"})]
    cells[1].outputs = [nbformat.v4.new_output("display_data", data={"text/html": "<p>a table</p>"})]
    cells[2].outputs = [nbformat.v4.new_output("display_data", data={PLOTLY_MIME: fig})]
    notebook.cells = cells
    assert add_static_figures(notebook) == 2
    first, second = (c.outputs[0].data["text/html"] for c in (cells[0], cells[2]))
    assert first == bundle_loader() + "\n" + figure_html(fig, "wb-figure-1")
    assert second == figure_html(fig, "wb-figure-2")
    assert cells[1].outputs[0].data["text/html"] == "<p>a table</p>"


def test_an_explorer_carries_a_static_fallback_naming_the_kernel():
    frame = pl.DataFrame({"x": [float(i % 7) for i in range(300)]})
    explorer = DriftExplorer(check_drift(frame, frame))
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    html = bundle["text/html"]
    assert "DriftExplorer</b>: its interactive charts need a live Jupyter kernel; run this cell" in html
    assert explorer._header() in html  # the findings are still there


def test_the_first_explorer_imports_neither_figurewidget_nor_nbformat():
    """What made the first widget take 6-14 s: plotly's FigureWidget imports nbformat -> jsonschema ->
    rfc3987_syntax, which builds 39 grammars. An explorer must not load any of them."""
    code = ("import sys, polars as pl\nfrom workbench.drift import check_drift\n"
            "from workbench.widgets import DriftExplorer\n"
            "f = pl.DataFrame({'x': [float(i % 7) for i in range(300)]})\n"
            "DriftExplorer(check_drift(f, f))._repr_mimebundle_()\n"
            "print(sorted(m for m in ('nbformat', 'rfc3987_syntax', 'lark', 'plotly.basewidget') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                         env=os.environ | {"PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("trait", ["figure", "config"])
def test_only_small_json_is_synced(trait):
    plot = PlotWidget(_figure())
    assert len(json.dumps(getattr(plot, trait))) < 20_000  # no bundle in the widget state


@pytest.mark.slow
def test_a_static_export_of_an_executed_notebook_says_the_explorer_needs_a_kernel(tmp_path):
    """nbconvert's HTML of a notebook run and saved without widget state (JupyterLab and VS Code save
    none by default; `jupyter nbconvert --execute --ExecutePreprocessor.store_widget_state=False`) shows
    the explorer's text/html fallback, not a blank widget area."""
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(
        "import polars as pl\nfrom workbench.drift import check_drift\nfrom workbench.widgets import DriftExplorer\n"
        "f = pl.DataFrame({'x': [float(i % 7) for i in range(300)]})\n"
        "DriftExplorer(check_drift(f, f.with_columns(x=pl.col('x') * 3)))")]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(notebook, timeout=300, kernel_name="python3", store_widget_state=False,
                   resources={"metadata": {"path": str(ROOT)}}).execute(env=os.environ | {"PYTHONPATH": str(ROOT)})
    (output,) = notebook.cells[0].outputs
    assert {"application/vnd.jupyter.widget-view+json", "text/html"} <= set(output["data"])
    html, _ = HTMLExporter().from_notebook_node(notebook)
    assert "DriftExplorer</b>: its interactive charts need a live Jupyter kernel" in html
    assert "distribution_drift" in html  # the findings table is there
    assert "application/vnd.jupyter.widget-view+json" not in html
