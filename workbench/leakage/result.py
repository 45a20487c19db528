"""From the summaries of one audit to its :class:`~workbench.findings.CheckResult`: the findings
(decided by :mod:`.checks`), the tables behind them and one status line per check. Nothing here
reads data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from workbench.findings.model import CheckResult, Finding, InputSummary
from workbench.leakage import checks
from workbench.leakage.inputs import Label, Options
from workbench.leakage.spec import TIMING_KINDS, VIOLATION_KINDS
from workbench.leakage.statistics import MIN_CLASS_SUPPORT
from workbench.leakage.summaries import FeatureSummary, LatenessSummary, TimestampSummary
from workbench.leakage.training import DuplicateCounts, ProxySummary, SplitSummary

MIN_ROWS = 2 * MIN_CLASS_SUPPORT  # below this, an insufficient_data finding says so
_Schema = Mapping[str, pl.DataType | type[pl.DataType]]  # column -> dtype (instance or class)
_FEATURES = {"feature": pl.String, "declaration": pl.String, "rows": pl.Int64,
             **{k: pl.Int64 for k in ("ok", *VIOLATION_KINDS, "stale_feature")}}
_HISTOGRAM = {"feature": pl.String, "kind": pl.String, "bin": pl.String, "lo_hours": pl.Float64,
              "hi_hours": pl.Float64, "rows": pl.Int64}
_PROXY = {"feature": pl.String, "auc": pl.Float64, "lower": pl.Float64, "upper": pl.Float64, "n": pl.Int64,
          "separation": pl.Float64, "lineage": pl.String, "status": pl.String}


@dataclass(frozen=True)
class Summaries:
    """Everything the audit computed on the engine: ``n`` label rows, a summary per declared
    feature, feature timestamp and profiled source, the label (None without a target) and the
    per-value counts of every column (None when the label cannot be read as binary), the split's
    sides (None without a split) and the duplicates."""

    n: int
    features: list[FeatureSummary]
    timestamps: list[TimestampSummary]
    lateness: list[LatenessSummary]
    label: Label | None
    proxy: ProxySummary | None
    split: SplitSummary | None
    duplicates: DuplicateCounts


@dataclass
class _Collected:
    """Findings, table rows and frames, and status lines, gathered check by check."""

    findings: list[Finding]
    tables: dict[str, list[Any]]
    status: list[dict[str, str]]

    def says(self, check: str, status: str) -> None:
        self.status.append({"check": check, "status": status})


def build_result(s: Summaries, opts: Options, *, engine: str, inputs: list[InputSummary]) -> CheckResult:
    """The audit's result: findings, parameters and the tables ``features``, ``lag_histogram``,
    ``examples``, ``lateness``, ``lateness_histogram``, ``proxy`` and ``checks``."""
    out = _Collected([], {k: [] for k in ("features", "lag_histogram", "examples", "lateness",
                                          "lateness_histogram", "proxy")}, [])
    lineage = _features(s, opts, out)
    _timestamps(s, opts, out, lineage)
    _lateness(s, out)
    _proxy(s, opts, out, lineage)
    _split_and_duplicates(s, opts, out)
    if s.n < MIN_ROWS:
        out.findings.append(checks.insufficient(
            "training", s.n, f"training has {s.n:,} row(s): the point-in-time checks ran on them, but the "
            f"statistical checks (target proxy, split overlap shares) need at least {MIN_ROWS}",
            "Audit the full training set, not a sample of it."))
    t = out.tables
    return CheckResult(
        check="leakage", findings=tuple(out.findings), inputs=tuple(inputs),
        parameters={"rule": opts.rule.to_dict(), "entity": opts.entity, "prediction_time": opts.prediction_time,
                    "target": opts.target, "positive": opts.positive, "split": opts.split, "engine": engine,
                    "proxy_auc": opts.proxy_auc, "features": {k: v.describe() for k, v in opts.features.items()},
                    "feature_timestamps": opts.feature_timestamps, "sampled": False},
        tables={"features": _frame(t["features"], _FEATURES), "lag_histogram": _concat(t["lag_histogram"], _HISTOGRAM),
                "examples": _concat(t["examples"]), "lateness": _concat(t["lateness"]),
                "lateness_histogram": _concat(t["lateness_histogram"]), "proxy": _frame(t["proxy"], _PROXY),
                "checks": _frame(out.status, {"check": pl.String, "status": pl.String})},
    )


def _features(s: Summaries, opts: Options, out: _Collected) -> dict[str, str]:
    """Each declared feature's findings, rows and tables; its lineage (``leaky``: a timing violation,
    ``mismatch``: differences without one, else ``clean``) is returned."""
    lineage = {}
    for f in s.features:
        out.findings.extend(checks.violation_findings(f, opts.rule.condition(), n=s.n))
        for kind, rows in f.violations.items():
            assert rows.histogram is not None
            out.tables["lag_histogram"].append(_labelled(rows.histogram, feature=f.feature, kind=kind))
            out.tables["examples"].append(_labelled(rows.examples, feature=f.feature, kind=kind))
        stale = checks.staleness_finding(f, n=s.n)
        if stale is not None and f.stale is not None:
            out.findings.append(stale)
            out.tables["examples"].append(_labelled(f.stale.examples, feature=f.feature, kind="stale_feature"))
        violations = sum(v for k, v in f.statuses.items() if k != "ok")
        lineage[f.feature] = "leaky" if any(f.statuses.get(k, 0) for k in TIMING_KINDS) else (
            "clean" if violations == 0 else "mismatch")
        out.tables["features"].append({"feature": f.feature, "declaration": f.declaration, "rows": s.n,
                                       **{k: int(f.statuses.get(k, 0)) for k in ("ok", *VIOLATION_KINDS)},
                                       "stale_feature": f.stale.rows if stale is not None and f.stale else 0})
    out.says("recompute", f"{len(opts.features)} declared feature(s) recomputed" if opts.features
             else "skipped: no feature declarations given")
    return lineage


def _timestamps(s: Summaries, opts: Options, out: _Collected, lineage: dict[str, str]) -> None:
    for summary in s.timestamps:
        finding = checks.timestamp_finding(summary, n=s.n, strict=not opts.rule.inclusive)
        if finding is not None and summary.histogram is not None:
            out.findings.append(finding)
            out.tables["lag_histogram"].append(_labelled(summary.histogram, feature=summary.feature,
                                                         kind="future_data"))
        lineage.setdefault(summary.feature, "leaky" if finding is not None else "clean")
    out.says("timestamps", f"{len(opts.feature_timestamps)} feature timestamp column(s) checked"
             if opts.feature_timestamps else "skipped: no feature_timestamps given")


def _lateness(s: Summaries, out: _Collected) -> None:
    for summary in s.lateness:
        finding, table = checks.lateness_profile(summary)
        out.findings.append(finding)
        out.tables["lateness"].append(table)
        out.tables["lateness_histogram"].append(summary.histogram.select(pl.lit(summary.source).alias("source"),
                                                                         pl.all()))
    out.says("lateness", f"{len(s.lateness)} source(s) profiled" if s.lateness
             else "skipped: no source with both a time and an available_time")


def _proxy(s: Summaries, opts: Options, out: _Collected, lineage: dict[str, str]) -> None:
    target = opts.target
    if s.label is None or target is None:
        out.says("target_proxy", "skipped: no target given")
        return
    if s.proxy is None:  # asked for, and unable: a finding, so that the run is not a clean pass
        reason = s.label.reason
        out.findings.append(checks.skipped(
            "target_proxy", s.n, f"target {target!r} {reason}",
            f"Give positive=<the value of {target!r} that is the positive class> (YAML: positive: ..., CLI: "
            "--positive ...); rows with any other value are the negatives."))
        out.says("target_proxy", f"skipped: target {target!r} {reason}")
        return
    rows, findings = checks.proxy_results(s.proxy, lineage, opts.proxy_auc)
    out.findings.extend(findings)
    out.tables["proxy"].extend(rows)
    n_pos, n_neg = s.proxy.positives, s.proxy.negatives
    if min(n_pos, n_neg) < MIN_CLASS_SUPPORT:
        out.findings.append(checks.insufficient(
            target, n_pos + n_neg, f"the label {target!r} has {n_pos:,} positive(s) and {n_neg:,} negative(s): "
            f"single-feature AUCs need at least {MIN_CLASS_SUPPORT} of each, so the target-proxy check can only "
            "report near-deterministic separation and sentinel values", "Audit a larger sample, or one with both "
            "classes."))
    out.says("target_proxy", f"{len(rows)} column(s) scored")


def _split_and_duplicates(s: Summaries, opts: Options, out: _Collected) -> None:
    split, train, test = opts.split, opts.train_value, opts.test_value
    if split is None or s.split is None:
        out.says("split", "skipped: no split column given")
    elif s.split.counts is None:
        reason = f"'{split}' has no rows with value {train!r} or none with {test!r}"
        out.findings.append(checks.skipped(
            "split", s.n, f"{reason} (its values include {s.split.seen})",
            f"Give train_value= and test_value= (CLI: --train-value, --test-value) as two of the values of "
            f"{split!r}."))
        out.says("split", f"skipped: {reason}")
    else:
        out.findings.extend(checks.split_findings(s.split.counts, train=train, test=test, entity=opts.entity))
        out.says("split", f"{train!r} vs {test!r} compared")
    d = s.duplicates
    out.findings.extend(checks.duplicate_findings(d.exact_extra, d.cross_split, d.key_extra, s.n,
                                                  f"({opts.entity}, {opts.prediction_time})", sides=(train, test)))
    status = "exact rows and (entity, prediction_time) keys checked"
    if d.left_out:
        status += f" (nested column(s) {list(d.left_out)} left out of the row comparison)"
    out.says("duplicates", status)


def _labelled(frame: pl.DataFrame, *, feature: str, kind: str) -> pl.DataFrame:
    return frame.select(pl.lit(feature).alias("feature"), pl.lit(kind).alias("kind"), pl.all())


def _frame(rows: list[dict[str, Any]], schema: _Schema) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def _concat(frames: list[pl.DataFrame], schema: _Schema | None = None) -> pl.DataFrame:
    if frames:
        return pl.concat(frames, how="diagonal_relaxed")
    return pl.DataFrame(schema=schema) if schema else pl.DataFrame()
