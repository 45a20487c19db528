"""Calibration statistics from binned summaries (numpy only; the engine computed the bins).

Every function here takes, per fine score bin ``b`` (``FINE_BINS`` equal-width bins of [0, 1]),
the count ``n[b]``, the positives ``pos[b]``, the sum of scores ``sum_p[b]`` and, where needed, the
sum of ``logit(p)``. Coarse bins (equal-width or equal-mass, whose edges lie on the fine grid) are
unions of fine bins, so ECE on them is exactly what a direct computation with the same bins gives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from workbench.distributions import chi2_sf, norm_ppf

FINE_BINS = 1000
LOGIT_CLIP = 1e-6  # scores are clipped to [clip, 1 - clip] before the logit


def equal_width_groups(bins: int) -> np.ndarray:
    """Coarse bin index of every fine bin for ``bins`` equal-width bins (``bins`` must divide
    ``FINE_BINS``)."""
    if bins < 1 or FINE_BINS % bins:
        raise ValueError(f"bins must divide {FINE_BINS} (e.g. 5, 10, 20, 25, 50), got {bins}.")
    return np.arange(FINE_BINS) // (FINE_BINS // bins)


def equal_mass_groups(reference_n: np.ndarray, bins: int) -> np.ndarray:
    """Coarse bin index of every fine bin so that each coarse bin holds about ``1/bins`` of the
    reference's rows (edges on the fine grid; a fine bin is never split). Empty coarse bins are
    dropped, so fewer than ``bins`` groups come back when the reference's scores are lumpy."""
    cum = np.cumsum(reference_n)
    total = cum[-1] if len(cum) else 0
    if total == 0:
        return equal_width_groups(bins if FINE_BINS % bins == 0 else 10)
    group = np.minimum((cum - reference_n / 2) * bins // total, bins - 1).astype(int)  # by each bin's middle
    _, dense = np.unique(group, return_inverse=True)
    return dense


def coarse(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Sum fine-bin ``values`` (last axis; one row or a stack of resamples) into coarse groups."""
    onehot = np.zeros((len(groups), int(groups.max()) + 1 if len(groups) else 0))
    onehot[np.arange(len(groups)), groups] = 1.0
    return np.asarray(values, dtype=float) @ onehot


@dataclass(frozen=True)
class Reliability:
    """Per coarse bin: rows, mean score, observed positive rate; ECE (weighted mean |gap|) and
    MCE (largest |gap| over non-empty bins)."""

    n: np.ndarray
    mean_score: np.ndarray
    positive_rate: np.ndarray
    ece: float
    mce: float


def reliability(n: np.ndarray, pos: np.ndarray, sum_p: np.ndarray, groups: np.ndarray) -> Reliability:
    """Reliability curve, ECE and MCE on the coarse bins ``groups`` of the fine bins."""
    cn, cpos, csum = coarse(n, groups), coarse(pos, groups), coarse(sum_p, groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p, rate = csum / cn, cpos / cn
    total = cn.sum()
    gap = np.abs(mean_p - rate)
    ece = float(np.nansum(cn * gap) / total) if total else math.nan
    mce = float(np.nanmax(gap)) if total else math.nan
    return Reliability(cn, mean_p, rate, ece, mce)


def ece_bootstrap(n: np.ndarray, pos: np.ndarray, sum_p: np.ndarray, groups: np.ndarray, *, resamples: int,
                  rng: np.random.Generator) -> np.ndarray:
    """ECE and MCE under a Poisson bootstrap of the rows, resampled per coarse bin: its count is
    redrawn ~ Poisson(n), its positives ~ Binomial(new n, observed rate), its mean score kept (the
    within-bin composition is held fixed). Returns a (2, ``resamples``) array: ECE, then MCE."""
    cn, cpos, csum = coarse(n, groups), coarse(pos, groups), coarse(sum_p, groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(cn > 0, cpos / cn, 0.0)
        mean_p = np.where(cn > 0, csum / cn, 0.0)
    n_star = rng.poisson(np.broadcast_to(cn, (resamples, len(cn))))
    pos_star = rng.binomial(n_star, rate)
    total = n_star.sum(axis=1)
    gaps = np.abs(n_star * mean_p - pos_star)
    ece = gaps.sum(axis=1) / np.where(total > 0, total, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        mce = np.nanmax(np.where(n_star > 0, gaps / np.maximum(n_star, 1), np.nan), axis=1, initial=0.0)
    return np.stack([ece, mce])


def ece_if_calibrated(n: np.ndarray, sum_p: np.ndarray, groups: np.ndarray, *, resamples: int,
                      rng: np.random.Generator) -> float:
    """The ECE a perfectly calibrated model would show on these rows (each coarse bin's positives
    drawn with the bin's mean score): the small-sample bias of ECE, to subtract before comparing
    scopes of different sizes (an hour of traffic shows a larger ECE than a month even when
    nothing changed)."""
    cn, csum = coarse(n, groups), coarse(sum_p, groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.where(cn > 0, csum / cn, 0.0)
    pos_star = rng.binomial(np.broadcast_to(cn.astype(np.int64), (resamples, len(cn))), mean_p)
    total = cn.sum()
    return float(np.abs(csum - pos_star).sum(axis=1).mean() / total) if total else math.nan


def hosmer_lemeshow(n: np.ndarray, pos: np.ndarray, sum_p: np.ndarray, groups: np.ndarray) -> tuple[float, int, float]:
    """Hosmer–Lemeshow statistic of observed vs expected positives on the coarse bins (for data the
    model was not fitted on: degrees of freedom = number of non-empty bins). Returns (H, df, p)."""
    cn, cpos, csum = coarse(n, groups), coarse(pos, groups), coarse(sum_p, groups)
    ok = (cn > 0) & (csum > 0) & (csum < cn)
    if not ok.any():
        return (math.nan, 0, math.nan)
    h = float((((cpos - csum) ** 2) / (csum * (1 - csum / cn)))[ok].sum())
    df = int(ok.sum())
    return h, df, chi2_sf(h, df)


@dataclass(frozen=True)
class LogisticFit:
    """``logit P(y=1) = intercept + slope * logit(p)`` with standard errors (grouped IRLS)."""

    intercept: float
    slope: float
    intercept_se: float
    slope_se: float

    def interval(self, confidence: float) -> tuple[float, float]:
        z = norm_ppf(0.5 + confidence / 2)
        return (self.slope - z * self.slope_se, self.slope + z * self.slope_se)

    def apply(self, logit: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-(self.intercept + self.slope * logit)))


def logistic_recalibration(n: np.ndarray, pos: np.ndarray, sum_logit: np.ndarray, *,
                           iterations: int = 50) -> LogisticFit | None:
    """Fit the calibration slope and intercept by IRLS on the fine bins, each bin's rows taken at
    the bin's mean ``logit(p)`` (exact for rows sharing a score; otherwise within the bin's
    spread, 0.001 in score). None when the labels have one class or the scores one value."""
    ok = n > 0
    if ok.sum() < 2 or pos[ok].sum() in (0, n[ok].sum()):
        return None
    x = sum_logit[ok] / n[ok]
    w_n, k = n[ok].astype(float), pos[ok].astype(float)
    design = np.column_stack([np.ones_like(x), x])
    beta = np.array([0.0, 1.0])
    cov = None
    for _ in range(iterations):
        mu = 1 / (1 + np.exp(-np.clip(design @ beta, -30, 30)))
        w = w_n * mu * (1 - mu)
        info = design.T @ (design * w[:, None])
        if np.linalg.cond(info) > 1e12:
            return None
        step = np.linalg.solve(info, design.T @ (k - w_n * mu))
        beta = beta + step
        cov = np.linalg.inv(info)
        if np.abs(step).max() < 1e-10:
            break
    mu = 1 / (1 + np.exp(-np.clip(design @ beta, -30, 30)))
    cov = np.linalg.inv(design.T @ (design * (w_n * mu * (1 - mu))[:, None]))
    return LogisticFit(float(beta[0]), float(beta[1]), float(math.sqrt(cov[0, 0])), float(math.sqrt(cov[1, 1])))


def isotonic_map(n: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Isotonic (non-decreasing) calibration map over the fine bins by pool-adjacent-violators,
    weighted by the bins' counts; empty bins take the value of the nearest fitted bin below
    (above, for leading empty bins)."""
    values, weights, sizes = [], [], []
    for b in np.flatnonzero(n > 0):
        values.append(pos[b] / n[b])
        weights.append(float(n[b]))
        sizes.append([b])
        while len(values) > 1 and values[-2] > values[-1]:
            v, w, s = values.pop(), weights.pop(), sizes.pop()
            values[-1] = (values[-1] * weights[-1] + v * w) / (weights[-1] + w)
            weights[-1] += w
            sizes[-1] += s
    out = np.full(len(n), np.nan)
    for v, s in zip(values, sizes, strict=True):
        out[s] = v
    idx = np.where(~np.isnan(out), np.arange(len(out)), -1)
    np.maximum.accumulate(idx, out=idx)
    first = np.flatnonzero(~np.isnan(out))
    if len(first) == 0:
        return np.full(len(n), np.nan)
    idx[idx < 0] = first[0]
    return out[idx]


def scores_after(map_values: np.ndarray, n: np.ndarray, pos: np.ndarray) -> dict[str, float]:
    """Brier score and log loss when every row of fine bin ``b`` is given the score
    ``map_values[b]`` (a recalibration what-if)."""
    ok = n > 0
    q = np.clip(map_values[ok], LOGIT_CLIP, 1 - LOGIT_CLIP)
    total = n[ok].sum()
    brier = float((n[ok] * q**2 - 2 * q * pos[ok] + pos[ok]).sum() / total)
    ll = float(-(pos[ok] * np.log(q) + (n[ok] - pos[ok]) * np.log(1 - q)).sum() / total)
    return {"brier": brier, "log_loss": ll}
