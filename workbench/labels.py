"""Labels that arrive after the predictions: validated, as known at a point in time, keyed by
request id. Shared by the shadow comparison and the performance checks."""

from __future__ import annotations

import datetime as dt

import polars as pl

from workbench.errors import InputError
from workbench.io import (
    FrameLike,
    as_datetime,
    check_time_column,
    check_time_zones,
    require_columns,
    schema_of,
    to_lazy,
)

LABEL = "__label"


def prepare_labels(labels: FrameLike, id: str, label: str, id_dtype: pl.DataType, *, label_time: str | None = None,
                   as_of: dt.datetime | None = None, prediction_dtype: pl.DataType | None = None,
                   regression: bool = False) -> tuple[pl.LazyFrame, int]:
    """The labels known at ``as_of`` as (``id``, ``__label``) and the number still pending
    (``label_time`` after ``as_of``), validated: the columns exist, one label per request, no
    null id, the id has the logs' type, the label can be compared with the prediction (numbers
    with numbers, text with text), ``as_of`` and ``label_time`` agree on time zones."""
    lab = to_lazy(labels, name="labels", check="the label join")
    schema = schema_of(lab, name="labels")
    require_columns(schema, {"id": id, "label": label, "label_time": label_time}, name="labels")
    if prediction_dtype is not None:
        _check_label_dtype(schema[label], prediction_dtype, label, regression)
    if as_of is not None and not label_time:
        raise InputError("as_of needs label_time=: the column saying when each label arrived.")
    pending = 0
    if label_time:
        dtype = check_time_column(schema, label_time, name="labels", role="label_time")
        if as_of is not None:
            zone = check_time_zones([("labels", label_time, dtype),
                                     ("as_of", "as_of", pl.Datetime("us", as_of.tzinfo and "UTC"))])
            known = as_datetime(label_time, dtype, zone) <= pl.lit(as_of).cast(pl.Datetime("us", zone))
            pending = int(lab.select((~known).sum()).collect().item())
            lab = lab.filter(known)
    if schema[id] != id_dtype:
        raise InputError(f"labels: {id!r} is {schema[id]} but {id_dtype} in the logs; cast it so the same request "
                         "has the same id.")
    row = lab.select(pl.len() - pl.col(id).n_unique(), pl.col(id).null_count()).collect().row(0)
    if row[1]:
        raise InputError(f"labels: {row[1]:,} rows have a null {id!r}; drop them or fix the join that produced them.")
    if row[0]:
        raise InputError(f"labels: {row[0]:,} duplicate values of {id!r}; keep one label per request.")
    return lab.select(pl.col(id), pl.col(label).alias(LABEL)), pending


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
