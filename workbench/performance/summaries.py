"""Validation of scored, labelled prediction logs and the binned summaries every performance
check is computed from (one lazy group-by per scope kind; never the rows in Python)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import narwhals as nw
import numpy as np
import polars as pl

from workbench.engine.frames import Frame, collect, count, open_frame, refuse_nested, with_window
from workbench.engine.inputs import FrameLike, check_time_column, require_columns
from workbench.errors import InputError
from workbench.performance import columns
from workbench.performance.calibration_stats import FINE_BINS, LOGIT_CLIP
from workbench.stats import log_loss_terms

SUMS = ("n", "pos", "sum_p", "sum_logit", "sum_brier", "sum_brier2", "sum_ll", "sum_ll2")


@dataclass(frozen=True)
class Logs:
    """A validated log on its engine: ``frame`` holds the labelled rows only, under internal names
    (:mod:`~workbench.performance.columns`): ``__wb_y`` the target as 0/1, ``__wb_p`` the score,
    ``__wb_segment_<i>`` the ``i``-th segment column as text (a null is the value "null") and
    ``__wb_ts`` the timestamp; the rows without a label are counted. ``segments`` maps each
    internal segment column to the user's name."""

    frame: Frame
    rows: int
    unlabelled: int
    name: str
    segments: dict[str, str]


def prepare(data: FrameLike, *, name: str, score: str, target: str, by: Sequence[str],
            timestamp: str | None) -> Logs:
    """Validate one log and keep its labelled rows (a polars, duckdb or Spark input stays on its engine).

    Errors (naming the column and the fix): a missing column; a score that is not numeric, is
    NaN or lies outside [0, 1]; a target with values other than 0/1 (or booleans); a timestamp
    that is not a datetime. Rows whose target is null are labels not yet arrived: counted, not used.
    """
    frame = open_frame(data, name=name)
    schema = frame.schema
    require_columns(schema, {"score": score, "target": target, "timestamp": timestamp,
                             **{f"by[{i}]": b for i, b in enumerate(by)}}, name=name)
    refuse_nested(frame, [score, target, *by, timestamp], check="calibration")
    if not schema[score].is_numeric():
        raise InputError(f"{name}: score column {score!r} must be numeric probabilities, got {schema[score]}.")
    if timestamp:
        check_time_column(schema, timestamp, name=name, role="timestamp")
    y = nw.col(target).cast(nw.Float64)
    p = nw.col(score).cast(nw.Float64)
    stats = collect(frame.lf.select(
        nw.len().alias("rows"), count(nw.col(target).is_null()).alias("unlabelled"),
        count(p.is_nan()).alias("nan"), count(p.is_null()).alias("null_score"),
        count((p < 0) | (p > 1)).alias("outside"),
        count(~y.is_null() & ~y.is_in([0.0, 1.0])).alias("not_binary"),
    ), frame, check="calibration").row(0, named=True)
    if stats["nan"] or stats["null_score"]:
        raise InputError(f"{name}: {stats['nan'] + stats['null_score']:,} rows have a NaN or null {score!r}; "
                         "a probability is needed for every scored request (drop them or fix the scorer).")
    if stats["outside"]:
        raise InputError(f"{name}: {stats['outside']:,} rows have {score!r} outside [0, 1]; pass probabilities "
                         "(apply the sigmoid/softmax to raw margins first).")
    if stats["not_binary"]:
        raise InputError(f"{name}: {stats['not_binary']:,} rows have a {target!r} other than 0 or 1; calibration "
                         "needs a binary outcome (map the positive class to 1).")
    segments = columns.segments(by)
    labelled = frame.lf.filter(~nw.col(target).is_null()).select(
        *(nw.col(b).cast(nw.String).fill_null("null").alias(c) for c, b in segments.items()),
        *([nw.col(timestamp).alias(columns.TS)] if timestamp else []), p.alias(columns.P), y.alias(columns.Y))
    return Logs(frame.with_lf(labelled), int(stats["rows"]), int(stats["unlabelled"] or 0), name, segments)


def bin_summaries(logs: Logs, keys: Sequence[str], *, every: dt.timedelta | None = None) -> pl.DataFrame:
    """Per ``keys`` (internal segment columns, and the window index ``__wb_window`` when ``every``
    is given) and fine score bin ``__wb_bin``: rows, positives, Σscore, Σlogit(score), Σ and Σ² of
    the per-row Brier and log-loss terms (the columns of ``SUMS``)."""
    p, y = nw.col(columns.P), nw.col(columns.Y)
    q = p.clip(LOGIT_CLIP, 1 - LOGIT_CLIP)  # for the logit only; the log loss clips as scikit-learn does
    brier = (p - y) ** 2
    ll = log_loss_terms(y, p)
    lf = logs.frame.lf
    if columns.WINDOW in keys:
        if every is None:
            raise ValueError("a window key needs every")
        lf = with_window(logs.frame, columns.TS, every, columns.WINDOW)
    lf = lf.with_columns((p * FINE_BINS).floor().clip(0, FINE_BINS - 1).cast(nw.Int64).alias(columns.BIN))
    aggs = [nw.len().alias("n"), y.sum().alias("pos"), p.sum().alias("sum_p"), (q / (1 - q)).log().sum().alias(
        "sum_logit"), brier.sum().alias("sum_brier"), (brier**2).sum().alias("sum_brier2"),
        ll.sum().alias("sum_ll"), (ll**2).sum().alias("sum_ll2")]
    return collect(lf.group_by(*keys, columns.BIN).agg(aggs), logs.frame, check="calibration")


def fine_arrays(frame: pl.DataFrame) -> dict[str, np.ndarray]:
    """One scope's summary rows as dense arrays over the fine bins (zeros where empty)."""
    out = {k: np.zeros(FINE_BINS) for k in SUMS}
    if frame.height:
        idx = frame[columns.BIN].to_numpy()
        for k in SUMS:
            np.add.at(out[k], idx, frame[k].to_numpy().astype(float))
    return out
