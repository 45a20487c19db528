"""Distribution-free statistics of a quantile, computed with numpy on one scope's latencies.

* :func:`exceedance_pvalue`: the number ``K`` of ``m`` new values above the ``j``-th largest of ``n`` baseline
  values has, when all ``n + m`` values are exchangeable and continuous (no change), the distribution
  ``P(K = k) = C(k + j - 1, k) · C(m - k + n - j, m - k) / C(n + m, m)`` (the exceedance statistic of Gumbel
  and von Schelling): an exact one-sided test that the window's values lie above the baseline's quantile more
  often than the baseline's own. Ties at the threshold are not counted as above (conservative).
* :func:`quantile_interval`: the order statistics ``x_(l) <= Q_q <= x_(u)`` that cover the quantile with
  probability about ``confidence`` (ranks from the normal approximation of Binomial(m, q)).
"""

from __future__ import annotations

import math

import numpy as np

from workbench.stats.tails import norm_ppf


def rank(q: float, n: int) -> int:
    """The 1-based rank of the ``q``-quantile of ``n`` sorted values (the value at ``ceil(q·n)``)."""
    return min(n, max(1, math.ceil(q * n - 1e-9)))


def exceedance_pvalue(k: int, m: int, n: int, j: int) -> float:
    """P(K >= k) for ``m`` new values above the ``j``-th largest of ``n`` baseline values, under no change.

    The first term from log-gamma, the next ones by the ratio ``P(K = i + 1) / P(K = i) =
    (i + j) (m - i) / ((i + 1) (m - i + n - j))``, summed in log space."""
    if k <= 0:
        return 1.0
    if k > m:
        return 0.0
    first = _log_comb(k + j - 1, k) + _log_comb(m - k + n - j, m - k) - _log_comb(n + m, m)
    i = np.arange(k, m, dtype=float)
    steps = np.log(i + j) + np.log(m - i) - np.log(i + 1) - np.log(m - i + n - j)
    logs = first + np.concatenate(([0.0], np.cumsum(steps)))
    top = logs.max()
    return float(min(1.0, math.exp(top) * np.exp(logs - top).sum()))


def _log_comb(a: float, b: float) -> float:
    return math.lgamma(a + 1) - math.lgamma(b + 1) - math.lgamma(a - b + 1)


def quantile_interval(sorted_values: np.ndarray, q: float, confidence: float) -> tuple[float, float]:
    """Distribution-free interval of the ``q``-quantile from sorted values (NaN for none)."""
    m = len(sorted_values)
    if m == 0:
        return (math.nan, math.nan)
    z = norm_ppf(0.5 + confidence / 2)
    half = z * math.sqrt(m * q * (1 - q))
    low, high = max(1, math.floor(m * q - half)), min(m, math.ceil(m * q + half) + 1)
    return (float(sorted_values[low - 1]), float(sorted_values[high - 1]))


def exceedance_pmf(m: int, n: int, j: int) -> np.ndarray:
    """``P(K = k)`` for ``k = 0..m`` (the distribution :func:`exceedance_pvalue` sums), from ``P(K = 0) =
    C(m + n - j, m) / C(n + m, m)`` by the ratio of consecutive terms; terms below the float range are 0."""
    first = _log_comb(m + n - j, m) - _log_comb(n + m, m)
    i = np.arange(0, m, dtype=float)
    steps = np.log(i + j) + np.log(m - i) - np.log(i + 1) - np.log(m - i + n - j)
    return np.exp(first + np.concatenate(([0.0], np.cumsum(steps))))
