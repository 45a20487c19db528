"""The same model on a slower serving stack.

A team moved an unchanged model to a new serving container. The predictions were bit-for-bit identical, so
the offline comparison said "safe" — but the new image lacked the vectorised math library and its p95
latency was half again as high, pushing the checkout page past its timeout. The control is the same model
on the old stack twice: identical answers, the same latency, nothing to hold it back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ._common import DAY, at

SLOWDOWN = 1.5
REGIONS = {"eu": 0.4, "us": 0.4, "apac": 0.2}


@dataclass(frozen=True)
class SlowStack:
    """Production and candidate logs of the same model answering the same requests, and the labels."""

    production: pl.DataFrame
    candidate: pl.DataFrame
    labels: pl.DataFrame


def generate(seed: int = 0, n: int = 20_000, *, slow: bool = True) -> SlowStack:
    """Build the scenario: ``n`` requests; the candidate's latency is SLOWDOWN times higher when ``slow``."""
    rng = np.random.default_rng(seed)
    ids = [f"q{i:06d}" for i in range(n)]
    ts = at(np.sort(rng.uniform(0, DAY, n)))
    region = rng.choice(list(REGIONS), size=n, p=list(REGIONS.values()))
    score = np.round(rng.beta(2, 5, n), 4)
    label = (rng.random(n) < score).astype(np.int8)

    def log(factor: float) -> pl.DataFrame:
        return pl.DataFrame({
            "request_id": ids,
            "ts": ts,
            "region": region,
            "score": score,
            "prediction": (score >= 0.5).astype(np.int8),
            "latency_ms": np.round(factor * rng.lognormal(np.log(50), 0.4, n), 2),
            "error": rng.random(n) < 0.002,
        })

    return SlowStack(production=log(1.0), candidate=log(SLOWDOWN if slow else 1.0),
                     labels=pl.DataFrame({"request_id": ids, "label": label}))
