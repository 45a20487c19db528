"""Drift statistics from binned counts (numpy only; no raw rows).

Every effect size takes reference and current *counts* over the same bins, on the last axis,
so the same function serves a single comparison (shape ``(k,)``) and a bootstrap batch
(shape ``(B, k)``). Definitions, with ``p`` and ``q`` the reference and current shares:

* PSI = Σ (q − p) · ln(q / p), shares floored at ``PSI_FLOOR`` so empty bins stay finite;
* Jensen–Shannon distance = √(½ KL(p‖m) + ½ KL(q‖m)), ``m = (p + q)/2``, base 2 (in [0, 1]);
* total variation = ½ Σ |p − q| (in [0, 1]): the share of traffic that moved between bins;
* largest share change = max |p − q| (in [0, 1]): how far the bin (category) that moved most moved;
* KS = max over bin edges of |F_p − F_q| (the two-sample Kolmogorov–Smirnov statistic
  evaluated at the edges: exact when every distinct value is an edge, otherwise a lower bound);
* Wasserstein-1 between the two CDFs over the reference's inner edge range (trapezoid rule on
  the edges), divided by the reference's robust spread, so 0.25 means "a quarter of a
  standard deviation" for normal data. The open outer bins are left out, which keeps heavy
  tails from dominating.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from workbench.stats.tails import binom_sf, chi2_sf, kolmogorov_sf

PSI_FLOOR = 1e-4


def shares(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    total = counts.sum(axis=-1, keepdims=True)
    return np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)


def psi(ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    p = np.clip(shares(ref), PSI_FLOOR, None)
    q = np.clip(shares(cur), PSI_FLOOR, None)
    return np.sum((q - p) * np.log(q / p), axis=-1)


def jensen_shannon(ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    p, q = shares(ref), shares(cur)
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0).sum(axis=-1)
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0).sum(axis=-1)
    return np.sqrt(np.clip(0.5 * (kl_p + kl_q), 0.0, None))


def total_variation(ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    return 0.5 * np.abs(shares(ref) - shares(cur)).sum(axis=-1)


def max_share_change(ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """The largest change of one bin's share, max |p − q| (in [0, 1]; 0.1 = ten percentage points).
    Never above the total variation, and equal to it when one bin gains what the others lose."""
    return np.abs(shares(ref) - shares(cur)).max(axis=-1)


def ks_statistic(ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    gap = np.cumsum(shares(ref), axis=-1) - np.cumsum(shares(cur), axis=-1)
    return np.abs(gap).max(axis=-1)


def wasserstein(ref: np.ndarray, cur: np.ndarray, edges: np.ndarray, scale: float) -> np.ndarray:
    """Scaled Wasserstein-1 over the inner edges (``len(edges) = k - 1`` for ``k`` bins), divided by
    ``scale`` (the reference's spread, in the edges' units). NaN when the edges or the scale are not
    finite and positive, never 0 for an undefined scale.

    The edges are divided by their largest magnitude first, so bin widths near the float limit
    (edges at -1e308 and 1e308) do not overflow; the ratio is unchanged."""
    edges = np.asarray(edges, dtype=float)
    magnitude = float(np.abs(edges).max()) if len(edges) else 0.0
    if (len(edges) < 2 or not np.isfinite(edges).all() or magnitude == 0
            or not math.isfinite(scale) or scale <= 0):
        return np.full(np.shape(ref)[:-1], np.nan)
    gap = np.abs(np.cumsum(shares(ref), axis=-1) - np.cumsum(shares(cur), axis=-1))[..., : len(edges)]
    area = 0.5 * (gap[..., :-1] + gap[..., 1:]) * np.diff(edges / magnitude)
    return area.sum(axis=-1) / (scale / magnitude)


def ks_pvalue(d: float, n_ref: int, n_cur: int) -> float:
    """Two-sided asymptotic p-value of a two-sample KS statistic: the Kolmogorov distribution at
    the effective size n·m/(n+m) (close to ``scipy.stats.ks_2samp(method="asymp")``, see :func:`kolmogorov_sf`).
    With the statistic taken at bin edges it is conservative."""
    if n_ref == 0 or n_cur == 0:
        return math.nan
    en = np.round(n_ref * n_cur / (n_ref + n_cur))
    if en < 1:
        return 1.0
    return kolmogorov_sf(d, float(en))


def chi2_homogeneity(ref: np.ndarray, cur: np.ndarray) -> tuple[float, int, float]:
    """Pearson chi-square test that two count vectors share one distribution.

    Bins empty in both samples are dropped; equals ``scipy.stats.chi2_contingency`` without
    continuity correction. Returns (statistic, degrees of freedom, p-value)."""
    table = np.vstack([np.asarray(ref, float), np.asarray(cur, float)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return (0.0, 0, 1.0)
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    stat = float(((table - expected) ** 2 / expected).sum())
    dof = table.shape[1] - 1
    return (stat, dof, chi2_sf(stat, dof))


def bootstrap(
    ref: np.ndarray,
    cur: np.ndarray,
    statistics: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]],
    *,
    rng: np.random.Generator,
    resamples: int = 400,
    confidence: float = 0.95,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Percentile intervals of each statistic under the Poisson bootstrap of both histograms:
    each bin's count is redrawn as Poisson(observed count), independently (the large-sample
    equivalent of redrawing the sample, vectorised over every resample and comparison; counts
    of 30 or more are drawn from the normal approximation N(λ, λ), which is what made many
    windows cheap).

    ``ref`` and ``cur`` are ``(S, k)``: ``S`` comparisons on the same ``k`` bins (e.g. one
    column in every window), resampled together. Returns, per statistic, the lower and upper
    bounds as arrays of length ``S`` (NaN where a side is empty or the statistic is undefined).
    The intervals are bias-corrected percentile intervals, clipped at 0 (every statistic here
    is a non-negative distance)."""
    ref = np.atleast_2d(np.asarray(ref, dtype=np.int64))
    cur = np.atleast_2d(np.asarray(cur, dtype=np.int64))
    usable = (ref.sum(axis=1) > 0) & (cur.sum(axis=1) > 0)
    r = _poisson(rng, ref, resamples)
    c = _poisson(rng, cur, resamples)
    values = np.stack([fn(r, c) for fn in statistics.values()])  # (statistics, resamples, S)
    points = np.stack([fn(ref, cur) for fn in statistics.values()])  # (statistics, S)
    defined = ~np.isnan(values).any(axis=1) & usable  # (statistics, S)
    tail = 50 * (1 - confidence)
    # one percentile call for every statistic and comparison: most of the cost otherwise
    low, high = np.percentile(np.nan_to_num(values), [tail, 100 - tail], axis=1)
    # these distances are biased upwards (a resample's plug-in sits above the estimate), so the
    # percentile interval is shifted back by the bootstrap's estimate of that bias
    bias = np.nan_to_num(values).mean(axis=1) - np.nan_to_num(points)
    low, high = np.clip(low - bias, 0.0, None), np.clip(high - bias, 0.0, None)
    low, high = np.where(defined, low, np.nan), np.where(defined, high, np.nan)
    return {name: (low[i], high[i]) for i, name in enumerate(statistics)}


POISSON_EXACT_BELOW = 30


def _poisson(rng: np.random.Generator, lam: np.ndarray, resamples: int) -> np.ndarray:
    """``resamples`` draws of independent Poisson(lam) counts, shape ``(resamples, *lam.shape)``:
    exact below :data:`POISSON_EXACT_BELOW`, normal approximation (clipped at 0) above."""
    lam = lam.astype(float)
    out = lam + np.sqrt(lam) * rng.standard_normal((resamples, *lam.shape))
    small = lam < POISSON_EXACT_BELOW
    if small.any():
        out[:, small] = rng.poisson(lam[small], size=(resamples, int(small.sum())))
    return np.clip(out, 0.0, None)


def excess_share_pvalue(k: int, n: int, expected: float) -> float:
    """One-sided exact binomial p-value that ``k`` of ``n`` exceeds the share ``expected``."""
    if n == 0:
        return math.nan
    return binom_sf(k - 1, n, min(max(expected, 0.0), 1.0))
