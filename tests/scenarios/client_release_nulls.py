"""A client release that stops sending a field, and an ingestion gap.

A mobile release shipped with a refactored telemetry client that no longer filled ``device_model``; as the
release rolled out, 45% of requests arrived with it null and the model's device features silently fell back
to defaults. Earlier the same week the ingestion job had been down for three hours, leaving a hole in the
monitoring data that looked like "no drift" rather than "no data".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from ._common import T0, at

HOURS = 48
START = T0 + dt.timedelta(days=7)  # current starts a week after the reference
GAP = (START + dt.timedelta(hours=10), START + dt.timedelta(hours=13))  # no rows at all
RELEASE = START + dt.timedelta(hours=30)  # from here 45% of device_model values are null
NULL_SHARE = 0.45
MODELS = {"pixel": 0.2, "galaxy": 0.3, "iphone": 0.4, "other": 0.1}
CATEGORIES = {"books": 0.3, "games": 0.3, "music": 0.4}


@dataclass(frozen=True)
class ClientRelease:
    """Three reference days and 48 current hours (with a 3-hour gap and the release's nulls)."""

    reference: pl.DataFrame
    current: pl.DataFrame


def _requests(rng: np.random.Generator, start: dt.datetime, hours: int, per_hour: int) -> pl.DataFrame:
    """``per_hour`` requests in each hour from ``start``; nothing planted."""
    n = hours * per_hour
    offset = (start - T0).total_seconds() + np.repeat(np.arange(hours), per_hour) * 3600.0
    return pl.DataFrame({
        "ts": at(offset + rng.uniform(0, 3600.0, n)),
        "device_model": rng.choice(list(MODELS), size=n, p=list(MODELS.values())),
        "category": rng.choice(list(CATEGORIES), size=n, p=list(CATEGORIES.values())),
        "price": np.round(rng.lognormal(2.5, 0.6, n), 2),
    })


def generate(seed: int = 0, per_hour: int = 600) -> ClientRelease:
    """Build the scenario: ``per_hour`` requests an hour."""
    rng = np.random.default_rng(seed)
    reference = _requests(rng, T0, 72, per_hour // 2)
    current = _requests(rng, START, HOURS, per_hour)
    released = (current["ts"] >= RELEASE).to_numpy() & (rng.random(current.height) < NULL_SHARE)
    current = (current.with_columns(device_model=pl.when(pl.Series(released)).then(None)
                                    .otherwise(pl.col("device_model")))
               .filter(~pl.col("ts").is_between(*GAP, closed="left")))
    return ClientRelease(reference=reference, current=current)
