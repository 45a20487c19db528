"""Performance where labels have not arrived: label coverage, and a confidence-based estimate
from the scores alone (the approach NannyML calls CBPE).

If the scores are calibrated — P(y = 1 | score p) = p — a request predicted positive is right with
probability p and one predicted negative with probability 1 - p. So the expected accuracy of a
scope is the mean of those probabilities, its expected precision Σ_{predicted 1} p / #predicted 1
and its expected recall Σ_{predicted 1} p / Σ p. The accuracy estimate's interval treats the
correctness of each request as an independent Bernoulli draw (variance Σ q(1 - q) / n²). The
assumption is checked on the labelled reference (Hosmer–Lemeshow and ECE): when it fails, the
estimate is reported with a warning, because a miscalibrated score gives a biased estimate. Where
labels exist, the realized numbers sit beside the estimate, so the two can be compared.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import narwhals as nw
import polars as pl

from workbench.engine.frames import Frame, collect, count, with_window
from workbench.localize import window_start
from workbench.performance import columns
from workbench.performance.columns import WINDOW
from workbench.stats.tails import norm_ppf


def estimate_table(frame: Frame, segments: dict[str, str], every: dt.timedelta | None, zone: str | None, *,
                   confidence: float, min_support: int, has_score: bool = True,
                   regression: bool = False) -> pl.DataFrame:
    """Per scope (all, each window, each segment value): predictions, labelled share, the estimated
    accuracy with its interval, estimated precision and recall, and the realized accuracy where
    at least ``min_support`` labels exist. ``frame`` (on any engine) has, under internal names
    (:mod:`~workbench.performance.columns`), ``__wb_p`` (score; without ``has_score`` there is no
    estimate, only coverage and realized accuracy), ``__wb_pred`` and ``__wb_y`` (null where the
    label has not arrived), ``__wb_ts`` and the segment columns, the keys of ``segments`` (whose
    values are the user's names, used in the scope labels)."""
    pred, y = nw.col(columns.PRED), nw.col(columns.Y)
    # a null label gives a null term, which the sums skip
    aggs = [nw.len().alias("n"), count(pred == 1).alias("predicted_pos"), count(~y.is_null()).alias("labelled"),
            ((y - pred).abs() if regression else (y == pred).cast(nw.Float64)).sum().alias("correct")]
    if has_score:
        p = nw.col(columns.P)
        q = nw.when(pred == 1).then(p).otherwise(1 - p)  # P(correct) if the score is calibrated
        aggs += [q.sum().alias("sum_q"), (q * (1 - q)).sum().alias("var_q"),
                 nw.when(pred == 1).then(p).otherwise(0.0).sum().alias("sum_p_pos"), p.sum().alias("sum_p")]
    names = ["n", "predicted_pos", "labelled", "correct", *(["sum_q", "var_q", "sum_p_pos", "sum_p"] if has_score
                                                             else [])]
    lf = frame.lf
    groups: list[tuple[str, list[str]]] = [("all", [])]
    if every is not None:
        lf = with_window(frame, columns.TS, every, WINDOW)
        groups.append(("window", [WINDOW]))
    groups += [("segment", [c]) for c in segments]
    frames = []
    for kind, keys in groups:
        part = collect(lf.group_by(*keys).agg(aggs) if keys else lf.select(aggs), frame, check="performance")
        if kind == "window":
            assert every is not None  # the window scopes exist only with every
            part = part.sort(WINDOW).with_columns(scope=pl.col(WINDOW).map_elements(
                lambda i: window_start(i, every, zone).strftime("%Y-%m-%d %H:%M"), return_dtype=pl.String))
        elif kind == "segment":
            col = keys[0]
            part = part.sort(col).with_columns(scope=pl.format("{}={}", pl.lit(segments[col]), pl.col(col)))
        else:
            part = part.with_columns(scope=pl.lit("all"))
        frames.append(part.with_columns(scope_kind=pl.lit(kind)).select("scope", "scope_kind", *names))
    table = pl.concat(frames)
    if not has_score:
        table = table.with_columns(pl.lit(None, pl.Float64).alias(c) for c in ("sum_q", "var_q", "sum_p_pos", "sum_p"))
    z = norm_ppf(0.5 + confidence / 2)
    est = pl.col("sum_q") / pl.col("n")
    se = pl.col("var_q").sqrt() / pl.col("n")
    realized = pl.col("correct") / pl.col("labelled")  # accuracy, or MAE for a regression
    if regression:  # no label-free estimate for a regression: coverage and realized MAE only
        return table.with_columns(label_coverage=pl.col("labelled") / pl.col("n"),
                                  realized_mae=pl.when(pl.col("labelled") >= min_support).then(realized)).select(
            "scope", "scope_kind", "n", "labelled", "label_coverage", "realized_mae")
    return table.with_columns(
        label_coverage=pl.col("labelled") / pl.col("n"),
        estimated_accuracy=est, estimated_accuracy_low=est - z * se, estimated_accuracy_high=est + z * se,
        estimated_precision=pl.col("sum_p_pos") / pl.col("predicted_pos"),
        estimated_recall=pl.col("sum_p_pos") / pl.col("sum_p"),
        realized_accuracy=pl.when(pl.col("labelled") >= min_support).then(realized).otherwise(None),
    ).with_columns(estimate_error=pl.col("estimated_accuracy") - pl.col("realized_accuracy")).select(
        "scope", "scope_kind", "n", "labelled", "label_coverage", "estimated_accuracy", "estimated_accuracy_low",
        "estimated_accuracy_high", "estimated_precision", "estimated_recall", "realized_accuracy", "estimate_error")


def assumption(reference_row: dict[str, Any] | None, fdr: float) -> dict[str, Any]:
    """Whether the estimate's assumption holds on the reference: its calibration row (from the
    calibration check) shows no significant miscalibration (Hosmer–Lemeshow p > ``fdr``) and ECE
    below 0.02. A reference too small to judge calibration (``conclusive`` false) leaves it unchecked."""
    if reference_row is None:
        return {"checked": False, "holds": None,
                "statement": "The estimate assumes calibrated scores; pass a labelled reference to check it."}
    if not reference_row.get("conclusive", True):
        return {"checked": False, "holds": None,
                "statement": f"The estimate assumes calibrated scores; the reference ({reference_row['n']:,} labelled "
                             "rows) is too small or has one class only, so this could not be checked."}
    ece, p = reference_row["ece"], reference_row["hl_p"]
    holds = bool(p > fdr and ece < 0.02)
    return {"checked": True, "holds": holds, "reference_ece": ece, "reference_hl_p": p,
            "statement": (f"The estimate assumes calibrated scores: on the reference, ECE {ece:.3f} and "
                          f"Hosmer–Lemeshow p={p:.2g} — the assumption {'holds' if holds else 'does NOT hold'}.")}
