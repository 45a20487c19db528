"""A retried export job that duplicated a day of training rows.

The nightly export of labelled sessions timed out after writing, was retried, and appended the same day's
rows a second time. The duplicated day then went through a random train/test split, so some sessions sat on
both sides: the test set partly measured memorisation, and that day weighed twice in training.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from ._common import DAY, T0, at

DUPLICATED_DAY = (T0 + dt.timedelta(days=20), T0 + dt.timedelta(days=21))


@dataclass(frozen=True)
class RetriedExport:
    """The training set with the duplicated day; ``duplicates``: extra copies; ``cross_split``: extra copies
    whose split differs from the original's."""

    training: pl.DataFrame
    duplicates: int
    cross_split: int


def generate(seed: int = 0, n: int = 6000) -> RetriedExport:
    """Build the scenario: ``n`` sessions over 30 days of ``n // 3`` users, then the retry's copies."""
    rng = np.random.default_rng(seed)
    sessions = pl.DataFrame({
        "user_id": rng.integers(0, n // 3, n),
        "prediction_time": at(rng.uniform(0, 30 * DAY, n)),
        "pages": rng.poisson(5, n),
        "converted": rng.random(n) < 0.1,
    })
    copies = sessions.filter(pl.col("prediction_time").is_between(*DUPLICATED_DAY, closed="left"))
    training = pl.concat([sessions, copies])
    # the split is drawn per row after the export: the same session can land on both sides
    split = np.where(rng.random(training.height) < 0.8, "train", "test")
    training = training.with_columns(split=pl.Series(split))
    original_split = split[: sessions.height][
        sessions["prediction_time"].is_between(*DUPLICATED_DAY, closed="left").to_numpy()]
    cross = int(np.sum(original_split != split[sessions.height:]))
    return RetriedExport(training=training, duplicates=copies.height, cross_split=cross)
