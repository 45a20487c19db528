"""A feature store serving stale values after an outage.

The nightly job that writes account snapshots to the online feature store failed for eight days. The store
kept answering with the last snapshot it had, far older than the feature's two-day TTL, and the logged
features of those days went into the next training set as if they were fresh; the plan snapshots, written by
another job, stayed fresh throughout.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from ._common import DAY, T0, at, sigmoid

OUTAGE_START = T0 + dt.timedelta(days=50)  # first snapshot that was never written
OUTAGE_END = T0 + dt.timedelta(days=58)  # first snapshot written again
TTL = dt.timedelta(days=2)
WRITE_DELAY = dt.timedelta(hours=3)


@dataclass(frozen=True)
class StaleStore:
    """Training rows with the values the store served, the two snapshot tables, and the planted truth.

    ``stale_rows``: training rows whose served ``balance`` snapshot was older than the TTL at prediction time,
    with that age (``balance_age``).
    """

    training: pl.DataFrame
    balances: pl.DataFrame
    plans: pl.DataFrame
    stale_rows: pl.DataFrame


def _snapshots(rng: np.random.Generator, n_customers: int, n_days: int, *, outage: bool) -> pl.DataFrame:
    """One snapshot per customer and day, written three hours after its time; none during the outage."""
    days = np.arange(n_days)
    customer = np.repeat(np.arange(n_customers), n_days)
    day = np.tile(days, n_customers)
    frame = pl.DataFrame({
        "customer_id": customer,
        "snapshot_time": at(day * DAY),
        "written_at": at(day * DAY + WRITE_DELAY.total_seconds()),
        "value": np.round(rng.gamma(2.0, 200.0, customer.size), 2),
    })
    if outage:
        frame = frame.filter(~pl.col("snapshot_time").is_between(OUTAGE_START, OUTAGE_END, closed="left"))
    return frame


def _served(training: pl.DataFrame, snapshots: pl.DataFrame, name: str) -> pl.DataFrame:
    """What the store served (brute force): the latest snapshot written before the prediction time, and its
    snapshot time."""
    return (training.select("row", "customer_id", "prediction_time").join(snapshots, on="customer_id")
            .filter(pl.col("written_at") < pl.col("prediction_time"))
            .sort("row", "written_at").group_by("row", maintain_order=True).last()
            .select("row", pl.col("value").alias(name), pl.col("snapshot_time").alias(f"{name}_snapshot_time"))
            .join(training.select("row"), on="row", how="right").sort("row"))


def generate(seed: int = 0, n_customers: int = 300, n_days: int = 90, n_rows: int = 5000) -> StaleStore:
    """Build the scenario: ``n_rows`` predictions from day 20 to day 88 over ``n_customers`` customers."""
    rng = np.random.default_rng(seed)
    balances = _snapshots(rng, n_customers, n_days, outage=True).rename({"value": "balance"})
    plans = _snapshots(rng, n_customers, n_days, outage=False).rename({"value": "plan_price"})
    training = pl.DataFrame({
        "row": np.arange(n_rows),
        "customer_id": rng.integers(0, n_customers, n_rows),
        "prediction_time": at(rng.uniform(20 * DAY, 88 * DAY, n_rows)),
    })
    balance = _served(training, balances.rename({"balance": "value"}), "balance")
    plan = _served(training, plans.rename({"plan_price": "value"}), "plan_price")
    training = training.with_columns(balance=balance["balance"], plan_price=plan["plan_price"])
    training = training.with_columns(
        churned=rng.random(n_rows) < sigmoid(0.5 - training["balance"].to_numpy() / 800.0))
    training = training.with_columns(balance_age=training["prediction_time"] - balance["balance_snapshot_time"])
    stale = training.filter(pl.col("balance_age") > TTL)
    training = training.drop("balance_age")
    return StaleStore(training=training.drop("row"), balances=balances, plans=plans, stale_rows=stale)
