"""A categorical feature where one category's share moves.

After a partnership launched, the share of checkouts paid with a wallet jumped by ten points in a week —
a different customer mix the fraud model had rarely seen, worth a look. In the same week the share of
another method wobbled by a single point, the ordinary week-to-week noise of a marketing calendar, which a
monitor must not page anyone about even on a large sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

REFERENCE_P = {"card": 0.55, "wallet": 0.20, "bank": 0.15, "voucher": 0.10}
# wallet +10 points, taken proportionally from the other methods
MOVED_P = {"card": 0.55 - 0.10 * 0.55 / 0.80, "wallet": 0.30, "bank": 0.15 - 0.10 * 0.15 / 0.80,
           "voucher": 0.10 - 0.10 * 0.10 / 0.80}
# bank +1 point, taken from card
WOBBLED_P = {"card": 0.54, "wallet": 0.20, "bank": 0.16, "voucher": 0.10}


@dataclass(frozen=True)
class CategoryShift:
    """Reference and current checkouts: ``payment_method`` moves 10 points, ``fallback_method`` 1 point."""

    reference: pl.DataFrame
    current: pl.DataFrame


def _draw(rng: np.random.Generator, p: dict[str, float], n: int) -> np.ndarray:
    """``n`` categories drawn with probabilities ``p``."""
    return rng.choice(list(p), size=n, p=list(p.values()))


def generate(seed: int = 0, n: int = 50_000) -> CategoryShift:
    """Build the scenario: ``n`` checkouts on each side."""
    rng = np.random.default_rng(seed)
    return CategoryShift(
        reference=pl.DataFrame({"payment_method": _draw(rng, REFERENCE_P, n),
                                "fallback_method": _draw(rng, REFERENCE_P, n)}),
        current=pl.DataFrame({"payment_method": _draw(rng, MOVED_P, n),
                              "fallback_method": _draw(rng, WOBBLED_P, n)}),
    )
