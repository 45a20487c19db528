"""One comparison: a reference column profile against current counts, as numbers and a test.

Each function returns plain dicts (effect sizes, intervals, p-values); the decision is taken
later, once Benjamini–Hochberg has seen every p-value of the run (:mod:`workbench.drift.decide`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from workbench.drift.profile import ColumnProfile
from workbench.drift.rule import DriftRule
from workbench.stats import distances as S
from workbench.stats import two_proportions

MIN_EXPECTED = 5.0


def pool_rare(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge bins whose expected count in the smaller sample is below 5 into one bin, so the
    chi-square approximation holds (the usual rule for Pearson's test)."""
    ref, cur = np.asarray(ref, float), np.asarray(cur, float)
    pooled = (ref + cur) / max(ref.sum() + cur.sum(), 1.0)
    rare = pooled * min(ref.sum(), cur.sum()) < MIN_EXPECTED
    if rare.sum() <= 1:
        return ref, cur
    return (np.append(ref[~rare], ref[rare].sum()), np.append(cur[~rare], cur[rare].sum()))


def governing_effect(prof: ColumnProfile, row: dict[str, Any], rule: DriftRule) -> tuple[str, float]:
    """The effect size the decision uses for one comparison, and its threshold (see
    :mod:`workbench.drift.rule`): the scaled Wasserstein distance for numeric and datetime columns
    with a spread; otherwise the total variation, and for categorical and boolean columns also the
    largest share change of one category — whichever stands higher against its own threshold
    (interval above it first, then estimate above it, then estimate / threshold). ``row`` holds
    the point estimates and interval bounds of :func:`compare_distributions`."""
    if prof.kind in ("numeric", "datetime") and prof.spread is not None:
        return "wasserstein", rule.wasserstein
    candidates = [("total_variation", rule.total_variation)]
    if prof.kind in ("categorical", "boolean"):
        candidates.append(("max_share_change", rule.category_share))

    def standing(candidate: tuple[str, float]) -> tuple[bool, bool, float]:
        name, threshold = candidate
        point = row[name]
        ratio = point / threshold if point == point else -math.inf
        return (row[f"{name}_low"] >= threshold, point >= threshold, ratio)

    return max(candidates, key=standing)


def counts_rng(seed: int, *counts: np.ndarray) -> np.random.Generator:
    """The bootstrap's random generator for one column, seeded by ``seed`` and the column's counts:
    a column's intervals then depend on its data only, not on its name or on the columns before it."""
    digest = hashlib.sha256(b"".join(np.ascontiguousarray(c, dtype=np.int64).tobytes() for c in counts)).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


def compare_distributions(prof: ColumnProfile, ref: np.ndarray, cur: np.ndarray, rule: DriftRule,
                          rng: np.random.Generator) -> list[dict[str, Any]]:
    """Effect sizes with bootstrap intervals and the test, for one column in ``S`` scopes.

    ``ref`` and ``cur`` are ``(S, k)`` bin counts (a segment has its own reference counts);
    ``prof`` gives the column's kind, edges and spread. Returns one dict per scope."""
    ref = np.atleast_2d(np.asarray(ref, dtype=np.int64))
    cur = np.atleast_2d(np.asarray(cur, dtype=np.int64))
    edges = np.asarray(prof.edges, dtype=float)
    spread = prof.spread
    fns: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
        "psi": S.psi,
        "jensen_shannon": S.jensen_shannon,
        "total_variation": S.total_variation,
    }
    numeric = prof.kind in ("numeric", "datetime")
    if not numeric:
        fns["max_share_change"] = S.max_share_change
    if numeric:
        fns["ks"] = S.ks_statistic
        if spread is not None:
            fns["wasserstein"] = lambda r, c: S.wasserstein(r, c, edges, spread)
    points = {name: fn(ref, cur) for name, fn in fns.items()}
    intervals = S.bootstrap(ref, cur, fns, rng=rng, resamples=rule.resamples, confidence=rule.confidence)
    out = []
    for i in range(len(ref)):
        n_ref, n_cur = int(ref[i].sum()), int(cur[i].sum())
        row: dict[str, Any] = {"n_ref": n_ref, "n_cur": n_cur}
        for name in fns:
            row[name] = float(points[name][i]) if n_cur and n_ref else math.nan
            row[f"{name}_low"], row[f"{name}_high"] = float(intervals[name][0][i]), float(intervals[name][1][i])
        row["effect"], row["threshold"] = governing_effect(prof, row, rule)
        if n_cur == 0 or n_ref == 0:
            row.update(test=None, statistic=math.nan, p_value=math.nan)
        elif numeric:
            row.update(test="ks", statistic=row["ks"], p_value=S.ks_pvalue(row["ks"], n_ref, n_cur))
        else:
            stat, dof, p = S.chi2_homogeneity(*pool_rare(ref[i], cur[i]))
            row.update(test="chi2", statistic=stat, dof=dof, p_value=p)
        out.append(row)
    return out


def compare_missing(prof: ColumnProfile, missing: int, rows: int, rule: DriftRule) -> dict[str, Any]:
    """Change of the missing share (null, NaN or unreadable) from reference to current.

    Everything is on one basis, all rows of the scope (missing or not): ``n`` is the current scope's
    rows, ``n_reference`` the reference's, ``affected`` the missing current rows and ``current`` =
    ``affected / n`` (``reference`` likewise). The distribution tests count non-missing values instead."""
    ref_missing = prof.nulls + prof.nans
    diff, lo, hi, p = two_proportions(ref_missing, prof.rows, missing, rows, rule.confidence)
    return {"reference": ref_missing / prof.rows if prof.rows else math.nan,
            "current": missing / rows if rows else math.nan,
            "effect": diff, "low": lo, "high": hi, "p_value": p, "threshold": rule.missing_rate,
            "affected": missing, "n": rows, "n_reference": prof.rows}


def compare_excess(count: int, n: int, expected: float, threshold: float, rule: DriftRule) -> dict[str, Any]:
    """A share of current values (new categories, out-of-range values) against the share
    expected with no change; effect = observed share − expected."""
    from workbench.stats import wilson_interval

    share = count / n if n else math.nan
    lo, hi = wilson_interval(count, n, rule.confidence)
    return {"current": share, "reference": expected, "effect": share - expected, "low": lo - expected,
            "high": hi - expected, "p_value": S.excess_share_pvalue(count, n, expected), "threshold": threshold,
            "affected": count, "n": n}


def compare_new_categories(prof: ColumnProfile, new: int, valid: int, rule: DriftRule) -> dict[str, Any]:
    """Share of current values in categories unseen in the reference, against the Good–Turing
    estimate of that share (reference singletons / reference values). Both are estimates, so
    the test and interval are those of a difference of two proportions (one-sided p-value)."""
    diff, lo, hi, p_two = two_proportions(prof.singletons, prof.valid, new, valid, rule.confidence)
    p = p_two / 2 if diff > 0 else 1 - p_two / 2
    return {"current": new / valid if valid else math.nan, "reference": expected_new_share(prof), "effect": diff,
            "low": lo, "high": hi, "p_value": p, "threshold": rule.new_category_share, "affected": new, "n": valid}


def expected_new_share(prof: ColumnProfile) -> float:
    """Good–Turing estimate of the share of values unseen in the reference that a sample from
    the same distribution would show: categories seen once / valid reference values."""
    return prof.singletons / prof.valid if prof.valid else 0.0


def expected_out_of_range_share(prof: ColumnProfile) -> float:
    """Share of a same-distribution sample expected beyond the reference's min or max: 2/(n+1)
    for continuous data (each tail 1/(n+1))."""
    return 2.0 / (prof.valid + 1) if prof.valid else 0.0
