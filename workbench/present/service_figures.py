"""Plotly figures built from a service result's tables (no statistics computed here).

Each function takes the :class:`~workbench.findings.CheckResult` of ``check_service`` and returns a plain
``go.Figure`` (the explorer and the ``service_health`` report both draw them). A figure whose table the
result lacks (no spans, no metrics) says so in its title. Time series are drawn at most
:data:`MAX_POINTS` points per line: a longer series is drawn every k-th sample (the title says so), and the
alert windows of the findings about it are shaded, so a thinned line never hides where an alert is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from workbench.findings.model import CheckResult, Finding

SEVERITY_COLORS = {"critical": "#b3261e", "warning": "#d97706", "info": "#64748b"}
MAX_POINTS = 400
RATES = {"retries": ("retry_storm", "retries per original request"),
         "fallbacks": ("fallback_rate_increase", "fallbacks per request"),
         "timeouts": ("timeout_rate_increase", "timeouts per request")}
_MARGIN = {"t": 50, "b": 40, "l": 60, "r": 10}


def scope_of(finding: Finding) -> str:
    """A finding's segment as the tables name it: ``"all"`` or ``"col=value, col2=value2"``."""
    segment = finding.scope.get("segment") or {}
    return ", ".join(f"{k}={v}" for k, v in segment.items()) or "all"


def window_of(finding: Finding) -> tuple[dt.datetime, dt.datetime] | None:
    """The finding's time window (``scope["window"]`` as ISO times, else ``metrics["window_start"/"_end"]``),
    as UTC datetimes; None when it has none."""
    window = finding.scope.get("window")
    bounds = list(window) if isinstance(window, list | tuple) and len(window) == 2 else [
        finding.metrics.get("window_start"), finding.metrics.get("window_end")]
    if bounds[0] is None or bounds[1] is None:
        return None
    start, end = (b if isinstance(b, dt.datetime) else dt.datetime.fromisoformat(str(b)) for b in bounds)
    return _utc(start), _utc(end)


def focus_range(finding: Finding, *, least: dt.timedelta = dt.timedelta(hours=1)) -> list[dt.datetime] | None:
    """A time axis range around the finding's window: the window widened by half its length (at least
    ``least``) on both sides; None without a window."""
    window = window_of(finding)
    if window is None:
        return None
    pad = max(window[1] - window[0], least) / 2
    return [window[0] - pad, window[1] + pad]


def _utc(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def alerts(result: CheckResult) -> list[Finding]:
    """The warning and critical findings, worst first, then by start (those without a window last)."""
    rank = {"critical": 0, "warning": 1}
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    found = [f for f in result.findings if f.severity in rank]
    return sorted(found, key=lambda f: (rank[f.severity], (window_of(f) or (far, far))[0], f.kind, f.id))


def alert_label(finding: Finding) -> str:
    """One line naming an alert: severity, kind, subject and scope."""
    scope = scope_of(finding)
    return f"{finding.severity} · {finding.kind} · {finding.subject}" + ("" if scope == "all" else f" · {scope}")


def _shade(fig: go.Figure, findings: Iterable[Finding], **where: Any) -> None:
    """A translucent band over each finding's window, in its severity's colour."""
    for f in findings:
        window = window_of(f)
        if window is not None:
            fig.add_vrect(x0=window[0], x1=window[1], fillcolor=SEVERITY_COLORS[f.severity], opacity=0.15,
                          line_width=0, **where)


def _thin(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Every k-th row, k the smallest that leaves at most :data:`MAX_POINTS` rows; and k."""
    step = max(1, -(-frame.height // MAX_POINTS))
    return frame.gather_every(step), step


def stage_figure(result: CheckResult, scope: str = "all") -> go.Figure:
    """Per stage of ``scope``: p50, p95 and p99 latency (ms, log scale) and the stage's share of the
    request's latency; red: a stage with a ``stage_latency_regression`` finding on that scope."""
    import plotly.graph_objects as go

    fig = go.Figure()
    if "stages" not in result.tables:
        return fig.update_layout(title="No spans given: no stage breakdown", height=200)
    rows = result.to_polars("stages").filter(pl.col("scope") == scope)
    flagged = {f.subject for f in result.by_kind("stage_latency_regression") if scope_of(f) == scope}
    labels = [f"{s} ({share:.0%})" if share is not None else s
              for s, share in zip(rows["stage"], rows["share_of_request"], strict=True)]
    for column, color in (("p50_ms", "#94a3b8"), ("p95_ms", "#475569"), ("p99_ms", "#1e293b")):
        fig.add_bar(y=labels, x=rows[column].to_list(), orientation="h", name=column.removesuffix("_ms"),
                    marker_color=color, customdata=rows["n"].to_list(),
                    hovertemplate="%{y}: %{x:,.1f} ms (n=%{customdata:,})<extra>" + column + "</extra>")
    for i, stage in enumerate(rows["stage"]):
        if stage in flagged:
            fig.add_annotation(y=labels[i], x=1, xref="paper", text="regressed", showarrow=False,
                               font={"color": SEVERITY_COLORS["critical"]}, xanchor="right")
    fig.update_layout(title=f"Stage latency on {scope} (share of the request's latency)", barmode="group",
                      xaxis={"type": "log", "title": "ms"}, height=120 + 60 * max(rows.height, 1),
                      margin={**_MARGIN, "l": 160})
    return fig


def rates_figure(result: CheckResult, scope: str = "all") -> go.Figure:
    """Retries per original request, fallbacks and timeouts per request on ``scope`` in each base window,
    with the windows of the findings about them on that scope shaded."""
    import plotly.graph_objects as go

    fig = go.Figure()
    present = [name for name in RATES if name in result.tables]
    if not present:
        return fig.update_layout(title="No request log given: no request rates", height=200)
    every = _every(result)
    for name in present:
        kind, label = RATES[name]
        table = result.to_polars(name).filter((pl.col("scope") == scope) & (pl.col("scale") == 1))
        subjects = table["subject"].unique(maintain_order=True).to_list() if "subject" in table.columns else [None]
        for subject in subjects:
            part = table if subject is None else table.filter(pl.col("subject") == subject)
            part = part.sort("window")
            starts = [_epoch(w * every) for w in part["window"]]
            fig.add_scatter(x=starts, y=part["rate"].to_list(), mode="lines", line={"shape": "hv"},
                            name=label + ("" if subject in (None, "timeouts") else f" ({subject})"),
                            customdata=part["n"].to_list(),
                            hovertemplate="%{x}: %{y:.3g} (n=%{customdata:,})<extra></extra>")
        _shade(fig, [f for f in result.by_kind(kind) if scope_of(f) == scope and f.severity != "info"])
    fig.update_layout(title=f"Request rates on {scope} per {_duration(every)} window (alert windows shaded)",
                      yaxis_title="events per request", height=340, margin=_MARGIN, hovermode="x unified")
    return fig


def queue_figure(result: CheckResult) -> go.Figure:
    """Each queue's depth (items), with the ``queue_backpressure`` windows shaded and the samples with
    rejections marked."""
    import plotly.graph_objects as go

    fig = go.Figure()
    if "queues" not in result.tables or not result.tables["queues"].height:
        return fig.update_layout(title="No queue metrics given", height=200)
    table = result.to_polars("queues")
    keys = [c for c in table.columns if c not in ("timestamp", "depth", "arrival_rate", "service_rate", "rejected",
                                                  "growing")]
    step = 1
    for key, part in table.sort("timestamp").group_by(keys, maintain_order=True):
        name = ", ".join(f"{k}={v}" for k, v in zip(keys, key, strict=True)) or "queue"
        thin, step = _thin(part)
        fig.add_scatter(x=thin["timestamp"].to_list(), y=thin["depth"].to_list(), mode="lines", name=name)
        rejected = part.filter(pl.col("rejected").fill_null(0) > 0)
        if rejected.height:
            thin_rejected, _ = _thin(rejected)
            fig.add_scatter(x=thin_rejected["timestamp"].to_list(), y=thin_rejected["depth"].to_list(),
                            mode="markers", marker={"color": SEVERITY_COLORS["critical"], "size": 5},
                            name=f"{name}: rejecting", customdata=thin_rejected["rejected"].to_list(),
                            hovertemplate="%{x}: depth %{y:,.0f}, %{customdata:,.0f} rejected<extra></extra>")
    _shade(fig, result.by_kind("queue_backpressure"))
    fig.update_layout(title="Queue depth (backpressure windows shaded" + _every_kth(step) + ")",
                      yaxis_title="items", height=320, margin=_MARGIN)
    return fig


def gpu_figure(result: CheckResult) -> go.Figure:
    """Each GPU's utilization (0..1), with the ``gpu_underutilized`` windows shaded."""
    import plotly.graph_objects as go

    fig = go.Figure()
    if "gpu" not in result.tables or not result.tables["gpu"].height:
        return fig.update_layout(title="No GPU metrics given", height=200)
    table = result.to_polars("gpu")
    keys = [c for c in table.columns if c not in ("timestamp", "utilization", "memory_share", "wait_share",
                                                  "throughput", "traffic", "state")]
    step = 1
    for key, part in table.sort("timestamp").group_by(keys, maintain_order=True):
        name = ", ".join(f"{k}={v}" for k, v in zip(keys, key, strict=True)) or "GPU"
        thin, step = _thin(part)
        fig.add_scatter(x=thin["timestamp"].to_list(), y=thin["utilization"].to_list(), mode="lines", name=name,
                        hovertemplate="%{x}: %{y:.0%}<extra>" + name + "</extra>")
    _shade(fig, result.by_kind("gpu_underutilized"))
    fig.update_layout(title="GPU utilization (under-used windows shaded" + _every_kth(step) + ")",
                      yaxis={"title": "utilization", "tickformat": ".0%", "range": [0, 1.05]}, height=320,
                      margin=_MARGIN)
    return fig


def timeline_figure(result: CheckResult) -> go.Figure:
    """The incident timeline: one bar per alert over its window (colour: severity), on one time axis, with
    each incident of the ``incidents`` table shaded and named by its probable first cause. A bar's
    ``customdata`` is its finding's id (the explorer selects the finding clicked)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    timed = [(f, w) for f in alerts(result) if (w := window_of(f)) is not None]
    if not timed:
        return fig.update_layout(title="No alerts with a time window", height=200)
    timed.sort(key=lambda fw: fw[1][0])
    for severity in ("critical", "warning"):
        part = [(f, w) for f, w in timed if f.severity == severity]
        if not part:
            continue
        fig.add_bar(base=[w[0] for _, w in part], x=[(w[1] - w[0]).total_seconds() * 1000 or 60_000 for _, w in part],
                    y=[alert_label(f) for f, _ in part], orientation="h", name=severity,
                    marker_color=SEVERITY_COLORS[severity], customdata=[f.id for f, _ in part],
                    hovertext=[f.message for f, _ in part], hovertemplate="%{hovertext}<extra></extra>")
    if "incidents" in result.tables:
        for row in result.to_polars("incidents").iter_rows(named=True):
            fig.add_vrect(x0=row["start"], x1=row["end"], fillcolor="#94a3b8", opacity=0.12, line_width=0,
                          annotation_text=f"incident {row['incident']}: {row['first_cause']}",
                          annotation_position="top left", annotation_font_size=10)
    fig.update_layout(title="Incident timeline (click an alert for its scope)", xaxis={"type": "date"},
                      yaxis={"categoryorder": "array", "categoryarray": [alert_label(f) for f, _ in reversed(timed)],
                             "automargin": True},
                      height=160 + 24 * len(timed), margin={**_MARGIN, "l": 10}, barmode="overlay")
    return fig


def _every(result: CheckResult) -> dt.timedelta:
    """The result's base window (a timedelta in a live result, seconds in one read back from JSON)."""
    window = result.parameters.get("window", 300)
    return window if isinstance(window, dt.timedelta) else dt.timedelta(seconds=float(window))


def _epoch(offset: dt.timedelta) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + offset


def _duration(every: dt.timedelta) -> str:
    seconds = int(every.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _every_kth(step: int) -> str:
    return "" if step == 1 else f"; one sample in {step} drawn"


__all__ = ["alert_label", "alerts", "focus_range", "gpu_figure", "queue_figure", "rates_figure", "scope_of",
           "stage_figure", "timeline_figure", "window_of"]
