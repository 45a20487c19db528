"""Plotly figures built from a performance result's tables (no statistics computed here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from workbench.findings.model import CheckResult, Finding

RED, GREY, BLUE = "#b3261e", "#475569", "#2563eb"
_MARGIN = {"t": 50, "b": 40, "l": 190, "r": 10}


def scope_of(finding: Finding) -> str:
    """A finding's segment as the tables name it: ``"all"`` or ``"col=value, col2=value2"``."""
    segment = finding.scope.get("segment") or {}
    return ", ".join(f"{k}={v}" for k, v in segment.items()) or "all"


def ranked_alerts(result: CheckResult) -> list[Finding]:
    """``performance_drop`` and ``segment_disparity`` findings, largest impact first."""
    alerts = [f for f in result.findings if f.kind in ("performance_drop", "segment_disparity")]
    return sorted(alerts, key=lambda f: -(f.metrics.get("impact") or 0))


def segments_figure(result: CheckResult, metric: str = "accuracy") -> go.Figure:
    """Each conclusive segment's ``metric`` with its interval; the dashed line is all traffic;
    red: a ``segment_disparity`` alert."""
    import plotly.graph_objects as go

    table = result.to_polars("segments")
    fig = go.Figure()
    if metric not in table.columns:
        return fig.update_layout(title=f"No {metric} in this result", height=200)
    flagged = {scope_of(f) for f in result.by_kind("segment_disparity")}
    rows = table.filter((pl.col("scope") != "all") & pl.col("conclusive").fill_null(False)).sort(metric).reverse()
    value = rows[metric]
    fig.add_scatter(
        x=value.to_list(), y=rows["scope"].to_list(), mode="markers",
        marker={"size": 9, "color": [RED if s in flagged else GREY for s in rows["scope"]]},
        error_x={"type": "data", "symmetric": False, "array": (rows[f"{metric}_high"] - value).to_list(),
                 "arrayminus": (value - rows[f"{metric}_low"]).to_list()},
        customdata=rows["n"].to_list(), name=metric,
        hovertemplate="%{y}: %{x:.3f} (n=%{customdata:,})<extra></extra>")
    overall = table.filter(pl.col("scope") == "all")[metric]
    if overall.len():
        fig.add_vline(x=overall.item(), line_dash="dash", line_color="#94a3b8")
    fig.update_layout(title=f"{metric} by segment (interval; dashed: all traffic; red: alert)",
                      height=max(260, 22 * rows.height + 90), margin=_MARGIN, clickmode="event")
    return fig


def heatmap_figure(result: CheckResult, depth: int = 1) -> go.Figure:
    """Scopes (up to ``depth`` segment columns) × windows: the difference to the scope's own
    baseline, in points; untested cells are blank."""
    import plotly.graph_objects as go

    fig = go.Figure()
    if "windows" not in result.tables:
        return fig.update_layout(title="No timestamp given: no windows", height=200)
    cells = result.to_polars("windows").filter((pl.col("windows") == 1) & (pl.col("depth") <= depth))
    if cells.height == 0:
        return fig.update_layout(title="No windows", height=200)
    cells = cells.with_columns(z=pl.when(pl.col("tested")).then(pl.col("difference")).otherwise(None))
    starts = sorted(cells["window_start"].unique().to_list())
    scopes = sorted(cells["scope"].unique().to_list(), key=lambda s: (s != "all", s))[::-1]  # "all" on top
    index = {(r["scope"], r["window_start"]): r["z"] for r in cells.select("scope", "window_start", "z").iter_rows(
        named=True)}
    z = [[index.get((scope, t)) for t in starts] for scope in scopes]
    fig.add_heatmap(z=z, x=starts, y=scopes,
                    colorscale="RdBu", zmid=0, colorbar={"title": "vs baseline"},
                    hovertemplate="%{y} at %{x}: %{z:+.3f}<extra></extra>")
    fig.update_layout(title="Each scope per window against its own baseline (blank: too few rows to test)",
                      height=max(260, 22 * len(scopes) + 110), margin=_MARGIN, clickmode="event")
    return fig


def timeline_figure(result: CheckResult, scope: str) -> go.Figure:
    """One scope over time: its value per window with the interval of the difference to its
    baseline, the baseline as a line, and the span of any alert on it shaded."""
    import plotly.graph_objects as go

    fig = go.Figure()
    if "windows" not in result.tables:
        return fig.update_layout(title="No timestamp given: no windows", height=200)
    cells = result.to_polars("windows").filter((pl.col("scope") == scope) & (pl.col("windows") == 1)).sort(
        "window_start")
    x = cells["window_start"].to_list()
    fig.add_scatter(x=x, y=cells["value"].to_list(), mode="lines+markers", name=scope, line={"color": BLUE},
                    customdata=cells["n"].to_list(), hovertemplate="%{x}: %{y:.3f} (n=%{customdata:,})<extra></extra>")
    fig.add_scatter(x=x, y=cells["baseline"].to_list(), mode="lines", name="baseline (other windows)",
                    line={"color": GREY, "dash": "dash"})
    for f in result.by_kind("performance_drop"):
        if scope_of(f) == scope and "window" in f.scope:
            fig.add_vrect(x0=f.scope["window"][0], x1=f.scope["window"][1], fillcolor=RED, opacity=0.15, line_width=0)
    fig.update_layout(title=f"{scope} over time (shaded: alert)", height=320, margin={**_MARGIN, "l": 60})
    return fig


def reliability_figure(result: CheckResult, scope: str = "all", strategy: str = "equal_width") -> go.Figure:
    """Reliability diagram of one scope: observed positive rate against mean score per bin, with
    Wilson intervals, reference and current; the diagonal is perfect calibration."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"color": "#94a3b8", "dash": "dot"}, name="calibrated")
    if "reliability" not in result.tables:
        return fig.update_layout(title="No calibration in this result", height=360)
    table = result.to_polars("reliability").filter((pl.col("scope") == scope) & (pl.col("strategy") == strategy))
    for side, color in (("reference", GREY), ("current", BLUE)):
        part = table.filter(pl.col("side") == side).sort("bin")
        if part.height == 0:
            continue
        rate = part["positive_rate"]
        fig.add_scatter(x=part["mean_score"].to_list(), y=rate.to_list(), mode="lines+markers", name=side,
                        line={"color": color},
                        error_y={"type": "data", "symmetric": False,
                                 "array": (part["positive_rate_high"] - rate).to_list(),
                                 "arrayminus": (rate - part["positive_rate_low"]).to_list()},
                        customdata=part["n"].to_list(),
                        hovertemplate="score %{x:.3f} → observed %{y:.3f} (n=%{customdata:,})<extra>" + side
                                      + "</extra>")
    fig.update_layout(title=f"Reliability, {scope} ({strategy.replace('_', ' ')} bins)", height=420,
                      xaxis={"title": "mean score", "range": [0, 1]}, yaxis={"title": "observed rate", "range": [0, 1]},
                      margin={**_MARGIN, "l": 60})
    return fig


def calibration_scopes(result: CheckResult) -> list[str]:
    """Scopes that have a reliability curve, overall first."""
    if "reliability" not in result.tables:
        return []
    scopes = result.to_polars("reliability")["scope"].unique(maintain_order=True).to_list()
    return sorted(scopes, key=lambda s: (s != "all", s))
