"""``compare_logs``: production vs candidate — coverage, agreement, score deltas, latency,
errors, accuracy on labels — and the promote / hold / rollback verdict."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Literal, get_args

import narwhals as nw
import polars as pl

from workbench import params
from workbench.engine.inputs import FrameLike
from workbench.engine.labels import labels_frame
from workbench.errors import InputError
from workbench.findings.model import CheckResult, Finding
from workbench.shadow import accuracy as acc
from workbench.shadow import operations as ops
from workbench.shadow import severity
from workbench.shadow.agreement import agreement, score_deltas
from workbench.shadow.columns import ID, LABEL, role
from workbench.shadow.reconcile import Reconciliation, reconcile, same_connection
from workbench.shadow.regression import regression_accuracy
from workbench.shadow.task import Task, check_labels, check_task, resolve
from workbench.shadow.verdict import (
    DEFAULT_STAGES,
    GuardrailCheck,
    Guardrails,
    PendingCheck,
    Verdict,
    check_stages,
    decide,
    snap_stage,
)

Mode = Literal["shadow", "canary"]
MODES: tuple[str, ...] = get_args(Mode)


def compare_logs(
    production: FrameLike,
    candidate: FrameLike,
    *,
    id: str,  # the request id column (the project's vocabulary)
    timestamp: str | None = None,
    prediction: str | None = None,
    score: str | None = None,
    latency: str | None = None,
    error: str | None = None,
    by: str | Sequence[str] = (),
    labels: FrameLike | None = None,
    label: str = "label",
    label_time: str | None = None,
    as_of: dt.datetime | str | None = None,
    mode: Mode = "shadow",
    guardrails: Guardrails | None = None,
    stage: float | None = None,
    stages: Sequence[float] | None = None,
    confidence: float = 0.95,
    fdr: float = 0.05,
    disagreement_margin: float = 0.05,
    task: Task = "auto",
    large_change: float | None = None,
) -> CheckResult:
    """Compare two request logs and decide whether the candidate may replace production.

    Inputs: two logs with the same column names for each role (``id`` required; ``timestamp``
    resolves retries, see :func:`reconcile`). ``labels``: a frame of ``id`` and ``label`` that may
    arrive later; with ``label_time`` and ``as_of`` only the labels that had arrived by ``as_of``
    are used (the others are counted as pending), so a gate re-run later gives the same answer.
    ``mode="shadow"``: both models answered the same requests, compared request by request
    (paired). ``mode="canary"``: each side served its own share of the traffic (two independent
    samples; no agreement or coverage). ``guardrails``: tolerances and planned looks of the
    verdict (:class:`Guardrails`; the rule is in :mod:`workbench.shadow.verdict`).
    ``stages``/``stage``: a traffic plan such as (0.01, 0.05, 0.25, 1.0) and the current share
    (in canary mode it defaults to the observed share). ``task``: what the model predicts, which
    decides how predictions and labels are compared (:mod:`workbench.shadow.task`):
    ``"binary"`` (0/1 or boolean classes, 1 the positive class, as the performance checks want;
    ``"classification"`` is the same) — exact agreement, kappa, accuracy, and with a ``score`` the
    Brier score and log loss; ``"multiclass"`` — any classes compared by equality (agreement,
    kappa, exact-match accuracy; no Brier score); ``"regression"`` — a request "flips" when the
    predictions differ by more than ``large_change`` (> 0; default a tenth of production's
    prediction standard deviation), prediction deltas, MAE ratio and RMSE on labels; ``"auto"``
    (default) — regression for a float prediction, else binary when the predictions and labels
    are coded 0/1. Labels or predictions coded otherwise (``{0, 2}``, ``'yes'/'no'``, three
    classes) are refused with the values found and the fix (map the positive class to 1, or
    pass ``task="multiclass"``) whenever the task is binary, and under ``"auto"`` when labels are
    given; without labels ``"auto"`` compares such classes as they are (nothing then depends on
    the coding). The task run is ``parameters["task"]``.

    Parameters are checked at the boundary (:mod:`workbench.params`): ``confidence`` and ``fdr``
    in (0, 1), ``disagreement_margin`` in [0, 1), ``stage`` in (0, 1], ``stages`` increasing in
    (0, 1], ``as_of`` a datetime or an ISO string, ``mode`` one of :data:`MODES`, ``task`` one of
    :data:`workbench.shadow.task.TASKS`. Too little data never gives a confident verdict: every
    guardrail needs its minimum number of requests (``Guardrails``), and the latency guardrail as
    many as its distribution-free bounds need, else the verdict is hold with "insufficient data".

    Output: a :class:`~workbench.findings.CheckResult` with check ``"shadow"`` and ``verdict``;
    findings ``coverage_gap``, ``duplicate_requests``, ``disagreement``, ``latency_regression``,
    ``missing_latency``, ``error_rate_regression``, ``accuracy_regression``, ``unmatched_labels``
    (intervals at ``confidence``, Benjamini–Hochberg at ``fdr`` across segments); tables
    ``agreement``, ``scores``, ``latency``, ``latency_distribution``, ``errors``, ``accuracy`` (with a
    ``score`` and a binary task also each side's Brier score and log loss and their differences),
    ``guardrails``. A guardrail finding is critical exactly when its guardrail is breached (it makes
    the verdict rollback by itself), else warning (:mod:`workbench.shadow.severity`).
    """
    owner = "compare_logs"
    if not isinstance(mode, str) or mode not in MODES:
        raise InputError(f"mode must be one of {list(MODES)}: 'shadow' (both models answered the same requests) or "
                         f"'canary' (each side served its own share of the traffic); got {mode!r}.")
    task = check_task(task)
    confidence = params.open_unit(confidence, name="confidence", owner=owner)
    fdr = params.open_unit(fdr, name="fdr", owner=owner)
    disagreement_margin = params.proportion(disagreement_margin, name="disagreement_margin", owner=owner)
    if large_change is not None:
        large_change = params.positive_number(large_change, name="large_change", owner=owner)
    as_of = params.datetime_value(as_of, name="as_of", owner=owner)
    if guardrails is not None and not isinstance(guardrails, Guardrails):
        raise InputError(f"guardrails must be a Guardrails(...), got {type(guardrails).__name__}.")
    guard = guardrails or Guardrails()
    if stage is not None:
        stage = params.share(stage, name="stage", owner=owner)
    plan = check_stages(stages if stages is not None else DEFAULT_STAGES) \
        if (stages is not None or stage is not None) else None
    if labels is not None and not prediction:
        raise InputError("labels need prediction=: accuracy compares each side's prediction with the label.")
    if labels is not None and (not isinstance(label, str) or not (label_time is None or isinstance(label_time, str))):
        raise InputError(f"label and label_time must be column names of the labels, got {label!r} and "
                         f"{label_time!r}.")
    paired = mode == "shadow"
    rec = reconcile(production, candidate, id=id, timestamp=timestamp, prediction=prediction, score=score,
                    latency=latency, error=error, by=by)
    by_cols = list(rec.by)
    try:  # Spark keeps the reconciled requests cached for the comparisons: free them after
        findings = _coverage_findings(rec, paired, guard)
        tables: dict[str, pl.DataFrame] = {}
        pending_labels = None
        pending: list[PendingCheck] = []
        schema = rec.schema
        kind = resolve(rec, task, paired, labelled=labels is not None)
        regression = kind == "regression"
        if regression and large_change is None and rec.counts["matched"]:
            value = nw.col(role("prediction", "production")).cast(nw.Float64)
            sd = rec.collect(rec.table.filter(~value.is_nan()).select(value.std().alias("sd")), counts=False).item()
            large_change = 0.1 * sd if sd else 0.0
        if prediction and paired:
            tables["agreement"], found = agreement(rec, prediction, by_cols, confidence, fdr, disagreement_margin,
                                                   guard.min_segment, large_change if regression else None)
            findings += found
            if regression:
                tables["prediction_deltas"] = score_deltas(rec, "prediction", by_cols, confidence, large=large_change)
        if score and paired:
            tables["scores"] = score_deltas(rec, "score", by_cols, confidence)
        if error:
            tables["errors"], found, check = ops.errors(rec, error, paired, confidence, guard)
            findings += found
            pending.append(check)
        if labels is not None:
            lab, pending_labels = labels_frame(labels, id, label, schema[ID], label_time=label_time, as_of=as_of,
                                               prediction_dtype=schema[role("prediction", "production")],
                                               regression=regression)
            if kind == "binary":
                check_labels(lab.lf, task, label)
            if lab.engine != rec.engine:
                raise InputError(f"labels are on {lab.engine} but the logs on {rec.engine}: the labels are joined to "
                                 "the requests by id where the logs are, so pass all three on one engine (e.g. "
                                 "spark.read.parquet(labels_path) beside Spark logs).")
            if not same_connection(lab.lf, rec.table):
                raise InputError("labels are a duckdb relation of another connection than the production and "
                                 "candidate logs, which duckdb cannot join; create all three from one connection, "
                                 "e.g. con.read_parquet(labels_path) with the con that reads the logs.")
            known = lab.lf.select(nw.col(id).alias(ID), nw.col(LABEL))
            labelled = acc.labelled_requests(rec, known, paired)
            judge_accuracy = regression_accuracy if regression else acc.accuracy
            tables["accuracy"], found, checks = judge_accuracy(labelled, prediction, by_cols, paired, confidence, fdr,
                                                               guard)
            findings += found + acc.unmatched_labels(known, labelled, label)
            if score and kind == "binary":
                metrics = acc.score_metrics(labelled, score, by_cols, paired, confidence)
                if metrics is not None:
                    tables["accuracy"] = tables["accuracy"].join(metrics, on="scope", how="left")
            pending += checks
        lat_counts = ops.latency_counts(rec, paired) if latency else None
        tests = sum(p.n >= p.needed for p in pending)
        if lat_counts:
            tests += min(c["n"] for c in lat_counts.values()) >= guard.min_requests
        alpha_rollback, alpha_promote = guard.alpha_rollback(tests), guard.alpha_promote
        checks: list[GuardrailCheck] = [p.build(alpha_rollback, alpha_promote) for p in pending]
        if lat_counts:
            found_tables, found, check = ops.latency(rec, latency, paired, lat_counts, confidence, guard,
                                                     alpha_rollback, alpha_promote)
            tables.update(found_tables)
            findings += found
            checks.insert(0, check)
        current = stage
        if plan and current is None and not paired:
            c = rec.counts
            current = snap_stage(c["candidate_rows"] / max(c["production_rows"] + c["candidate_rows"], 1), plan)
        verdict = decide(checks, guard, extra_holds=_holds(rec, paired, guard, labels is not None, bool(checks)),
                         stage=current, stages=plan)
        findings = severity.by_verdict(findings, verdict.checks, rec.roles, alpha_rollback)
        tables["guardrails"] = pl.DataFrame([c.to_dict() for c in verdict.checks], infer_schema_length=None) \
            if verdict.checks else pl.DataFrame()
        counts = rec.counts
        parameters = {"mode": mode, "roles": rec.roles, "by": by_cols, "coverage": counts, "confidence": confidence,
                      "fdr": fdr, "disagreement_margin": disagreement_margin, "guardrails": _guard_dict(guard),
                      "stages": list(plan) if plan else None, "as_of": as_of, "pending_labels": pending_labels,
                      "task": kind,
                      "large_change": large_change if regression else None, "engine": rec.engine, "sampled": False}
        return CheckResult("shadow", tuple(findings), rec.inputs, parameters=parameters, tables=tables, verdict=verdict)
    finally:
        rec.release()


def _guard_dict(guard: Guardrails) -> dict:
    from dataclasses import asdict

    return asdict(guard)


def _holds(rec: Reconciliation, paired: bool, guard: Guardrails, has_labels: bool, has_checks: bool) -> list[str]:
    """Reasons to hold that are not guardrail bounds: coverage, no labels, nothing to judge."""
    out = []
    c = rec.counts
    if paired:
        production_ids = c["matched"] + c["production_only"]
        missed = c["production_only"] / production_ids if production_ids else math.nan
        if c["matched"] == 0:
            out.append("insufficient data: no request is in both logs, nothing could be compared "
                       "(canary logs with split traffic need mode='canary').")
        elif missed > guard.max_coverage_gap:
            out.append(f"coverage: the candidate has no record of {c['production_only']:,} of production's "
                       f"{production_ids:,} requests ({missed:.1%}; tolerance {guard.max_coverage_gap:.1%}).")
    if not has_labels and guard.require_accuracy:
        out.append("accuracy not checked: no labels were given (pass labels= or --labels; or "
                   "Guardrails(require_accuracy=False) or --operations-only to judge on operations alone).")
    if not has_checks:
        out.append("nothing to judge: give latency=, error= or labels= so that guardrails can be checked.")
    return out


def _coverage_findings(rec: Reconciliation, paired: bool, guard: Guardrails) -> list[Finding]:
    """``coverage_gap`` (severity: :func:`workbench.shadow.severity.coverage_severity`) and
    ``duplicate_requests``, from the reconciliation counts."""
    c = rec.counts
    out = []
    seen = c["matched"] + c["production_only"] + c["candidate_only"]
    one_side = c["production_only"] + c["candidate_only"]
    if paired and one_side:
        share = one_side / seen if seen else math.nan
        none = c["matched"] == 0
        out.append(Finding(
            "shadow", "coverage_gap", severity.coverage_severity(c["matched"], c["production_only"],
                                                                  guard.max_coverage_gap), "requests",
            f"{one_side:,} of {seen:,} requests ({share:.1%}) were logged on one side only: "
            f"{c['production_only']:,} by production, {c['candidate_only']:,} by the candidate; "
            f"{c['matched']:,} are compared.",
            "No request id is shared: check that both logs use the same id, or pass mode='canary' if each side "
            "served different requests." if none else
            "Check the traffic mirroring and both loggers; a candidate that drops requests may be failing them.",
            {"n": seen, "affected_rows": one_side, "affected_share": share, **c}, {}))
    dupes = c["production_duplicates"] + c["candidate_duplicates"]
    if dupes or c["production_null_ids"] or c["candidate_null_ids"]:
        out.append(Finding(
            "shadow", "duplicate_requests", "info", "requests",
            f"{c['production_duplicates']:,} production and {c['candidate_duplicates']:,} candidate rows repeat a "
            f"request id (retries; the latest attempt was kept); {c['production_null_ids']:,} and "
            f"{c['candidate_null_ids']:,} rows have no id.",
            "Log one row per request, or a retry counter, so that retries are not mistaken for traffic.",
            {"affected_rows": dupes, **c}, {}))
    return out


__all__ = ["Verdict", "compare_logs"]
