"""The summaries of a shadow/canary comparison: every number its statistics need, computed where
the reconciled requests are (polars, duckdb or Spark) and brought back as small tables and counts.

:func:`summarize` checks what the predictions (and labels) are and counts everything the
statistics read; :func:`latency_summary` then fetches the latency order statistics, whose ranks
depend on the verdict's levels (which depend on how many guardrails the counts allow to test).
Nothing after these two reads the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import narwhals as nw
import polars as pl

from workbench.engine.frames import same_connection
from workbench.engine.inputs import FrameLike
from workbench.engine.labels import labels_frame
from workbench.errors import InputError
from workbench.shadow import accuracy as acc
from workbench.shadow import operations as ops
from workbench.shadow.agreement import AgreementCounts, DeltaCounts, agreement_counts, delta_counts
from workbench.shadow.columns import ID, LABEL, role
from workbench.shadow.options import Options
from workbench.shadow.reconcile import Reconciliation
from workbench.shadow.regression import regression_sums
from workbench.shadow.task import check_labels, resolve


@dataclass
class Summaries:
    """What the engine computed for the comparison. ``task``: the task run (None without a
    prediction); ``large_change``: a regression's threshold of a changed prediction (else None);
    ``agreement`` and ``deltas`` (table name -> counts; shadow mode), ``errors``
    (:func:`~workbench.shadow.operations.error_counts`), with labels ``accuracy`` (counts or sums
    per scope), ``score_sums`` (binary task with a score; None when the labels are not 0/1),
    ``unmatched_labels`` and ``pending_labels``; ``latency_counts`` per side."""

    task: str | None
    large_change: float | None = None
    agreement: AgreementCounts | None = None
    deltas: dict[str, DeltaCounts] = field(default_factory=dict)
    errors: dict[str, int] | None = None
    accuracy: pl.DataFrame | None = None
    score_sums: pl.DataFrame | None = None
    unmatched_labels: int = 0
    pending_labels: int | None = None
    latency_counts: dict[str, dict[str, int]] | None = None


def summarize(rec: Reconciliation, opts: Options, labels: FrameLike | None) -> Summaries:
    """Resolve the task (refusing predictions, and labels, not coded for it), validate the labels,
    and compute every count and sum of the comparison on the logs' engine."""
    roles, by, paired = rec.roles, list(rec.by), opts.paired
    kind = resolve(rec, opts.task, paired, labelled=labels is not None)
    regression = kind == "regression"
    known = _known_labels(rec, opts, labels, kind) if labels is not None else None
    sums = Summaries(kind, large_change=_large_change(rec, opts) if regression else None)
    if roles["prediction"] and paired:
        sums.agreement = agreement_counts(rec, by, sums.large_change)
        if regression:
            sums.deltas["prediction_deltas"] = delta_counts(rec, "prediction", by, large=sums.large_change)
    if roles["score"] and paired:
        sums.deltas["scores"] = delta_counts(rec, "score", by)
    if roles["error"]:
        sums.errors = ops.error_counts(rec, paired)
    if known is not None:
        lab, sums.pending_labels = known
        labelled = acc.labelled_requests(rec, lab, paired)
        sums.accuracy = (regression_sums if regression else acc.accuracy_counts)(labelled, by, paired)
        sums.unmatched_labels = acc.unmatched_count(lab, labelled)
        if roles["score"] and kind == "binary":
            sums.score_sums = acc.score_sums(labelled, by, paired)
    if roles["latency"]:
        sums.latency_counts = ops.latency_counts(rec, paired)
    return sums


def latency_summary(rec: Reconciliation, sums: Summaries, opts: Options,
                    levels: dict[str, float]) -> dict[str, dict] | None:
    """The latency order statistics each side's quantiles and their bounds at ``levels`` need
    (:func:`~workbench.shadow.operations.latency_order_statistics`); None without latencies."""
    if sums.latency_counts is None:
        return None
    return ops.latency_order_statistics(rec, opts.paired, sums.latency_counts, opts.guard, levels)


def _large_change(rec: Reconciliation, opts: Options) -> float | None:
    """The user's ``large_change``, else a tenth of production's prediction standard deviation on the
    matched requests (None when there are none)."""
    if opts.large_change is not None or not rec.counts["matched"]:
        return opts.large_change
    value = nw.col(role("prediction", "production")).cast(nw.Float64)
    sd = rec.collect(rec.table.filter(~value.is_nan()).select(value.std().alias("sd")), counts=False).item()
    return 0.1 * sd if sd else 0.0


def _known_labels(rec: Reconciliation, opts: Options, labels: FrameLike, kind: str | None) -> tuple[nw.LazyFrame, int]:
    """The labels known at ``as_of`` as (``ID``, ``LABEL``) on the logs' engine, validated, and the
    number still pending."""
    id, schema = rec.roles["id"], rec.schema
    assert id is not None
    lab, pending = labels_frame(labels, id, opts.label, schema[ID], label_time=opts.label_time, as_of=opts.as_of,
                                prediction_dtype=schema[role("prediction", "production")],
                                regression=kind == "regression")
    if kind == "binary":
        check_labels(lab.lf, opts.task, opts.label)
    if lab.engine != rec.engine:
        raise InputError(f"labels are on {lab.engine} but the logs on {rec.engine}: the labels are joined to "
                         "the requests by id where the logs are, so pass all three on one engine (e.g. "
                         "spark.read.parquet(labels_path) beside Spark logs).")
    if not same_connection(lab.lf, rec.table):
        raise InputError("labels are a duckdb relation of another connection than the production and "
                         "candidate logs, which duckdb cannot join; create all three from one connection, "
                         "e.g. con.read_parquet(labels_path) with the con that reads the logs.")
    return lab.lf.select(nw.col(id).alias(ID), nw.col(LABEL)), pending
