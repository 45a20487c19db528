"""Agreement between the two models on the same requests: agreement rate and Cohen's kappa,
flip rate by segment with the segments that drive disagreement, and score deltas. Each has its
engine part (``*_counts``: small tables from the engine) and its statistics (pure functions of
those tables, which also build the findings)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import numpy as np
import polars as pl

from workbench.engine.frames import count
from workbench.findings.model import Finding
from workbench.shadow.columns import BIN, CLASS_CANDIDATE, CLASS_PRODUCTION, DELTA, by_column, role
from workbench.shadow.paired import cohen_kappa
from workbench.shadow.reconcile import SIDES, Reconciliation
from workbench.stats import benjamini_hochberg, two_proportions, wilson_interval
from workbench.stats.tails import norm_ppf

DELTA_QUANTILES = (0.5, 0.9, 0.99)
LARGE_DELTA = 0.1  # score points: a change a threshold near the middle would feel
DELTA_BINS = 1000  # resolution of the |delta| quantiles


@dataclass(frozen=True)
class AgreementCounts:
    """What the engine counts for the agreement table (:func:`agreement_counts`): ``overall`` —
    for a classifier the confusion counts of the compared requests (columns ``CLASS_PRODUCTION``,
    ``CLASS_CANDIDATE`` as text, ``n``), for a regression one row of tallies (``n``, ``agree``);
    ``per_segment`` — per ``by`` column, the tallies per value (:func:`segments`); ``matched``: the
    matched requests."""

    overall: pl.DataFrame
    per_segment: list[pl.DataFrame]
    matched: int


def agreement_counts(rec: Reconciliation, by: list[str], large_change: float | None = None) -> AgreementCounts:
    """The engine's part of :func:`agreement`: tallies of the compared requests (``n``), those the
    two models agree on (``agree``; for a regression, within ``large_change``) and those not
    compared (``not_compared``), overall and per value of each ``by`` column."""
    p, c = (nw.col(role("prediction", s)) for s in SIDES)
    compared = answered(rec)
    agree = (p == c) if large_change is None else ((c - p).abs() <= large_change)
    tallies = [count(compared).alias("n"), count(compared & agree).alias("agree"),
               count(~compared).alias("not_compared")]
    if large_change is None:
        pc, cc = CLASS_PRODUCTION, CLASS_CANDIDATE
        overall = rec.collect(rec.table.filter(compared).select(p.alias(pc), c.alias(cc)).group_by(pc, cc)
                              .agg(nw.len().alias("n")))
        overall = overall.with_columns(pl.col(pc, cc).cast(pl.String))  # cast the small table, not the rows
    else:
        overall = rec.collect(rec.table.select(*tallies))
    per_segment = [segments(rec.collect(rec.table.group_by(by_column(i)).agg(*tallies)), by_column(i)).with_columns(
        pl.col("n", "agree", "not_compared").fill_null(0)) for i in range(len(by))]
    return AgreementCounts(overall, per_segment, rec.counts["matched"])


def agreement(counts: AgreementCounts, prediction: str, by: list[str], confidence: float, fdr: float,
              margin: float, min_rows: int, large_change: float | None = None) -> tuple[pl.DataFrame, list[Finding]]:
    """Table ``agreement`` (overall and per segment: n, agreement with its Wilson interval, flip
    rate, kappa overall; per segment the flip-rate difference to the rest of the traffic with
    Newcombe's interval, one-sided p and BH q) and the ``disagreement`` findings: segments whose
    flip rate exceeds the rest's by at least ``margin`` points at false-discovery rate ``fdr``.
    For a regression (``large_change`` given) a request "flips" when the two predictions differ
    by more than ``large_change``, and there is no kappa.

    Only the requests both models answered are compared (:func:`answered`, one definition for the
    overall row, kappa and every segment); ``n`` counts them and ``not_compared`` counts the matched
    requests left out because one side failed or logged no prediction. ``counts``: from
    :func:`agreement_counts`; ``prediction`` and ``by`` are the user's column names (for the
    findings and scopes)."""
    if large_change is None:
        row = _kappa_row(counts.overall, confidence)
    else:
        overall = counts.overall.row(0, named=True)
        row = _agreement_row("all", int(overall["n"]), int(overall["agree"] or 0), confidence)
    rows = [row | {"not_compared": counts.matched - row["n"]}]
    tests = []
    for b, per in zip(by, counts.per_segment, strict=True):
        total_n, total_agree = int(per["n"].sum()), int(per["agree"].sum())
        for seg, n, k, left_out in per.select("segment", "n", "agree", "not_compared").iter_rows():
            row = _agreement_row(f"{b}={seg}", int(n), int(k), confidence) | {"not_compared": int(left_out)}
            rest_n, rest_flips = total_n - n, (total_n - total_agree) - (n - k)
            if n >= min_rows and rest_n >= min_rows:
                diff, lo, hi, p_two = two_proportions(rest_flips, rest_n, n - k, n, confidence)
                row.update(flip_rate_rest=rest_flips / rest_n, difference=diff, difference_low=lo,
                           difference_high=hi, p_value=p_two / 2 if diff > 0 else 1 - p_two / 2)
                tests.append((len(rows), {b: seg}))
            rows.append(row)
    q = benjamini_hochberg(np.array([rows[i]["p_value"] for i, _ in tests]))  # empty when none is tested
    findings = []
    for (i, segment), qv in zip(tests, q, strict=True):
        rows[i]["q_value"] = float(qv)
        if qv <= fdr and rows[i]["difference"] >= margin:
            findings.append(_disagreement(rows[i], segment, prediction, margin, confidence, large_change))
    return pl.DataFrame(rows, infer_schema_length=None), findings


def _disagreement(r: dict[str, Any], segment: dict[str, Any], prediction: str, margin: float, confidence: float,
                  large_change: float | None) -> Finding:
    """The ``disagreement`` finding of a segment's row of the agreement table."""
    (col, val), = segment.items()
    qv = r["q_value"]
    what = "disagrees with production" if large_change is None else \
        f"changes the prediction by more than {large_change:.4g}"
    return Finding(
        "shadow", "disagreement", "critical" if r["difference_low"] >= margin else "warning", prediction,
        f"The candidate {what} on {r['flip_rate']:.1%} of requests for {col}={val} "
        f"vs {r['flip_rate_rest']:.1%} elsewhere (+{r['difference'] * 100:.1f} points, "
        f"{confidence:.0%} CI +{r['difference_low'] * 100:.1f} to +{r['difference_high'] * 100:.1f}; "
        f"n={r['n']:,}; {'q<0.001' if qv < 0.001 else f'q={qv:.2g}'}).",
        "Compare the two models' inputs and outputs on this segment; a feature the candidate reads "
        "differently there is the usual cause.",
        {"value": r["flip_rate"], "baseline": r["flip_rate_rest"], "effect": r["difference"],
         "interval": [r["difference_low"], r["difference_high"]], "q_value": float(qv), "n": r["n"],
         "affected_rows": r["n"] - r["agree"], "affected_share": r["flip_rate"], "confidence": confidence},
        {"segment": {col: val}})


def segments(per: pl.DataFrame, column: str) -> pl.DataFrame:
    """A small per-segment table from the engine with ``segment``: ``column``'s value as text
    (cast here, on the few rows, so every engine labels a segment alike), sorted, nulls last.
    ``column`` is the comparison's own name of the segment column (``by_column(i)``)."""
    return per.with_columns(pl.col(column).cast(pl.String).alias("segment")).sort("segment", nulls_last=True)


def answered(rec: Reconciliation) -> nw.Expr:
    """Whether both models answered a matched request: a prediction (not null, not NaN) on both
    sides and, when the logs have an ``error`` flag, no error on either side (a failed request has
    no answer to agree or disagree with; failures are judged by the error-rate guardrail). The one
    definition of the requests whose agreement is measured, overall and per segment; never null."""
    out = nw.lit(True)
    for s in SIDES:
        value = nw.col(role("prediction", s))
        out = out & ~value.is_null()
        if rec.schema[role("prediction", s)].is_float():
            out = out & ~value.is_nan().fill_null(True)
        if rec.roles.get("error"):
            out = out & (nw.col(role("error", s)).cast(nw.Int64).fill_null(0) == 0)
    return out


def _kappa_row(confusion: pl.DataFrame, confidence: float) -> dict[str, Any]:
    """The overall agreement row of a classifier, with Cohen's kappa, from the confusion counts of
    the compared requests (classes as text)."""
    pc, cc = CLASS_PRODUCTION, CLASS_CANDIDATE
    classes = sorted(set(confusion[pc].drop_nulls()) | set(confusion[cc].drop_nulls()))
    matrix = np.zeros((len(classes), len(classes)))
    index = {k: i for i, k in enumerate(classes)}
    for a, b, n in confusion.select(pc, cc, "n").iter_rows():
        if a is not None and b is not None:
            matrix[index[a], index[b]] += n
    kappa = cohen_kappa(matrix, confidence)
    return _agreement_row("all", int(matrix.sum()), int(np.trace(matrix)), confidence) | {
        "kappa": kappa.value, "kappa_low": kappa.low, "kappa_high": kappa.high}


def _agreement_row(scope: str, n: int, agree: int, confidence: float) -> dict[str, Any]:
    lo, hi = wilson_interval(agree, n, confidence)
    return {"scope": scope, "n": n, "agree": agree, "agreement": agree / n if n else math.nan,
            "agreement_low": lo, "agreement_high": hi, "flip_rate": 1 - agree / n if n else math.nan}


@dataclass(frozen=True)
class DeltaCounts:
    """What the engine counts for :func:`score_deltas`: per scope (``"all"``, ``"column=value"``)
    the counts and sums per bin of ``|delta|`` (``BIN``, of ``width``) — ``n``, ``sum``, ``sum2``,
    ``sum_abs`` and ``large`` (requests whose value moved by more than the ``large`` threshold)."""

    scopes: list[tuple[str, pl.DataFrame]]
    width: float


def delta_counts(rec: Reconciliation, name: str, by: list[str], large: float | None = None) -> DeltaCounts:
    """The engine's part of :func:`score_deltas`: the candidate's value minus production's on the
    same request (``name``: the role compared, ``"score"`` or ``"prediction"``), a request missing
    either value (null or NaN) left out, summarised per scope and bin of ``|delta|``: ``DELTA_BINS``
    bins of width ``1 / DELTA_BINS`` for scores, ``max |delta| / DELTA_BINS`` otherwise (exactly zero
    has its own bin). ``large``: the change counted as large (default ``LARGE_DELTA`` score points);
    ``by``: the user's segment column names."""
    d = (nw.col(role(name, "candidate")) - nw.col(role(name, "production"))).cast(nw.Float64)
    large = LARGE_DELTA if large is None else large
    width = 1 / DELTA_BINS
    keys = [by_column(i) for i in range(len(by))]
    delta = nw.col(DELTA)
    valid = rec.table.select(d.alias(DELTA), *keys).drop_nulls(subset=[DELTA]).filter(~delta.is_nan())
    if large != LARGE_DELTA:  # not scores in [0, 1]: bins sized to the largest change
        width = float(rec.collect(valid.select(delta.abs().max().alias("m"))).item() or 0.0) / DELTA_BINS or 1.0
    binned = valid.with_columns((delta.abs() / width).ceil().clip(0, DELTA_BINS).cast(nw.Int32).alias(BIN))
    aggs = [nw.len().alias("n"), delta.sum().alias("sum"), (delta * delta).sum().alias("sum2"),
            delta.abs().sum().alias("sum_abs"), count(delta.abs() > large).alias("large")]
    scopes = [("all", rec.collect(binned.group_by(BIN).agg(*aggs)))]
    for b, key in zip(by, keys, strict=True):
        per = segments(rec.collect(binned.group_by(key, BIN).agg(*aggs)), key)
        for (value,), part in per.partition_by("segment", as_dict=True, maintain_order=True).items():
            scopes.append((f"{b}={value}", part))
    return DeltaCounts(scopes, width)


def score_deltas(counts: DeltaCounts, confidence: float) -> pl.DataFrame:
    """Table ``scores`` (or ``prediction_deltas`` for a regression): the candidate's value minus
    production's on the same request, overall and per segment — n, mean delta with its normal
    interval, mean and quantiles of the absolute delta, and the share of requests whose value
    moved by more than the large change of :func:`delta_counts`. The quantiles are the upper edge
    of the bin where the cumulative count crosses the level, so they are exact to one bin width."""
    z = norm_ppf(0.5 + confidence / 2)
    rows = []
    for scope, part in counts.scopes:
        part = part.sort(BIN)
        n = int(part["n"].sum())
        if n == 0:
            continue
        mean = float(part["sum"].sum()) / n
        var = max(float(part["sum2"].sum()) / n - mean**2, 0.0) * n / max(n - 1, 1)
        half = z * math.sqrt(var / n)
        cum = np.cumsum(part["n"].to_numpy())
        bins = part[BIN].to_numpy()
        quantiles = {f"abs_delta_p{round(q * 100)}": float(bins[np.searchsorted(cum, q * n)]) * counts.width
                     for q in DELTA_QUANTILES}
        moved = int(part["large"].sum())
        rows.append({"scope": scope, "n": n, "mean_delta": mean, "mean_delta_low": mean - half,
                     "mean_delta_high": mean + half, "mean_abs_delta": float(part["sum_abs"].sum()) / n,
                     **quantiles, "share_large": moved / n})
    return pl.DataFrame(rows, infer_schema_length=None)
