"""Summaries come back from every engine as small polars frames, in one set of dtypes."""

from __future__ import annotations

import polars as pl


def int64_counts(frame: pl.DataFrame) -> pl.DataFrame:
    """Integer and decimal columns as Int64: each engine has its own count type (u32, int128,
    DECIMAL(38, 0), bigint), the statistics stage wants one."""
    casts = {c: pl.Int64 for c, t in frame.schema.items() if t.is_integer() or isinstance(t, pl.Decimal)}
    return frame.cast(casts) if casts else frame  # type: ignore[arg-type]
