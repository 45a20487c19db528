"""``check_shadow``: production vs candidate — coverage, agreement, score deltas, latency,
errors, accuracy on labels — and the promote / hold / rollback verdict.

One shape, in named steps: the parameters (:mod:`.options`) → the logs reconciled request by
request on their engine (:mod:`.reconcile`) → summaries, the only step that reads the engine
(:mod:`.summaries`) → statistics of the summaries: tables, findings and pending guardrail checks
(:mod:`.agreement`, :mod:`.operations`, :mod:`.accuracy`, :mod:`.regression`) → decisions: the
levels of the bounds and the verdict (:mod:`.verdict`) → the findings' severity read off the verdict
(:mod:`.severity`)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import polars as pl

from workbench import params
from workbench.engine.inputs import FrameLike
from workbench.findings.model import CheckResult, Finding
from workbench.shadow import accuracy as acc
from workbench.shadow import operations as ops
from workbench.shadow import severity
from workbench.shadow.agreement import agreement, score_deltas
from workbench.shadow.options import MODES, Mode, Options, options
from workbench.shadow.reconcile import Reconciliation, reconcile
from workbench.shadow.regression import regression_accuracy
from workbench.shadow.summaries import Summaries, latency_summary, summarize
from workbench.shadow.task import Task
from workbench.shadow.verdict import GuardrailCheck, Guardrails, PendingCheck, Verdict, decide, snap_stage


def check_shadow(
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
    fdr: float = params.DEFAULT_FDR,
    disagreement_margin: float = 0.05,
    task: Task = "auto",
    large_change: float | None = None,
) -> CheckResult:
    """Compare two request logs and decide whether the candidate may replace production.

    Inputs: two logs with the same column names for each role (``id`` required: the key of one
    request, joining the two logs and the labels; ``timestamp`` resolves retries, see
    :func:`reconcile`). ``labels``: a frame of ``id`` and ``label`` that may
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
    opts = options(mode=mode, task=task, confidence=confidence, fdr=fdr, disagreement_margin=disagreement_margin,
                   large_change=large_change, as_of=as_of, guardrails=guardrails, stage=stage, stages=stages,
                   prediction=prediction, labelled=labels is not None, label=label, label_time=label_time)
    rec = reconcile(production, candidate, id=id, timestamp=timestamp, prediction=prediction, score=score,
                    latency=latency, error=error, by=by)
    try:  # the engine keeps the reconciled requests for the summaries (Spark's cache, duckdb's tables)
        sums = summarize(rec, opts, labels)
        tables, findings, pending = _statistics(sums, rec.roles, list(rec.by), opts)
        alpha_rollback, alpha_promote = _alphas(pending, sums.latency_counts, opts.guard)
        levels = ops.latency_levels(opts.confidence, alpha_rollback, alpha_promote)
        latencies = latency_summary(rec, sums, opts, levels)
    finally:
        rec.release()
    checks: list[GuardrailCheck] = [p.build(alpha_rollback, alpha_promote) for p in pending]
    if latencies is not None and sums.latency_counts is not None:
        found_tables, found, check = ops.latency(latencies, rec.roles["latency"] or "", sums.latency_counts,
                                                 opts.confidence, opts.guard, levels)
        tables.update(found_tables)
        findings += found
        checks.insert(0, check)
    verdict = _verdict(rec, checks, opts, labelled=labels is not None)
    findings = severity.by_verdict(_coverage_findings(rec, opts.paired, opts.guard) + findings, verdict.checks,
                                   rec.roles, alpha_rollback)
    tables["guardrails"] = pl.DataFrame([c.to_dict() for c in verdict.checks], infer_schema_length=None) \
        if verdict.checks else pl.DataFrame()
    return CheckResult("shadow", tuple(findings), rec.inputs, parameters=_parameters(rec, sums, opts), tables=tables,
                       verdict=verdict)


def _statistics(sums: Summaries, roles: dict[str, str | None], by: list[str],
                opts: Options) -> tuple[dict[str, pl.DataFrame], list[Finding], list[PendingCheck]]:
    """The tables, findings and pending guardrail checks of everything but latency, from the
    summaries alone."""
    tables: dict[str, pl.DataFrame] = {}
    findings: list[Finding] = []
    pending: list[PendingCheck] = []
    prediction = roles["prediction"] or ""
    if sums.agreement is not None:
        tables["agreement"], found = agreement(sums.agreement, prediction, by, opts.confidence, opts.fdr,
                                               opts.disagreement_margin, opts.guard.min_support, sums.large_change)
        findings += found
    for name, counts in sums.deltas.items():
        tables[name] = score_deltas(counts, opts.confidence)
    if sums.errors is not None:
        tables["errors"], found, check = ops.errors(sums.errors, roles["error"] or "", opts.paired, opts.confidence,
                                                    opts.guard)
        findings += found
        pending.append(check)
    if sums.accuracy is not None:
        judge_accuracy = regression_accuracy if sums.task == "regression" else acc.accuracy
        tables["accuracy"], found, checks = judge_accuracy(sums.accuracy, prediction, opts.paired, opts.confidence,
                                                           opts.fdr, opts.guard)
        findings += found + acc.unmatched_labels(sums.unmatched_labels, opts.label)
        if sums.score_sums is not None:
            metrics = acc.score_metrics(sums.score_sums, opts.paired, opts.confidence)
            tables["accuracy"] = tables["accuracy"].join(metrics, on="scope", how="left")
        pending += checks
    return tables, findings, pending


def _alphas(pending: list[PendingCheck], latency_counts: dict[str, dict[str, int]] | None,
            guard: Guardrails) -> tuple[float, float]:
    """The levels of the rollback bounds (Bonferroni over the guardrails with enough data to be
    tested, latency included) and of the promote bounds."""
    tests = sum(p.n >= p.needed for p in pending)
    if latency_counts:
        tests += min(c["n"] for c in latency_counts.values()) >= guard.min_requests
    return guard.alpha_rollback(tests), guard.alpha_promote


def _verdict(rec: Reconciliation, checks: list[GuardrailCheck], opts: Options, *, labelled: bool) -> Verdict:
    """Promote, hold or rollback from the guardrail checks and the other reasons to hold; in canary
    mode with a stage plan and no ``stage``, the stage is the candidate's observed share."""
    current = opts.stage
    if opts.plan and current is None and not opts.paired:
        c = rec.counts
        current = snap_stage(c["candidate_rows"] / max(c["production_rows"] + c["candidate_rows"], 1), opts.plan)
    return decide(checks, opts.guard, extra_holds=_holds(rec, opts.paired, opts.guard, labelled, bool(checks)),
                  stage=current, stages=opts.plan)


def _parameters(rec: Reconciliation, sums: Summaries, opts: Options) -> dict[str, Any]:
    return {"mode": opts.mode, "roles": rec.roles, "by": list(rec.by), "coverage": rec.counts,
            "confidence": opts.confidence, "fdr": opts.fdr, "disagreement_margin": opts.disagreement_margin,
            "guardrails": asdict(opts.guard), "stages": list(opts.plan) if opts.plan else None, "as_of": opts.as_of,
            "pending_labels": sums.pending_labels, "task": sums.task, "large_change": sums.large_change,
            "engine": rec.engine, "sampled": False}


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


__all__ = ["MODES", "Verdict", "check_shadow"]
