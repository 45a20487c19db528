"""SubgroupExplorer and CalibrationExplorer render a performance (or calibration) result and never recompute."""

from __future__ import annotations

from html import escape
from types import SimpleNamespace

import polars as pl
import pytest
from test_performance_sample import ARGS, DATA

from workbench.errors import ConfigError
from workbench.findings.html import glance_html, result_html
from workbench.performance import check_performance, check_subgroups
from workbench.present.performance_figures import heatmap_figure, ranked_alerts, scope_of, segments_figure
from workbench.widgets import CalibrationExplorer, SubgroupExplorer


@pytest.fixture(scope="module")
def result():
    return check_performance(DATA / "predictions.parquet", reference=DATA / "reference.parquet", **ARGS)


def test_alerts_are_ranked_by_impact_and_picking_one_draws_its_segment(result):
    explorer = SubgroupExplorer.from_result(result)
    assert "application/vnd.jupyter.widget-view+json" in explorer._repr_mimebundle_()
    alerts = ranked_alerts(result)
    impacts = [f.metrics["impact"] for f in alerts]
    assert impacts == sorted(impacts, reverse=True)
    eu = next(i for i, f in enumerate(alerts) if f.kind == "performance_drop" and scope_of(f) == "region=eu")
    explorer.alert.value = eu
    assert explorer.timeline.layout.title.text.startswith("region=eu over time")
    spans = [f.scope["window"] for f in result.by_kind("performance_drop") if scope_of(f) == "region=eu"]
    assert len(explorer.timeline.layout.shapes) == len(spans) >= 1  # each alert's span on eu, shaded
    values = [v for v in explorer.timeline.data[0].y]
    table = result.to_polars("windows").filter((pl.col("scope") == "region=eu") & (pl.col("windows") == 1))
    assert values == table.sort("window_start")["value"].to_list()


def test_heatmap_click_and_segment_click_draw_that_scope(result):
    explorer = SubgroupExplorer(result)
    trace = explorer.heatmap.data[0]
    row = list(trace.y).index("device=mobile")
    explorer._on_heatmap_click(trace, SimpleNamespace(point_inds=[[row, 3]]))
    assert explorer.timeline.layout.title.text.startswith("device=mobile")
    seg = explorer.segments.data[0]
    explorer._on_segment_click(seg, SimpleNamespace(point_inds=[0]))
    assert explorer.timeline.layout.title.text.startswith(seg.y[0])


def test_figures_mark_the_alerts_and_show_untested_cells_blank(result):
    seg = segments_figure(result).data[0]
    red = [s for s, c in zip(seg.y, seg.marker.color, strict=True) if c == "#b3261e"]
    assert "region=apac, device=tablet" in red
    heat = heatmap_figure(result).data[0]
    test_row = heat.z[list(heat.y).index("region=test")]
    assert all(v is None for v in test_row)


def test_calibration_explorer_switches_scope_and_bins(result):
    explorer = CalibrationExplorer.from_result(result)
    assert explorer.scope.value == "all"
    explorer.strategy.value = "equal_mass"
    names = [t.name for t in explorer.figure.data]
    assert names == ["calibrated", "reference", "current"]
    explorer.scope.value = "region=eu"
    assert explorer.figure.layout.title.text == "Reliability, region=eu (equal mass bins)"
    assert "<th>ece</th>" in explorer.table.value


def test_calibration_explorer_of_a_performance_result_heads_with_its_calibration_alerts_only(result):
    header = CalibrationExplorer.from_result(result).widget.children[0].value
    assert header.startswith(glance_html(result.glance()))  # the shared at-a-glance header first
    alerts = [f for f in result.findings if f.kind in ("calibration_drift", "overconfident", "underconfident")]
    assert alerts and header.count("<li>") == len(alerts)
    assert all(escape(f.message) in header for f in alerts)
    disparities = result.by_kind("segment_disparity")
    assert disparities and not any(escape(f.message) in header for f in disparities)
    assert SubgroupExplorer.from_result(result).widget.children[0].value == result_html(result)


def test_explorers_refuse_results_they_cannot_show():
    from workbench.findings.model import CheckResult

    with pytest.raises(ConfigError, match=r"SubgroupExplorer shows 'performance' results, got a 'drift' result: "
                                          r"open it with DriftExplorer\.from_result\(result\)"):
        SubgroupExplorer.from_result(CheckResult("drift", (), ()))
    plain = check_subgroups(pl.read_parquet(DATA / "reference.parquet"), target="label", prediction="prediction",
                            by="region")
    with pytest.raises(ConfigError, match=r"CalibrationExplorer reads the table\(s\) \['reliability', 'calibration'\] "
                                          r"of the result; this 'performance' result has .*"
                                          r"check_calibration\(\.\.\.\), or check_performance\(\.\.\., score=\.\.\., "
                                          r"reference=\.\.\.\).* "
                                          r"open with SubgroupExplorer\.from_result\(result\)\."):
        CalibrationExplorer.from_result(plain)


def test_calibration_table_shows_why_a_slope_was_not_estimated_instead_of_none():
    import numpy as np

    from workbench.performance import check_calibration
    from workbench.widgets.performance import calibration_table_html

    rng = np.random.default_rng(3)
    frame = pl.DataFrame({"p": rng.uniform(0, 1, 2000)}).with_columns(y=(pl.col("p") > 0.5).cast(pl.Int8))
    result = check_calibration(frame, frame, score="p", target="y", min_support=10)  # perfectly separated: no slope
    note = result.to_polars("calibration")["slope_note"].item()
    assert "perfectly separated" in note
    html = calibration_table_html(result)
    assert note in html
    assert ">None<" not in html
