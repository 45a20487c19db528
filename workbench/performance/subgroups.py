"""``check_subgroups``: model performance per segment and per combination of segments, each with an
interval, its support and its gap to the rest of the traffic; the worst significant slices.

The rule
--------
The labelled rows are reduced to additive counts and sums per cell (one cell per combination of
values of every ``by`` column): rows, correct predictions, true/false positives, false negatives,
and the per-row Brier, log-loss, absolute- and squared-error terms with their squares. Every
scope — each value of one column, each combination of values of up to ``depth`` columns — is a
sum of cells, and so is "the rest of the traffic" (everything minus the scope). AUC comes from
positives and negatives per cell and score bin of width 1e-4 (Mann–Whitney, ties within a bin
count one half): exact for scores with up to 4 decimals, otherwise off by at most half the share of
positive–negative pairs whose scores are within 1e-4.

A scope with fewer than ``min_support`` rows, or whose rest has fewer, is *inconclusive*: in the
table, never alerted (when every scope is, an ``insufficient_data`` info finding says so). The
others are tested on ``metric`` (accuracy for a classifier, MAE for a regression) against their
rest — Newcombe's interval and a z-test for a proportion, Welch's for
MAE — with Benjamini–Hochberg at ``fdr`` across every tested scope. ``segment_disparity`` when the
scope is worse than its rest by at least ``margin`` (points of accuracy, or relative MAE) and
significant; ``critical`` when the gap's whole interval is beyond the margin. An alert on a
segment covers its combinations with other columns (listed in ``also_in``) unless a combination
is clearly worse (its gap's interval wholly beyond the parent's); alerts are ranked by impact,
rows × gap.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence
from typing import Any, Literal

import narwhals as nw
import numpy as np
import polars as pl

from workbench import params
from workbench.engine.frames import Frame, collect, count, frame_summary, open_frame, refuse_nested, with_window
from workbench.engine.inputs import FrameLike, check_time_column, require_columns
from workbench.errors import ConfigError, InputError
from workbench.findings.model import CheckResult, Finding
from workbench.performance import columns
from workbench.performance.columns import WINDOW
from workbench.performance.drops import localized_drops
from workbench.stats import auc_interval, benjamini_hochberg, log_loss_terms, two_proportions, wilson_interval
from workbench.stats.tails import norm_ppf, norm_sf

Task = Literal["auto", "classification", "regression"]
MAX_CELLS = 1_000_000


@params.renamed_keywords("data", owner="check_subgroups")
def check_subgroups(
    predictions: FrameLike,
    *,
    target: str,
    by: str | Sequence[str],
    prediction: str | None = None,
    score: str | None = None,
    threshold: float = 0.5,
    depth: int = 2,
    task: Task = "auto",
    min_support: int = 100,
    margin: float | None = None,
    confidence: float = 0.95,
    fdr: float = params.DEFAULT_FDR,
    auc: bool = True,
    timestamp: str | None = None,
    window: str | dt.timedelta | None = None,
) -> CheckResult:
    """Performance of a model per segment of ``predictions`` (a frame or path with the labelled rows).

    Classification: ``target`` 0/1 (or boolean), ``prediction`` 0/1 and/or ``score`` (a probability
    of 1; without ``prediction`` the class is ``score >= threshold``): accuracy, precision,
    recall, F1 (positive class 1), and with a score AUC (on the score rounded to 1e-4: exact for
    scores with up to 4 decimals), log loss and Brier. Regression
    (``task="regression"``, or a float ``prediction`` with ``task="auto"``): MAE and RMSE. Each
    with an interval at ``confidence`` (Wilson for proportions, Poisson bootstrap of the counts for
    F1, :func:`workbench.stats.auc_interval` for AUC — Hanley–McNeil widened to a Wilson interval,
    which does not collapse at perfect separation — normal for Brier, log loss, MAE and RMSE), support and the gap to
    the rest of the traffic. ``margin``: the smallest gap worth an alert (default 0.05 = 5 points
    of accuracy, or MAE 10% above the rest's). With ``timestamp``, also every scope per ``window``
    (default 1 day) against the same scope's other windows (:mod:`workbench.performance.drops`).
    Returns a :class:`~workbench.findings.CheckResult` with check ``"performance"``, findings
    ``segment_disparity`` (persistent) and ``performance_drop`` (localized in time), tables
    ``segments`` (every scope), ``slices`` (the significant ones, worst impact first) and
    ``windows`` (every scope × window). Rule: module docstring.
    """
    owner = "check_subgroups"
    target = columns.column(target, name="target", owner=owner)
    by_cols = columns.columns(by, name="by", owner=owner)
    prediction = columns.optional_column(prediction, name="prediction", owner=owner)
    score = columns.optional_column(score, name="score", owner=owner)
    timestamp = columns.optional_column(timestamp, name="timestamp", owner=owner)
    threshold = params.open_unit(threshold, name="threshold", owner=owner)
    depth = params.count(depth, name="depth", owner=owner)
    min_support = params.count(min_support, name="min_support", owner=owner)
    margin = None if margin is None else params.positive_number(margin, name="margin", owner=owner)
    confidence = params.open_unit(confidence, name="confidence", owner=owner)
    fdr = params.open_unit(fdr, name="fdr", owner=owner)
    auc = params.boolean(auc, name="auc", owner=owner)
    every = window_length(window, timestamp, owner=owner)
    frame, regression, zone = _prepare(predictions, target, prediction, score, by_cols, task, threshold, timestamp)
    names = columns.segments(by_cols)  # internal segment column -> the user's name
    keys = list(names)
    margin = (0.1 if regression else 0.05) if margin is None else margin
    depth = min(depth, len(by_cols))
    cells = _cells(frame, keys, regression, score is not None, every)
    tables: dict[str, pl.DataFrame] = {}
    findings: list[Finding] = []
    if every is not None:
        tables["windows"], findings = localized_drops(
            cells.drop([c for c in cells.columns if c.startswith("sum_brier") or c.startswith("sum_ll")]), keys,
            depth, regression, every, zone, min_support=min_support, margin=margin, confidence=confidence, fdr=fdr,
            target=target, names=names)
        cells = cells.group_by(keys).agg(pl.exclude(keys, WINDOW).sum())
    total = cells.select(pl.exclude(keys).sum()).row(0, named=True)
    auc_bins = _auc_bins(frame, keys) if auc and score is not None and not regression else None
    rows = _segment_rows(cells, names, depth, total, auc_bins, regression, confidence, min_support)
    overall_auc = _auc_sums(auc_bins, []).get(()) if auc_bins is not None else None
    overall = {"scope": "all", "depth": 0, "segment": {}, **_metrics(total, regression, confidence, overall_auc)}
    tested = [r for r in rows if r["conclusive"]]
    if tested:
        for r, q in zip(tested, benjamini_hochberg(np.array([r["p_value"] for r in tested])), strict=True):
            r["q_value"] = float(q)
    metric = "mae" if regression else "accuracy"
    flagged = [r for r in tested if r["q_value"] <= fdr and _worse_by(r, regression) >= margin]
    findings = _findings(flagged, metric, regression, margin, confidence, target) + findings
    if not tested:
        findings.append(_insufficient(int(total["n"]), len(rows), min_support, target))
    table = pl.DataFrame([{k: v for k, v in r.items() if k != "segment"} for r in [overall, *rows]],
                         infer_schema_length=None)
    slices = table.filter(pl.col("scope").is_in([r["scope"] for r in flagged])).with_columns(
        impact=pl.col("n") * pl.col("gap").abs()).sort("impact", descending=True)
    parameters = {"target": target, "prediction": prediction, "score": score, "threshold": threshold, "by": by_cols,
                  "depth": depth, "task": "regression" if regression else "classification", "metric": metric,
                  "min_support": min_support, "margin": margin, "confidence": confidence, "fdr": fdr,
                  "cells": cells.height, "timestamp": timestamp, "window": every, "engine": frame.engine,
                  "sampled": False, "rule": {"statement": _RULE}}
    return CheckResult("performance", tuple(findings), (frame_summary(frame),), parameters=parameters,
                       tables={"segments": table, "slices": slices, **tables})


def _segment_rows(cells: pl.DataFrame, names: dict[str, str], depth: int, total: dict[str, Any],
                  auc_bins: pl.DataFrame | None, regression: bool, confidence: float,
                  min_support: int) -> list[dict[str, Any]]:
    """One row per segment and combination of up to ``depth`` segment columns (internal names ``names``, summed
    from the ``cells``): its metrics with intervals and its gap to the rest of the traffic (``total``)."""
    keys = list(names)
    rows: list[dict[str, Any]] = []
    for k in range(1, depth + 1):
        for cols in itertools.combinations(keys, k):
            per = cells.group_by(list(cols)).agg(pl.exclude(keys).sum()).sort(list(cols), nulls_last=True)
            ranks = _auc_sums(auc_bins, list(cols)) if auc_bins is not None else None
            for r in per.iter_rows(named=True):
                segment = {names[c]: r[c] for c in cols}
                row: dict[str, Any] = {"scope": ", ".join(f"{c}={v}" for c, v in segment.items()), "depth": k,
                                       "segment": segment}
                row |= _metrics(r, regression, confidence, ranks.get(tuple(r[c] for c in cols)) if ranks else None)
                rows.append(row | _gap(r, total, regression, confidence, min_support))
    return rows


_RULE = ("segment_disparity when a segment (or a combination of up to depth segments) with at least min_support rows "
         "is worse than the rest of the traffic by at least margin, significant after Benjamini-Hochberg across "
         "every tested scope; an alert on a segment covers its combinations unless one is clearly worse.")


def window_length(window: Any, timestamp: str | None, *, owner: str = "check_subgroups") -> dt.timedelta | None:
    """The window as a positive duration (default a day) when there is a ``timestamp``; None
    without one (a window without a timestamp is refused)."""
    if timestamp is None:
        if window is not None:
            raise ConfigError("window needs timestamp: name the column that holds each row's time.")
        return None
    return params.positive_duration("1d" if window is None else window, name="window", owner=owner,
                                    hint=columns.DEFAULT_WINDOW_HINT)


def _prepare(predictions: FrameLike, target: str, prediction: str | None, score: str | None, by: list[str], task: str,
             threshold: float, timestamp: str | None) -> tuple[Frame, bool, str | None]:
    """Validate and return the labelled rows under internal names (``__wb_y``, ``__wb_pred``, and
    ``__wb_p``, ``__wb_ts`` where given, and the ``by`` columns as text ``__wb_segment_<i>``, a null
    being the value "null"), whether it is a regression, and the timestamp's time zone."""
    if not by:
        raise ConfigError("by needs at least one segment column.")
    if prediction is None and score is None:
        raise ConfigError("give prediction= (the predicted class or value) or score= (a probability of class 1).")
    if task not in ("auto", "classification", "regression"):
        raise ConfigError(f"task must be 'auto', 'classification' or 'regression', got {task!r}.")
    frame = open_frame(predictions, name="predictions")
    schema = frame.schema
    require_columns(schema, {"target": target, "prediction": prediction, "score": score, "timestamp": timestamp,
                             **{f"by[{i}]": b for i, b in enumerate(by)}}, name="predictions")
    refuse_nested(frame, [target, prediction, score, timestamp, *by], check="performance")
    zone = None
    if timestamp:
        dtype = check_time_column(schema, timestamp, name="predictions", role="timestamp")
        zone = getattr(dtype, "time_zone", None)
    regression = task == "regression" or (task == "auto" and prediction is not None and schema[prediction].is_float())
    if not regression and not (schema[target].is_numeric() or schema[target] == pl.Boolean):
        raise InputError(f"predictions: target {target!r} must be 0/1 numbers or booleans, got {schema[target]}; map "
                         f"the positive class to 1 (e.g. (pl.col({target!r}) == 'yes').cast(pl.Int8)).")
    y = nw.col(target)
    checks = [count(y.is_null()).alias("null_target"), nw.len().alias("rows")]
    if score is not None:
        if not schema[score].is_numeric():
            raise InputError(f"predictions: score column {score!r} must be numeric probabilities, got {schema[score]}.")
        p = nw.col(score).cast(nw.Float64)
        checks += [count(p.is_nan() | p.is_null()).alias("bad_score"), count((p < 0) | (p > 1)).alias("outside")]
    if regression:
        for col in (target, prediction):
            if col and not schema[col].is_numeric():
                raise InputError(f"predictions: a regression needs numeric {col!r}, got {schema[col]}.")
    else:
        checks.append(count(~y.is_null() & ~y.cast(nw.Float64).is_in([0.0, 1.0])).alias("not_binary"))
    found = collect(frame.lf.select(checks), frame, check="performance").row(0, named=True)
    if found["rows"] == 0:
        raise InputError("predictions: no rows.")
    if found["null_target"]:
        raise InputError(f"predictions: {found['null_target']:,} rows have no {target!r}; pass the labelled rows only "
                         "(labels not yet arrived are a coverage question, not a performance one).")
    if found.get("bad_score"):
        raise InputError(f"predictions: {found['bad_score']:,} rows have a NaN or null {score!r}.")
    if found.get("outside"):
        raise InputError(f"predictions: {found['outside']:,} rows have {score!r} outside [0, 1]; pass probabilities.")
    if found.get("not_binary"):
        raise InputError(f"predictions: {found['not_binary']:,} rows have a {target!r} other than 0 or 1; map the "
                         "positive class to 1 (this check measures binary classifiers and regressions).")
    if prediction:
        pred = nw.col(prediction)
    else:
        assert score is not None  # refused above when neither is given
        pred = nw.col(score) >= threshold
    out = frame.lf.select(*(nw.col(b).cast(nw.String).fill_null("null").alias(c)
                            for c, b in columns.segments(by).items()),
                          y.cast(nw.Float64).alias(columns.Y), pred.cast(nw.Float64).alias(columns.PRED),
                          *([nw.col(score).cast(nw.Float64).alias(columns.P)] if score else []),
                          *([nw.col(timestamp).alias(columns.TS)] if timestamp else []))
    if not regression and prediction:
        p = nw.col(columns.PRED)
        bad = collect(out.select(count(~p.is_null() & ~p.is_in([0.0, 1.0])).alias("bad")), frame,
                      check="performance").item()
        if bad:
            raise InputError(f"predictions: {bad:,} rows have a {prediction!r} other than 0 or 1.")
    return frame.with_lf(out), regression, zone


def _cells(frame: Frame, by: list[str], regression: bool, has_score: bool,
           every: dt.timedelta | None = None) -> pl.DataFrame:
    """Additive counts and sums per combination of the internal segment columns ``by`` (and
    window, with ``every``)."""
    y, pred = nw.col(columns.Y), nw.col(columns.PRED)
    aggs = [nw.len().alias("n")]
    if regression:
        err = pred - y
        aggs += [err.abs().sum().alias("sum_ae"), (err.abs() ** 2).sum().alias("sum_se"),
                 (err**4).sum().alias("sum_se2")]
    else:
        aggs += [count(pred == y).alias("correct"), count((pred == 1) & (y == 1)).alias("tp"),
                 count((pred == 1) & (y == 0)).alias("fp"), count((pred == 0) & (y == 1)).alias("fn"),
                 y.sum().alias("pos")]
        if has_score:
            p = nw.col(columns.P)
            brier, ll = (p - y) ** 2, log_loss_terms(y, p)
            aggs += [brier.sum().alias("sum_brier"), (brier**2).sum().alias("sum_brier2"), ll.sum().alias("sum_ll"),
                     (ll**2).sum().alias("sum_ll2")]
    lf = frame.lf
    if every is not None:
        lf = with_window(frame, columns.TS, every, WINDOW)
    keys = [*by] if every is None else [WINDOW, *by]
    cells = collect(lf.group_by(*keys).agg(aggs), frame, check="performance")
    if cells.height > MAX_CELLS:
        raise InputError(f"the {len(by)} by columns make {cells.height:,} combinations (more than {MAX_CELLS:,}); "
                         "drop a high-cardinality column or bucket it first.")
    if "pos" in cells.columns:
        cells = cells.with_columns(pl.col("pos").cast(pl.Int64))  # a 0/1 float sum on every engine
    return cells


AUC_BINS = 10_000  # score resolution of the AUC: exact for scores with up to 4 decimals


def _auc_bins(frame: Frame, by: list[str]) -> pl.DataFrame:
    """Positives and negatives per combination of segment values and score bin (the score
    rounded to 1 / AUC_BINS, halves up, the same on every engine): one pass, at most cells ×
    AUC_BINS rows."""
    lf = frame.lf.with_columns(((nw.col(columns.P) * AUC_BINS + 0.5).floor().cast(nw.Int64)).alias(columns.BIN))
    y = nw.col(columns.Y)
    return collect(lf.group_by(*by, columns.BIN).agg(count(y == 1).alias("pos"), count(y == 0).alias("neg")), frame,
                   check="performance")


def _auc_sums(bins: pl.DataFrame, cols: list[str]) -> dict[tuple, tuple[float, int, int]]:
    """AUC per scope (Mann–Whitney on the score bins: ties within a bin count one half), with the
    numbers of positives and negatives."""
    per = bins.group_by(*cols, columns.BIN).agg(pl.col("pos", "neg").sum()).sort(columns.BIN)
    over = cols or None
    below = pl.col("neg").cum_sum() - pl.col("neg")
    per = per.with_columns(below=below.over(over) if over else below)
    keys: Sequence[str | pl.Expr] = cols or [pl.lit(0).alias(columns.ALL)]
    out = per.group_by(keys).agg((pl.col("pos") * (pl.col("below") + 0.5 * pl.col("neg"))).sum().alias("u"),
                                 pl.col("pos").sum().alias("n_pos"), pl.col("neg").sum().alias("n_neg"))
    result = {}
    for r in out.iter_rows(named=True):
        n_pos, n_neg = r["n_pos"], r["n_neg"]
        result[tuple(r[c] for c in cols)] = (r["u"] / (n_pos * n_neg) if n_pos and n_neg else math.nan, n_pos, n_neg)
    return result


def _metrics(r: dict[str, Any], regression: bool, confidence: float, auc: tuple | None) -> dict[str, Any]:
    n = r["n"]
    z = norm_ppf(0.5 + confidence / 2)
    out: dict[str, Any] = {"n": n}
    if regression:
        mae = r["sum_ae"] / n
        mse = r["sum_se"] / n
        mae_se = math.sqrt(max(r["sum_se"] / n - mae**2, 0.0) / max(n - 1, 1))
        mse_se = math.sqrt(max(r["sum_se2"] / n - mse**2, 0.0) / max(n - 1, 1))
        out |= {"mae": mae, "mae_low": mae - z * mae_se, "mae_high": mae + z * mae_se, "rmse": math.sqrt(mse),
                "rmse_low": math.sqrt(max(mse - z * mse_se, 0.0)), "rmse_high": math.sqrt(mse + z * mse_se)}
        return out
    tp, fp, fn, pos = r["tp"], r["fp"], r["fn"], r["pos"]
    for name, k, m in (("accuracy", r["correct"], n), ("precision", tp, tp + fp), ("recall", tp, pos)):
        lo, hi = wilson_interval(k, m, confidence)
        out |= {name: k / m if m else math.nan, f"{name}_low": lo, f"{name}_high": hi}
    out["f1"] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else math.nan
    out["f1_low"], out["f1_high"] = _f1_interval(tp, fp, fn, confidence)
    out["positives"] = pos
    if "sum_brier" in r:
        for name, key in (("brier", "sum_brier"), ("log_loss", "sum_ll")):
            mean = r[key] / n
            se = math.sqrt(max(r[f"{key}2"] / n - mean**2, 0.0) / max(n - 1, 1))
            out |= {name: mean, f"{name}_low": mean - z * se, f"{name}_high": mean + z * se}
    if auc is not None:
        value, n_pos, n_neg = auc
        out["auc"] = value
        out["auc_low"], out["auc_high"] = auc_interval(value, n_pos, n_neg, confidence)
    return out


def _f1_interval(tp: int, fp: int, fn: int, confidence: float, resamples: int = 400) -> tuple[float, float]:
    """Percentile interval of F1 under a Poisson bootstrap of the confusion counts (seeded by them)."""
    if tp + fp + fn == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng([tp, fp, fn])
    t, f_p, f_n = (rng.poisson(c, resamples) for c in (tp, fp, fn))
    denom = 2 * t + f_p + f_n
    f1 = np.where(denom > 0, 2 * t / np.maximum(denom, 1), np.nan)
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.nanpercentile(f1, [tail, 100 - tail])
    return float(lo), float(hi)


def _gap(r: dict[str, Any], total: dict[str, Any], regression: bool, confidence: float,
         min_support: int) -> dict[str, Any]:
    """The scope minus the rest of the traffic on the headline metric, with interval and p-value."""
    n, rest_n = r["n"], total["n"] - r["n"]
    out: dict[str, Any] = {"rest_n": rest_n, "conclusive": n >= min_support and rest_n >= min_support}
    if regression:
        rest_mae = (total["sum_ae"] - r["sum_ae"]) / rest_n if rest_n else math.nan
        mae = r["sum_ae"] / n
        var = max(r["sum_se"] / n - mae**2, 0.0) / max(n - 1, 1)
        rest_var = max((total["sum_se"] - r["sum_se"]) / max(rest_n, 1) - rest_mae**2, 0.0) / max(rest_n - 1, 1)
        diff, se = mae - rest_mae, math.sqrt(var + rest_var)
        z = norm_ppf(0.5 + confidence / 2)
        out |= {"rest_mae": rest_mae, "gap": diff, "gap_low": diff - z * se, "gap_high": diff + z * se,
                "p_value": min(1.0, 2 * norm_sf(abs(diff) / se)) if se > 0 else (0.0 if diff else 1.0)}
        return out
    rest_k = total["correct"] - r["correct"]
    diff, lo, hi, p = two_proportions(rest_k, rest_n, r["correct"], n, confidence) if rest_n else (math.nan,) * 4
    out |= {"rest_accuracy": rest_k / rest_n if rest_n else math.nan, "gap": diff, "gap_low": lo, "gap_high": hi,
            "p_value": p}
    return out


def _insufficient(n: int, scopes: int, min_support: int, target: str) -> Finding:
    """Info finding for a run where no scope could be compared with the rest of the traffic."""
    return Finding(
        "subgroups", "insufficient_data", "info", target,
        f"Too few rows to compare segments: {n:,} labelled rows, and each of the {scopes:,} segment scopes, or the "
        f"rest of the traffic beside it, has fewer than min_support={min_support:,} rows. No alert is raised; the "
        "segments table shows what there is.",
        "Use a longer period of labelled data, coarser segments, or a lower min_support if you accept wider "
        "intervals.", {"n": n, "scopes": scopes, "min_support": min_support}, {})


def _worse_by(r: dict[str, Any], regression: bool) -> float:
    """How much worse than its rest a scope is, in the margin's unit (accuracy points, or MAE
    relative to the rest's)."""
    if regression:
        return r["gap"] / r["rest_mae"] if r["rest_mae"] else math.nan
    return -r["gap"]


def _findings(flagged: list[dict[str, Any]], metric: str, regression: bool, margin: float, confidence: float,
              target: str) -> list[Finding]:
    """``segment_disparity`` per flagged scope; a combination folds into a flagged parent segment
    unless its gap's interval lies wholly beyond the parent's."""
    by_scope = {tuple(sorted(r["segment"].items())): r for r in flagged}
    covered: dict[tuple, list[str]] = {}
    keep = []
    for r in sorted(flagged, key=lambda r: r["depth"]):
        items = tuple(sorted(r["segment"].items()))
        parents = [by_scope[(item,)] for item in items if (item,) in by_scope and len(items) > 1]
        clearly_worse = all(r["gap_high"] < p["gap_low"] if not regression else r["gap_low"] > p["gap_high"]
                            for p in parents)
        if parents and not clearly_worse:
            for p in parents:
                covered.setdefault(tuple(sorted(p["segment"].items())), []).append(r["scope"])
            continue
        keep.append(r)
    out = []
    for r in sorted(keep, key=lambda r: -r["n"] * abs(r["gap"])):
        also = covered.get(tuple(sorted(r["segment"].items())), [])
        worse = _worse_by(r, regression)
        beyond = (r["gap_high"] <= -margin) if not regression else (r["gap_low"] / r["rest_mae"] >= margin)
        if regression:
            text = (f"MAE is {r['mae']:.4g} on {r['scope']} vs {r['rest_mae']:.4g} elsewhere ({worse:+.0%}; "
                    f"{confidence:.0%} CI of the difference {r['gap_low']:+.4g} to {r['gap_high']:+.4g}")
        else:
            text = (f"Accuracy is {r['accuracy']:.1%} on {r['scope']} vs {r['rest_accuracy']:.1%} elsewhere "
                    f"({r['gap'] * 100:+.1f} points, {confidence:.0%} CI {r['gap_low'] * 100:+.1f} to "
                    f"{r['gap_high'] * 100:+.1f}")
        message = f"{text}; n={r['n']:,}; q={r['q_value']:.2g})."
        if also:
            message += f" Covers {len(also)} combination(s): {', '.join(also[:3])}{', …' if len(also) > 3 else ''}."
        out.append(Finding(
            "subgroups", "segment_disparity", "critical" if beyond else "warning", target, message,
            "Look at what is different about this segment's inputs (coverage in training, missing features, "
            "a data source it depends on) before trusting the model there.",
            {"value": r[metric], "baseline": r["rest_mae" if regression else "rest_accuracy"], "effect": r["gap"],
             "interval": [r["gap_low"], r["gap_high"]], "q_value": r["q_value"], "n": r["n"],
             "affected_rows": r["n"], "impact": r["n"] * abs(r["gap"]), "confidence": confidence, "also_in": also},
            {"segment": r["segment"]}))
    return out
