"""Small tables from per-row outputs, computed on their engine: lag quantiles and lag histograms."""

from __future__ import annotations

import math

import narwhals as nw
import polars as pl

from workbench.engine.frames import Engine, collect_on
from workbench.engine.ranks import order_statistics

# Lag / lateness histogram edges in seconds; labels say the bin in words.
LAG_EDGES = (0.0, 60.0, 3600.0, 6 * 3600.0, 86400.0, 7 * 86400.0, 30 * 86400.0, 90 * 86400.0,
             365 * 86400.0, math.inf)
LAG_LABELS = ("<1m", "1m-1h", "1h-6h", "6h-1d", "1d-7d", "7d-30d", "30d-90d", "90d-1y", ">1y")
QUANTILES = (0.5, 0.9, 0.99)


def quantiles_of(lf: nw.LazyFrame, engine: Engine, column: str, *, n: int, name: str, check: str
                 ) -> dict[str, float | None]:
    """p50/p90/p99 (linearly interpolated) and the max of ``column`` (``n`` non-null values; all
    None when 0), computed on its engine from the order statistics around them."""
    if n == 0:
        return {"p50": None, "p90": None, "p99": None, "max": None}
    spots = {q: q * (n - 1) for q in QUANTILES}
    ranks = sorted({r for h in spots.values() for r in (math.floor(h) + 1, math.ceil(h) + 1)} | {n})
    values = dict(zip(ranks, order_statistics(lf, engine, column, ranks, name=name, check=check, n=n), strict=True))
    out: dict[str, float | None] = {}
    for q, h in spots.items():
        lo, hi = values[math.floor(h) + 1], values[math.ceil(h) + 1]
        out[f"p{int(q * 100)}"] = float(lo + (h - math.floor(h)) * (hi - lo))
    out["max"] = float(values[n])
    return out


def histogram_of(lf: nw.LazyFrame, engine: Engine, column: str, *, name: str, check: str) -> pl.DataFrame:
    """Counts of ``column`` (seconds; below 0 counted as 0) in the fixed lag bins, one row per bin,
    counted on its engine."""
    v = nw.col(column)
    index = nw.lit(len(LAG_LABELS) - 1, nw.Int64)
    for i in range(len(LAG_EDGES) - 2, 0, -1):  # the first interior edge above the value
        index = nw.when(v < LAG_EDGES[i]).then(nw.lit(i - 1, nw.Int64)).otherwise(index)
    counts = collect_on(lf.filter(~v.is_null()).group_by(index.alias("__wb_bin")).agg(nw.len().alias("__wb_rows")),
                        engine, name, check=check)
    found = dict(zip(counts["__wb_bin"].to_list(), counts["__wb_rows"].to_list(), strict=True))
    return pl.DataFrame({
        "bin": list(LAG_LABELS),
        "lo_hours": [e / 3600 for e in LAG_EDGES[:-1]],
        "hi_hours": [e / 3600 if math.isfinite(e) else None for e in LAG_EDGES[1:]],
        "rows": [int(found.get(i, 0)) for i in range(len(LAG_LABELS))],
    }, schema={"bin": pl.String, "lo_hours": pl.Float64, "hi_hours": pl.Float64, "rows": pl.Int64})
