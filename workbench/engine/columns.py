"""Columns and rows that narwhals cannot derive alike on every engine: a column read as a number
(text parsed leniently, times as epoch microseconds) and every k-th row of a frame. Each backend's
piece is in its private module; the result is again a :class:`~workbench.engine.frames.Frame`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import narwhals as nw
import polars as pl

from workbench.engine.frames import Frame, epoch_us
from workbench.engine.reserved import PREFIX
from workbench.engine.sql import epoch_us_sql, parse_float_sql

ROW_NUMBER = f"{PREFIX}rn"  # the row position every_kth counts on duckdb and Spark


def with_numbers(frame: Frame, columns: Mapping[str, str]) -> Frame:
    """``frame`` with each ``alias: column`` read as a Float64 number under ``alias``: numbers and booleans
    (1/0) cast; dates and datetimes in microseconds since the Unix epoch (a naive one read as UTC); text, and
    any other type through its text, parsed leniently (surrounding spaces ignored, unparseable → null).
    ``frame.schema`` gains the aliases (Float64)."""
    schema = frame.schema
    temporal = {a: c for a, c in columns.items() if isinstance(schema[c], pl.Datetime) or schema[c] == pl.Date}
    text = {a: c for a, c in columns.items()
            if a not in temporal and not (schema[c].is_numeric() or schema[c] == pl.Boolean)}
    native = {**text, **(temporal if frame.engine == "spark" else {})}  # what narwhals cannot compute there
    lf = _with_native(frame, text, {a: c for a, c in native.items() if a not in text})
    portable = [(epoch_us(c, schema[c]) if a in temporal else nw.col(c)).cast(nw.Float64).alias(a)
                for a, c in columns.items() if a not in native]
    if portable:
        lf = lf.with_columns(portable)
    return replace(frame, lf=lf, schema=pl.Schema({**schema, **{a: pl.Float64() for a in columns}}))


def _with_native(frame: Frame, text: dict[str, str], epochs: dict[str, str]) -> nw.LazyFrame:
    """``text``'s columns parsed, and (Spark) ``epochs``' columns in epoch microseconds, each ``alias: column``,
    in the backend's own terms."""
    if not text and not epochs:
        return frame.lf
    native, schema = frame.lf.to_native(), frame.schema
    if frame.engine == "polars":
        exprs = [(pl.col(c) if schema[c] == pl.String else pl.col(c).cast(pl.String))
                 .str.strip_chars().cast(pl.Float64, strict=False).alias(a) for a, c in text.items()]
        return nw.from_native(native.with_columns(exprs))
    if frame.engine == "duckdb":
        from workbench.engine._duckdb import with_sql_columns as duckdb_columns

        return nw.from_native(duckdb_columns(native, {a: parse_float_sql(c, schema[c], "duckdb")
                                                      for a, c in text.items()}))
    from workbench.engine._spark import with_sql_columns

    sql = {a: parse_float_sql(c, schema[c], "spark") for a, c in text.items()}
    sql |= {a: f"CAST({epoch_us_sql(c, schema[c], 'spark')} AS DOUBLE)" for a, c in epochs.items()}
    return nw.from_native(with_sql_columns(native, sql))


def every_kth(frame: Frame, stride: int, columns: Sequence[str]) -> Frame:
    """Every ``stride``-th row of ``columns`` (only those): rows 0, k, 2k, ... in row order on polars and
    duckdb; on Spark, the rows whose ``monotonically_increasing_id`` is a multiple of k (no shuffle; row
    order for one partition). ``stride`` 1: every row."""
    columns = list(columns)
    schema = pl.Schema({c: frame.schema[c] for c in columns})
    if stride <= 1:
        return replace(frame, lf=frame.lf.select(columns), schema=schema)
    native = frame.lf.to_native()
    if frame.engine == "polars":
        sampled = native.select(columns).gather_every(stride)
    elif frame.engine == "duckdb":
        from workbench.engine._duckdb import every_kth as duckdb_every_kth

        sampled = duckdb_every_kth(native, stride, columns, ROW_NUMBER)
    else:
        from workbench.engine._spark import every_kth as spark_every_kth

        sampled = spark_every_kth(native, stride, columns, ROW_NUMBER)
    return replace(frame, lf=nw.from_native(sampled), schema=schema)
