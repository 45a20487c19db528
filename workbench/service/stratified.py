"""A window's stage latencies against each stratum's own baseline (the stratified exceedance test).

Requests of different endpoints are not comparable: ``/batch_score`` takes 2.5 s where ``/predict`` takes 40 ms,
so a window with more ``/batch_score`` requests has a higher p95 with no stage getting slower. Each request is
therefore compared with the baseline of its own stratum (its endpoint): in stratum ``s`` the window has ``m_s``
latencies and the baseline ``n_s``; ``K_s`` counts the window's latencies above the baseline's ``q``-quantile
(its ``r_s``-th smallest, ``j_s = n_s - r_s + 1``-th largest). Under no change within every stratum, ``K_s``
has the exact exceedance distribution of :func:`~workbench.service.quantiles.exceedance_pmf`, independently
across strata, so ``K = sum K_s`` has their convolution: the one-sided p-value ``P(K >= k)`` is exact and
distribution-free whatever the endpoint mix of the window (the stratified analogue of a Mantel–Haenszel
combination). Strata without a baseline (an endpoint seen only in the window) are left out of the test.

The effect is mix-adjusted: the window's ``q``-quantile against the ``q``-quantile of the baseline reweighted
to the window's mix (the mixture of the strata's baseline distributions with weights ``m_s / m``: the p95 the
window would have if no stratum changed).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from workbench.service.quantiles import exceedance_pmf, quantile_interval, rank


def baseline_order_statistic(everything: np.ndarray, window: np.ndarray, r: int) -> float:
    """The ``r``-th smallest (1-based) of ``everything`` minus ``window`` (both sorted; ``window`` a sub-multiset
    of ``everything``) without building the difference: it lies among ``everything[r-1 : r+len(window)]``, and is
    the first candidate with at least ``r`` baseline values at or below it."""
    candidates = everything[r - 1:r + len(window)]
    below = (np.searchsorted(everything, candidates, side="right")
             - np.searchsorted(window, candidates, side="right"))
    return float(candidates[int(np.argmax(below >= r))])


def stratified_cell(parts: list[tuple[np.ndarray, np.ndarray]], q: float, confidence: float,
                    union: np.ndarray) -> dict[str, Any]:
    """``parts``: per stratum, all its latencies (sorted) and the window's (sorted, a sub-multiset of them);
    ``union``: every stratum's latencies together, sorted.
    Returns the window's ``n`` and ``baseline_n`` (strata with both), its ``value`` (``q``-quantile) with
    ``value_low``/``value_high``, the mix-adjusted ``baseline`` quantile, ``above`` (window latencies above their
    stratum's baseline quantile), ``expected_share`` (the baseline's own share above, weighted by the window's
    mix), the exact ``p_value`` and the number of ``strata`` compared."""
    used = []
    k, expected, pmf = 0, 0.0, np.ones(1)
    for everything, w in parts:
        m, n = len(w), len(everything) - len(w)
        if not (m and n):
            continue
        r = rank(q, n)
        threshold = baseline_order_statistic(everything, w, r)
        k += int(m - np.searchsorted(w, threshold, side="right"))
        expected += m * (n - int(np.searchsorted(everything, threshold, side="right")
                                 - np.searchsorted(w, threshold, side="right"))) / n
        pmf = np.convolve(pmf, exceedance_pmf(m, n, n - r + 1))
        used.append((everything, w, threshold))
    window = np.sort(np.concatenate([w for _, w, _ in used])) if used else np.zeros(0)
    m = len(window)
    out: dict[str, Any] = {"n": m, "baseline_n": sum(len(e) - len(w) for e, w, _ in used), "strata": len(used),
                           "above": k}
    if not m:
        return out | {"value": math.nan, "value_low": math.nan, "value_high": math.nan, "baseline": math.nan,
                      "expected_share": math.nan, "p_value": math.nan}
    low, high = quantile_interval(window, q, confidence)
    return out | {"value": float(window[rank(q, m) - 1]), "value_low": low, "value_high": high,
                  "baseline": _mixture_quantile(used, q, union), "expected_share": expected / m,
                  "p_value": float(min(1.0, pmf[k:].sum())) if k > 0 else 1.0}


def _mixture_quantile(used: list[tuple[np.ndarray, np.ndarray, float]], q: float, union: np.ndarray) -> float:
    """The smallest baseline latency ``x`` with ``F(x) = sum_s (m_s / m) F_s(x) >= q`` (``F_s``: stratum ``s``'s
    baseline distribution), searched in ``union`` between the smallest and the largest of the strata's own
    quantiles (where it lies), 64 points at a time. ``F`` only steps up at baseline values, so the first value
    of ``union`` reaching ``q`` is one."""
    m = sum(len(w) for _, w, _ in used)

    def share(x: np.ndarray) -> np.ndarray:
        total = np.zeros(len(x))
        for everything, w, _ in used:
            below = np.searchsorted(everything, x, side="right") - np.searchsorted(w, x, side="right")
            total += len(w) / m * below / (len(everything) - len(w))
        return total

    lo = int(np.searchsorted(union, min(t for _, _, t in used), side="left"))
    hi = int(np.searchsorted(union, max(t for _, _, t in used), side="right")) - 1
    while lo < hi:  # share(union[hi]) >= q: every stratum is at or above its own quantile there
        step = -(-(hi - lo + 1) // 64)
        points = np.append(np.arange(lo, hi, step), hi)  # ascending, distinct, ending at hi
        first = int(np.argmax(share(union[points]) >= q - 1e-9))
        lo, hi = (int(points[first - 1]) + 1 if first else lo), int(points[first])
    return float(union[hi])
