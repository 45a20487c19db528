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

from workbench.stats import log_loss_terms
from workbench.stats.tails import chi2_sf, norm_ppf

FINE_BINS = 1000
LOGIT_CLIP = 1e-6  # scores are clipped to [clip, 1 - clip] before the logit


def equal_width_edges(bins: int) -> np.ndarray:
    """The ``bins + 1`` edges of ``bins`` equal-width bins on the fine grid, in fine bins:
    ``round(i * FINE_BINS / bins)`` (halves up). The score edges are these over ``FINE_BINS``:
    exactly ``i / bins`` when ``bins`` divides 1000, otherwise ``i / bins`` rounded to the 0.001
    grid (15 bins: 0, 0.067, 0.133, 0.2, ...), so the bins differ in width by at most 0.001."""
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or not 1 <= bins <= FINE_BINS:
        raise ValueError(f"bins must be an integer from 1 to {FINE_BINS}, got {bins!r}.")
    return (np.arange(bins + 1) * FINE_BINS + bins // 2) // bins


def equal_width_groups(bins: int) -> np.ndarray:
    """Coarse bin index of every fine bin for ``bins`` equal-width bins (edges from
    :func:`equal_width_edges`; a coarse bin is a union of whole fine bins)."""
    return np.searchsorted(equal_width_edges(bins), np.arange(FINE_BINS), side="right") - 1


def equal_mass_groups(reference_n: np.ndarray, bins: int) -> np.ndarray:
    """Coarse bin index of every fine bin so that each coarse bin holds about ``1/bins`` of the
    reference's rows (edges on the fine grid; a fine bin is never split). Empty coarse bins are
    dropped, so fewer than ``bins`` groups come back when the reference's scores are lumpy."""
    cum = np.cumsum(reference_n)
    total = cum[-1] if len(cum) else 0
    if total == 0:
        return equal_width_groups(bins)
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
    cn, cpos, csum = cn[ok], cpos[ok], csum[ok]  # empty or degenerate bins never reach the division
    h = float((((cpos - csum) ** 2) / (csum * (1 - csum / cn))).sum())
    df = int(ok.sum())
    return h, df, chi2_sf(h, df)


def sigmoid(eta: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-eta)) without overflow for any finite ``eta``."""
    e = np.exp(-np.abs(eta))
    return np.where(eta >= 0, 1 / (1 + e), e / (1 + e))


@dataclass(frozen=True)
class LogisticFit:
    """``logit P(y=1) = intercept + slope * logit(p)``: the maximum-likelihood estimates, their
    standard errors (inverse observed information) and the Newton iterations it took."""

    intercept: float
    slope: float
    intercept_se: float
    slope_se: float
    iterations: int

    def interval(self, confidence: float) -> tuple[float, float]:
        """Wald interval of the slope at ``confidence``."""
        z = norm_ppf(0.5 + confidence / 2)
        return (self.slope - z * self.slope_se, self.slope + z * self.slope_se)

    def apply(self, logit: np.ndarray) -> np.ndarray:
        """Recalibrated probabilities of scores with logit ``logit``."""
        return sigmoid(self.intercept + self.slope * np.asarray(logit, dtype=float))


@dataclass(frozen=True)
class Unestimable:
    """The calibration slope and intercept could not be estimated; ``reason`` says why (shown to
    the user in place of a number)."""

    reason: str


def logistic_recalibration(n: np.ndarray, pos: np.ndarray, sum_logit: np.ndarray, *,
                           max_iterations: int = 100) -> LogisticFit | Unestimable:
    """Fit ``logit P(y=1) = a + b * logit(p)`` by maximum likelihood on the fine bins, each bin's
    ``n`` rows (``pos`` positives) taken at the bin's mean ``logit(p)`` (``sum_logit / n``; exact
    for rows sharing a score, otherwise within the bin's 0.001 spread of scores).

    Newton–Raphson from the constant model (a = logit of the positive rate, b = 0), each step
    halved until the deviance decreases (the log-likelihood is concave, so this converges wherever
    the maximum exists); converged when the Newton decrement (the deviance still to gain) is below
    1e-12 of the deviance. Returns :class:`Unestimable` with the reason when
    there is no finite maximum-likelihood estimate or the fit fails: no rows or one class only,
    scores in a single bin, outcomes perfectly separated by the score (complete or quasi-complete
    separation: every positive at or above every negative, or the reverse — the slope is
    infinite), no convergence in ``max_iterations``, or a singular information matrix.
    """
    ok = n > 0
    if not ok.any():
        return Unestimable("no labelled rows")
    total, positives = float(n[ok].sum()), float(pos[ok].sum())
    if positives in (0.0, total):
        return Unestimable(f"one class only (every outcome is {int(positives > 0)})")
    x = sum_logit[ok] / n[ok]
    w_n, k = n[ok].astype(float), pos[ok].astype(float)
    if x.max() == x.min():
        return Unestimable("the scores fall in one 0.001-wide bin: a slope needs spread in the scores")
    x_pos, x_neg = x[k > 0], x[k < w_n]
    if x_neg.max() <= x_pos.min() or x_pos.max() <= x_neg.min():
        return Unestimable("the outcomes are perfectly separated by the score (at the 0.001 score resolution): "
                           "the maximum-likelihood slope is infinite")
    design = np.column_stack([np.ones_like(x), x])
    rate = positives / total
    beta = np.array([math.log(rate / (1 - rate)), 0.0])
    dev = _deviance(design @ beta, w_n, k)
    for iteration in range(1, max_iterations + 1):
        mu = sigmoid(design @ beta)
        info = design.T @ (design * (w_n * mu * (1 - mu))[:, None])
        grad = design.T @ (k - w_n * mu)
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            return Unestimable("the information matrix is singular (the scores hardly vary)")
        decrement = float(grad @ step)  # about the deviance still to gain: ~0 at the maximum
        if not decrement >= 0:
            return Unestimable("the information matrix is not positive definite (the scores hardly vary)")
        if decrement <= 1e-12 * (abs(dev) + 0.1):
            return _fit_at(beta + step, design, w_n, iteration)
        t = 1.0
        new_dev = _deviance(design @ (beta + step), w_n, k)
        while not new_dev < dev and t > 1e-12:  # halve the step until the deviance decreases (NaN too)
            t /= 2
            new_dev = _deviance(design @ (beta + t * step), w_n, k)
        if not new_dev < dev:
            return Unestimable("the fit could not improve the likelihood (numerically unstable scores)")
        beta, dev = beta + t * step, new_dev
    return Unestimable(f"the fit did not converge in {max_iterations} iterations")


def _deviance(eta: np.ndarray, n: np.ndarray, k: np.ndarray) -> float:
    """-2 × the binomial log-likelihood of ``k`` positives in ``n`` rows at linear predictor
    ``eta`` (without the saturated model's constant), computed without overflow."""
    return float(2 * (n * np.logaddexp(0.0, eta) - k * eta).sum())


def _fit_at(beta: np.ndarray, design: np.ndarray, n: np.ndarray, iterations: int) -> LogisticFit | Unestimable:
    """The fit at ``beta`` with standard errors from the inverse information there."""
    mu = sigmoid(design @ beta)
    info = design.T @ (design * (n * mu * (1 - mu))[:, None])
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return Unestimable("the information matrix is singular at the fit (nearly separated outcomes)")
    if not (np.isfinite(beta).all() and np.isfinite(cov).all() and cov[0, 0] > 0 and cov[1, 1] > 0):
        return Unestimable("the fit gave no finite standard error (nearly separated outcomes)")
    return LogisticFit(float(beta[0]), float(beta[1]), math.sqrt(cov[0, 0]), math.sqrt(cov[1, 1]), iterations)


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
    ``map_values[b]`` (a recalibration what-if; the log loss as :func:`workbench.stats.log_loss_terms`)."""
    ok = n > 0
    q = np.clip(map_values[ok], 0.0, 1.0)
    total = n[ok].sum()
    brier = float((n[ok] * q**2 - 2 * q * pos[ok] + pos[ok]).sum() / total)
    ll = float((pos[ok] * log_loss_terms(1.0, q) + (n[ok] - pos[ok]) * log_loss_terms(0.0, q)).sum() / total)
    return {"brier": brier, "log_loss": ll}
