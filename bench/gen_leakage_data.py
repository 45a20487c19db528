"""Deterministic data for the leakage benchmark: labels, an event log and snapshots as parquet.

python bench/gen_leakage_data.py --labels 1000000 --events 10000000 --out bench/data/1m
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
DAY_US = 86_400_000_000


def _ts(us: np.ndarray) -> pl.Series:
    return pl.from_epoch(pl.Series(us.astype(np.int64) + int(START.timestamp() * 1e6)), time_unit="us") \
        .dt.replace_time_zone("UTC")


def generate(n_labels: int, n_events: int, out: Path, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    n_customers = max(n_labels // 4, 1)
    # event log: uniform customers and times over a year, ingestion late with a long tail
    cust = rng.integers(1, n_customers + 1, n_events)
    event = rng.integers(0, 365 * DAY_US, n_events)
    kind = rng.random(n_events)
    late = np.where(kind < 0.85, rng.exponential(600e6, n_events),
                    np.where(kind < 0.97, rng.lognormal(np.log(3 * 3600e6), 0.8, n_events),
                             rng.lognormal(np.log(2 * DAY_US), 0.9, n_events)))
    events = pl.DataFrame({"customer_id": cust, "event_time": _ts(event), "ingested_at": _ts(event + late),
                           "amount": np.round(rng.lognormal(3.5, 0.8, n_events), 2)})
    # monthly snapshots, written an hour after their time
    months = np.arange(12) * 30 * DAY_US
    snap_c = np.repeat(np.arange(1, n_customers + 1), 12)
    snap_t = np.tile(months, n_customers)
    snapshots = pl.DataFrame({"customer_id": snap_c, "snapshot_time": _ts(snap_t),
                              "written_at": _ts(snap_t + 3600e6),
                              "balance": np.round(rng.normal(100, 40, snap_c.size), 2)})
    labels = pl.DataFrame({"customer_id": rng.integers(1, n_customers + 1, n_labels),
                           "prediction_time": _ts(rng.integers(30 * DAY_US, 365 * DAY_US, n_labels)),
                           "churned": rng.random(n_labels) < 0.1})
    labels = labels.unique(["customer_id", "prediction_time"]).sort("prediction_time")

    # training values: spend_to_date point-in-time correct (as-of on ingestion time), total_spend leaky
    # (all history), balance leaky (latest snapshot instead of as-of), txn_count_7d by event time only (late).
    cum = (events.sort("ingested_at")
           .with_columns(pl.col("amount").cum_sum().over("customer_id").alias("spend_to_date"))
           .select("customer_id", "ingested_at", "spend_to_date"))
    training = labels.join_asof(cum, left_on="prediction_time", right_on="ingested_at", by="customer_id",
                                allow_exact_matches=False, check_sortedness=False).drop("ingested_at")
    totals = events.group_by("customer_id").agg(pl.col("amount").sum().alias("total_spend"))
    latest = snapshots.group_by("customer_id").agg(pl.col("balance").sort_by("snapshot_time").last())
    week = (labels.join(events.select("customer_id", "event_time"), on="customer_id")
            .filter((pl.col("event_time") < pl.col("prediction_time"))
                    & (pl.col("event_time") >= pl.col("prediction_time") - dt.timedelta(days=7)))
            .group_by("customer_id", "prediction_time").agg(pl.len().cast(pl.Int64).alias("txn_count_7d")))
    training = (training.with_columns(pl.col("spend_to_date").fill_null(0.0))
                .join(totals, on="customer_id", how="left").join(latest, on="customer_id", how="left")
                .join(week, on=["customer_id", "prediction_time"], how="left")
                .with_columns(pl.col("total_spend").fill_null(0.0), pl.col("txn_count_7d").fill_null(0)))
    out.mkdir(parents=True, exist_ok=True)
    events.write_parquet(out / "events.parquet")
    snapshots.write_parquet(out / "snapshots.parquet")
    training.write_parquet(out / "training.parquet")
    print(f"wrote {training.height:,} labels, {events.height:,} events, {snapshots.height:,} snapshots to {out}")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--labels", type=int, default=1_000_000)
    p.add_argument("--events", type=int, default=10_000_000)
    p.add_argument("--out", type=Path, default=Path("bench/data/1m"))
    a = p.parse_args()
    generate(a.labels, a.events, a.out)
