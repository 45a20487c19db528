"""The leakage auditor's decisions: findings from the summaries of each check (:mod:`.summaries`,
:mod:`.training`) and the statistics computed from them (:mod:`.statistics`); nothing here reads data.

Finding kinds (the ``kind`` field of the findings JSON):

``future_data``        a feature uses data from after the prediction time.
``non_asof_join``      a snapshot feature took a snapshot from after the prediction time
                       (latest instead of as-of).
``late_arrival``       a feature uses data that happened before the prediction time but
                       became available only after it (event time used without ingestion time,
                       or a backfill written later).
``feature_mismatch``   the training value differs from the point-in-time value and no timing
                       explanation reproduces it (a bug or a wrong declaration).
``stale_feature``      the point-in-time snapshot is older than the feature's TTL (scope ``window``:
                       the first and last prediction time of those rows; examples with ``age_hours``).
``late_data_profile``  (info) how late a source's rows arrive and the delay that covers them.
``target_proxy``       a feature looks like an encoded outcome. Predictiveness alone (AUC >=
                       ``proxy_auc``) is at most info; near-deterministic separation, a sentinel
                       value or failed point-in-time checks escalate it (see :func:`proxy_finding`).
``split_entity_overlap``  the same entities are in train and test.
``split_time_overlap``    train and test prediction times overlap.
``duplicate_rows``     exact duplicate rows (``affected_rows``: each group's copies beyond the first;
                       ``cross_split_rows``: those of them whose group has rows in both train and
                       test), or repeated (entity, prediction time) keys.
``check_skipped``      (warning) a check asked for could not run (e.g. a target that is not binary
                       without ``positive=``); the run is then not a clean pass.
``insufficient_data``  (info) too few rows, or too few of one class, for a statistical statement.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from workbench.findings.model import Finding, Severity
from workbench.leakage.spec import TIMING_KINDS, VIOLATION_KINDS
from workbench.leakage.statistics import (
    CRITICAL_J,
    MIN_CLASS_SUPPORT,
    NEAR_ONE_AUC,
    ProxyEvidence,
    proxy_statistics,
)
from workbench.leakage.summaries import FeatureSummary, LatenessSummary, TimestampSummary
from workbench.leakage.training import ProxySummary
from workbench.stats import auc_interval, wilson_interval
from workbench.stats.durations import format_duration

CHECK = "leakage"
__all__ = ["TIMING_KINDS", "VIOLATION_KINDS"]  # re-exported: the per-row statuses that are violations


def violation_severity(rows: int, n: int) -> Severity:
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


def violation_findings(summary: FeatureSummary, rule_text: str, *, n: int) -> list[Finding]:
    """One finding per violation kind of a feature (``n``: the label rows), from its summary."""
    findings = []
    for kind, found in summary.violations.items():
        k, q, feature = found.rows, found.seconds, summary.feature
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
            suggestion=_suggest(kind, feature, summary.declaration, rule_text), metrics=metrics,
            evidence=tuple(found.examples.head(5).drop("row", "age_hours").to_dicts()),
        ))
    return findings


def staleness_finding(summary: FeatureSummary, *, n: int) -> Finding | None:
    """The finding of a feature's stale rows (set training values from a snapshot older than its
    TTL); None when there is none. Its scope ``window`` is the first and last prediction time of
    the stale rows (ISO 8601); its metrics carry the age quantiles (seconds)."""
    stale, ttl_s, feature = summary.stale, summary.ttl_seconds, summary.feature
    if stale is None or ttl_s is None:
        return None
    assert stale.first is not None and stale.last is not None
    k, q, first, last = stale.rows, stale.seconds, stale.first, stale.last
    lo, hi = wilson_interval(k, n)
    return Finding(
        check=CHECK, kind="stale_feature", severity="warning" if k / n < 0.05 else "critical", subject=feature,
        scope={"window": [first.isoformat(), last.isoformat()]},
        message=(f"Feature '{feature}' is older than its TTL of {format_duration(ttl_s)} at prediction time in "
                 f"{k:,} of {n:,} rows ({_pct(k / n)}; median age {format_duration(q['p50'])}, max "
                 f"{format_duration(q['max'])}), with prediction times from {first:%Y-%m-%d %H:%M} to "
                 f"{last:%Y-%m-%d %H:%M}."),
        suggestion=(f"Treat {feature} as missing when its snapshot is older than {format_duration(ttl_s)}, "
                    "or fix the upstream job that stopped refreshing it (look at its runs in that window)."),
        metrics={"n": n, "affected_rows": k, "affected_share": k / n, "interval": [lo, hi], "confidence": 0.95,
                 "ttl_seconds": ttl_s, "age_seconds": q},
        evidence=tuple(stale.examples.head(5).drop("row", "lag_hours").to_dicts()),
    )


def timestamp_finding(summary: TimestampSummary, *, n: int, strict: bool) -> Finding | None:
    """Rows whose feature timestamp is not before the cutoff (at or after it when ``strict``); None
    when there is none."""
    k, q, feature, ts_column = summary.rows, summary.seconds, summary.feature, summary.column
    if k == 0 or q is None:
        return None
    lo, hi = wilson_interval(k, n)
    op = "at or after" if strict else "after"
    return Finding(
        check=CHECK, kind="future_data", severity=violation_severity(k, n), subject=feature,
        message=(f"Feature '{feature}' has its timestamp {ts_column!r} {op} the prediction time in {k:,} of {n:,} "
                 f"rows ({_pct(k / n)}; median {format_duration(q['p50'])} later)."),
        suggestion=f"Rebuild {feature} with an as-of join so that {ts_column} is before the prediction time.",
        metrics={"n": n, "affected_rows": k, "affected_share": k / n, "interval": [lo, hi], "confidence": 0.95,
                 "lag_seconds": q, "evidence": "timestamp", "timestamp_column": ts_column},
    )


def lateness_profile(summary: LatenessSummary) -> tuple[Finding, pl.DataFrame]:
    """The lateness finding (info) of a source and its row of the ``lateness`` table: how late its
    events arrive, and the share of the events before a prediction not yet available at it."""
    source, n, q = summary.source, summary.events, summary.seconds
    late_share = summary.late / n if n else 0.0
    delay = q["p99"] or 0.0
    share = summary.unavailable / summary.happened if summary.happened else 0.0
    table = pl.DataFrame({
        "source": [source], "events": [n], "late_share": [late_share],
        "lateness_p50_hours": [_hours(q["p50"])], "lateness_p90_hours": [_hours(q["p90"])],
        "lateness_p99_hours": [_hours(q["p99"])], "lateness_max_hours": [_hours(q["max"])],
        "unavailable_at_prediction_share": [share], "suggested_delay_hours": [delay / 3600],
    })
    finding = Finding(
        check=CHECK, kind="late_data_profile", severity="info", subject=source,
        message=(f"Source '{source}': rows become available a median {format_duration(q['p50'])} after their "
                 f"time (p99 {format_duration(q['p99'])}, max {format_duration(q['max'])}); "
                 f"{_pct(share)} of the events before a prediction were not yet available at it."),
        suggestion=(f"Features from '{source}' computed by event time should wait about {format_duration(delay)} "
                    "(the p99 lateness) or filter on the available time."),
        metrics={"n": n, "value": share, "affected_rows": summary.unavailable, "affected_share": share,
                 "lateness_seconds": q, "suggested_delay_seconds": delay, "pairs_before_prediction": summary.happened},
    )
    return finding, table


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


# -- target proxy ------------------------------------------------------------------------------

def proxy_results(summary: ProxySummary, lineage: dict[str, str], threshold: float
                  ) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Per candidate column, its row of the ``proxy`` table (AUC with its interval, separation,
    lineage and a status saying what was decided) and its finding when there is one
    (:func:`proxy_finding`); ``lineage``: ``'leaky'``, ``'clean'`` or ``'mismatch'`` per declared
    feature or feature with a timestamp (others ``'none'``)."""
    rows, findings = [], []
    for column in summary.columns:
        line = lineage.get(column.feature, "none")
        stat = proxy_statistics(column, summary.positives, summary.negatives)
        auc, n_pos, n_neg = stat.auc, stat.positives, stat.negatives
        finding = proxy_finding(column.feature, auc, n_pos, n_neg, threshold=threshold, lineage=line,
                                evidence=stat.evidence)
        lo, hi = auc_interval(auc, n_pos, n_neg)
        if finding is not None:
            status = f"{finding.severity}: {', '.join(finding.metrics['evidence']) or 'predictive only'}"
        elif column.presence_only:
            status = "presence only (date/time or identifier-like): no evidence"
        elif min(n_pos, n_neg) < MIN_CLASS_SUPPORT:
            status = f"inconclusive: fewer than {MIN_CLASS_SUPPORT} positives or negatives"
        else:
            status = "below threshold"
        rows.append({"feature": column.feature, "auc": _number(auc), "lower": _number(lo), "upper": _number(hi),
                     "n": n_pos + n_neg, "separation": stat.evidence.separation, "lineage": line, "status": status})
        if finding is not None:
            findings.append(finding)
    return rows, findings


def _number(x: float) -> float | None:
    return None if math.isnan(x) else x


def proxy_finding(feature: str, auc: float, n_pos: int, n_neg: int, *, threshold: float, lineage: str,
                  evidence: ProxyEvidence | None = None) -> Finding | None:
    """Grade a feature as target-proxy (target leak) evidence.

    The rule (also in the README, "Finding kinds"):

    * predictiveness alone (``auc >= threshold``) is at most ``info``: honest features reach 0.9;
    * it is escalated only on evidence a leak has: near-deterministic ``separation`` (the best
      single cut of the feature separates the classes with J = TPR - FPR whose lower bound is
      >= ``SEPARATION_J``, or the AUC's 95% lower bound is >= ``NEAR_ONE_AUC``), a ``sentinel``
      (a value whose rows are ~all one class, see :func:`proxy_evidence`), or timing evidence from
      lineage (``lineage='leaky'``: the declared feature failed its point-in-time checks);
    * with separation or a sentinel and no clean lineage: ``warning``; ``critical`` when the
      separation is near-perfect (J lower bound >= ``CRITICAL_J`` or AUC lower bound >=
      ``NEAR_ONE_AUC``). Leaky lineage with an AUC at the threshold or any evidence: ``critical``;
    * ``lineage='clean'`` (declared and point-in-time correct): ``info`` at most, whatever the
      evidence;
    * with fewer than ``MIN_CLASS_SUPPORT`` positives or negatives the AUC is inconclusive and
      only separation and sentinel evidence (whose bounds account for the sample size) count.

    ``lineage``: ``'leaky'``, ``'clean'``, ``'mismatch'`` (declared, differs without a timing
    explanation) or ``'none'`` (undeclared). Returns None when there is nothing to report.
    """
    evidence = evidence or ProxyEvidence()
    lo, hi = auc_interval(auc, n_pos, n_neg)
    conclusive = min(n_pos, n_neg) >= MIN_CLASS_SUPPORT
    kinds = evidence.kinds(lo if conclusive else math.nan)  # separation and sentinels carry their own bounds
    strong = conclusive and not math.isnan(auc) and auc >= threshold
    if not strong and not kinds:
        return None
    n = n_pos + n_neg
    base = {"n": n, "value": None if math.isnan(auc) else auc, "interval": [lo, hi], "confidence": 0.95,
            "threshold": threshold, "positives": n_pos, "negatives": n_neg, "lineage": lineage,
            "evidence": kinds, "separation": evidence.separation, "separation_lower": evidence.separation_lower,
            "sentinel": evidence.sentinel}
    auc_text = "AUC n/a" if math.isnan(auc) else f"AUC {auc:.3f} (95% CI {lo:.3f}–{hi:.3f}, n={n:,})"
    found = _evidence_text(evidence, kinds)
    if lineage == "clean":
        return Finding(check=CHECK, kind="target_proxy", severity="info", subject=feature,
                       message=f"Feature '{feature}' alone predicts the label strongly ({auc_text}{found}) but its "
                               "declared lineage is point-in-time correct, so this is not a leak.",
                       suggestion="No action needed; keep its declaration so the audit keeps checking it.",
                       metrics={**base, "suspicion": "none"})
    if lineage == "leaky":
        return Finding(check=CHECK, kind="target_proxy", severity="critical", subject=feature,
                       message=f"Feature '{feature}' alone predicts the label ({auc_text}{found}) and uses data "
                               "from after the prediction time: a target leak.",
                       suggestion=f"Rebuild {feature} point-in-time correctly and retrain; "
                                  "expect lower offline scores.",
                       metrics={**base, "suspicion": "high"})
    if not kinds:
        return Finding(check=CHECK, kind="target_proxy", severity="info", subject=feature,
                       message=f"Feature '{feature}' alone predicts the label strongly ({auc_text}); strong honest "
                               "features do this, and nothing in its values looks like an encoded outcome "
                               "(no near-deterministic separation, no sentinel value).",
                       suggestion=f"If {feature}'s value could be written after the outcome, declare its lineage "
                                  "(features= or feature_timestamps=) so the audit checks its timing.",
                       metrics={**base, "suspicion": "low"})
    critical = evidence.separation_lower >= CRITICAL_J or (not math.isnan(lo) and lo >= NEAR_ONE_AUC)
    return Finding(check=CHECK, kind="target_proxy", severity="critical" if critical else "warning",
                   subject=feature,
                   message=f"Feature '{feature}' looks like an encoded outcome ({auc_text}{found}).",
                   suggestion=f"Find out when {feature}'s value is written; drop it if it is recorded after the "
                              "outcome, or declare its lineage (features= or feature_timestamps=) so the audit "
                              "can check its timing.",
                   metrics={**base, "suspicion": "high" if critical else "medium"})


def _evidence_text(evidence: ProxyEvidence, kinds: list[str]) -> str:
    parts = []
    if "separation" in kinds:
        parts.append(f"one cut ({evidence.cut}) separates the classes almost perfectly: "
                     f"J = TPR - FPR = {evidence.separation:.3f}, lower bound {evidence.separation_lower:.3f}")
    if "sentinel" in kinds and evidence.sentinel is not None:
        s = evidence.sentinel
        parts.append(f"its value {s['value']} occurs in {s['rows']:,} rows, {100 * s['purity']:.1f}% of them "
                     f"{s['class']} ({100 * s['class_share']:.1f}% of all {s['class']} rows): a sentinel")
    return "; " + "; ".join(parts) if parts else ""


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


def duplicate_findings(exact_extra: int, cross_split: int, key_extra: int, n: int, key_text: str, *,
                       sides: tuple[str, str] = ("train", "test")) -> list[Finding]:
    """Exact duplicate rows and repeated keys, from counts over the ``n`` training rows.

    ``exact_extra``: the copies beyond the first of each group of identical rows;
    ``cross_split``: those of them whose group has rows on both ``sides`` of the split (each
    counted once, so at most ``exact_extra``); ``key_extra``: the rows repeating a key beyond
    the exact duplicates. A cross-split copy puts a training row in the test set: critical.
    """
    out = []
    if exact_extra:
        severity: Severity = "critical" if cross_split else "warning"
        cross = ""
        if cross_split:
            cross = (f"; {cross_split:,} of these copies belong to a group of identical rows with rows in both "
                     f"'{sides[0]}' and '{sides[1]}', so the test set holds rows the model was trained on")
        out.append(Finding(
            check=CHECK, kind="duplicate_rows", severity=severity, subject="all columns",
            message=f"{exact_extra:,} rows are exact copies of another row ({_pct(exact_extra / n)}, counting "
                    f"each group's copies beyond the first){cross}.",
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


# -- checks that could not run, too little data ------------------------------------------------

def skipped(check: str, n: int, reason: str, fix: str) -> Finding:
    """A check the user asked for that could not run: a warning, so the run is not a clean pass."""
    return Finding(check=CHECK, kind="check_skipped", severity="warning", subject=check,
                   message=f"The {check} check could not run: {reason}.", suggestion=fix,
                   metrics={"n": n, "check": check})


def insufficient(subject: str, n: int, what: str, fix: str) -> Finding:
    """Too little data for a statistical statement: said, at info."""
    return Finding(check=CHECK, kind="insufficient_data", severity="info", subject=subject,
                   message=f"Too little data: {what}.", suggestion=fix, metrics={"n": n})
