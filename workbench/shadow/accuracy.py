"""Accuracy of the two sides on labelled requests, overall and per segment: paired on the same
requests (exact McNemar test, Newcombe's paired interval) in shadow mode, two independent samples
(Newcombe's unpaired interval, z-test) in canary mode; Benjamini–Hochberg across the scopes."""

from __future__ import annotations

import math

import narwhals as nw
import numpy as np
import polars as pl

from workbench.engine.frames import collect_on, count, engine_of
from workbench.findings.model import Finding
from workbench.shadow.agreement import segments
from workbench.shadow.columns import ID, LABEL, by_column, role
from workbench.shadow.paired import mcnemar_exact, paired_difference
from workbench.shadow.reconcile import SIDES, Reconciliation
from workbench.shadow.verdict import GuardrailCheck, Guardrails, PendingCheck
from workbench.stats import benjamini_hochberg, log_loss_terms, two_proportions
from workbench.stats.tails import norm_ppf


def accuracy_counts(labelled: dict[str, nw.LazyFrame], by: list[str], paired: bool) -> pl.DataFrame:
    """The engine's part of :func:`accuracy`: per scope (``by_scope``), the labelled requests and
    those each side got right (``n_<side>``, ``right_<side>``; paired: also ``only_<side>``, right
    on that side only). ``labelled``: :func:`labelled_requests`."""
    return _paired_counts(labelled["matched"], by) if paired else _unpaired_counts(labelled, by)


def accuracy(table: pl.DataFrame, prediction: str, paired: bool, confidence: float, fdr: float,
             guardrails: Guardrails) -> tuple[pl.DataFrame, list[Finding], list[PendingCheck]]:
    """Table ``accuracy`` (per scope: n and accuracy per side, the difference candidate minus
    production with its interval, p and q values), ``accuracy_regression`` findings (q ≤ ``fdr``
    and a drop of at least ``guardrails.accuracy_drop``; critical when the guardrail is breached,
    :mod:`workbench.shadow.severity`) and one pending guardrail check per tested scope (overall needs
    ``min_labelled`` labelled requests, a segment ``min_support``), from :func:`accuracy_counts`."""
    rows = table.to_dicts()
    pending, tested = [], []
    for r in rows:
        interval = _interval(r, paired)
        r["difference"], r["difference_low"], r["difference_high"] = interval(confidence)
        overall = r["scope"] == "all"
        needed = guardrails.min_labelled if overall else guardrails.min_support
        r["p_value"] = _p_value(r, paired) if r["n"] >= guardrails.min_support else math.nan
        if r["n"] >= guardrails.min_support:
            tested.append(r)
        pending.append((r, overall, needed, interval))
    q = benjamini_hochberg(np.array([r["p_value"] for r in tested]))  # empty when none is tested
    for r, qv in zip(tested, q, strict=True):
        r["q_value"] = float(qv)
    findings = []
    for r in tested:
        if r["q_value"] <= fdr and r["difference"] <= -guardrails.accuracy_drop:
            findings.append(_finding(r, prediction, confidence, paired))
    flagged = {next(iter(f.scope["segment"].items())) if f.scope else None for f in findings
               if f.kind == "accuracy_regression"}
    checks = [_pending(r, overall, needed, interval, guardrails, flagged) for r, overall, needed, interval in pending]
    return pl.DataFrame(rows, infer_schema_length=None), findings, checks


def labelled_requests(rec: Reconciliation, labels: nw.LazyFrame, paired: bool) -> dict[str, nw.LazyFrame]:
    """The compared requests that have a label, joined on the logs' engine and computed once for
    every metric (:meth:`Reconciliation.keep`): ``{"matched": ...}`` in shadow mode, one frame per
    side in canary mode. ``labels``: columns ``ID`` and ``LABEL`` (:mod:`workbench.shadow.columns`)."""
    sides = {"matched": rec.table} if paired else {s: rec.side(s, paired=False) for s in SIDES}
    return {k: rec.keep(lf.join(labels, on=ID, how="inner")) for k, lf in sides.items()}


def unmatched_count(labels: nw.LazyFrame, labelled: dict[str, nw.LazyFrame]) -> int:
    """The labels for requests that are not among those compared (labels are unique by id, so it is
    the labels minus the labelled requests), counted on the engine."""
    used = nw.concat([lf.select(ID) for lf in labelled.values()]).unique() if len(labelled) > 1 \
        else labelled["matched"].select(ID)
    return _count(labels) - _count(used)


def unmatched_labels(unknown: int, label: str) -> list[Finding]:
    """``unmatched_labels`` for the ``unknown`` labels of :func:`unmatched_count` (none when 0).
    ``label``: the user's name."""
    if not unknown:
        return []
    return [Finding("shadow", "unmatched_labels", "info", label,
                    f"{unknown:,} labels are for requests not in the compared logs; they were not used.",
                    "Check that labels are keyed by the same request id as the logs.", {"affected_rows": unknown}, {})]


def _count(lf: nw.LazyFrame) -> int:
    return int(_collect(lf.select(nw.len().alias("n"))).item())


def _collect(lf: nw.LazyFrame) -> pl.DataFrame:
    return collect_on(lf, engine_of(lf), "the labelled requests", check="the shadow/canary accuracy comparison")


def by_scope(lf: nw.LazyFrame, aggs: list[nw.Expr], by: list[str]) -> pl.DataFrame:
    """``aggs`` over all rows (scope ``"all"``) and per value of each ``by`` column (scope
    ``"column=value"``; the ``i``-th is ``by_column(i)`` in ``lf``), computed on the frame's
    engine: one polars frame with ``scope``, ``column`` (the user's name) and ``segment``."""
    frames = [_collect(lf.select(*aggs)).with_columns(scope=pl.lit("all"), column=pl.lit(None, pl.String),
                                                      segment=pl.lit(None, pl.String))]
    for i, b in enumerate(by):
        per = segments(_collect(lf.group_by(by_column(i)).agg(*aggs)), by_column(i)).drop(by_column(i))
        scope = pl.format("{}={}", pl.lit(b), pl.col("segment").fill_null("None"))  # as agreement's f"{b}={value}"
        frames.append(per.with_columns(scope=scope, column=pl.lit(b)))
    return pl.concat(frames, how="diagonal_relaxed")


def _paired_counts(joined: nw.LazyFrame, by: list[str]) -> pl.DataFrame:
    rp, rc = ((nw.col(role("prediction", s)) == nw.col(LABEL)).fill_null(False) for s in SIDES)
    aggs = [nw.len().alias("n"), count(rp).alias("right_production"), count(rc).alias("right_candidate"),
            count(rp & ~rc).alias("only_production"), count(rc & ~rp).alias("only_candidate")]
    table = by_scope(joined, aggs, by)
    return table.with_columns(n_production=pl.col("n"), n_candidate=pl.col("n")).select(
        "scope", "column", "segment", "n", "n_production", "n_candidate", "right_production", "right_candidate",
        "only_production", "only_candidate")


def _unpaired_counts(labelled: dict[str, nw.LazyFrame], by: list[str]) -> pl.DataFrame:
    parts = []
    for s in SIDES:
        right = (nw.col(role("prediction")) == nw.col(LABEL)).fill_null(False)
        parts.append(by_scope(labelled[s], [nw.len().alias(f"n_{s}"), count(right).alias(f"right_{s}")], by))
    table = parts[0].join(parts[1], on=["scope", "column", "segment"], how="full", coalesce=True, nulls_equal=True)
    table = table.with_columns(pl.col(f"{k}_{s}").fill_null(0) for k in ("n", "right") for s in SIDES)
    return table.with_columns(n=pl.min_horizontal("n_production", "n_candidate")).select(
        "scope", "column", "segment", "n", "n_production", "n_candidate", "right_production", "right_candidate")


def _interval(r: dict, paired: bool):
    """Interval function of the accuracy difference (candidate minus production) for a scope."""
    if paired:
        both = r["right_production"] - r["only_production"]

        def paired_interval(level: float) -> tuple[float, float, float]:
            return paired_difference(both, r["only_production"], r["only_candidate"], r["n"], level)

        return paired_interval

    def unpaired_interval(level: float) -> tuple[float, float, float]:
        return two_proportions(r["right_production"], r["n_production"], r["right_candidate"], r["n_candidate"],
                               level)[:3]

    return unpaired_interval


def _p_value(r: dict, paired: bool) -> float:
    """Two-sided p-value of no accuracy difference."""
    if paired:
        return mcnemar_exact(r["only_production"], r["only_candidate"])
    return two_proportions(r["right_production"], r["n_production"], r["right_candidate"], r["n_candidate"])[3]


def _finding(r: dict, prediction: str, confidence: float, paired: bool) -> Finding:
    acc_p = r["right_production"] / r["n_production"]
    acc_c = r["right_candidate"] / r["n_candidate"]
    where = "" if r["scope"] == "all" else f" for {r['scope']}"
    scope = {} if r["scope"] == "all" else {"segment": {r["column"]: r["segment"]}}
    test = "McNemar" if paired else "z-test"
    return Finding(
        "shadow", "accuracy_regression", "warning", prediction,  # critical when breached: check_shadow decides
        f"The candidate is less accurate{where}: {acc_c:.1%} vs production's {acc_p:.1%} "
        f"({r['difference'] * 100:+.1f} points, {confidence:.0%} CI {r['difference_low'] * 100:+.1f} to "
        f"{r['difference_high'] * 100:+.1f}; n={r['n']:,} labelled requests{' on both sides' if paired else ''}; "
        f"{test} q={r['q_value']:.2g}).",
        "Look at the requests only production gets right in this scope before promoting the candidate.",
        {"value": acc_c, "baseline": acc_p, "effect": r["difference"],
         "interval": [r["difference_low"], r["difference_high"]], "q_value": r["q_value"], "n": r["n"],
         "confidence": confidence}, scope)


def _pending(r: dict, overall: bool, needed: int, interval, guardrails: Guardrails, flagged: set) -> PendingCheck:
    key = None if overall else (r["column"], r["segment"])

    def build(alpha_rollback: float, alpha_promote: float) -> GuardrailCheck:
        return GuardrailCheck(
            "accuracy", r["scope"], r["n"], needed, -r["difference"], guardrails.accuracy_drop,
            -interval(1 - 2 * alpha_rollback)[2], -interval(1 - 2 * alpha_promote)[1], "points", overall,
            key in flagged)

    return PendingCheck(r["n"], needed, build)


def score_sums(labelled: dict[str, nw.LazyFrame], by: list[str], paired: bool) -> pl.DataFrame | None:
    """The engine's part of :func:`score_metrics`: per scope, the sums (and sums of squares, or of
    paired differences) of each side's per-request Brier and log-loss terms on binary (0/1)
    labels. None when the labels are not 0/1."""
    y = nw.col(LABEL).cast(nw.Float64)
    bounds = _collect(next(iter(labelled.values())).select(
        count(~y.is_in([0.0, 1.0])).alias("other")))
    if bounds["other"].item():
        return None

    def terms(col: str) -> tuple[nw.Expr, nw.Expr]:
        e = nw.col(col) - y
        return e * e, log_loss_terms(y, nw.col(col).cast(nw.Float64))

    if paired:
        (bp, lp), (bc, lc) = terms(role("score", "production")), terms(role("score", "candidate"))
        joined = labelled["matched"].drop_nulls(subset=[role("score", "production"), role("score", "candidate"),
                                                        LABEL])
        aggs = [nw.len().alias("n")]
        for name, a, b in (("brier", bp, bc), ("log_loss", lp, lc)):
            aggs += [a.sum().alias(f"{name}_sum_p"), b.sum().alias(f"{name}_sum_c"), (b - a).sum().alias(f"{name}_d"),
                     ((b - a) * (b - a)).sum().alias(f"{name}_d2")]
        table = by_scope(joined, aggs, by)
    else:
        parts = []
        for side, tag in zip(SIDES, ("p", "c"), strict=True):
            b, ll = terms(role("score"))
            joined = labelled[side].drop_nulls(subset=[role("score"), LABEL])
            aggs = [nw.len().alias(f"n_{tag}"), b.sum().alias(f"brier_sum_{tag}"),
                    (b * b).sum().alias(f"brier_sq_{tag}"), ll.sum().alias(f"log_loss_sum_{tag}"),
                    (ll * ll).sum().alias(f"log_loss_sq_{tag}")]
            parts.append(by_scope(joined, aggs, by))
        table = parts[0].join(parts[1], on=["scope", "column", "segment"], how="full", coalesce=True,
                              nulls_equal=True).fill_null(0)
    return table


def score_metrics(table: pl.DataFrame, paired: bool, confidence: float) -> pl.DataFrame:
    """Brier score and log loss of each side's score per scope (from :func:`score_sums`), with the
    difference candidate minus production and its normal interval (paired per request in shadow
    mode, Welch in canary mode); lower is better."""
    z = norm_ppf(0.5 + confidence / 2)
    rows = []
    for r in table.iter_rows(named=True):
        out = {"scope": r["scope"]}
        for name in ("brier", "log_loss"):
            n_p, n_c = (r["n"], r["n"]) if paired else (r["n_p"], r["n_c"])
            mean_p = r[f"{name}_sum_p"] / n_p if n_p else math.nan
            mean_c = r[f"{name}_sum_c"] / n_c if n_c else math.nan
            if paired and n_p > 1:
                d = r[f"{name}_d"] / n_p
                se = math.sqrt(max(r[f"{name}_d2"] / n_p - d**2, 0.0) / (n_p - 1))
            elif not paired and n_p > 1 and n_c > 1:
                d = mean_c - mean_p
                var_p = max(r[f"{name}_sq_p"] - n_p * mean_p**2, 0.0) / (n_p - 1)
                var_c = max(r[f"{name}_sq_c"] - n_c * mean_c**2, 0.0) / (n_c - 1)
                se = math.sqrt(var_p / n_p + var_c / n_c)
            else:
                d, se = mean_c - mean_p, math.nan
            out |= {f"{name}_production": mean_p, f"{name}_candidate": mean_c, f"{name}_difference": d,
                    f"{name}_difference_low": d - z * se, f"{name}_difference_high": d + z * se}
        rows.append(out)
    return pl.DataFrame(rows, infer_schema_length=None)
