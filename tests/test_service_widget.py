"""ServiceExplorer and the service figures: they draw the result's tables (stage breakdown, request rates, queue
and GPU series with the alert windows shaded, the incident timeline) and never recompute; clicking an alert shows
its scope."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from workbench.errors import ConfigError
from workbench.findings import CheckResult
from workbench.present.html import result_page
from workbench.present.service_figures import (
    MAX_POINTS,
    SEVERITY_COLORS,
    alerts,
    focus_range,
    gpu_figure,
    queue_figure,
    rates_figure,
    stage_figure,
    timeline_figure,
    window_of,
)
from workbench.service import check_service
from workbench.widgets import ServiceExplorer, explore

SERVING = Path(__file__).resolve().parents[1] / "sample_data" / "serving"
LO, HI = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC), dt.datetime(2026, 3, 2, 17, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def result() -> CheckResult:
    """The serving sample's outage afternoon (day 1, 12:00-17:00): request log, its spans and the metrics."""
    requests = pl.read_parquet(SERVING / "requests.parquet").filter(pl.col("timestamp").is_between(LO, HI))
    spans = pl.read_parquet(SERVING / "spans.parquet").filter(
        pl.col("trace_id").is_in(requests["request_id"].implode()))
    metrics = pl.read_parquet(SERVING / "metrics.parquet").filter(pl.col("timestamp").is_between(LO, HI))
    return check_service(requests, spans=spans, metrics=metrics, capacity=3000)


def _shaded(fig) -> list[tuple[str, str]]:
    return sorted((str(s.x0), str(s.x1)) for s in fig.layout.shapes)


def test_the_stage_figure_draws_the_stages_table(result):
    fig = stage_figure(result)
    table = result.to_polars("stages").filter(pl.col("scope") == "all")
    p95 = next(t for t in fig.data if t.name == "p95")
    assert list(p95.x) == table["p95_ms"].to_list()
    assert [y.split(" (")[0] for y in p95.y] == table["stage"].to_list() == ["feature_fetch", "inference",
                                                                               "postprocess"]
    assert [(a.y, a.text) for a in fig.layout.annotations] == [(p95.y[0], "regressed")]  # the outage's 2 s fetches
    assert not stage_figure(result, "client_id=mobile").layout.annotations


def test_the_rate_figure_draws_each_base_window_and_shades_the_alerts(result):
    fig = rates_figure(result)
    retries = next(t for t in fig.data if t.name == "retries per original request")
    table = result.to_polars("retries").filter((pl.col("scope") == "all") & (pl.col("scale") == 1)).sort("window")
    assert list(retries.y) == table["rate"].to_list()
    assert retries.x[0] == dt.datetime.fromtimestamp(table["window"][0] * 300, dt.UTC)
    windows = sorted({(str(w[0]), str(w[1])) for f in result.findings if f.severity != "info"
                      and f.kind in ("retry_storm", "fallback_rate_increase", "timeout_rate_increase")
                      and "segment" not in f.scope and (w := window_of(f))})
    assert sorted(set(_shaded(fig))) == windows
    assert ("2026-03-02 14:00:00+00:00", "2026-03-02 14:40:00+00:00") in windows


def test_the_queue_and_gpu_series_shade_their_findings_and_stay_small(result):
    queues = queue_figure(result)
    (backpressure,) = result.by_kind("queue_backpressure")
    assert _shaded(queues) == [tuple(str(t) for t in window_of(backpressure))]
    rejecting = next(t for t in queues.data if t.name == "host=a, queue=inference: rejecting")
    assert min(rejecting.x) >= dt.datetime(2026, 3, 2, 14, 18, tzinfo=dt.UTC)  # rejections began at 14:18
    gpus = gpu_figure(result)
    assert [t.name for t in gpus.data] == ["host=a, gpu=0", "host=a, gpu=1", "host=b, gpu=0", "host=b, gpu=1"]
    assert not gpus.layout.shapes  # no under-used GPU that afternoon
    assert all(len(t.x) <= MAX_POINTS for fig in (queues, gpus) for t in fig.data)
    depth = result.to_polars("queues").filter(pl.col("host") == "a").sort("timestamp")
    assert (depth.height, len(queues.data[0].x)) == (1801, 361)  # 10-second samples over 5 hours
    assert list(queues.data[0].y) == depth["depth"].gather_every(5).to_list()
    assert queues.layout.title.text == "Queue depth (backpressure windows shaded; one sample in 5 drawn)"


def test_the_timeline_has_one_bar_per_alert_and_the_incidents_shaded(result):
    fig = timeline_figure(result)
    bars = {i: (b, x, t.marker.color) for t in fig.data for i, b, x in zip(t.customdata, t.base, t.x, strict=True)}
    timed = [f for f in alerts(result) if window_of(f)]
    assert set(bars) == {f.id for f in timed}
    for f in timed:
        start, end = window_of(f)
        base, width, color = bars[f.id]
        assert (base, width) == (start, (end - start).total_seconds() * 1000) and color == SEVERITY_COLORS[f.severity]
    incidents = result.to_polars("incidents")
    assert len(fig.layout.shapes) == incidents.height >= 1
    assert fig.layout.annotations[0].text == f"incident 1: {incidents['first_cause'][0]}"


def test_figures_of_a_result_without_spans_or_metrics_say_so():
    log = pl.read_parquet(SERVING / "requests.parquet").filter(pl.col("timestamp").is_between(LO, HI))
    only_log = check_service(log)
    assert stage_figure(only_log).layout.title.text == "No spans given: no stage breakdown"
    assert queue_figure(only_log).layout.title.text == "No queue metrics given"
    assert gpu_figure(only_log).layout.title.text == "No GPU metrics given"
    assert rates_figure(only_log).data


def test_clicking_an_alert_shows_its_scope(result):
    explorer = explore(result)
    assert isinstance(explorer, ServiceExplorer)
    assert "application/vnd.jupyter.widget-view+json" in explorer._repr_mimebundle_()
    assert "pick one above" in explorer.details.value
    (storm,) = [f for f in result.by_kind("retry_storm") if f.scope.get("segment") == {"client_id": "batch-scorer"}
                and f.metrics.get("rule") == "retry_rate"]
    index = next(i for i, t in enumerate(explorer.timeline.data) if storm.id in t.customdata)
    point = list(explorer.timeline.data[index].customdata).index(storm.id)
    explorer.timeline.click([{"trace": index, "point": point}])  # as the front end reports a click
    assert explorer.picker.value == storm.id
    assert "<h4>critical · retry_storm · retries · client_id=batch-scorer</h4>" in explorer.details.value
    assert "Incident " in explorer.details.value and "probable first cause" in explorer.details.value
    assert explorer.stages.fig.layout.title.text == \
        "Stage latency on client_id=batch-scorer (share of the request's latency)"
    assert explorer.rates.fig.layout.title.text.startswith("Request rates on client_id=batch-scorer per 5m window")
    assert list(explorer.rates.fig.layout.xaxis.range) == focus_range(storm)
    assert focus_range(storm) == [dt.datetime(2026, 3, 2, 13, 30, tzinfo=dt.UTC),  # 14:00-15:00, padded 30 minutes
                                  dt.datetime(2026, 3, 2, 15, 30, tzinfo=dt.UTC)]
    (queue,) = result.by_kind("queue_backpressure")
    explorer.picker.value = queue.id  # picking in the list does the same
    assert "queue_backpressure" in explorer.details.value and "host=a" in explorer.details.value
    assert list(explorer.queues.fig.layout.xaxis.range) == focus_range(queue)
    assert explorer.queues.figure["layout"]["xaxis"]["range"]  # sent to the front end too
    assert explorer.stages.fig.layout.title.text.startswith("Stage latency on all")  # no stages per queue


def test_a_service_result_without_tables_is_refused_and_the_page_renders(result):
    with pytest.raises(ConfigError, match=r"^ServiceExplorer reads the table\(s\) \['stages', 'retries'"):
        ServiceExplorer.from_result(CheckResult("service", (), ()))
    assert "queue_backpressure" in result_page(result)
