"""Training/serving skew from a unit bug in one client.

The offline pipeline computed ``account_age_days`` from the accounts table; the online service received it
from the app. Android release 5.2 started sending the age in hours, and the model, which had learned that old
accounts are safe, saw every Android 5.2 user as a veteran. Logging the served features next to the offline
ones for the same requests shows exactly which feature differs, and on which share of requests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

BAD_CLIENT = "android-5.2"
CLIENTS = {"ios-7.1": 0.45, "android-5.1": 0.35, BAD_CLIENT: 0.20}


@dataclass(frozen=True)
class UnitSkew:
    """The offline (training) features and the served features of the same requests.

    ``skewed_requests``: requests whose served ``account_age_days`` differs from the offline value.
    """

    training: pl.DataFrame
    serving: pl.DataFrame
    skewed_requests: int


def generate(seed: int = 0, n: int = 20_000) -> UnitSkew:
    """Build the scenario: ``n`` requests logged on both sides."""
    rng = np.random.default_rng(seed)
    client = rng.choice(list(CLIENTS), size=n, p=list(CLIENTS.values()))
    age_days = rng.integers(0, 2000, n)
    training = pl.DataFrame({
        "request_id": np.arange(n),
        "client": client,
        "account_age_days": age_days,
        "basket_value": np.round(rng.lognormal(3.5, 0.7, n), 2),
        "country": rng.choice(["us", "de", "br"], size=n),
    })
    bad = client == BAD_CLIENT
    serving = training.with_columns(account_age_days=pl.Series(np.where(bad, age_days * 24, age_days)))
    return UnitSkew(training=training, serving=serving.sample(fraction=1.0, shuffle=True, seed=seed),
                    skewed_requests=int(np.sum(bad & (age_days > 0))))
