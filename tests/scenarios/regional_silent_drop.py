"""A subgroup silently served badly.

A config push changed the currency-conversion service in one region only; the model kept answering, with
no errors and normal latency, but for the last six hours its accuracy in that region was fifteen points
lower. Global accuracy moved by barely three points and no dashboard turned red; the other regions were flat. A tiny
new market (``mena``, a few dozen requests) happens to look worse all week: too few rows to conclude anything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from ._common import DAY, T0, at

REGIONS = {"eu": 0.25, "us": 0.35, "apac": 0.25, "latam": 0.15}
DEVICES = {"mobile": 0.6, "desktop": 0.4}
BASE_ACCURACY = 0.82
DROP = 0.15
BAD_REGION = "eu"
DAYS = 7
TINY_REGION = "mena"
TINY_ROWS = 80
TINY_ACCURACY = 0.65
DROP_START = T0 + dt.timedelta(days=DAYS, hours=-6)
END = T0 + dt.timedelta(days=DAYS)


@dataclass(frozen=True)
class RegionalDrop:
    """A week of labelled predictions; in the last six hours accuracy is DROP lower in BAD_REGION only; the
    TINY_ROWS rows of TINY_REGION are right with probability TINY_ACCURACY all week."""

    predictions: pl.DataFrame


def generate(seed: int = 0, n: int = 40_000) -> RegionalDrop:
    """Build the scenario: ``n`` labelled predictions over a week from T0."""
    rng = np.random.default_rng(seed)
    seconds = np.sort(rng.uniform(0, DAYS * DAY, n))
    ts = at(seconds)
    region = rng.choice(list(REGIONS), size=n, p=list(REGIONS.values()))
    region[rng.choice(n, TINY_ROWS, replace=False)] = TINY_REGION
    device = rng.choice(list(DEVICES), size=n, p=list(DEVICES.values()))
    bad = (region == BAD_REGION) & (seconds >= (DROP_START - T0).total_seconds())
    accuracy = np.where(bad, BASE_ACCURACY - DROP, np.where(region == TINY_REGION, TINY_ACCURACY, BASE_ACCURACY))
    correct = rng.random(n) < accuracy
    label = (rng.random(n) < 0.4).astype(np.int8)
    return RegionalDrop(predictions=pl.DataFrame({
        "request_id": np.arange(n),
        "ts": ts,
        "region": region,
        "device": device,
        "prediction": np.where(correct, label, 1 - label).astype(np.int8),
        "label": label,
    }))
