"""A model overconfident only at night.

A fraud model was calibrated on daytime-heavy traffic. At night the traffic mix changes (fewer, more
ambiguous transactions) and the same scores mean much less: a 0.9 at 3 a.m. is right far less often than 90%
of the time, while daytime scores stay calibrated. Averaged over the day the problem is diluted, so it is
only visible per hour-of-day segment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ._common import DAY, at, sigmoid

NIGHT_HOURS = range(0, 6)
DAYPARTS = {"night": range(0, 6), "morning": range(6, 12), "afternoon": range(12, 18), "evening": range(18, 24)}
NIGHT_TEMPERATURE = 3.0  # at night the true log-odds are the score's log-odds divided by this


@dataclass(frozen=True)
class NightCalibration:
    """A calibrated reference week and a current week whose night scores are overconfident."""

    reference: pl.DataFrame
    current: pl.DataFrame


def _week(rng: np.random.Generator, n: int, start_day: float, *, night_overconfident: bool) -> pl.DataFrame:
    """``n`` scored, labelled requests spread uniformly over 7 days from ``start_day``."""
    seconds = rng.uniform(start_day * DAY, (start_day + 7) * DAY, n)
    hour = ((seconds % DAY) // 3600).astype(int)
    logit = rng.normal(-0.5, 1.8, n)
    score = np.round(sigmoid(logit), 4)
    true_logit = np.where(night_overconfident & (hour < 6), logit / NIGHT_TEMPERATURE, logit)
    daypart = np.select([hour < 6, hour < 12, hour < 18], ["night", "morning", "afternoon"], "evening")
    return pl.DataFrame({
        "ts": at(seconds),
        "hour": hour,
        "daypart": daypart,
        "score": score,
        "label": (rng.random(n) < sigmoid(true_logit)).astype(np.int8),
    })


def generate(seed: int = 0, n: int = 20_000) -> NightCalibration:
    """Build the scenario: ``n`` reference and ``n`` current requests."""
    rng = np.random.default_rng(seed)
    return NightCalibration(
        reference=_week(rng, n, 0.0, night_overconfident=False),
        current=_week(rng, n, 7.0, night_overconfident=True),
    )
