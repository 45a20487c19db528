"""The per-cell statistic of :mod:`workbench.localize`: a small :class:`Metric` object.

A metric names the additive sums it reads from a cell (``count``: the rows the statistic is
estimated from, plus its own sums), compares a window's sums with its baseline's
(:meth:`Metric.compare`: value, baseline value, difference window minus baseline with its
interval, the one-sided z and p-value of the window being worse, and how much worse in the
margin's unit), says which direction is worse, and words an alert. Two kinds cover the checks:

* :func:`proportion` — successes among ``count`` rows (accuracy, an ungrounded-answer rate, a hit
  rate): Newcombe's hybrid score interval on the difference and the pooled one-sided z-test (with
  ``exact=True`` the one-sided p-value is Fisher's exact test instead, for rare events in small
  cells, where the normal approximation is far too optimistic); the margin is in points (an
  absolute difference of proportions).
* :func:`mean` — a mean from a sum and a sum of squares over ``count`` rows (MAE, MRR, a latency):
  a normal interval and Welch's one-sided z-test (with ``pooled=True`` the test's standard error
  uses the baseline's spread for both sides, as under the null hypothesis they share it: robust
  for skewed values in small cells, whose own spread is smallest exactly when their mean is
  lowest); the margin is relative (worse by 10% of the baseline's value).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import gammaln

from workbench.stats import two_proportions
from workbench.stats.tails import norm_ppf, norm_sf

Sums = Mapping[str, float]
Alert = dict[str, Any]

_NAN_COMPARISON = ("value", "baseline", "difference", "difference_low", "difference_high", "z", "p_value", "worse_by")


@dataclass(frozen=True)
class Metric:
    """A statistic compared per cell: ``count`` names the sum of rows it is estimated from (the
    cell's ``n``, tested against ``min_support``), ``sums`` the sums it also reads;
    ``higher_is_worse`` its bad direction; ``compare(window, baseline, confidence)`` the comparison;
    ``sentence(alert, where, when, confidence_text)`` the alert's first sentence (no final stop);
    ``severe(alert, margin)`` whether the difference's whole interval is beyond the margin (a
    critical alert); ``part(alert)`` a narrower alert's gap in a "Worst in ..." list, ordered by
    ``worst_order``."""

    name: str
    count: str
    sums: tuple[str, ...]
    higher_is_worse: bool
    compare: Callable[[Sums, Sums, float], dict[str, Any]]
    sentence: Callable[[Alert, str, str, str], str]
    severe: Callable[[Alert, float], bool]
    part: Callable[[Alert], str]
    worst_order: Callable[[Alert], float] = field(default=lambda a: -a["worse_by"])

    @property
    def needs(self) -> tuple[str, ...]:
        """Every sum the metric reads from a cell (``count`` first)."""
        return (self.count, *(s for s in self.sums if s != self.count))

    def clearly_worse(self, a: Alert, parent: Alert) -> bool:
        """Whether ``a``'s difference interval lies wholly beyond ``parent``'s, in the bad direction."""
        if self.higher_is_worse:
            return bool(a["difference_low"] > parent["difference_high"])
        return bool(a["difference_high"] < parent["difference_low"])


def proportion(name: str, successes: str, *, count: str = "n", label: str, higher_is_worse: bool = False,
               sentence: Callable[[Alert, str, str, str], str] | None = None, exact: bool = False) -> Metric:
    """A proportion ``successes / count`` (``label`` in words, e.g. "Accuracy"). The margin is in
    points: an alert needs the window worse by at least ``margin`` (0.05 = 5 points). ``exact``:
    the p-value of Fisher's one-sided exact test instead of the pooled z-test (computed when the
    window is worse; otherwise the z-test's, at least one half, is kept)."""
    def compare(window: Sums, baseline: Sums, confidence: float) -> dict[str, Any]:
        out = _compare_proportions(window, baseline, confidence, successes, count, higher_is_worse)
        if exact and window[count] and baseline[count] and out["worse_by"] > 0:  # else p >= 1/2: never flagged
            out["p_value"] = fisher_one_sided(int(window[successes]), int(window[count]), int(baseline[successes]),
                                              int(baseline[count]), higher=higher_is_worse)
        return out

    def default_sentence(a: Alert, where: str, when: str, conf: str) -> str:
        verb = "rose" if higher_is_worse else "dropped"
        return (f"{label} {verb} {abs(a['difference']) * 100:.1f} points on {where} {when} "
                f"({a['baseline']:.1%} → {a['value']:.1%}, n={a['n']:,}; {conf} confidence)")

    def severe(a: Alert, margin: float) -> bool:
        return bool(a["difference_low"] >= margin) if higher_is_worse else bool(a["difference_high"] <= -margin)

    def part(c: Alert) -> str:
        return f"{c['scope']} ({c['difference'] * 100:+.1f} points)"

    return Metric(name, count, (successes,), higher_is_worse, compare, sentence or default_sentence, severe, part)


def mean(name: str, total: str, squares: str, *, count: str = "n", label: str, higher_is_worse: bool = True,
         sentence: Callable[[Alert, str, str, str], str] | None = None,
         worst_order: Callable[[Alert], float] | None = None, pooled: bool = False) -> Metric:
    """The mean ``total / count`` (``squares``: the sum of squared values, for its variance;
    ``label`` in words, e.g. "MAE"). The margin is relative: an alert needs the window worse by at
    least ``margin`` times the baseline's value (0.1 = 10%). ``pooled``: the test's standard error
    from the baseline's spread on both sides (the interval stays Welch's)."""
    def compare(window: Sums, baseline: Sums, confidence: float) -> dict[str, Any]:
        out = _compare_means(window, baseline, confidence, total, squares, count, higher_is_worse)
        if pooled and window[count] and baseline[count] > 1:
            _pooled_test(out, baseline, squares, count, higher_is_worse)
        return out

    def default_sentence(a: Alert, where: str, when: str, conf: str) -> str:
        verb = "rose" if higher_is_worse else "fell"
        return (f"{label} {verb} {a['worse_by']:.0%} on {where} {when} ({a['baseline']:.4g} → {a['value']:.4g}, "
                f"n={a['n']:,}; {conf} confidence)")

    def severe(a: Alert, margin: float) -> bool:
        if not a["baseline"]:
            return False
        near = a["difference_low"] if higher_is_worse else -a["difference_high"]
        return bool(near / a["baseline"] >= margin)

    def part(c: Alert) -> str:
        return f"{c['scope']} ({c['worse_by'] if higher_is_worse else -c['worse_by']:+.0%})"

    return Metric(name, count, (total, squares), higher_is_worse, compare, sentence or default_sentence, severe,
                  part, worst_order or (lambda a: -a["worse_by"]))


def _compare_proportions(window: Sums, baseline: Sums, confidence: float, successes: str, count: str,
                         higher_is_worse: bool) -> dict[str, Any]:
    n, bn = window[count], baseline[count]
    if not (n and bn):
        return {"n": int(n), "baseline_n": int(bn), **dict.fromkeys(_NAN_COMPARISON, math.nan)}
    k, bk = window[successes], baseline[successes]
    diff, lo, hi, p_two = two_proportions(int(bk), int(bn), int(k), int(n), confidence)  # counts, summed as integers
    pooled = (bk + k) / (n + bn)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / bn))
    worse = diff if higher_is_worse else -diff  # positive when the window is worse
    worse_z = worse / se if se > 0 else 0.0  # the pooled z of the test
    return {"n": int(n), "baseline_n": int(bn), "value": k / n, "baseline": bk / bn, "difference": diff,
            "difference_low": lo, "difference_high": hi, "z": worse_z,
            "p_value": p_two / 2 if worse > 0 else 1 - p_two / 2, "worse_by": worse}


def _compare_means(window: Sums, baseline: Sums, confidence: float, total: str, squares: str, count: str,
                   higher_is_worse: bool) -> dict[str, Any]:
    n, bn = window[count], baseline[count]
    value = window[total] / n if n else math.nan
    base = baseline[total] / bn if bn else math.nan
    var = max(window[squares] / n - value**2, 0.0) / max(n - 1, 1) if n else math.nan
    bvar = max(baseline[squares] / bn - base**2, 0.0) / max(bn - 1, 1) if bn else math.nan
    diff, se = value - base, math.sqrt(var + bvar) if n and bn else math.nan
    z = norm_ppf(0.5 + confidence / 2)
    worse = diff if higher_is_worse else -diff
    p = norm_sf(worse / se) if se and se > 0 else (0.0 if worse > 0 else 1.0)
    worse_z = worse / se if se and se > 0 else (math.inf if worse > 0 else -math.inf if worse < 0 else 0.0)
    return {"n": int(n), "baseline_n": int(bn), "value": value, "baseline": base, "difference": diff,
            "difference_low": diff - z * se, "difference_high": diff + z * se, "z": worse_z, "p_value": p,
            "worse_by": worse / base if base else math.nan}


def fisher_one_sided(k: int, n: int, bk: int, bn: int, *, higher: bool) -> float:
    """One-sided p-value of Fisher's exact test that the window's proportion ``k / n`` is higher
    (``higher``) or lower than the baseline's ``bk / bn``: the hypergeometric tail of ``k`` given
    the margins (equal to ``scipy.stats.hypergeom.sf(k - 1, n + bn, k + bk, n)``, resp. ``.cdf(k,
    ...)``, summed in log space with numpy: about fifty times faster for one cell)."""
    total, successes = n + bn, k + bk
    low, high = max(0, n - (total - successes)), min(n, successes)
    xs = np.arange(k, high + 1) if higher else np.arange(low, k + 1)
    if not len(xs):
        return 0.0
    log_terms = _log_choose(successes, xs) + _log_choose(total - successes, n - xs) - _log_choose(total, n)
    top = log_terms.max()
    return float(min(1.0, math.exp(top) * np.exp(log_terms - top).sum()))


def _log_choose(n: Any, k: Any) -> Any:
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def _pooled_test(out: dict[str, Any], baseline: Sums, squares: str, count: str, higher_is_worse: bool) -> None:
    """Replace the test's z and p-value with those of a standard error from the baseline's spread."""
    bn = baseline[count]
    var = max(baseline[squares] / bn - out["baseline"] ** 2, 0.0) * bn / (bn - 1)
    se = math.sqrt(var * (1 / out["n"] + 1 / bn))
    worse = out["difference"] if higher_is_worse else -out["difference"]
    out["z"] = worse / se if se > 0 else (math.inf if worse > 0 else -math.inf if worse < 0 else 0.0)
    out["p_value"] = norm_sf(worse / se) if se > 0 else (0.0 if worse > 0 else 1.0)
