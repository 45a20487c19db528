"""Target-proxy statistics from the per-value label counts of a column (:mod:`.training`), with
numpy: the single-feature AUC and the evidence a leak has beyond it (near-deterministic
separation, sentinel values). Nothing here reads data."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from workbench.leakage.training import ColumnCounts
from workbench.stats import auc_from_counts, wilson_interval
from workbench.stats.tails import norm_ppf

MIN_CLASS_SUPPORT = 10
# Near-deterministic separation: the best single cut of the feature (a threshold, or putting its
# nulls on one side) with balanced accuracy >= 92.5%, counted on the 95% bounds of its rates.
SEPARATION_J = 0.85
CRITICAL_J = 0.95  # ... and >= 97.5%: critical
NEAR_ONE_AUC = 0.99  # an AUC whose 95% lower bound is at least this is near-deterministic too
# A sentinel: a value whose rows are all but <= 1% of one class (upper 95% bound <= 5%, so at
# least ~70 rows); for a number, the rows of the values next to it on each side (at least
# NEIGHBOUR_ROWS of them) must be mixed (>= 10% of the other class), so that the end of a smooth
# trend (the top counts of a strong count feature) is not a sentinel.
SENTINEL_OTHER_SHARE = 0.01
SENTINEL_OTHER_UPPER = 0.05
MIXED_NEIGHBOUR = 0.10
NEIGHBOUR_ROWS = 20


@dataclass(frozen=True)
class ProxyEvidence:
    """What the per-value counts of one feature say beyond its AUC.

    ``separation``: the balanced separation (Youden's J = TPR - FPR, between 0 and 1) of its best
    single cut, with ``separation_lower`` computed from the Wilson bounds of the two rates at that
    cut and ``cut`` describing it. ``sentinel``: the best value whose rows are ~all of the
    minority class (``value``, ``rows``, ``class``, ``purity``, ``class_share``: the share of that
    class's rows it holds), or None.
    """

    separation: float = 0.0
    separation_lower: float = 0.0
    cut: str = ""
    sentinel: dict[str, Any] | None = None

    def kinds(self, auc_lower: float) -> list[str]:
        """The leak evidence found: ``'separation'`` and/or ``'sentinel'``."""
        out = []
        if self.separation_lower >= SEPARATION_J or (not math.isnan(auc_lower) and auc_lower >= NEAR_ONE_AUC):
            out.append("separation")
        if self.sentinel is not None:
            out.append("sentinel")
        return out


@dataclass(frozen=True)
class ProxyStatistics:
    """A column's single-feature AUC (oriented >= 0.5; NaN when scored by presence only or when a
    class is missing), the positives and negatives it was computed on, and its evidence."""

    auc: float
    positives: int
    negatives: int
    evidence: ProxyEvidence


def proxy_statistics(column: ColumnCounts, positives: int, negatives: int) -> ProxyStatistics:
    """The AUC and evidence of one column, given the label's ``positives`` and ``negatives``.

    A column scored by its presence only has no AUC; its evidence is the null-or-not cut and
    sentinel. A number's nulls are weighed as presence beside its values; a category's nulls are
    one of its values."""
    if column.counts is None:
        present = pl.DataFrame({"score": [0.0], "pos": [positives - column.null_pos],
                                "neg": [negatives - column.null_neg], "value": [None]})
        evidence = proxy_evidence(present, column.null_pos, column.null_neg, ordered=False, exact=False)
        return ProxyStatistics(math.nan, positives, negatives, evidence)
    auc, n_pos, n_neg = single_feature_auc(column.counts)
    evidence = proxy_evidence(column.counts, column.null_pos, column.null_neg, ordered=column.numeric,
                              exact=column.exact)
    return ProxyStatistics(auc, n_pos, n_neg, evidence)


def single_feature_auc(counts: pl.DataFrame) -> tuple[float, int, int]:
    """AUC of a feature from per-value counts ``(score, pos, neg)`` sorted by score; oriented >= 0.5."""
    auc = auc_from_counts(counts["pos"].to_numpy(), counts["neg"].to_numpy())
    return max(auc, 1 - auc), int(counts["pos"].sum()), int(counts["neg"].sum())


def proxy_evidence(counts: pl.DataFrame, null_pos: int, null_neg: int, *, ordered: bool, exact: bool
                   ) -> ProxyEvidence:
    """Separation and sentinel evidence from a feature's per-value counts.

    ``counts``: ``score, pos, neg, value`` by increasing score (:func:`~.training.proxy_counts`; nulls
    left out for numbers, a value of their own for categories); ``null_pos`` / ``null_neg``: the
    label counts of the feature's null rows when they are not in ``counts`` (else 0); ``ordered``:
    a number (its values have neighbours); ``exact``: one group per value (not quantile bins).
    """
    pos, neg = counts["pos"].to_numpy().astype(float), counts["neg"].to_numpy().astype(float)
    cuts = []
    if len(pos):
        j, lo, i = _best_cut(pos, neg)
        where = f"values above {counts['score'][i]:.6g}" if ordered else "its categories by their positive rate"
        cuts.append((j, lo, where if i >= 0 else ""))
    if null_pos + null_neg:
        non_null = np.array([pos.sum(), neg.sum()])
        j, lo, _ = _best_cut(np.array([null_pos, non_null[0]]), np.array([null_neg, non_null[1]]))
        cuts.append((j, lo, "null or not"))
    best = max(cuts, default=(0.0, 0.0, ""), key=lambda c: c[1])
    values = counts["value"] if "value" in counts.columns else None
    return ProxyEvidence(best[0], best[1], best[2],
                         _sentinel(pos, neg, null_pos, null_neg, values, ordered=ordered, exact=exact))


def _best_cut(pos: np.ndarray, neg: np.ndarray) -> tuple[float, float, int]:
    """The cut between ordered groups that best separates the classes: (J, its lower bound, index
    of the last group below the cut); J is 0 with fewer than two groups."""
    n_pos, n_neg = int(pos.sum()), int(neg.sum())
    if len(pos) < 2 or n_pos == 0 or n_neg == 0:
        return 0.0, 0.0, -1
    below_pos, below_neg = np.cumsum(pos)[:-1], np.cumsum(neg)[:-1]
    j = below_neg / n_neg - below_pos / n_pos  # > 0: positives above the cut
    i = int(np.argmax(np.abs(j)))
    tp, fp = (n_pos - below_pos[i], n_neg - below_neg[i]) if j[i] >= 0 else (below_pos[i], below_neg[i])
    lower = wilson_interval(int(tp), n_pos)[0] - wilson_interval(int(fp), n_neg)[1]
    return float(abs(j[i])), float(lower), i


def _sentinel(pos: np.ndarray, neg: np.ndarray, null_pos: int, null_neg: int, values: pl.Series | None, *,
              ordered: bool, exact: bool) -> dict[str, Any] | None:
    """The sentinel among a feature's groups: each value (when ``exact``), and with missing rows the
    group of nulls and that of every non-null value. A group is a sentinel for a minority class
    (one with rows, and no more than the other) when its rows are all but a few of that class
    (:func:`_pure`) and, for a value of a number, its neighbours are mixed (:func:`_mixed`); the
    one with the most rows of its class wins (the first group, then the positive class, on ties)."""
    total_pos, total_neg = int(pos.sum()) + null_pos, int(neg.sum()) + null_neg
    minority = [c for c, mine, other in (("positive", total_pos, total_neg), ("negative", total_neg, total_pos))
                if 0 < mine <= other]
    n_values = len(pos) if exact else 0
    group_pos, group_neg = list(pos[:n_values]), list(neg[:n_values])
    if null_pos + null_neg:
        group_pos += [null_pos, int(pos.sum())]
        group_neg += [null_neg, int(neg.sum())]
    if not minority or not group_pos:
        return None
    k_pos, k_neg = np.array(group_pos, dtype=float), np.array(group_neg, dtype=float)
    scores = []
    for cls in minority:
        mine, other = (k_pos, k_neg) if cls == "positive" else (k_neg, k_pos)
        ok = _pure(mine, other)
        if ordered and n_values:  # a value of a number must have mixed neighbours
            ok[:n_values] &= _mixed(pos + neg, neg if cls == "positive" else pos)
        scores.append(np.where(ok, mine, -1.0))
    table = np.column_stack(scores)  # groups x classes, read in that order
    best = int(np.argmax(table))
    g, c = divmod(best, len(minority))
    if table[g, c] < 0:
        return None
    cls = minority[c]
    k_c, k_o = (int(k_pos[g]), int(k_neg[g])) if cls == "positive" else (int(k_neg[g]), int(k_pos[g]))
    if g < n_values:
        label = _value_text(values[g] if values is not None else None)
    else:
        label = ("null", "any non-null value")[g - n_values]
    total = total_pos if cls == "positive" else total_neg
    return {"value": label, "rows": k_c + k_o, "rows_of_class": k_c, "class": cls,
            "purity": k_c / (k_c + k_o), "class_share": k_c / total}


def _pure(k_class: np.ndarray, k_other: np.ndarray) -> np.ndarray:
    """Per group: rows, at most ``SENTINEL_OTHER_SHARE`` of them of the other class, and the upper
    95% Wilson bound of that share at most ``SENTINEL_OTHER_UPPER``."""
    m = k_class + k_other
    with np.errstate(divide="ignore", invalid="ignore"):
        share = k_other / m
        return (m > 0) & (share <= SENTINEL_OTHER_SHARE) & (_wilson_upper(k_other, m) <= SENTINEL_OTHER_UPPER)


def _wilson_upper(k: np.ndarray, n: np.ndarray, confidence: float = 0.95) -> np.ndarray:
    """The upper Wilson bound of ``k / n`` per element, operation for operation as
    :func:`workbench.stats.wilson_interval` computes it (NaN where ``n`` is 0)."""
    z = norm_ppf(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        return np.where(n > 0, np.minimum(1.0, centre + half), np.nan)


def _mixed(rows: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Per value: the values next to it on each side (the nearest ones holding at least
    ``NEIGHBOUR_ROWS`` rows, or all there are) hold at least ``MIXED_NEIGHBOUR`` of the other class
    (a side without rows counts as mixed)."""
    rows_before = np.concatenate([[0.0], np.cumsum(rows)])  # rows_before[i]: the rows of values < i
    other_before = np.concatenate([[0.0], np.cumsum(other)])
    k = np.arange(len(rows))
    # below: values start..k-1, start the largest one leaving at least NEIGHBOUR_ROWS rows (else 0)
    start = np.maximum(np.searchsorted(rows_before, rows_before[k] - NEIGHBOUR_ROWS, side="right") - 1, 0)
    # above: values k+1..end-1, end the smallest one reaching NEIGHBOUR_ROWS rows (else all)
    end = np.minimum(np.searchsorted(rows_before, rows_before[k + 1] + NEIGHBOUR_ROWS, side="left"), len(rows))
    mixed = np.ones(len(rows), dtype=bool)
    for n, o in ((rows_before[k] - rows_before[start], other_before[k] - other_before[start]),
                 (rows_before[end] - rows_before[k + 1], other_before[end] - other_before[k + 1])):
        with np.errstate(divide="ignore", invalid="ignore"):
            mixed &= ~((n > 0) & (o / n < MIXED_NEIGHBOUR))
    return mixed


def _value_text(value: Any) -> str:
    """A feature value as shown in a message: null, -1 (not -1.0), 'CLOSED', True."""
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)
