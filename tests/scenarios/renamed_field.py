"""A renamed upstream field with a type change.

An upstream team migrated the payments API: ``amount_usd`` (a float) became ``amount`` (a decimal serialized
as a string), and the deprecated ``legacy_score`` was replaced by an unrelated ``risk_score``. The values of
the amount did not change at all, but a monitor that matches columns by name alone sees one column vanish and
another appear — or, worse, compares the new string column with something it is not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ._common import DAY, at

COUNTRIES = ["us", "de", "fr", "br", "in", "jp"]
COUNTRY_P = [0.35, 0.15, 0.12, 0.13, 0.15, 0.10]


@dataclass(frozen=True)
class Renamed:
    """Reference (old schema) and current (new schema) request logs with unchanged distributions."""

    reference: pl.DataFrame
    current: pl.DataFrame


def _requests(rng: np.random.Generator, n: int, start_day: float) -> pl.DataFrame:
    """``n`` requests over two days from ``start_day``, in the old schema."""
    return pl.DataFrame({
        "request_id": np.arange(n) + int(start_day * 1_000_000),
        "ts": at(np.sort(rng.uniform(start_day * DAY, (start_day + 2) * DAY, n))),
        "amount_usd": np.round(rng.lognormal(3.5, 0.8, n), 2),
        "country": rng.choice(COUNTRIES, size=n, p=COUNTRY_P),
        "age": rng.integers(18, 80, n),
        "legacy_score": rng.uniform(0, 1, n),
    })


def generate(seed: int = 0, n: int = 10_000) -> Renamed:
    """Build the scenario: ``n`` reference and ``n`` current requests."""
    rng = np.random.default_rng(seed)
    reference = _requests(rng, n, 0.0)
    current = _requests(rng, n, 7.0)
    current = current.with_columns(
        pl.col("amount_usd").map_elements(lambda x: f"{x:.2f}", return_dtype=pl.String).alias("amount_usd"),
        pl.Series("legacy_score", rng.normal(50.0, 10.0, n)),
    ).rename({"amount_usd": "amount", "legacy_score": "risk_score"}).select(
        "request_id", "ts", "country", "amount", "age", "risk_score")
    return Renamed(reference=reference, current=current)
