"""Label leakage through a post-outcome field, next to an honest strong feature.

A churn model scored 0.99 AUC offline and was useless in production. The training extract had been joined
with the CRM table as it was at extraction time, bringing ``days_since_cancellation`` — filled only for
customers who had already cancelled, i.e. known only after the outcome. Next to it, the number of support
calls in the 30 days before the prediction is a genuinely strong, point-in-time clean predictor (AUC about
0.9): it must not be called a leak for predicting well.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from ._common import DAY, at

WINDOW = dt.timedelta(days=30)
CHURN_RATE = 0.25
CALL_RATE = {True: 3.5, False: 0.8}  # support calls per 30 days, churners vs others


@dataclass(frozen=True)
class PostOutcome:
    """The training extract (with the leaking column) and the support-call log it was built from."""

    training: pl.DataFrame
    calls: pl.DataFrame


def _calls(rng: np.random.Generator, entity: np.ndarray, prediction_s: np.ndarray,
           churned: np.ndarray) -> pl.DataFrame:
    """Support calls of each training row's customer in the 30 days before its prediction (logged within
    a minute)."""
    counts = rng.poisson(np.where(churned, CALL_RATE[True], CALL_RATE[False]))
    owner = np.repeat(np.arange(entity.size), counts)
    event_s = prediction_s[owner] - rng.uniform(60.0, WINDOW.total_seconds() - 60.0, owner.size)
    return pl.DataFrame({
        "customer_id": entity[owner],
        "call_time": at(event_s),
        "logged_at": at(event_s + rng.uniform(0, 60.0, owner.size)),
    })


def generate(seed: int = 0, n: int = 6000) -> PostOutcome:
    """Build the scenario: ``n`` customers, one prediction each, 60 to 180 days after T0."""
    rng = np.random.default_rng(seed)
    entity = np.arange(n)
    prediction_s = rng.uniform(60 * DAY, 180 * DAY, n)
    churned = rng.random(n) < CHURN_RATE
    calls = _calls(rng, entity, prediction_s, churned)
    per_row = calls.group_by("customer_id").len()
    support_calls = (pl.DataFrame({"customer_id": entity}).join(per_row, on="customer_id", how="left")
                     ["len"].fill_null(0).cast(pl.Int64))
    days_since_cancellation = np.where(churned, rng.integers(1, 90, n), -1)
    return PostOutcome(
        training=pl.DataFrame({
            "customer_id": entity,
            "prediction_time": at(prediction_s),
            "support_calls_30d": support_calls,
            "days_since_cancellation": days_since_cancellation,
            "tenure_months": rng.integers(1, 60, n),  # unrelated to churn here
            "churned": churned,
        }),
        calls=calls,
    )
