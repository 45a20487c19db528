"""The leakage auditor's checks, each from a prepared frame to findings and small tables.

Finding kinds (the ``kind`` field of the findings JSON):

``future_data``        a feature uses data from after the prediction time.
``non_asof_join``      a snapshot feature took a snapshot from after the prediction time
                       (latest instead of as-of).
``late_arrival``       a feature uses data that happened before the prediction time but
                       became available only after it (event time used without ingestion time,
                       or a backfill written later).
``feature_mismatch``   the training value differs from the point-in-time value and no timing
                       explanation reproduces it (a bug or a wrong declaration).
``stale_feature``      the point-in-time snapshot is older than the feature's TTL.
``late_data_profile``  (info) how late a source's rows arrive and the delay that covers them.
``target_proxy``       a feature predicts the label implausibly well.
``split_entity_overlap``  the same entities are in train and test.
``split_time_overlap``    train and test prediction times overlap.
``duplicate_rows``     exact duplicate rows, or repeated (entity, prediction time) keys.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl

from workbench.findings.model import Finding
from workbench.leakage.spec import format_duration
from workbench.leakage.summaries import histogram, quantiles
from workbench.stats import auc_from_counts, auc_interval, wilson_interval

CHECK = "leakage"
TIMING_KINDS = ("future_data", "non_asof_join", "late_arrival")  # violations with a timing explanation
VIOLATION_KINDS = (*TIMING_KINDS, "feature_mismatch")


def violation_severity(rows: int, n: int) -> str:
    """Point-in-time violations are facts, not estimates: critical from 1% of rows or 50 rows."""
    return "critical" if rows >= 50 or rows / max(n, 1) >= 0.01 else "warning"


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%" if share >= 0.001 else f"{100 * share:.2f}%"


_WHAT = {
    "future_data": "uses data from after the prediction time",
    "non_asof_join": "takes a snapshot from after the prediction time (latest instead of as-of)",
    "late_arrival": "uses data that happened before the prediction time but arrived only after it",
    "feature_mismatch": "differs from its point-in-time recomputation with no timing explanation",
}


def _suggest(kind: str, feature: str, describe: str, rule_text: str) -> str:
    return {
        "future_data": f"Recompute {feature} as {describe} using only rows with {rule_text}.",
        "non_asof_join": f"Join {feature} as-of the prediction time ({describe}, keeping snapshots with "
                         f"{rule_text}), not the latest snapshot.",
        "late_arrival": f"Filter {feature}'s source on its available/ingestion time, not only its event time "
                        f"(keep rows with {rule_text}), or delay predictions by the source's suggested "
                        "availability delay.",
        "feature_mismatch": f"Compare the pipeline that built {feature} with its declaration ({describe}); "
                            "fix whichever is wrong.",
    }[kind]


def violation_findings(feature: str, describe: str, rule_text: str, per_row: pl.DataFrame,
                       labels: pl.DataFrame, *, max_examples: int = 50
                       ) -> tuple[list[Finding], list[pl.DataFrame], list[pl.DataFrame]]:
    """Findings, lag histograms and example rows for one feature's per-row classification.

    ``per_row``: ``__row, __pit, __status, __lag_s``; ``labels``: ``__row, entity, prediction_time,
    training value`` (the last three under display names ``entity``, ``prediction_time``, ``value``).
    """
    n = per_row.height
    findings, hists, examples = [], [], []
    for kind in VIOLATION_KINDS:
        rows = per_row.filter(pl.col("__status") == kind)
        k = rows.height
        if k == 0:
            continue
        lags = rows["__lag_s"]
        q = quantiles(lags)
        lo, hi = wilson_interval(k, n)
        metrics: dict[str, Any] = {
            "n": n, "affected_rows": k, "affected_share": k / n, "interval": [lo, hi], "confidence": 0.95,
            "lag_seconds": q,
        }
        lag_text = ""
        if q["p50"] is not None:
            lag_text = (f"; the leaking data lies a median {format_duration(q['p50'])} "
                        f"(max {format_duration(q['max'])}) past the prediction time")
        message = (f"Feature '{feature}' {_WHAT[kind]} in {k:,} of {n:,} rows ({_pct(k / n)}){lag_text}.")
        findings.append(Finding(
            check=CHECK, kind=kind, severity=violation_severity(k, n), subject=feature, message=message,
            suggestion=_suggest(kind, feature, describe, rule_text), metrics=metrics,
            evidence=tuple(_examples(rows, labels, 5).to_dicts()),
        ))
        hists.append(histogram(lags).select(pl.lit(feature).alias("feature"), pl.lit(kind).alias("kind"),
                                            pl.all()))
        examples.append(_examples(rows, labels, max_examples).select(
            pl.lit(feature).alias("feature"), pl.lit(kind).alias("kind"), pl.all()))
    return findings, hists, examples


def _examples(rows: pl.DataFrame, labels: pl.DataFrame, limit: int) -> pl.DataFrame:
    picked = rows.sort("__row").head(limit).join(labels, on="__row", how="left")
    return (picked
            .select("entity", "prediction_time",
                    _as_text(pl.col("value"), picked.schema["value"]).alias("training_value"),
                    _as_text(pl.col("__pit"), picked.schema["__pit"]).alias("point_in_time_value"),
                    (pl.col("__lag_s") / 3600).alias("lag_hours"), pl.col("__row").alias("row")))


def _as_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Values as text for display; floats rounded to 9 decimals so sums read as 1214.79, not 1214.7900000000002."""
    return (expr.round(9) if dtype.is_float() else expr).cast(pl.String)


def staleness_finding(feature: str, ttl_s: float, ages: pl.Series, has_value: pl.Series) -> Finding | None:
    """Rows whose point-in-time snapshot is older than the TTL while the training value is set."""
    n = ages.len()
    stale = (ages > ttl_s) & has_value
    k = int(stale.sum())
    if k == 0:
        return None
    q = quantiles(ages.filter(stale))
    lo, hi = wilson_interval(k, n)
    return Finding(
        check=CHECK, kind="stale_feature", severity="warning" if k / n < 0.05 else "critical", subject=feature,
        message=(f"Feature '{feature}' is older than its TTL of {format_duration(ttl_s)} at prediction time in "
                 f"{k:,} of {n:,} rows ({_pct(k / n)}; median age {format_duration(q['p50'])})."),
        suggestion=(f"Treat {feature} as missing when its snapshot is older than {format_duration(ttl_s)}, "
                    "or fix the upstream job that stopped refreshing it."),
        metrics={"n": n, "affected_rows": k, "affected_share": k / n, "interval": [lo, hi], "confidence": 0.95,
                 "ttl_seconds": ttl_s, "age_seconds": q},
    )


def timestamp_findings(feature: str, ts_column: str, lags_s: pl.Series, n: int, strict: bool
                       ) -> tuple[list[Finding], list[pl.DataFrame]]:
    """Rows whose feature timestamp is not before the cutoff (``lags_s``: ts - prediction, all rows)."""
    bad = lags_s >= 0 if strict else lags_s > 0
    bad = bad.fill_null(False)
    k = int(bad.sum())
    if k == 0:
        return [], []
    leaking = lags_s.filter(bad)
    q = quantiles(leaking)
    lo, hi = wilson_interval(k, n)
    op = "at or after" if strict else "after"
    finding = Finding(
        check=CHECK, kind="future_data", severity=violation_severity(k, n), subject=feature,
        message=(f"Feature '{feature}' has its timestamp {ts_column!r} {op} the prediction time in {k:,} of {n:,} "
                 f"rows ({_pct(k / n)}; median {format_duration(q['p50'])} later)."),
        suggestion=f"Rebuild {feature} with an as-of join so that {ts_column} is before the prediction time.",
        metrics={"n": n, "affected_rows": k, "affected_share": k / n, "interval": [lo, hi], "confidence": 0.95,
                 "lag_seconds": q, "evidence": "timestamp", "timestamp_column": ts_column},
    )
    hist = histogram(leaking).select(pl.lit(feature).alias("feature"), pl.lit("future_data").alias("kind"),
                                     pl.all())
    return [finding], [hist]


def lateness_profile(source: str, lateness_s: pl.Series, happened: int, unavailable: int
                     ) -> tuple[Finding, pl.DataFrame, pl.DataFrame]:
    """Lateness distribution of a source and the share of its events not yet available at prediction.

    ``lateness_s``: available - event time per source row (seconds). ``happened``: (label row,
    event) pairs with the event before the cutoff; ``unavailable``: those not yet available.
    """
    q = quantiles(lateness_s)
    n = lateness_s.len()
    late_share = float((lateness_s > 0).mean()) if n else 0.0
    delay = q["p99"] or 0.0
    share = unavailable / happened if happened else 0.0
    table = pl.DataFrame({
        "source": [source], "events": [n], "late_share": [late_share],
        "lateness_p50_hours": [_hours(q["p50"])], "lateness_p90_hours": [_hours(q["p90"])],
        "lateness_p99_hours": [_hours(q["p99"])], "lateness_max_hours": [_hours(q["max"])],
        "unavailable_at_prediction_share": [share], "suggested_delay_hours": [delay / 3600],
    })
    hist = histogram(lateness_s).select(pl.lit(source).alias("source"), pl.all())
    finding = Finding(
        check=CHECK, kind="late_data_profile", severity="info", subject=source,
        message=(f"Source '{source}': rows become available a median {format_duration(q['p50'])} after their "
                 f"time (p99 {format_duration(q['p99'])}, max {format_duration(q['max'])}); "
                 f"{_pct(share)} of the events before a prediction were not yet available at it."),
        suggestion=(f"Features from '{source}' computed by event time should wait about {format_duration(delay)} "
                    "(the p99 lateness) or filter on the available time."),
        metrics={"n": n, "value": share, "affected_rows": unavailable, "affected_share": share,
                 "lateness_seconds": q, "suggested_delay_seconds": delay, "pairs_before_prediction": happened},
    )
    return finding, table, hist


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


# -- target proxy ------------------------------------------------------------------------------

def single_feature_auc(counts: pl.DataFrame) -> tuple[float, int, int]:
    """AUC of a feature from per-value counts ``(score, pos, neg)`` sorted by score; oriented >= 0.5."""
    auc = auc_from_counts(counts["pos"].to_numpy(), counts["neg"].to_numpy())
    return max(auc, 1 - auc), int(counts["pos"].sum()), int(counts["neg"].sum())


def proxy_counts(training: pl.LazyFrame, feature: str, target: str, dtype: pl.DataType,
                 max_groups: int = 100_000) -> pl.DataFrame:
    """Positive/negative label counts per feature value: the summary the AUC is computed from.

    Returns ``score, pos, neg`` ordered by score. Numeric features with more than
    ``max_groups`` distinct values are counted per quantile bin (1,000 bins; ties within a
    bin count one half, so the AUC is then a slight underestimate); rows with a null number
    are left out. Categorical values (null included, as its own value) are scored by their
    smoothed positive rate (prior weight 10 rows).
    """
    y = pl.col(target).cast(pl.Int8)
    counts = (training.group_by(pl.col(feature).alias("v"))
              .agg(y.sum().cast(pl.Int64).alias("pos"), (1 - y).sum().cast(pl.Int64).alias("neg"))
              .collect())
    if dtype.is_numeric() or dtype == pl.Boolean:  # numbers are their own score; nulls are left out
        counts = counts.drop_nulls("v").with_columns(pl.col("v").cast(pl.Float64))
        if counts.height > max_groups:
            probs = np.linspace(0, 1, 1001)[1:-1].tolist()
            edges = training.select(pl.col(feature).cast(pl.Float64).quantile(probs)).collect()
            cuts = np.unique(np.asarray(edges.to_series().explode().drop_nulls()))
            bins = np.searchsorted(cuts, counts["v"].to_numpy(), side="right").astype(np.float64)
            counts = (counts.with_columns(pl.Series("v", bins))
                      .group_by("v").agg(pl.col("pos").sum(), pl.col("neg").sum()))
        return counts.select(pl.col("v").alias("score"), "pos", "neg").sort("score")
    total_pos, total_neg = counts["pos"].sum(), counts["neg"].sum()
    prior = total_pos / max(total_pos + total_neg, 1)
    rate = (pl.col("pos") + 10 * prior) / (pl.col("pos") + pl.col("neg") + 10)
    return counts.with_columns(rate.alias("score")).sort("score").select("score", "pos", "neg")


MIN_CLASS_SUPPORT = 10


def proxy_finding(feature: str, auc: float, n_pos: int, n_neg: int, *, threshold: float, lineage: str
                  ) -> Finding | None:
    """Grade a single-feature AUC as target-proxy evidence.

    ``lineage``: ``'leaky'`` (point-in-time violations found), ``'clean'`` (declared and
    point-in-time correct) or ``'none'`` (no declaration). A declared, clean feature is not
    called a leak for predicting well (info at most); undeclared features are graded by how
    far the interval's lower bound clears ``threshold``. Fewer than ``MIN_CLASS_SUPPORT``
    positives or negatives is inconclusive: no finding.
    """
    lo, hi = auc_interval(auc, n_pos, n_neg)
    if math.isnan(auc) or auc < threshold or min(n_pos, n_neg) < MIN_CLASS_SUPPORT:
        return None
    n = n_pos + n_neg
    base = {"n": n, "value": auc, "interval": [lo, hi], "confidence": 0.95, "threshold": threshold,
            "positives": n_pos, "negatives": n_neg, "lineage": lineage}
    auc_text = f"AUC {auc:.3f} (95% CI {lo:.3f}–{hi:.3f}, n={n:,})"
    if lineage == "clean":
        return Finding(check=CHECK, kind="target_proxy", severity="info", subject=feature,
                       message=f"Feature '{feature}' alone predicts the label strongly ({auc_text}) but its "
                               "declared lineage is point-in-time correct, so this is not a leak.",
                       suggestion="No action needed; keep its declaration so the audit keeps checking it.",
                       metrics={**base, "suspicion": "none"})
    if lineage == "leaky":
        return Finding(check=CHECK, kind="target_proxy", severity="critical", subject=feature,
                       message=f"Feature '{feature}' alone predicts the label implausibly well ({auc_text}) and "
                               "uses data from after the prediction time: a target leak.",
                       suggestion=f"Rebuild {feature} point-in-time correctly and retrain; "
                                  "expect lower offline scores.",
                       metrics={**base, "suspicion": "high"})
    high = lo >= max(threshold, 0.97)
    suspicion = "high" if high else ("medium" if lo >= threshold else "low")
    return Finding(check=CHECK, kind="target_proxy", severity="critical" if high else "warning", subject=feature,
                   message=f"Feature '{feature}' alone predicts the label implausibly well ({auc_text}); with no "
                           f"declared lineage this is a {suspicion}-confidence target-proxy suspicion.",
                   suggestion=f"Find out when {feature}'s value becomes known; declare its lineage so the audit "
                              "can check its timing, or drop it if it is recorded after the outcome.",
                   metrics={**base, "suspicion": suspicion})


# -- split contamination -----------------------------------------------------------------------

def split_findings(stats: dict[str, Any], *, train: str, test: str, entity: str) -> list[Finding]:
    """Entity and time overlap between the train and test splits, from precomputed counts."""
    out = []
    shared, test_entities = stats["shared_entities"], stats["test_entities"]
    if shared:
        share = shared / max(test_entities, 1)
        lo, hi = wilson_interval(shared, test_entities)
        out.append(Finding(
            check=CHECK, kind="split_entity_overlap", severity="critical" if share >= 0.05 else "warning",
            subject=entity,
            message=(f"{shared:,} of {test_entities:,} {entity} values in '{test}' ({_pct(share)}) also appear in "
                     f"'{train}'; the test score measures memorised entities."),
            suggestion=f"Split by {entity} (group split) so that no {entity} is on both sides.",
            metrics={"n": test_entities, "affected_rows": stats["test_rows_shared"],
                     "affected_share": stats["test_rows_shared"] / max(stats["test_rows"], 1),
                     "value": shared, "entity_share": share, "interval": [lo, hi], "confidence": 0.95,
                     "train_entities": stats["train_entities"]},
        ))
    if stats["overlap_start"] is not None:
        rows = stats["test_rows_in_overlap"]
        share = rows / max(stats["test_rows"], 1)
        start, end = stats["overlap_start"], stats["overlap_end"]
        out.append(Finding(
            check=CHECK, kind="split_time_overlap", severity="critical" if share >= 0.05 else "warning",
            subject="prediction_time", scope={"window": [start.isoformat(), end.isoformat()]},
            message=(f"'{train}' and '{test}' overlap in time from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}: "
                     f"{rows:,} of {stats['test_rows']:,} test rows ({_pct(share)}) lie inside the training period."),
            suggestion=f"Split by time: put every '{test}' prediction after the last '{train}' prediction "
                       "(plus the label horizon).",
            metrics={"n": stats["test_rows"], "affected_rows": rows, "affected_share": share,
                     "train_rows_in_overlap": stats["train_rows_in_overlap"]},
        ))
    return out


def duplicate_findings(exact_extra: int, cross_split: int, key_extra: int, n: int, key_text: str) -> list[Finding]:
    """Exact duplicate rows (extra copies, and copies on both sides of the split) and repeated keys."""
    out = []
    if exact_extra:
        severity = "critical" if cross_split else "warning"
        cross = f", {cross_split:,} of them on both sides of the split" if cross_split else ""
        out.append(Finding(
            check=CHECK, kind="duplicate_rows", severity=severity, subject="all columns",
            message=f"{exact_extra:,} rows are exact duplicates of another row ({_pct(exact_extra / n)}){cross}.",
            suggestion="Deduplicate the training set before splitting (e.g. df.unique()).",
            metrics={"n": n, "affected_rows": exact_extra, "affected_share": exact_extra / n,
                     "cross_split_rows": cross_split},
        ))
    if key_extra:
        out.append(Finding(
            check=CHECK, kind="duplicate_rows", severity="warning", subject=key_text,
            message=f"{key_extra:,} rows repeat an existing {key_text} key ({_pct(key_extra / n)}).",
            suggestion=f"Keep one row per {key_text}, or find the join that multiplied them.",
            metrics={"n": n, "affected_rows": key_extra, "affected_share": key_extra / n},
        ))
    return out
