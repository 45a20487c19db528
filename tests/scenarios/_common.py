"""Small helpers shared by the scenario generators."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

DAY = 86400.0
T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def at(offset_seconds: np.ndarray) -> pl.Series:
    """Datetimes (UTC, microseconds) ``offset_seconds`` seconds after :data:`T0`."""
    micros = (np.asarray(offset_seconds, dtype=np.float64) * 1e6).astype(np.int64)
    return pl.Series(micros).cast(pl.Datetime("us")).dt.replace_time_zone("UTC") + (
        T0 - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    )


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function, elementwise."""
    return 1.0 / (1.0 + np.exp(-x))
