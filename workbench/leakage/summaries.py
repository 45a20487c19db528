"""Turn per-row recomputation outputs into small tables: counts, lag histograms, examples."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

# Lag / lateness histogram edges in seconds; labels say the bin in words.
LAG_EDGES = (0.0, 60.0, 3600.0, 6 * 3600.0, 86400.0, 7 * 86400.0, 30 * 86400.0, 90 * 86400.0,
             365 * 86400.0, math.inf)
LAG_LABELS = ("<1m", "1m-1h", "1h-6h", "6h-1d", "1d-7d", "7d-30d", "30d-90d", "90d-1y", ">1y")
QUANTILES = (0.5, 0.9, 0.99)


def histogram(values: pl.Series) -> pl.DataFrame:
    """Counts of ``values`` (seconds, >= 0) in the fixed lag bins; one row per bin."""
    arr = values.drop_nulls().to_numpy().astype(float)
    counts, _ = np.histogram(np.clip(arr, 0, None), bins=np.array(LAG_EDGES))
    return pl.DataFrame({
        "bin": list(LAG_LABELS),
        "lo_hours": [e / 3600 for e in LAG_EDGES[:-1]],
        "hi_hours": [e / 3600 if math.isfinite(e) else None for e in LAG_EDGES[1:]],
        "rows": counts.astype(np.int64),
    })


def quantiles(values: pl.Series) -> dict[str, float | None]:
    """p50/p90/p99/max of a numeric series (None when empty)."""
    clean = values.drop_nulls()
    if clean.len() == 0:
        return {"p50": None, "p90": None, "p99": None, "max": None}
    out = {f"p{int(q * 100)}": float(clean.quantile(q, interpolation="linear")) for q in QUANTILES}
    out["max"] = float(clean.max())
    return out
