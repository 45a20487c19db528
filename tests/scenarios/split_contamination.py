"""Train/test contamination.

A fraud team split its training set with a random row shuffle. The same cards appeared in both train and
test, and test transactions were interleaved in time with training ones, so the model was evaluated on
customers (and days) it had memorised: offline AUC 0.97, production 0.81. The fix — train on the past, test
on the future, with every card on one side only — is the clean control here, and must raise nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from ._common import DAY, T0, at

CUTOFF = T0 + dt.timedelta(days=150)


@dataclass(frozen=True)
class Splits:
    """The same rows split two ways: a random row split (leaky) and a grouped time split (clean).

    ``test_cards``: cards with a test row in the random split; ``shared_cards``: those also in train;
    ``shared_test_rows``: the test rows of the shared cards.
    """

    random_split: pl.DataFrame
    time_split: pl.DataFrame
    test_cards: int
    shared_cards: int
    shared_test_rows: int


def generate(seed: int = 0, n_cards: int = 2000, n: int = 10_000) -> Splits:
    """Build the scenario: ``n`` transactions of ``n_cards`` cards over 200 days, each card active in one
    stretch of time."""
    rng = np.random.default_rng(seed)
    card_start = rng.uniform(0, 180 * DAY, n_cards)
    card = rng.integers(0, n_cards, n)
    seconds = card_start[card] + rng.uniform(0, 20 * DAY, n)
    rows = pl.DataFrame({
        "card_id": card,
        "prediction_time": at(seconds),
        "amount": np.round(rng.lognormal(3.0, 1.0, n), 2),
        "is_fraud": rng.random(n) < 0.05,
    })
    random_split = rows.with_columns(split=pl.Series(np.where(rng.random(n) < 0.8, "train", "test")))
    # clean: a card belongs to test iff its first transaction is after CUTOFF; train rows are all before it
    first = rows.group_by("card_id").agg(pl.col("prediction_time").min().alias("first"))
    time_split = (rows.join(first, on="card_id")
                  .with_columns(split=pl.when(pl.col("first") >= CUTOFF).then(pl.lit("test"))
                                .otherwise(pl.lit("train")))
                  .filter((pl.col("split") == "test") | (pl.col("prediction_time") < CUTOFF))
                  .drop("first"))
    sides = random_split.group_by("card_id").agg(pl.col("split").n_unique().alias("sides"))
    shared = sides.filter(pl.col("sides") == 2)["card_id"]
    test = random_split.filter(pl.col("split") == "test")
    return Splits(
        random_split=random_split,
        time_split=time_split,
        test_cards=test["card_id"].n_unique(),
        shared_cards=shared.len(),
        shared_test_rows=test.filter(pl.col("card_id").is_in(shared.implode())).height,
    )
