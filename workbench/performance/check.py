"""``check_performance``: one call for a model's performance where it is served — labels joined as they
arrive, subgroup performance with localized alerts, calibration against a reference, and a
label-free estimate where labels are missing. The pieces are :func:`check_subgroups`,
:func:`check_calibration` and :mod:`workbench.performance.estimate`; this module joins the labels and
assembles one result."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import polars as pl

from workbench import params
from workbench.engine.frames import Frame, collect, count, open_frame, read_once
from workbench.engine.inputs import FrameLike, require_columns
from workbench.engine.labels import LABEL, labels_frame
from workbench.errors import ConfigError, InputError
from workbench.findings.model import CheckResult, Finding
from workbench.performance import columns
from workbench.performance.calibration import check_calibration
from workbench.performance.estimate import assumption, estimate_table
from workbench.performance.subgroups import check_subgroups, window_length


def check_performance(
    predictions: FrameLike,
    *,
    by: str | Sequence[str],
    target: str | None = None,
    labels: FrameLike | None = None,
    id: str | None = None,  # the request id column (the project's vocabulary)
    label: str = "label",
    label_time: str | None = None,
    as_of: dt.datetime | str | None = None,
    prediction: str | None = None,
    score: str | None = None,
    threshold: float = 0.5,
    timestamp: str | None = None,
    window: str | dt.timedelta | None = None,
    reference: FrameLike | None = None,
    calibration_window: str | dt.timedelta | None = "1d",
    bins: int = 10,
    depth: int = 2,
    min_support: int = 100,
    margin: float | None = None,
    confidence: float = 0.95,
    fdr: float = params.DEFAULT_FDR,
) -> CheckResult:
    """Performance of a classifier (or regression) on its prediction log.

    Labels either sit in ``predictions`` as ``target`` (null where not known yet) or arrive
    separately: ``labels`` with ``id`` (the key of one request, joining the log and its labels)
    and ``label`` (and ``label_time`` with ``as_of``, a datetime or an ISO string, to use only those
    known by then). Predictions need a unique, non-null ``id`` to be joined. The labelled rows go
    through :func:`check_subgroups` (persistent ``segment_disparity``, and with ``timestamp``
    localized ``performance_drop`` per ``window``); with a ``score`` and a labelled ``reference``
    (same columns, ``target``/``label`` inline), :func:`check_calibration` too, on ``bins`` score
    bins per ``calibration_window`` (default a day: calibration needs more rows than accuracy),
    which also checks the assumption of the label-free estimate. With a score, table
    ``estimates`` gives per scope the label coverage, the estimated accuracy (CBPE) with its
    interval and the realized accuracy. ``min_support``: rows a scope needs to be tested.
    Returns one :class:`~workbench.findings.CheckResult` with check ``"performance"``.
    """
    o = _options(by=by, target=target, id=id, label=label, label_time=label_time, as_of=as_of, prediction=prediction,
                 score=score, threshold=threshold, timestamp=timestamp, window=window,
                 calibration_window=calibration_window, depth=depth, min_support=min_support, margin=margin,
                 confidence=confidence, fdr=fdr)
    bins = params.count(bins, name="bins", owner="check_performance")
    log = _read_log(predictions, labels, o)
    labelled = log.frame.lf.filter(~nw.col(log.target).is_null()).to_native()
    result = check_subgroups(labelled, target=log.target, by=o.by, prediction=o.prediction, score=o.score,
                             threshold=o.threshold, depth=o.depth, min_support=o.min_support, margin=o.margin,
                             confidence=o.confidence, fdr=o.fdr, timestamp=o.timestamp, window=o.window)
    cal = None
    if o.score is not None and reference is not None:
        cal = check_calibration(reference, labelled, score=o.score, target=log.target, timestamp=o.timestamp,
                                window=o.calibration_window if o.timestamp else None, by=o.by,
                                bins=bins, confidence=o.confidence, fdr=o.fdr)
    prepared = _for_estimate(log.frame, log.target, o.prediction, o.score, o.threshold, o.by, o.timestamp)
    estimates = estimate_table(prepared, columns.segments(o.by), o.every, _zone(log.frame.schema, o.timestamp),
                               confidence=o.confidence, min_support=o.min_support, has_score=o.score is not None,
                               regression=result.parameters["task"] == "regression")
    check, drifted = _estimate_assumption(cal, o.fdr) if o.score is not None else (None, [])
    parameters: dict[str, Any] = {**result.parameters, "labels": {"rows": log.rows, "labelled": log.labelled,
                                                                 **log.label_counts}}
    if cal is not None:
        parameters["calibration"] = {k: cal.parameters[k] for k in ("bins", "ece_margin", "slope_margin")}
    if check is not None:
        parameters["estimate_assumption"] = check
    return CheckResult("performance", tuple(_findings(log, result, cal, check, drifted, o)), result.inputs,
                       parameters=parameters, tables={**result.tables, **(cal.tables if cal else {}),
                                                      "estimates": estimates})


@dataclass(frozen=True)
class _Options:
    """``check_performance``'s parameters, validated; ``every``: the window as a duration (None without a
    timestamp)."""

    by: list[str]
    target: str | None
    id: str | None
    label: str
    label_time: str | None
    as_of: dt.datetime | None
    prediction: str | None
    score: str | None
    threshold: float
    timestamp: str | None
    window: str | dt.timedelta | None
    every: dt.timedelta | None
    calibration_window: dt.timedelta | None
    depth: int
    min_support: int
    margin: float | None
    confidence: float
    fdr: float


def _options(*, by: str | Sequence[str], target: str | None, id: str | None, label: str, label_time: str | None,
             as_of: dt.datetime | str | None, prediction: str | None, score: str | None, threshold: float,
             timestamp: str | None, window: str | dt.timedelta | None,
             calibration_window: str | dt.timedelta | None, depth: int, min_support: int, margin: float | None,
             confidence: float, fdr: float) -> _Options:
    """Every parameter checked by its kind (:mod:`workbench.params`); a wrong one raises naming it."""
    owner = "check_performance"
    return _Options(
        by=columns.columns(by, name="by", owner=owner),
        target=columns.optional_column(target, name="target", owner=owner),
        id=columns.optional_column(id, name="id", owner=owner),
        label=columns.column(label, name="label", owner=owner),
        label_time=columns.optional_column(label_time, name="label_time", owner=owner),
        prediction=columns.optional_column(prediction, name="prediction", owner=owner),
        score=columns.optional_column(score, name="score", owner=owner),
        timestamp=columns.optional_column(timestamp, name="timestamp", owner=owner),
        as_of=params.datetime_value(as_of, name="as_of", owner=owner),
        threshold=params.open_unit(threshold, name="threshold", owner=owner),
        window=window,
        every=window_length(window, timestamp, owner=owner),
        calibration_window=params.optional_positive_duration(calibration_window, name="calibration_window",
                                                             owner=owner, hint=columns.DEFAULT_WINDOW_HINT),
        depth=params.count(depth, name="depth", owner=owner),
        min_support=params.count(min_support, name="min_support", owner=owner),
        margin=None if margin is None else params.positive_number(margin, name="margin", owner=owner),
        confidence=params.open_unit(confidence, name="confidence", owner=owner),
        fdr=params.open_unit(fdr, name="fdr", owner=owner))


@dataclass(frozen=True)
class _Log:
    """The prediction log with its labels: ``frame`` (the used columns, read once; with ``labels=``
    the labels known at ``as_of`` joined as column ``target``), how many ``rows`` and how many are
    ``labelled``, and with ``labels=`` the labels ``given``, ``matched`` and ``pending``."""

    frame: Frame
    target: str
    rows: int
    labelled: int
    label_counts: dict[str, int]


def _read_log(predictions: FrameLike, labels: FrameLike | None, o: _Options) -> _Log:
    """Open the predictions, join the labels that arrive separately, keep the used columns (read
    once) and count the rows and the labelled ones; an empty or unlabelled log is refused."""
    frame = open_frame(predictions, name="predictions")
    if (o.target is None) == (labels is None):
        raise ConfigError("give either target= (a label column in predictions, null where unknown) or labels= with "
                         "id= (labels that arrive separately).")
    if labels is not None:
        frame, label_counts = _attach(frame, labels, o.id, o.label, o.label_time, o.as_of, o.prediction)
        target = o.label
    else:
        assert o.target is not None
        require_columns(frame.schema, {"target": o.target}, name="predictions")
        target, label_counts = o.target, {}
    require_columns(frame.schema, {"target": target, "prediction": o.prediction, "score": o.score,
                                   "timestamp": o.timestamp, **{f"by[{i}]": b for i, b in enumerate(o.by)}},
                    name="predictions")
    used = [c for c in dict.fromkeys([*o.by, target, o.prediction, o.score, o.timestamp]) if c]
    frame = read_once(frame.with_lf(frame.lf.select(used)))  # every part reads these rows several times
    counts = collect(frame.lf.select(nw.len().alias("rows"), count(~nw.col(target).is_null()).alias("labelled")),
                     frame, check="performance").row(0)
    n_rows, n_labelled = int(counts[0]), int(counts[1] or 0)
    if n_rows == 0:
        raise InputError("predictions: the input is empty (no rows); nothing to measure. Check the path or the "
                         "filter that produced it.")
    if n_labelled == 0:
        raise InputError("no prediction has a label yet: nothing to measure (the estimate needs a score: see "
                         "workbench.performance.estimate).")
    return _Log(frame, target, n_rows, n_labelled, label_counts)


def _estimate_assumption(cal: CheckResult | None, fdr: float) -> tuple[dict[str, Any], list[str]]:
    """Whether the label-free estimate's assumption (calibrated scores) holds: on the reference
    (:func:`~workbench.performance.estimate.assumption`), and not in the scopes where calibration
    has drifted in current (the second value)."""
    check = assumption(_reference_calibration(cal) if cal is not None else None, fdr)
    drifted = sorted({_scope_text(f.scope) for f in (cal.findings if cal is not None else ())
                      if f.kind in ("calibration_drift", "overconfident", "underconfident")})
    if drifted:
        check = {**check, "holds": False, "statement": check["statement"] + " But calibration has drifted in "
                 f"current ({', '.join(drifted[:4])}{', …' if len(drifted) > 4 else ''}): there the assumption "
                 "no longer holds."}
    return check, drifted


def _findings(log: _Log, result: CheckResult, cal: CheckResult | None, check: dict[str, Any] | None,
              drifted: list[str], o: _Options) -> list[Finding]:
    """The labels that matched no prediction, the sub-checks' findings, the unlabelled predictions
    and a failed estimate assumption: built from the numbers already computed."""
    findings = []
    given, matched = log.label_counts.get("given", 0), log.label_counts.get("matched", 0)
    if given > matched:
        findings.append(Finding("performance", "unmatched_labels", "info", o.label,
                                f"{given - matched:,} labels are for ids not in the predictions; they were not used.",
                                "Check that labels are keyed by the same request id as the predictions.",
                                {"affected_rows": given - matched}, {}))
    findings += list(result.findings)
    findings += [f for f in (cal.findings if cal is not None else ()) if f.kind != "unlabelled_rows"]
    n_rows, n_labelled = log.rows, log.labelled
    if n_labelled < n_rows:
        findings.append(Finding(
            "performance", "unlabelled_rows", "info", log.target,
            f"{n_rows - n_labelled:,} of {n_rows:,} predictions ({1 - n_labelled / n_rows:.1%}) have no label yet; "
            "the measured performance covers the labelled ones"
            + (", the estimate covers all (see the estimates table)." if o.score else "."),
            "Run again when more labels have arrived.",
            {"affected_rows": n_rows - n_labelled, "affected_share": 1 - n_labelled / n_rows, "n": n_rows}, {}))
    if check is not None and check["checked"] and not check["holds"]:
        findings.append(Finding(
            "performance", "estimate_assumption", "warning", o.score or "", check["statement"] + " Read the "
            "estimated accuracy of unlabelled traffic with care: it is biased by the miscalibration.",
            "Recalibrate the scores on recent labelled data before relying on label-free estimates.",
            {"value": check["reference_ece"], "p_value": check["reference_hl_p"], "drifted_in": drifted},
            {}))
    return findings


def _attach(frame: Frame, labels: FrameLike, id: str | None, label: str, label_time: str | None,
            as_of: dt.datetime | None, prediction: str | None) -> tuple[Frame, dict[str, int]]:
    """Left-join the labels known at ``as_of`` onto the predictions by ``id``, on the predictions'
    engine (the labels must be on the same one); the labels ``given``, ``matched`` and ``pending``."""
    if id is None:
        raise ConfigError("labels= needs id=: the request id column shared by predictions and labels.")
    schema = frame.schema
    require_columns(schema, {"id": id}, name="predictions")
    if label in schema:
        raise InputError(f"predictions already have a column {label!r}; pass target={label!r} instead of labels=, "
                         "or name the labels' column differently (label=...).")
    ids = collect(frame.lf.select(nw.len().alias("rows"), nw.col(id).n_unique().alias("unique"),
                                  count(nw.col(id).is_null()).alias("nulls")), frame, check="performance").row(
        0, named=True)
    if ids["nulls"]:
        raise InputError(f"predictions: {ids['nulls']:,} rows have a null {id!r}; labels cannot be joined to them.")
    if ids["unique"] != ids["rows"]:
        raise InputError(f"predictions: {ids['rows'] - ids['unique']:,} repeated values of {id!r}; keep one row per "
                         "request (e.g. the latest attempt) so that each label joins once.")
    dtype = schema[prediction] if prediction else pl.Int8()  # without a prediction: 0/1 from the score
    lab, pending = labels_frame(labels, id, label, schema[id], label_time=label_time, as_of=as_of,
                                prediction_dtype=dtype, regression=bool(prediction and schema[prediction].is_float()))
    if lab.engine != frame.engine:
        raise InputError(f"labels are on {lab.engine} but the predictions on {frame.engine}: the labels are joined "
                         "to the predictions by id where the predictions are, so pass both on one engine (e.g. "
                         "spark.read.parquet(labels_path) beside a Spark predictions table).")
    lab_lf = lab.lf.select(id, nw.col(LABEL).alias(label))
    given = int(collect(lab_lf.select(nw.len().alias("n")), frame, check="performance").item())
    joined = frame.lf.join(lab_lf, on=id, how="left")
    matched = int(collect(frame.lf.join(lab_lf, on=id, how="semi").select(nw.len().alias("n")), frame,
                          check="performance").item())
    return frame.with_lf(joined), {"given": given, "matched": matched, "pending": pending}


def _for_estimate(frame: Frame, target: str, prediction: str | None, score: str | None, threshold: float,
                  by: list[str], timestamp: str | None) -> Frame:
    """The rows under internal names, as :func:`~workbench.performance.estimate.estimate_table`
    reads them (the ``by`` columns as text ``__wb_segment_<i>``)."""
    if prediction:
        pred = nw.col(prediction)
    else:
        assert score is not None  # subgroups, run first, refused a call with neither prediction nor score
        pred = nw.col(score) >= threshold
    return frame.with_lf(frame.lf.select(
        *(nw.col(b).cast(nw.String).fill_null("null").alias(c) for c, b in columns.segments(by).items()),
        nw.col(target).cast(nw.Float64).alias(columns.Y), pred.cast(nw.Float64).alias(columns.PRED),
        *([nw.col(score).cast(nw.Float64).alias(columns.P)] if score else []),
        *([nw.col(timestamp).alias(columns.TS)] if timestamp else [])))


def _scope_text(scope: Mapping[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in (scope.get("segment") or {}).items()]
    if "window" in scope:
        parts.append(f"from {scope['window'][0][:16]}")
    return " ".join(parts) or "all traffic"


def _zone(schema: pl.Schema, timestamp: str | None) -> str | None:
    return getattr(schema[timestamp], "time_zone", None) if timestamp else None


def _reference_calibration(cal: CheckResult) -> dict[str, Any] | None:
    table = cal.to_polars("calibration").filter(pl.col("scope") == "all")
    if table.height == 0:
        return None
    row = table.row(0, named=True)
    return {"ece": row["reference_ece"], "hl_p": row["reference_hl_p"], "n": row["reference_n"],
            "conclusive": row["reference_conclusive"]}
