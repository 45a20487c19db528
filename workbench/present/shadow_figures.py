"""Plotly figures built from a shadow/canary result's tables (no statistics computed here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from workbench.findings.model import CheckResult

SIDE_COLORS = {"production": "#475569", "candidate": "#2563eb"}
_MARGIN = {"t": 50, "b": 40, "l": 130, "r": 10}


def latency_figure(result: CheckResult) -> go.Figure:
    """Left: each side's latency distribution (cumulative share, log scale). Right: p50, p95 and
    p99 per side with their distribution-free intervals."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("Distribution (share of requests at or below)",
                                                        "Quantiles with intervals"))
    if "latency_distribution" not in result.tables:
        return fig.update_layout(title="No latency given", height=320)
    dist, quant = result.to_polars("latency_distribution"), result.to_polars("latency")
    for side, color in SIDE_COLORS.items():
        part = dist.filter(pl.col("side") == side)
        fig.add_trace(go.Scatter(x=part["value"].to_list(), y=part["level"].to_list(), mode="lines", name=side,
                                 line={"color": color, "shape": "hv"}, legendgroup=side,
                                 hovertemplate="%{y:.1%} of requests ≤ %{x:.4g}<extra>" + side + "</extra>"),
                      row=1, col=1)
        q = quant.filter(pl.col("side") == side)
        fig.add_trace(go.Scatter(
            x=[f"p{round(v * 100)}" for v in q["quantile"]], y=q["value"].to_list(), mode="markers", name=side,
            marker={"color": color, "size": 10}, legendgroup=side, showlegend=False,
            error_y={"type": "data", "symmetric": False, "array": (q["high"] - q["value"]).to_list(),
                     "arrayminus": (q["value"] - q["low"]).to_list()},
            hovertemplate="%{x}: %{y:.4g}<extra>" + side + "</extra>"), row=1, col=2)
    fig.update_xaxes(type="log", title_text="latency", row=1, col=1)
    fig.update_yaxes(tickformat=".0%", row=1, col=1)
    fig.update_yaxes(title_text="latency", row=1, col=2)
    fig.update_layout(title="Latency, production vs candidate", height=360, margin={**_MARGIN, "l": 60},
                      scattermode="group")
    return fig


def disagreement_figure(result: CheckResult) -> go.Figure:
    """Flip rate per segment with its Wilson interval; red: a ``disagreement`` finding; the
    dashed line is the overall flip rate."""
    import plotly.graph_objects as go

    fig = go.Figure()
    if "agreement" not in result.tables:
        return fig.update_layout(title="No predictions compared (canary mode or no prediction=)", height=200)
    table = result.to_polars("agreement")
    flagged = {_scope_label(f.scope) for f in result.by_kind("disagreement")}
    segments = table.filter(pl.col("scope") != "all").reverse()
    flip, low, high = (1 - segments["agreement"]), (1 - segments["agreement_high"]), (1 - segments["agreement_low"])
    fig.add_scatter(
        x=flip.to_list(), y=segments["scope"].to_list(), mode="markers",
        marker={"size": 10, "color": ["#b3261e" if s in flagged else "#475569" for s in segments["scope"]]},
        error_x={"type": "data", "symmetric": False, "array": (high - flip).to_list(),
                 "arrayminus": (flip - low).to_list()},
        customdata=segments["n"].to_list(), name="flip rate",
        hovertemplate="%{y}: %{x:.1%} of requests flipped (n=%{customdata:,})<extra></extra>")
    overall = table.filter(pl.col("scope") == "all")["flip_rate"]
    if overall.len():
        fig.add_vline(x=overall.item(), line_dash="dash", line_color="#94a3b8")
    fig.update_layout(title="Disagreement by segment (flip rate with interval; dashed: overall)",
                      xaxis_tickformat=".0%", height=max(240, 28 * segments.height + 90), margin=_MARGIN,
                      clickmode="event")
    return fig


def accuracy_figure(result: CheckResult) -> go.Figure:
    """Paired accuracy difference (candidate minus production) overall and per segment with its
    interval; dashed: no difference and the tolerated drop; red: an ``accuracy_regression``."""
    import plotly.graph_objects as go

    fig = go.Figure()
    if "accuracy" not in result.tables:
        return fig.update_layout(title="No labels given: accuracy not compared", height=200)
    table = result.to_polars("accuracy").reverse()
    flagged = {_scope_label(f.scope) for f in result.by_kind("accuracy_regression")}
    diff = table["difference"]
    fig.add_scatter(
        x=diff.to_list(), y=table["scope"].to_list(), mode="markers",
        marker={"size": 10, "color": ["#b3261e" if s in flagged else "#475569" for s in table["scope"]]},
        error_x={"type": "data", "symmetric": False, "array": (table["difference_high"] - diff).to_list(),
                 "arrayminus": (diff - table["difference_low"]).to_list()},
        customdata=table["n"].to_list(), name="difference",
        hovertemplate="%{y}: %{x:+.1%} (n=%{customdata:,} labelled)<extra></extra>")
    fig.add_vline(x=0, line_color="#94a3b8")
    tolerance = result.parameters.get("guardrails", {}).get("accuracy_drop")
    if tolerance:
        fig.add_vline(x=-tolerance, line_dash="dash", line_color="#b3261e")
    fig.update_layout(title="Accuracy, candidate minus production (interval; dashed: tolerated drop)",
                      xaxis_tickformat="+.0%", height=max(240, 28 * table.height + 90), margin=_MARGIN,
                      clickmode="event")
    return fig


def segment_details(result: CheckResult, scope: str) -> pl.DataFrame:
    """Every table row about one scope (``"all"`` or ``"column=value"``), one row per table."""
    rows = []
    for name in ("agreement", "scores", "accuracy"):
        if name in result.tables:
            part = result.to_polars(name).filter(pl.col("scope") == scope)
            for r in part.iter_rows(named=True):
                shown = {k: v for k, v in r.items() if k not in ("scope", "column", "segment") and v is not None}
                rows.append({"table": name, "values": ", ".join(f"{k}={_fmt(v)}" for k, v in shown.items())})
    return pl.DataFrame(rows, schema={"table": pl.String, "values": pl.String})


def _scope_label(scope: Mapping[str, Any]) -> str:
    """A finding's scope as the tables name it: ``"all"`` or ``"column=value"``."""
    segment = scope.get("segment") or {}
    return ", ".join(f"{k}={v}" for k, v in segment.items()) or "all"


def _fmt(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
