"""The scipy-free tail probabilities agree with scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from workbench.stats import tails as D


@pytest.mark.parametrize("q", [1e-6, 0.025, 0.3, 0.5, 0.975, 0.999999])
def test_normal_quantile(q):
    assert D.norm_ppf(q) == pytest.approx(stats.norm.ppf(q), rel=1e-9)


@pytest.mark.parametrize("z", [-5.0, -1.0, 0.0, 0.7, 3.0, 8.0, 30.0])
def test_normal_tail(z):
    assert D.norm_sf(z) == pytest.approx(stats.norm.sf(z), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("dof", [1, 2, 3, 9, 20, 50, 400])
@pytest.mark.parametrize("x_over_dof", [0.05, 0.5, 1.0, 1.5, 3.0, 10.0])
def test_chi_square_tail(dof, x_over_dof):
    x = dof * x_over_dof
    assert D.chi2_sf(x, dof) == pytest.approx(stats.chi2.sf(x, dof), rel=1e-8, abs=1e-300)


@pytest.mark.parametrize(("k", "n", "p"), [(0, 10, 0.1), (3, 10, 0.5), (50, 1000, 0.03), (5, 20000, 1e-4),
                                           (900, 1000, 0.9), (10, 10, 0.5), (-1, 5, 0.2)])
def test_binomial_tail(k, n, p):
    assert D.binom_sf(k, n, p) == pytest.approx(stats.binom.sf(k, n, p), rel=1e-8, abs=1e-300)


@pytest.mark.parametrize("n", [50, 500, 5_000, pytest.param(500_000, marks=pytest.mark.slow)])
def test_kolmogorov_tail_is_close_to_scipys_exact_one(n):
    for d in np.linspace(0.2, 3.0, 29) / np.sqrt(n):
        exact = stats.kstwo.sf(d, n)
        assert D.kolmogorov_sf(d, n) == pytest.approx(exact, abs=0.02)
        if 1e-4 < exact < 0.05:  # where decisions are taken, within 5% of the p-value
            assert D.kolmogorov_sf(d, n) == pytest.approx(exact, rel=0.05)


@pytest.mark.parametrize(("k", "n", "p"), [(3, 123, 0.5), (0, 10, 0.1), (50, 1000, 0.03), (5, 20000, 1e-4),
                                           (999, 1000, 0.9), (10, 10, 0.5), (-1, 5, 0.2)])
def test_binomial_lower_tail(k, n, p):
    assert D.binom_cdf(k, n, p) == pytest.approx(stats.binom.cdf(k, n, p), rel=1e-8, abs=1e-300)
