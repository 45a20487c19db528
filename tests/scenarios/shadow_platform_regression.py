"""A shadow model better overall but worse on one platform.

A new ranking model ran in shadow for a day and beat production by three points of accuracy overall, so the
dashboard said ship it. Its features relied on a client field that the web app does not send, and on web —
a fifth of the traffic — it was eight points worse than production; the gain on the mobile apps hid the loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ._common import DAY, at

PLATFORM_SHARES = {"ios": 0.4, "android": 0.4, "web": 0.2}
PRODUCTION_ACCURACY = 0.80
CANDIDATE_ACCURACY = {"ios": 0.86, "android": 0.86, "web": 0.72}
COPY = 0.6  # probability that the candidate is right exactly when production is (the models agree a lot)


@dataclass(frozen=True)
class ShadowPlatform:
    """The two request logs (same requests, same columns) and the labels."""

    production: pl.DataFrame
    candidate: pl.DataFrame
    labels: pl.DataFrame


def _correct(rng: np.random.Generator, production_correct: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    """Candidate correctness: a copy of production's with probability COPY, else right with the rate that makes
    its marginal accuracy ``accuracy`` (per request)."""
    independent = (accuracy - COPY * PRODUCTION_ACCURACY) / (1 - COPY)
    copy = rng.random(production_correct.size) < COPY
    return np.where(copy, production_correct, rng.random(production_correct.size) < independent)


def generate(seed: int = 0, n: int = 30_000) -> ShadowPlatform:
    """Build the scenario: ``n`` requests over one day, both models answering each."""
    rng = np.random.default_rng(seed)
    platform = rng.choice(list(PLATFORM_SHARES), size=n, p=list(PLATFORM_SHARES.values()))
    label = (rng.random(n) < 0.3).astype(np.int8)
    production_correct = rng.random(n) < PRODUCTION_ACCURACY
    candidate_accuracy = np.vectorize(CANDIDATE_ACCURACY.get)(platform)
    candidate_correct = _correct(rng, production_correct, candidate_accuracy)
    ids = [f"r{i:06d}" for i in range(n)]
    ts = at(np.sort(rng.uniform(0, DAY, n)))

    def log(correct: np.ndarray) -> pl.DataFrame:
        return pl.DataFrame({
            "request_id": ids,
            "ts": ts,
            "platform": platform,
            "prediction": np.where(correct, label, 1 - label).astype(np.int8),
            "latency_ms": np.round(rng.lognormal(np.log(40), 0.3, n), 2),
            "error": np.zeros(n, dtype=bool),
        })

    return ShadowPlatform(
        production=log(production_correct),
        candidate=log(candidate_correct),
        labels=pl.DataFrame({"request_id": ids, "label": label}),
    )
