"""Plotly figures built from a leakage result's tables (no statistics computed here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from workbench.findings.model import CheckResult

KIND_COLORS = {"future_data": "#b3261e", "non_asof_join": "#d97706", "late_arrival": "#7c3aed",
               "feature_mismatch": "#475569"}


def lag_figure(result: CheckResult, feature: str) -> go.Figure:
    """Bar chart of how far past the prediction time a feature's leaking data lies, per kind."""
    import plotly.graph_objects as go

    hist = result.to_polars("lag_histogram")
    rows = hist.filter(pl.col("feature") == feature) if hist.height else hist
    fig = go.Figure()
    for kind in rows["kind"].unique(maintain_order=True).to_list() if rows.height else []:
        part = rows.filter(pl.col("kind") == kind)
        fig.add_bar(x=part["bin"].to_list(), y=part["rows"].to_list(), name=kind,
                    marker_color=KIND_COLORS.get(kind, "#64748b"))
    fig.update_layout(title=f"{feature}: lag of leaking data past the prediction time", barmode="group",
                      xaxis_title="lag", yaxis_title="rows", height=320, margin={"t": 50, "b": 40, "l": 50, "r": 10})
    return fig


def lateness_figure(result: CheckResult) -> go.Figure:
    """Bar chart of each source's lateness (available time - event time) distribution."""
    import plotly.graph_objects as go

    hist = result.to_polars("lateness_histogram")
    fig = go.Figure()
    for source in hist["source"].unique(maintain_order=True).to_list() if hist.height else []:
        part = hist.filter(pl.col("source") == source)
        fig.add_bar(x=part["bin"].to_list(), y=part["rows"].to_list(), name=source)
    fig.update_layout(title="Lateness per source (available time - event time)", barmode="group",
                      xaxis_title="lateness", yaxis_title="rows", yaxis_type="log", height=320,
                      margin={"t": 50, "b": 40, "l": 50, "r": 10})
    return fig
