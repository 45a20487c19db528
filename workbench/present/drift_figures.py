"""Plotly figures built from a drift result's tables (no statistics computed here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from workbench.findings.model import CheckResult

STATUS_COLORS = {"drift": "#b3261e", "small": "#d97706", "stable": "#64748b", "insufficient": "#cbd5e1"}
_MARGIN = {"t": 50, "b": 40, "l": 120, "r": 10}


def overview(result: CheckResult) -> pl.DataFrame:
    """One row per compared column over all of current, sorted by effect relative to its threshold."""
    cols = result.to_polars("columns").filter(pl.col("scope_kind") == "all")
    return cols.with_columns(ratio=pl.col("effect_value") / pl.col("threshold")).sort(
        "ratio", descending=True, nulls_last=True)


def effects_figure(result: CheckResult) -> go.Figure:
    """Each column's governing effect size with its interval, against its threshold."""
    import plotly.graph_objects as go

    rows = overview(result).reverse()  # largest at the top of a horizontal chart
    fig = go.Figure()
    for status, color in STATUS_COLORS.items():
        part = rows.filter(pl.col("status") == status)
        if part.height == 0:
            continue
        value = part["effect_value"].fill_null(0.0)
        fig.add_scatter(
            x=value.to_list(), y=part["column"].to_list(), mode="markers", name=status,
            marker={"color": color, "size": 10},
            error_x={"type": "data", "symmetric": False,
                     "array": (part["effect_high"].fill_null(0.0) - value).to_list(),
                     "arrayminus": (value - part["effect_low"].fill_null(0.0)).to_list()},
            customdata=list(zip(part["effect"].to_list(), part["threshold"].to_list(), strict=True)),
            hovertemplate="%{y}: %{customdata[0]} %{x:.3f} (threshold %{customdata[1]})<extra>%{fullData.name}</extra>",
        )
    for threshold in sorted(set(rows["threshold"].drop_nulls().to_list())):
        fig.add_vline(x=threshold, line_dash="dash", line_color="#94a3b8")
    fig.update_layout(title="Drift by column (effect with interval; dashed: thresholds)", xaxis_title="effect size",
                      height=max(260, 28 * rows.height + 90), margin=_MARGIN, clickmode="event")
    return fig


def heatmap_figure(result: CheckResult) -> go.Figure:
    """Columns × windows: the effect divided by its threshold (1 = at the threshold)."""
    import plotly.graph_objects as go

    cols = result.to_polars("columns").filter(pl.col("scope_kind") == "window")
    fig = go.Figure()
    if cols.height:
        order = overview(result)["column"].to_list()
        windows = sorted(cols["scope"].unique().to_list())
        z, text = [], []
        for column in order:
            part = cols.filter(pl.col("column") == column)
            cell = dict(zip(part["scope"].to_list(),
                            zip(part["effect_value"].to_list(), part["threshold"].to_list(), part["status"].to_list(),
                                strict=True), strict=True))
            z.append([None if cell.get(w) is None or cell[w][0] is None else cell[w][0] / cell[w][1] for w in windows])
            text.append([cell[w][2] if w in cell else "" for w in windows])
        zmax = heatmap_zmax(z)
        fig.add_heatmap(z=z, x=windows, y=order, text=text, colorscale=heatmap_colorscale(zmax), zmin=0, zmax=zmax,
                        colorbar={"title": "effect / threshold", "tickvals": [0, 1, zmax],
                                  "ticktext": ["0", "1 (threshold)", f"{zmax:.3g}"]},
                        hovertemplate="%{y} · %{x}<br>effect/threshold %{z:.2f} (%{text})<extra></extra>")
    fig.update_layout(title="Drift by column and window", height=max(260, 24 * len(fig.data[0].y or []) + 110)
                      if fig.data else 260, margin=_MARGIN, yaxis={"autorange": "reversed"})
    return fig


def heatmap_zmax(z: list[list[float | None]]) -> float:
    """The top of the heatmap's colour scale: the largest ratio shown, so no cell saturates (at
    least 2, so a heatmap with nothing over its threshold still shows where the threshold is)."""
    return max([2.0, *(v for row in z for v in row if v is not None)])


def heatmap_colorscale(zmax: float) -> list[list[float | str]]:
    """Greys below the threshold (ratio < 1), then light to dark red from the threshold up to
    ``zmax``, linear in the ratio: a cell twice as far over its threshold is visibly darker."""
    at = 1.0 / zmax
    return [[0.0, "#f8fafc"], [at, "#cbd5e1"], [at, "#fcd5ce"], [1.0, "#7f1d1d"]]


def distribution_figure(result: CheckResult, column: str, scope: str = "all") -> go.Figure:
    """Reference and current shares per bin of one column, overlaid."""
    import plotly.graph_objects as go

    bins = result.to_polars("bins").filter((pl.col("column") == column) & (pl.col("scope") == scope)).sort("bin")
    fig = go.Figure()
    for name, count, color in (("reference", "reference_count", "#94a3b8"), ("current", "current_count", "#b3261e")):
        total = max(int(bins[count].sum()), 1) if bins.height else 1
        fig.add_bar(x=bins["label"].to_list(), y=(bins[count] / total).to_list(), name=name, marker_color=color,
                    opacity=0.75)
    where = "all of current" if scope == "all" else scope
    fig.update_layout(title=f"{column}: reference vs current ({where})", barmode="overlay", yaxis_title="share",
                      yaxis_tickformat=".0%", height=340, margin={"t": 50, "b": 80, "l": 50, "r": 10})
    return fig
