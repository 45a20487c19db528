"""Rates that rise, localized: every (scope × time window) against the same scope's baseline.

A *rate* is events per unit of exposure: retries per original request, fallbacks per request, timeouts per
request. A scope is all traffic, one segment value, or a combination of up to ``depth`` segment values; its
baseline is the same scope outside the window (its other windows).

The test (:func:`compare`): conditional on the events of the window and the baseline together (``K = k + bk``),
under "same rate" the window's events follow Binomial(K, n / (n + bn)) — the exact test of two Poisson rates.
Its one-sided p-value is P(X >= k). For a proportion (a share of requests) it is conservative: the exact
(hypergeometric) null has a smaller variance. The rate ratio's interval comes from the Wilson interval of
``k / K``; the difference ``k/n - bk/bn`` has a normal interval with Poisson variances.

The decision (:func:`decide`, one small function, meant to be swapped for ``workbench.localize`` once it
lands): a cell is tested when both sides have at least ``min_support`` units of exposure; Benjamini–Hochberg
at ``fdr`` runs over every cell of one scope depth (all scales), an untested cell counting as p = 1 (the gate
is not independent of the events: a timeout's retries add rows and lift its window over ``min_support``, so
testing only the cells the gate let in would shrink the family around the chance clusters); a cell is flagged
when significant, its rate at least ``min_ratio`` times the baseline and higher by at least ``margin``.

Alerts (:func:`alerts`): flagged windows of one scope at most one window apart merge into one alert over their
span (numbers recomputed on the whole span). An alert whose rise disappears once the rows of a stronger
overlapping alert on another scope are left out is explained by it (all traffic rises only because
client_id=c7 does); a narrower alert inside a wider one is folded into it unless clearly worse (over its
span, significantly and ``min_ratio`` times above the rest of the wider scope).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from workbench.service.columns import WINDOW
from workbench.stats import benjamini_hochberg, wilson_interval
from workbench.stats.tails import binom_sf, norm_ppf

MAX_GAP = 1  # flagged windows of a scope this many windows apart still make one alert
SCALES = (1, 3, 12)  # windows of 1, 3 and 12 base windows (5 min, 15 min, 1 hour): a long rise in a small
# scope whose single windows lack support is found at a coarser scale


@dataclass(frozen=True)
class Rule:
    """When a rate's rise alerts: ``min_support`` units of exposure on both sides, Benjamini–Hochberg at
    ``fdr``, a ratio of at least ``min_ratio`` and a rise of at least ``margin`` (events per unit);
    intervals at ``confidence``."""

    min_support: int
    margin: float
    min_ratio: float
    confidence: float
    fdr: float


def cells(rows: pl.DataFrame, event: pl.Expr, exposure: pl.Expr | None, segments: list[str]) -> pl.DataFrame:
    """Events ``k`` and exposure ``n`` (the rows where ``exposure`` holds; None: every row) per window and
    combination of segment values (the finest cells)."""
    n = pl.len() if exposure is None else exposure.cast(pl.Int64).sum()
    return (rows.group_by([WINDOW, *segments])
            .agg(event.cast(pl.Int64).sum().alias("k"), n.cast(pl.Int64).alias("n"))
            .sort([WINDOW, *segments]))


def scope_rows(finest: pl.DataFrame, segments: list[str], depth: int, names: dict[str, str],
               confidence: float, min_support: int) -> list[dict[str, Any]]:
    """Every scope × window, at every scale of :data:`SCALES` (a window of ``scale`` base windows, aligned),
    with its window and baseline counts and :func:`compare`'s numbers; ``first`` and ``last`` in base
    windows."""
    scopes = [()] + [c for d in range(1, depth + 1) for c in itertools.combinations(segments, d)]
    out = []
    for scale in SCALES:
        scaled = finest.with_columns(pl.col(WINDOW).floordiv(scale).alias(WINDOW))
        for cols in scopes:
            out += _scope_rows(scaled, list(cols), scale, names, confidence, min_support)
    return out


def _scope_rows(finest: pl.DataFrame, keys: list[str], scale: int, names: dict[str, str], confidence: float,
                min_support: int) -> list[dict[str, Any]]:
    per = finest.group_by([WINDOW, *keys]).agg(pl.col("k", "n").sum()).sort([WINDOW, *keys])
    totals = finest.group_by(keys).agg(pl.col("k", "n").sum()) if keys else finest.select(pl.col("k", "n").sum())
    joined = per.join(totals, on=keys, suffix="_total") if keys else per.join(totals, how="cross", suffix="_total")
    out = []
    for r in joined.iter_rows(named=True):
        segment = {c: r[c] for c in keys}
        k, n = int(r["k"]), int(r["n"])
        bk, bn = int(r["k_total"]) - k, int(r["n_total"]) - n
        first = int(r[WINDOW]) * scale
        tested = n >= min_support and bn >= min_support
        row = {"scope": scope_label(segment, names), "depth": len(keys), "scale": scale, "window": first,
               "first": first, "last": first + scale - 1, "segment": segment,
               **compare(k, n, bk, bn, confidence, test=tested), "tested": tested}
        out.append(row)
    return out


def scope_label(segment: dict[str, Any], names: dict[str, str]) -> str:
    """``region=eu, endpoint=/score``, or ``all`` for all traffic."""
    return ", ".join(f"{names[c]}={v}" for c, v in segment.items()) or "all"


def compare(k: int, n: int, bk: int, bn: int, confidence: float, *, test: bool = True) -> dict[str, Any]:
    """Window (``k`` events in ``n``) vs baseline (``bk`` in ``bn``): rates, difference with its interval,
    rate ratio with its interval, and the one-sided exact p-value of a higher rate in the window (left NaN
    with ``test=False``: a cell too small to be tested)."""
    rate = k / n if n else math.nan
    base = bk / bn if bn else math.nan
    out = {"k": k, "n": n, "baseline_k": bk, "baseline_n": bn, "rate": rate, "baseline_rate": base,
           "difference": rate - base, "difference_low": math.nan, "difference_high": math.nan,
           "ratio": math.nan, "ratio_low": math.nan, "ratio_high": math.nan, "p_value": math.nan, "z": math.nan}
    if not (n and bn):
        return out
    z = norm_ppf(0.5 + confidence / 2)
    se = math.sqrt(k / n**2 + bk / bn**2)
    out["difference_low"], out["difference_high"] = rate - base - z * se, rate - base + z * se
    total = k + bk
    share = n / (n + bn)
    out["p_value"] = (binom_sf(k - 1, total, share) if total else 1.0) if test else math.nan
    spread = math.sqrt(total * share * (1 - share))
    out["z"] = (k - total * share) / spread if spread > 0 else 0.0
    if total:
        lo, hi = wilson_interval(k, total, confidence)
        scale = bn / n
        out["ratio"] = (k / total) / (1 - k / total) * scale if k < total else math.inf
        out["ratio_low"] = lo / (1 - lo) * scale if lo < 1 else math.inf
        out["ratio_high"] = hi / (1 - hi) * scale if hi < 1 else math.inf
    return out


def decide(rows: list[dict[str, Any]], rule: Rule) -> None:
    """Set ``q_value``, ``cutoff`` and ``flagged`` on every row: Benjamini–Hochberg over every cell of one
    depth, an untested one counting as p = 1 (its ``q_value`` stays NaN); flagged when ``q <= fdr``,
    ``ratio >= min_ratio`` and ``difference >= margin``."""
    families: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        r["q_value"], r["cutoff"], r["flagged"] = math.nan, math.nan, False
        families.setdefault(r["depth"], []).append(r)
    for family in families.values():
        tested = [r for r in family if r["tested"]]
        if not tested:
            continue
        p = np.ones(len(family))
        p[: len(tested)] = [r["p_value"] for r in tested]
        q = benjamini_hochberg(p)[: len(tested)]
        rejected = p[: len(tested)][q <= rule.fdr]
        cutoff = float(rejected.max()) if len(rejected) else rule.fdr / len(p)
        for r, qv in zip(tested, q, strict=True):
            r["q_value"], r["cutoff"] = float(qv), cutoff
            r["flagged"] = bool(qv <= rule.fdr and significant(r, rule))


def significant(r: dict[str, Any], rule: Rule) -> bool:
    """Large enough to matter: the ratio and the rise pass ``min_ratio`` and ``margin``."""
    return bool(r["ratio"] >= rule.min_ratio and r["difference"] >= rule.margin)


def alerts(rows: list[dict[str, Any]], finest: pl.DataFrame, rule: Rule) -> list[dict[str, Any]]:
    """The flagged rows as alerts: runs merged, explained ones dropped, narrower ones folded."""
    merged = _merge_runs(rows, rule)
    kept = _explain_away(merged, finest, rule)
    return _fold(kept, finest, rule)


def _merge_runs(rows: list[dict[str, Any]], rule: Rule) -> list[dict[str, Any]]:
    by_scope: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in rows:
        by_scope.setdefault((r["scope"], r["scale"]), []).append(r)
    out = []
    for (_, scale), cells_ in by_scope.items():
        flagged = sorted((r for r in cells_ if r["flagged"]), key=lambda r: r["first"])
        runs: list[list[dict[str, Any]]] = []
        for r in flagged:
            if runs and r["first"] <= runs[-1][-1]["last"] + 1 + MAX_GAP * scale:
                runs[-1].append(r)
            else:
                runs.append([r])
        for run in runs:
            first, last = run[0]["first"], run[-1]["last"]
            span = [c for c in cells_ if first <= c["first"] and c["last"] <= last]
            k, n = sum(c["k"] for c in span), sum(c["n"] for c in span)
            total_k, total_n = run[0]["k"] + run[0]["baseline_k"], run[0]["n"] + run[0]["baseline_n"]
            alert = {**compare(k, n, total_k - k, total_n - n, rule.confidence),
                     "scope": run[0]["scope"], "depth": run[0]["depth"], "segment": run[0]["segment"],
                     "first": first, "last": last, "windows": last - first + 1, "alerting_windows": len(run),
                     "q_value": max(c["q_value"] for c in run), "cutoff": run[0]["cutoff"]}
            out.append(alert)
    return _strongest(out)


def _strongest(alerts_: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per scope, overlapping alerts (of different scales) keep the one with the strongest evidence."""
    kept: list[dict[str, Any]] = []
    for a in sorted(alerts_, key=_evidence):
        if not any(k["scope"] == a["scope"] and _overlap(k, a) for k in kept):
            kept.append(a)
    return kept


def _evidence(a: dict[str, Any]) -> tuple[float, float]:
    """Strongest first: the largest z of the conditional test (a p-value underflows to 0, z does not)."""
    return (-a["z"], -a["n"] * abs(a["difference"]))


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(a["first"] <= b["last"] and b["first"] <= a["last"])


def _explain_away(alerts_: list[dict[str, Any]], finest: pl.DataFrame, rule: Rule) -> list[dict[str, Any]]:
    """Weakest first, an alert is dropped when, for another remaining alert on a scope that is not wider (and
    overlaps it in time), its rise disappears once that scope's rows are left out; the other lists it in
    ``explains``."""
    kept = sorted(alerts_, key=_evidence)
    for a in kept:
        a["explains"] = []
    for a in list(reversed(kept)):
        items = set(a["segment"].items())
        for e in kept:
            e_items = set(e["segment"].items())
            if e is a or not e_items or e_items <= items or not _overlap(a, e):
                continue
            rest = _rest(finest, a, e, rule)
            if not (rest["p_value"] <= a["cutoff"] and significant(rest, rule)):
                e["explains"].append(a["scope"])
                kept.remove(a)
                break
    return kept


def _rest(finest: pl.DataFrame, a: dict[str, Any], e: dict[str, Any], rule: Rule) -> dict[str, Any]:
    """Scope ``a`` without the rows of scope ``e``: its span against its baseline."""
    inside_a = pl.all_horizontal([pl.col(k) == v for k, v in a["segment"].items()] or [pl.lit(True)])
    inside_e = pl.all_horizontal([pl.col(k) == v for k, v in e["segment"].items()])
    rows = finest.filter(inside_a & ~inside_e)
    in_span = pl.col(WINDOW).is_between(a["first"], a["last"])
    w = rows.filter(in_span).select(pl.col("k", "n").sum()).row(0)
    b = rows.filter(~in_span).select(pl.col("k", "n").sum()).row(0)
    return compare(int(w[0] or 0), int(w[1] or 0), int(b[0] or 0), int(b[1] or 0), rule.confidence)


def _fold(alerts_: list[dict[str, Any]], finest: pl.DataFrame, rule: Rule) -> list[dict[str, Any]]:
    """A narrower alert overlapping a kept wider one is folded into it (listed in its ``also_in``) unless
    clearly worse: over the narrower alert's span, its rate is significantly higher (p-value within the
    family's cutoff) and at least ``min_ratio`` times the rate of the rest of the wider scope."""
    kept: list[dict[str, Any]] = []
    for a in sorted(alerts_, key=lambda a: (a["depth"], -a["z"])):
        a.setdefault("also_in", [])
        a["worst_in"] = []
        items = set(a["segment"].items())
        parents = [p for p in kept if set(p["segment"].items()) < items and _overlap(a, p)]
        if parents and not all(_clearly_worse(a, p, finest, rule) for p in parents):
            for p in parents:
                p["also_in"].append(a["scope"])
            continue
        for p in parents:
            p["worst_in"].append(a["scope"])
        kept.append(a)
    return sorted(kept, key=lambda a: -a["n"] * abs(a["difference"]))


def _clearly_worse(a: dict[str, Any], parent: dict[str, Any], finest: pl.DataFrame, rule: Rule) -> bool:
    inside_p = pl.all_horizontal([pl.col(k) == v for k, v in parent["segment"].items()] or [pl.lit(True)])
    inside_a = pl.all_horizontal([pl.col(k) == v for k, v in a["segment"].items()])
    rest = (finest.filter(inside_p & ~inside_a & pl.col(WINDOW).is_between(a["first"], a["last"]))
            .select(pl.col("k", "n").sum()).row(0))
    against = compare(a["k"], a["n"], int(rest[0] or 0), int(rest[1] or 0), rule.confidence)
    return bool(against["p_value"] <= a["cutoff"] and against["ratio"] >= rule.min_ratio)


def table(rows: list[dict[str, Any]], names: dict[str, str], **constant: Any) -> pl.DataFrame:
    """The tested cells as a tidy table (one row per scope × window), with ``constant`` columns first."""
    keep = ("scope", "depth", "scale", "window", "k", "n", "baseline_k", "baseline_n", "rate", "baseline_rate",
            "difference", "difference_low", "difference_high", "ratio", "ratio_low", "ratio_high", "p_value",
            "q_value", "tested", "flagged")
    data = [{**constant, **{c: r[c] for c in keep}} for r in rows]
    schema = {**{c: pl.String for c in constant}, "scope": pl.String, "depth": pl.Int64, "scale": pl.Int64,
              "window": pl.Int64, **{c: pl.Int64 for c in ("k", "n", "baseline_k", "baseline_n")},
              **{c: pl.Float64 for c in keep[8:18]}, "tested": pl.Boolean, "flagged": pl.Boolean}
    return pl.DataFrame(data, schema=schema, strict=False)
