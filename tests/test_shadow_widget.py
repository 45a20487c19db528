"""ShadowExplorer widget, figures and HTML: they render the result and never recompute."""

from __future__ import annotations

from types import SimpleNamespace

import polars as pl
import pytest
from test_shadow_foundation import shadow_logs
from test_shadow_sample import DATA, END, ROLES

from workbench.errors import ConfigError
from workbench.present.html import result_page
from workbench.present.shadow_figures import accuracy_figure, disagreement_figure, latency_figure
from workbench.shadow import Guardrails, check_shadow
from workbench.widgets import ShadowExplorer

RED = "#b3261e"


@pytest.fixture(scope="module")
def result():
    return check_shadow(DATA / "production.parquet", DATA / "candidate.parquet", labels=DATA / "labels.parquet",
                        label_time="label_time", as_of=END, **ROLES)


def test_figures_mark_the_segments_with_findings(result):
    dis = disagreement_figure(result).data[0]
    assert [s for s, c in zip(dis.y, dis.marker.color, strict=True) if c == RED] == ["region=latam"]
    acc = accuracy_figure(result).data[0]
    assert [s for s, c in zip(acc.y, acc.marker.color, strict=True) if c == RED] == ["region=latam"]
    table = result.to_polars("accuracy").filter(pl.col("scope") == "region=latam")
    i = list(acc.y).index("region=latam")
    assert acc.x[i] == pytest.approx(table["difference"].item())


def test_latency_figure_draws_both_distributions_from_the_result(result):
    fig = latency_figure(result)
    cdf = {t.name: t for t in fig.data if t.mode == "lines"}
    assert set(cdf) == {"production", "candidate"}
    dist = result.to_polars("latency_distribution").filter(pl.col("side") == "candidate")
    assert list(cdf["candidate"].x) == dist["value"].to_list()
    lat = pl.read_parquet(DATA / "candidate.parquet")["latency_ms"]
    assert dist.filter(pl.col("level") == 1.0)["value"].item() == lat.max()


def test_widget_renders_and_a_click_shows_that_segment(result):
    explorer = ShadowExplorer.from_result(result)
    assert "application/vnd.jupyter.widget-view+json" in explorer._repr_mimebundle_()
    trace = explorer.accuracy.data[0]
    explorer._on_click(trace, SimpleNamespace(point_inds=[list(trace.y).index("region=latam")]))
    assert "<h4>region=latam</h4>" in explorer.details.value and "only_production=" in explorer.details.value
    html = explorer.widget.children[0].value
    assert "ROLLBACK" in html


def test_widget_handles_a_canary_result_without_predictions_or_labels():
    prod, cand = shadow_logs(3)
    result = check_shadow(prod, cand, id="rid", latency="ms", mode="canary", guardrails=Guardrails(
        require_accuracy=False))
    explorer = ShadowExplorer.from_result(result)
    assert explorer.disagreement.fig.layout.title.text.startswith("No predictions compared")
    assert explorer.accuracy.fig.layout.title.text.startswith("No labels given")


def test_widget_rejects_other_checks():
    from workbench.findings.model import CheckResult

    with pytest.raises(ConfigError, match=r"ShadowExplorer shows 'shadow' results, got a 'drift' result: open it "
                                          r"with DriftExplorer\.from_result\(result\)"):
        ShadowExplorer.from_result(CheckResult("drift", (), ()))


def test_report_page_has_the_verdict_and_every_guardrail(result):
    page = result_page(result)
    assert "ROLLBACK" in page and "<h4>Guardrails</h4>" in page
    assert page.count("<td>accuracy</td>") == result.to_polars("guardrails").filter(
        pl.col("guardrail") == "accuracy").height
