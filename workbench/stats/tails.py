"""Tail probabilities of the few distributions the checks need, without importing scipy.

``import scipy.stats`` costs about a second of start-up on these machines, more than a whole
drift run at a million rows, so the p-values of the hot path come from here: the normal
distribution (stdlib), the chi-square and binomial tails (regularized incomplete gamma and beta
functions, by series and continued fractions as in Numerical Recipes §6.2 and §6.4) and the
Kolmogorov distribution (its limiting series with Stephens' finite-sample correction). Each is
cross-checked against scipy in ``tests/test_distributions.py`` and ``tests/test_reference_crosschecks.py``:
to 1e-7 relative down to tails of 1e-250; below that, near the float64 floor, only the order of magnitude
holds (every decision is taken far above).
"""

from __future__ import annotations

import math
from statistics import NormalDist

_NORMAL = NormalDist()
_EPS = 1e-15
_TINY = 1e-300
_MAX_ITER = 10_000


def norm_ppf(q: float) -> float:
    """Quantile of the standard normal distribution."""
    return _NORMAL.inv_cdf(q)


def norm_sf(z: float) -> float:
    """Upper tail P(Z > z) of the standard normal distribution."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def chi2_sf(x: float, dof: int) -> float:
    """Upper tail P(X > x) of the chi-square distribution with ``dof`` degrees of freedom."""
    if x <= 0:
        return 1.0
    return gammaincc(dof / 2.0, x / 2.0)


def gammaincc(a: float, x: float) -> float:
    """Regularized upper incomplete gamma function Q(a, x)."""
    if x <= 0:
        return 1.0
    if x < a + 1.0:
        return max(0.0, 1.0 - _gamma_series(a, x))
    return _gamma_fraction(a, x)


def _gamma_series(a: float, x: float) -> float:
    term = total = 1.0 / a
    ap = a
    for _ in range(_MAX_ITER):
        ap += 1.0
        term *= x / ap
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gamma_fraction(a: float, x: float) -> float:
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - a)
        b += 2.0
        d = 1.0 / _nonzero(an * d + b)
        c = _nonzero(b + an / c)
        step = d * c
        h *= step
        if abs(step - 1.0) < _EPS:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def binom_sf(k: int, n: int, p: float) -> float:
    """P(X > k) for X ~ Binomial(n, p)."""
    if k < 0:
        return 1.0
    if k >= n:
        return 0.0
    if p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    return betainc(k + 1.0, float(n - k), p)


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), accurate in the far lower tail (not 1 - sf)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if p <= 0:
        return 1.0
    if p >= 1:
        return 0.0
    return betainc(float(n - k), k + 1.0, 1.0 - p)


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1.0 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 / _nonzero(1.0 - qab * x / qap)
    h = d
    for m in range(1, _MAX_ITER):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 / _nonzero(1.0 + aa * d)
        c = _nonzero(1.0 + aa / c)
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 / _nonzero(1.0 + aa * d)
        c = _nonzero(1.0 + aa / c)
        step = d * c
        h *= step
        if abs(step - 1.0) < _EPS:
            break
    return h


def _nonzero(x: float) -> float:
    """Keep a continued fraction's terms away from zero (the modified Lentz method)."""
    return _TINY if abs(x) < _TINY else x


EXACT_KS_MAX_N = 30  # up to this effective size the exact finite-n distribution is computed (a 61x61 matrix at most)


def kolmogorov_sf(d: float, n: float) -> float:
    """P(D_n > d) for the Kolmogorov–Smirnov statistic with effective sample size ``n`` (for two
    samples, n = n1·n2/(n1 + n2), rounded as ``scipy.stats.ks_2samp(method="asymp")`` does).

    Up to ``EXACT_KS_MAX_N`` it is the exact finite-n distribution (Marsaglia, Tsang & Wang 2003,
    "Evaluating Kolmogorov's distribution": ``scipy.stats.kstwo.sf`` to 1e-10). Beyond it, the limiting
    Kolmogorov series at λ = (√n + 0.12 + 0.11/√n)·d (Stephens' correction): within 0.02 of the exact
    value, and between 1e-6 and 0.05, where decisions are taken, from 4% below it to 35% above it (the
    upper end at n just above 30: conservative; under 1% above from n = 100)."""
    if d <= 0 or n <= 0:
        return 1.0
    size = max(1, round(n))
    if size <= EXACT_KS_MAX_N:
        return _kolmogorov_sf_exact(d, size)
    root = math.sqrt(n)
    lam = (root + 0.12 + 0.11 / root) * d
    if lam < 0.2:
        return 1.0
    total = 0.0
    for k in range(1, 101):
        term = 2.0 * (-1) ** (k - 1) * math.exp(-2.0 * k * k * lam * lam)
        total += term
        if abs(term) < 1e-16:
            break
    return min(1.0, max(0.0, total))


def _kolmogorov_sf_exact(d: float, n: int) -> float:
    """P(D_n > d) for an integer ``n`` by the Marsaglia–Tsang–Wang matrix method."""
    import numpy as np

    if n * d <= 0.5:
        return 1.0
    if d >= 1.0:
        return 0.0
    k = int(n * d) + 1
    m = 2 * k - 1
    h = k - n * d
    i, j = np.indices((m, m))
    lag = i - j + 1
    matrix = (lag >= 0).astype(float)
    powers = h ** np.arange(1, m + 1)
    matrix[:, 0] -= powers
    matrix[m - 1, :] -= powers[::-1]
    if 2 * h - 1 > 0:
        matrix[m - 1, 0] += (2 * h - 1) ** m
    inverse_factorials = np.exp(-np.array([math.lgamma(v + 1) for v in range(m + 1)]))
    matrix = np.where(lag > 0, matrix * inverse_factorials[np.clip(lag, 0, m)], matrix)
    # P(D_n < d) = n!/n^n · (H^n)[k-1, k-1]; for n <= 100 the entries stay below ~e^n (no overflow)
    corner = float(np.linalg.matrix_power(matrix, n)[k - 1, k - 1])
    if corner <= 0:
        return 1.0
    cdf = math.exp(math.log(corner) + math.lgamma(n + 1) - n * math.log(n))
    return min(1.0, max(0.0, 1.0 - cdf))
