"""Distribution-free confidence intervals for quantiles (order statistics), from counts only.

For a sample of size ``n`` and the ``p``-quantile, the interval between the ``l``-th and the
``u``-th smallest values covers the true quantile with probability
``P(l <= B < u)``, ``B ~ Binomial(n, p)``, whatever the distribution (continuous). ``l`` and
``u`` are chosen symmetrically in probability; the engine then fetches those two order
statistics (by rank, from one sort of the column), so the interval needs no resampling and no raw
rows in Python.
"""

from __future__ import annotations

import math

from workbench.stats.tails import binom_cdf


def order_statistic_ranks(n: int, p: float, confidence: float = 0.95) -> tuple[int, int]:
    """1-based ranks ``(l, u)`` of the order statistics bounding the ``p``-quantile of ``n``
    values with at least ``confidence`` coverage (clipped to ``[1, n]``; the coverage is then
    what the sample allows)."""
    if n < 1:
        raise ValueError("n must be >= 1")
    tail = (1 - confidence) / 2
    # l: the largest l with P(B < l) <= tail, i.e. cdf(l - 1) <= tail
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if binom_cdf(mid - 1, n, p) <= tail:
            lo = mid
        else:
            hi = mid - 1
    low_rank = max(lo, 1)
    # u: the smallest u with P(B >= u) <= tail, i.e. cdf(u - 1) >= 1 - tail
    lo, hi = 1, n + 1
    while lo < hi:
        mid = (lo + hi) // 2
        if binom_cdf(mid - 1, n, p) >= 1 - tail:
            hi = mid
        else:
            lo = mid + 1
    return low_rank, min(lo, n)


def min_sample(p: float, confidence: float = 0.95) -> int:
    """The fewest values for which :func:`order_statistic_ranks` reaches ``confidence`` coverage
    for the ``p``-quantile: the lower rank needs ``(1 - p)^n <= tail`` and the upper rank
    ``p^n <= tail`` with ``tail = (1 - confidence) / 2`` (e.g. 72 values for the p95 at 95%).
    Below it the ranks are clipped to the sample and the interval covers less than stated."""
    tail = (1 - confidence) / 2
    need = max(math.log(tail) / math.log(p), math.log(tail) / math.log(1 - p))
    return max(1, math.ceil(need - 1e-9))
