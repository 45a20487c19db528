"""A huge sample with a trivial shift.

A team monitored a million requests a day with a per-column two-sample test and p < 0.05: every morning
half the columns "drifted" because, at that size, a 0.02-standard-deviation wobble or a half-point change in
a category's share is statistically significant. Alert fatigue followed, and the one real shift was ignored.
Here only ``session_minutes`` really moved (a quarter of a standard deviation); the rest is trivial.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

TRIVIAL_SHIFT_SD = 0.02
REAL_SHIFT_SD = 0.25
BROWSER_P = {"chrome": 0.60, "safari": 0.25, "firefox": 0.10, "edge": 0.05}
BROWSER_P_CURRENT = {"chrome": 0.595, "safari": 0.255, "firefox": 0.10, "edge": 0.05}


@dataclass(frozen=True)
class HugeTrivial:
    """A million reference and a million current rows; trivial shifts everywhere but ``session_minutes``."""

    reference: pl.DataFrame
    current: pl.DataFrame


def _side(rng: np.random.Generator, n: int, *, current: bool) -> pl.DataFrame:
    """``n`` rows of the reference, or of current with its planted shifts."""
    trivial = TRIVIAL_SHIFT_SD if current else 0.0
    real = REAL_SHIFT_SD if current else 0.0
    browser = BROWSER_P_CURRENT if current else BROWSER_P
    return pl.DataFrame({
        "latency_ms": rng.normal(100.0 + 15.0 * trivial, 15.0, n),  # trivial mean shift
        "basket_value": rng.lognormal(3.0 + 0.8 * trivial, 0.8, n),  # trivial shift of a skewed column
        "session_minutes": rng.normal(10.0 + 3.0 * real, 3.0, n),  # the real shift
        "browser": rng.choice(list(browser), size=n, p=list(browser.values())),  # half a point moves
    })


def generate(seed: int = 0, n: int = 1_000_000) -> HugeTrivial:
    """Build the scenario: ``n`` rows on each side."""
    rng = np.random.default_rng(seed)
    return HugeTrivial(reference=_side(rng, n, current=False), current=_side(rng, n, current=True))
