"""Statistics computed from small summaries (counts, histograms) with numpy."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from workbench.stats.tails import norm_ppf, norm_sf

PROBABILITY_EPS = float(np.finfo(np.float64).eps)  # 2.2e-16: scikit-learn's log_loss clip for float64


def log_loss_terms(y: Any, p: Any) -> Any:
    """Per-row log loss ``-(y log p + (1 - y) log(1 - p))`` of a probability ``p`` of class 1 for an
    outcome ``y`` (0 or 1), in nats; lower is better. ``y`` and ``p`` are narwhals or polars
    expressions, numpy arrays or numbers (the result is of the same kind). Each class's probability
    (``p`` and ``1 - p``) is clipped to ``[eps, 1 - eps]`` with ``eps`` the float64 machine epsilon,
    as ``sklearn.metrics.log_loss`` does: a confidently wrong score of exactly 0 or 1 costs
    ``-log(eps)`` = 36.04, not infinity. The one definition used by every check."""
    return -(y * _log(_clip(p)) + (1 - y) * _log(_clip(1 - p)))


def _clip(x: Any) -> Any:
    if isinstance(x, int | float):
        return min(max(float(x), PROBABILITY_EPS), 1 - PROBABILITY_EPS)
    return x.clip(PROBABILITY_EPS, 1 - PROBABILITY_EPS)


def _log(x: Any) -> Any:
    if isinstance(x, int | float | np.ndarray | np.generic):
        return np.log(x)
    return x.log()


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``k / n``; ``(nan, nan)`` when ``n == 0``."""
    if n <= 0:
        return (math.nan, math.nan)
    z = norm_ppf(0.5 + confidence / 2)
    p = k / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def auc_from_counts(positives: np.ndarray, negatives: np.ndarray) -> float:
    """ROC AUC of a score from per-value counts.

    ``positives[i]`` and ``negatives[i]`` count the positive and negative rows whose score
    falls in the i-th group, groups ordered by increasing score. Ties within a group count
    one half (the Mann-Whitney convention), so exact values give the exact AUC.
    """
    pos = np.asarray(positives, dtype=float)
    neg = np.asarray(negatives, dtype=float)
    n_pos, n_neg = pos.sum(), neg.sum()
    if n_pos == 0 or n_neg == 0:
        return math.nan
    neg_below = np.cumsum(neg) - neg
    return float((pos * (neg_below + 0.5 * neg)).sum() / (n_pos * n_neg))


def auc_interval(auc: float, n_pos: int, n_neg: int, confidence: float = 0.95) -> tuple[float, float]:
    """Interval for an AUC estimate: Hanley–McNeil, widened to cover a Wilson interval on the
    smaller class size. Hanley–McNeil collapses to a point when the AUC is 0 or 1; the Wilson
    bound keeps small or perfectly separated samples from looking certain."""
    if n_pos == 0 or n_neg == 0 or math.isnan(auc):
        return (math.nan, math.nan)
    m = min(n_pos, n_neg)
    w_lo, w_hi = wilson_interval(round(auc * m), m, confidence)
    h_lo, h_hi = _hanley_mcneil(auc, n_pos, n_neg, confidence)
    return (min(w_lo, h_lo), max(w_hi, h_hi))


def _hanley_mcneil(auc: float, n_pos: int, n_neg: int, confidence: float) -> tuple[float, float]:
    q1 = auc / (2 - auc)
    q2 = 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)
    z = norm_ppf(0.5 + confidence / 2)
    half = z * math.sqrt(max(var, 0.0))
    return (max(0.0, auc - half), min(1.0, auc + half))


def two_proportions(k1: int, n1: int, k2: int, n2: int, confidence: float = 0.95) -> tuple[float, float, float, float]:
    """Difference ``k2/n2 - k1/n1`` with Newcombe's hybrid score interval and the pooled
    two-sided z-test p-value. Returns (difference, low, high, p-value); NaNs when a side is empty."""
    if n1 == 0 or n2 == 0:
        return (math.nan, math.nan, math.nan, math.nan)
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, confidence)
    l2, u2 = wilson_interval(k2, n2, confidence)
    diff = p2 - p1
    low = diff - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = diff + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    p = 1.0 if se == 0 else 2 * norm_sf(abs(diff) / se)
    return (diff, low, high, p)
