"""The DriftExplorer renders a drift result's tables and never recomputes."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest

from workbench.drift import check_drift
from workbench.errors import ConfigError
from workbench.widgets import DriftExplorer

MON = Path(__file__).resolve().parents[1] / "sample_data" / "monitoring"


@pytest.fixture(scope="module")
def result():
    return check_drift(str(MON / "reference.parquet"), str(MON / "current"), timestamp="ts", exclude=["request_id"],
                       score="score", target="label")


def test_overview_is_sorted_by_effect_relative_to_threshold_with_intervals(result):
    explorer = DriftExplorer.from_result(result)
    shown = {}
    for trace in explorer.effects.data:
        for y, x in zip(trace.y, trace.x, strict=True):
            shown[y] = x
    cols = result.to_polars("columns").filter(pl.col("scope") == "all")
    assert shown == pytest.approx(dict(zip(cols["column"], cols["effect_value"].fill_null(0.0), strict=True)))
    assert explorer.column.options[0] == "latency_ms"  # the largest drift first
    drift_trace = next(t for t in explorer.effects.data if t.name == "drift")
    assert all(v > 0 for v in drift_trace.error_x.array)


def test_heatmap_has_one_row_per_column_and_one_column_per_window(result):
    explorer = DriftExplorer(result)
    heat = explorer.heatmap.data[0]
    assert len(heat.x) == 7 and len(heat.y) == len(explorer.column.options)
    row = list(heat.y).index("basket_value")
    ratios = heat.z[row]
    assert all(r < 1 for r in ratios[:3]) and all(r > 1 for r in ratios[3:])


def test_clicking_a_heatmap_cell_shows_that_column_in_that_window(result):
    explorer = DriftExplorer(result)
    heat = explorer.heatmap.data[0]
    window, row = heat.x[5], list(heat.y).index("country")
    # what plotly's front end sends for a heatmap cell: [row, column], and x reformatted as a date
    explorer._on_heatmap_click(heat, SimpleNamespace(point_inds=[[row, 5]], xs=[window[:10]], ys=["country"]))
    assert (explorer.column.value, explorer.scope.value) == ("country", window)
    bins = result.to_polars("bins").filter((pl.col("column") == "country") & (pl.col("scope") == window)).sort("bin")
    current = explorer.distribution.data[1]
    assert list(current.x) == bins["label"].to_list()
    assert list(current.y) == pytest.approx((bins["current_count"] / bins["current_count"].sum()).to_list())
    assert window in explorer.distribution.fig.layout.title.text


def test_clicking_an_overview_point_picks_the_column(result):
    explorer = DriftExplorer(result)
    trace = next(t for t in explorer.effects.data if t.name == "stable")
    explorer._on_effect_click(trace, SimpleNamespace(point_inds=[0]))
    assert explorer.column.value == trace.y[0]
    assert explorer.distribution.fig.layout.title.text.startswith(trace.y[0])


def test_schema_changes_are_listed(result):
    html = DriftExplorer(result).schema.value
    assert "discount_pct" in html and "renamed" in html and "type_changed" in html


def test_explorer_renders_as_a_widget_bundle_and_rejects_other_checks(result):
    assert "application/vnd.jupyter.widget-view+json" in DriftExplorer(result)._repr_mimebundle_()
    from workbench.findings import CheckResult

    with pytest.raises(ConfigError, match=r"DriftExplorer shows 'drift' results, got a 'leakage' result: open it "
                                          r"with LeakageExplorer\.from_result\(result\)"):
        DriftExplorer.from_result(CheckResult("leakage", (), ()))


def test_explorer_without_windows_has_no_heatmap():
    df = pl.DataFrame({"x": [1.0, 2.0, 3.0] * 100})
    explorer = DriftExplorer(check_drift(df, df))
    assert explorer.heatmap not in explorer.widget.children


def test_heatmap_colour_scale_spans_every_ratio_with_the_threshold_marked(result):
    from workbench.present.drift_figures import heatmap_figure

    heat = heatmap_figure(result).data[0]
    ratios = [v for row in heat.z for v in row if v is not None]
    assert max(ratios) > 3  # the sample drifts far past its thresholds: a scale stopping at 3 would saturate
    assert heat.zmin == 0 and heat.zmax == pytest.approx(max(ratios))  # no cell beyond the scale
    at = 1 / heat.zmax
    scale = [tuple(step) for step in heat.colorscale]
    # greys under the threshold (ratio 1), then light to dark red up to the largest ratio
    assert [c for _, c in scale] == ["#f8fafc", "#cbd5e1", "#fcd5ce", "#7f1d1d"]
    assert [p for p, _ in scale] == pytest.approx([0, at, at, 1])
    assert list(heat.colorbar.tickvals) == pytest.approx([0, 1, heat.zmax])
    assert heat.colorbar.ticktext[1] == "1 (threshold)"


def test_heatmap_with_nothing_over_threshold_keeps_the_threshold_on_its_scale():
    from workbench.present.drift_figures import heatmap_zmax

    assert heatmap_zmax([[0.2, None], [0.9, 0.4]]) == 2.0
    assert heatmap_zmax([[0.2, 7.5], [None, 12.25]]) == 12.25
