"""Paired statistics for two models scored on the same requests, from small count tables."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from workbench.stats.tails import binom_cdf, norm_ppf


@dataclass(frozen=True)
class Kappa:
    """Cohen's kappa with its asymptotic interval (Fleiss, Cohen & Everitt 1969 variance)."""

    value: float
    low: float
    high: float
    agreement: float
    n: int


def cohen_kappa(confusion: np.ndarray, confidence: float = 0.95) -> Kappa:
    """Cohen's kappa of two raters from their confusion matrix (rows: production's class,
    columns: the candidate's, same class order on both axes); equals
    ``sklearn.metrics.cohen_kappa_score`` on the same labels. The interval uses the large-sample
    variance of Fleiss, Cohen & Everitt (1969), clipped to [-1, 1]."""
    m = np.asarray(confusion, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"confusion must be a square matrix, got shape {m.shape}.")
    n = m.sum()
    if n == 0:
        return Kappa(math.nan, math.nan, math.nan, math.nan, 0)
    p = m / n
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    po, pe = float(np.trace(p)), float(rows @ cols)
    if pe == 1.0:  # both raters always give the same single class: agreement is total by construction
        return Kappa(1.0 if po == 1.0 else math.nan, math.nan, math.nan, po, int(n))
    kappa = (po - pe) / (1 - pe)
    diag = np.diag(p)
    a = float((diag * (1 - (rows + cols) * (1 - kappa)) ** 2).sum())
    off = np.outer(cols, np.ones_like(rows)) + np.outer(np.ones_like(cols), rows)  # p.j + pi. at (i, j)
    mask = ~np.eye(len(p), dtype=bool)
    b = float(((1 - kappa) ** 2 * (p * off**2)[mask]).sum())
    c = (kappa - pe * (1 - kappa)) ** 2
    var = max(a + b - c, 0.0) / (n * (1 - pe) ** 2)
    half = norm_ppf(0.5 + confidence / 2) * math.sqrt(var)
    return Kappa(float(kappa), max(-1.0, kappa - half), min(1.0, kappa + half), po, int(n))


def mcnemar_exact(only_production_right: int, only_candidate_right: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs: the binomial test of
    ``b`` successes in ``b + c`` trials at 1/2, doubled and capped at 1 (as
    ``statsmodels.stats.contingency_tables.mcnemar(exact=True)``)."""
    b, c = int(only_production_right), int(only_candidate_right)
    if b < 0 or c < 0:
        raise ValueError("discordant counts must be non-negative.")
    n = b + c
    if n == 0:
        return 1.0
    return min(1.0, 2.0 * binom_cdf(min(b, c), n, 0.5))


def paired_difference(both: int, only_first: int, only_second: int, n: int,
                      confidence: float = 0.95) -> tuple[float, float, float]:
    """Difference of two proportions measured on the same ``n`` units, second minus first
    (e.g. the candidate's error rate minus production's on the same requests), with Newcombe's
    hybrid score interval for paired data (1998, method 10: Wilson intervals of both margins
    combined with the continuity-corrected correlation φ* of the 2×2 table, :func:`_phi_star`).
    ``both`` counts units where both events happen, ``only_first``/``only_second`` the discordant
    ones. Returns (difference, low, high); nan when ``n == 0``."""
    a, b, c = int(both), int(only_first), int(only_second)
    d = n - a - b - c
    if n <= 0:
        return (math.nan, math.nan, math.nan)
    if min(a, b, c, d) < 0:
        raise ValueError("paired counts must be non-negative and add up to at most n.")
    from workbench.stats import wilson_interval

    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson_interval(a + b, n, confidence)
    l2, u2 = wilson_interval(a + c, n, confidence)
    phi = _phi_star(a, b, c, d)
    theta = p1 - p2  # Newcombe's orientation; flipped on return
    delta = math.sqrt(max((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2, 0.0))
    epsilon = math.sqrt(max((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2, 0.0))
    return (-theta, -(theta + epsilon), -(theta - delta))


def _phi_star(a: int, b: int, c: int, d: int) -> float:
    """Newcombe's (1998, method 10) continuity-corrected correlation of the paired 2×2 table
    (``a`` both, ``b``/``c`` discordant, ``d`` neither; n = a + b + c + d): with A = ad − bc,
    φ* = (A − n/2) / sqrt(efgh) when A > n/2, 0 when 0 ≤ A ≤ n/2, and the plain φ = A / sqrt(efgh)
    when A < 0 (efgh: the product of the four margins). The correction only ever lowers a positive
    correlation, which widens the interval; 0 when a margin is empty."""
    n = a + b + c + d
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    if margins <= 0:
        return 0.0
    big_a = a * d - b * c
    if big_a < 0:
        return big_a / math.sqrt(margins)
    return max(big_a - n / 2, 0.0) / math.sqrt(margins)
