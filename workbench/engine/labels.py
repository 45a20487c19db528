"""Labels that arrive after the predictions: validated, as known at a point in time, keyed by
request id. Shared by the shadow comparison and the performance checks."""

from __future__ import annotations

import datetime as dt

import narwhals as nw
import polars as pl

from workbench.engine._spark import refuse_nested
from workbench.engine.frames import Engine, Frame, collect, count, open_frame, with_epoch
from workbench.engine.inputs import FrameLike, check_time_column, require_columns
from workbench.engine.reserved import PREFIX, refuse_reserved
from workbench.engine.sql import quote
from workbench.errors import ConfigError, InputError
from workbench.params import datetime_value

LABEL = f"{PREFIX}label"
LABEL_TIME_US = f"{PREFIX}label_us"


def utc_fix(column: str, engine: Engine) -> str:
    """How to read a naive time ``column`` as UTC on its ``engine``, for the messages that refuse
    naive and time-zone-aware times mixed."""
    if engine == "duckdb":
        q = quote(column)
        return f"rel.project(\"* REPLACE (timezone('UTC', {q}) AS {q})\")"
    if engine == "spark":
        return (f"df.withColumn({column!r}, F.col({column!r}).cast('timestamp_ltz')) with "
                "spark.sql.session.timeZone set to 'UTC'")
    return f"pl.col({column!r}).dt.replace_time_zone('UTC')"


def _check_as_of_zone(as_of: dt.datetime, label_time: str, dtype: pl.DataType, engine: Engine) -> None:
    """``as_of`` and the labels' ``label_time`` must both be naive or both time-zone aware: a naive
    time is not an instant, and which one to compare it with would be a guess."""
    zone = getattr(dtype, "time_zone", None)
    if bool(zone) == (as_of.tzinfo is not None):
        return
    prefix = "Mixed naive and time-zone-aware timestamps: "
    if zone:
        raise InputError(f"{prefix}as_of ({as_of}) is naive but the labels' label_time {label_time!r} is in {zone}. "
                         f"Pass as_of with its time zone, e.g. {as_of.replace(tzinfo=dt.UTC).isoformat()!r} if it "
                         "is UTC.")
    raise InputError(f"{prefix}the labels' label_time {label_time!r} is naive but as_of ({as_of}) is time-zone "
                     f"aware. Make them agree, e.g. {utc_fix(label_time, engine)} on the labels if their times are "
                     f"UTC, or a naive as_of ({as_of.replace(tzinfo=None).isoformat()!r}).")


def labels_frame(labels: FrameLike, id: str, label: str, id_dtype: pl.DataType, *, label_time: str | None = None,
                 as_of: dt.datetime | None = None, prediction_dtype: pl.DataType | None = None,
                 regression: bool = False) -> tuple[Frame, int]:
    """The labels known at ``as_of`` as (``id``, :data:`LABEL`) on their own engine (polars, duckdb
    or Spark) and the number still pending (``label_time`` after ``as_of``), validated: the
    columns exist and do not use the reserved prefix :data:`PREFIX`, one label per request, no
    null id, the id has the logs' type, the label can be compared with the prediction (numbers
    with numbers, text with text), ``as_of`` (a datetime or an ISO string) and ``label_time``
    agree on time zones. Only these columns are read: the labels' other columns never matter."""
    as_of = datetime_value(as_of, name="as_of")
    frame = open_frame(labels, name="labels")
    used = {"id": id, "label": label, "label_time": label_time}
    require_columns(frame.schema, used, name="labels")
    refuse_reserved(used, name="labels")
    refuse_nested(frame.unsupported, [c for c in (id, label, label_time) if c], name="labels", check="the label join")
    frame = frame.with_lf(frame.lf.select(*dict.fromkeys(c for c in (id, label, label_time) if c)))
    lab, schema = frame.lf, frame.schema
    if prediction_dtype is not None:
        _check_label_dtype(schema[label], prediction_dtype, label, regression)
    if as_of is not None and not label_time:
        raise ConfigError("as_of needs label_time=: the column saying when each label arrived.")
    pending = 0
    if label_time:
        dtype = check_time_column(schema, label_time, name="labels", role="label_time")
        if as_of is not None:
            _check_as_of_zone(as_of, label_time, dtype, frame.engine)
            # instants compared as microseconds since the epoch (a naive time read as UTC on both sides)
            limit = as_of.replace(tzinfo=as_of.tzinfo or dt.UTC) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
            lab = with_epoch(frame, label_time, LABEL_TIME_US)
            known = nw.col(LABEL_TIME_US) <= limit // dt.timedelta(microseconds=1)
            pending = int(collect(lab.select(count(~known).alias("pending")), frame, check="the label join").item()
                          or 0)
            lab = lab.filter(known)
    if schema[id] != id_dtype:
        raise InputError(f"labels: {id!r} is {schema[id]} but {id_dtype} in the logs; cast it so the same request "
                         "has the same id.")
    stats = lab.select(nw.len().alias("rows"), nw.col(id).n_unique().alias("unique"),
                       count(nw.col(id).is_null()).alias("nulls"))
    row = collect(stats, frame, check="the label join").row(0, named=True)
    nulls = int(row["nulls"] or 0)
    if nulls:
        raise InputError(f"labels: {nulls:,} rows have a null {id!r}; drop them or fix the join that produced them.")
    if row["rows"] - row["unique"]:
        raise InputError(f"labels: {row['rows'] - row['unique']:,} duplicate values of {id!r}; keep one label per "
                         "request.")
    return Frame(lab.select(nw.col(id), nw.col(label).alias(LABEL)), frame.engine,
                 pl.Schema({id: schema[id], LABEL: schema[label]}), "labels"), pending


def _check_label_dtype(label_dtype: pl.DataType, prediction_dtype: pl.DataType, label: str, regression: bool) -> None:
    """A label that can never equal the prediction (``"1"`` against ``1``) would make every request
    wrong on both sides: refuse it."""
    def kind(dtype: pl.DataType) -> str:
        if dtype == pl.Boolean:
            return "boolean"
        if dtype.is_numeric():
            return "number"
        return "text" if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum) else str(dtype)

    if regression and not label_dtype.is_numeric():
        raise InputError(f"labels: {label!r} is {label_dtype} but a regression needs numeric labels.")
    if not regression and kind(label_dtype) != kind(prediction_dtype):
        raise InputError(f"labels: {label!r} is {label_dtype} but the prediction is {prediction_dtype}; cast one so "
                         "that a correct prediction equals its label (e.g. pl.col(...).cast(pl.Int64)).")
