"""Paired statistics for two models scored on the same requests, from small count tables."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from workbench.distributions import binom_cdf, norm_ppf


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
