"""A backfill that leaks.

The transactions pipeline was down for five days; a week later the missing events were backfilled, with
their true event times but written (``ingested_at``) on the backfill day. The team then re-materialized the
training features for the outage weeks from the repaired table by event time only, so the training rows
whose prediction fell between the outage and the backfill were given spend that the online model could not
have seen at prediction time — the model was trained on data it never gets in serving.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from ._common import DAY, T0, at, sigmoid

OUTAGE_START = T0 + dt.timedelta(days=60)
OUTAGE_END = T0 + dt.timedelta(days=65)
BACKFILL_AT = T0 + dt.timedelta(days=72)
WINDOW = dt.timedelta(days=30)


@dataclass(frozen=True)
class Backfill:
    """The training set, the repaired event log, and the truth planted in them.

    ``leaky_rows``: training rows whose ``spend_30d`` includes backfilled events not yet written at their
    prediction time (all with a prediction time in [OUTAGE_START, BACKFILL_AT)).
    """

    training: pl.DataFrame
    transactions: pl.DataFrame
    leaky_rows: pl.DataFrame


def _events(rng: np.random.Generator, n_customers: int) -> pl.DataFrame:
    """About 20 events per customer over 120 days; minutes of ingestion delay, except the outage's backfill."""
    n = n_customers * 20
    event_s = rng.uniform(0, 120 * DAY, n)
    delay_s = rng.exponential(600.0, n)
    event_time = at(event_s)
    ingested = at(event_s + delay_s)
    in_outage = (event_time >= OUTAGE_START) & (event_time < OUTAGE_END)
    backfill = at(np.full(n, (BACKFILL_AT - T0).total_seconds())) + pl.Series(rng.uniform(0, 3600e6, n)).cast(
        pl.Duration("us"))
    return pl.DataFrame({
        "customer_id": rng.integers(0, n_customers, n),
        "event_time": event_time,
        "ingested_at": pl.select(pl.when(in_outage).then(backfill).otherwise(ingested)).to_series(),
        "amount": np.round(rng.gamma(2.0, 30.0, n), 2),
    })


def _window_features(training: pl.DataFrame, events: pl.DataFrame, *, honest: bool) -> pl.DataFrame:
    """Brute-force 30-day spend and count per training row.

    ``honest``: only events written before the prediction time (the point-in-time value); otherwise by event
    time alone (what the re-materialization after the backfill did).
    """
    pairs = training.select("row", "customer_id", "prediction_time").join(events, on="customer_id")
    keep = (pl.col("event_time") < pl.col("prediction_time")) & (
        pl.col("event_time") >= pl.col("prediction_time") - WINDOW)
    if honest:
        keep = keep & (pl.col("ingested_at") < pl.col("prediction_time"))
    sums = pairs.filter(keep).group_by("row").agg(pl.col("amount").sum().alias("spend"), pl.len().alias("count"))
    return (training.select("row").join(sums, on="row", how="left")
            .with_columns(pl.col("spend").fill_null(0.0), pl.col("count").fill_null(0).cast(pl.Int64)).sort("row"))


def generate(seed: int = 0, n_customers: int = 1500, n_rows: int = 6000) -> Backfill:
    """Build the scenario: ``n_rows`` churn predictions from day 30 to day 110 over ``n_customers``."""
    rng = np.random.default_rng(seed)
    events = _events(rng, n_customers)
    training = pl.DataFrame({
        "row": np.arange(n_rows),
        "customer_id": rng.integers(0, n_customers, n_rows),
        "prediction_time": at(rng.uniform(30 * DAY, 110 * DAY, n_rows)),
    })
    honest = _window_features(training, events, honest=True)
    by_event_time = _window_features(training, events, honest=False)
    rematerialized = training["prediction_time"].is_between(OUTAGE_START, BACKFILL_AT, closed="left")
    spend = pl.select(pl.when(rematerialized).then(by_event_time["spend"]).otherwise(honest["spend"])).to_series()
    churn_p = sigmoid(1.0 - honest["spend"].to_numpy() / 300.0)
    training = training.with_columns(
        spend_30d=spend,
        txn_count_30d=honest["count"],
        churned=rng.random(n_rows) < churn_p,
    )
    leaky = training.filter((spend - honest["spend"]).abs() > 1e-9)
    return Backfill(training=training.drop("row"), transactions=events, leaky_rows=leaky)
