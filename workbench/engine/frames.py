"""Engine-portable frames for the performance checks: their summaries are written once with
narwhals' lazy API (a subset of polars') and run where the data is — polars (default), a duckdb
relation or a Spark DataFrame — and only the small results come back, as polars frames.

:func:`open_frame` wraps an input, :func:`collect` runs a summary, :func:`epoch_us` gives the
microseconds since the epoch of a datetime column on every engine.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import narwhals as nw
import polars as pl

from workbench.engine._duckdb import duckdb_schema
from workbench.engine.fingerprints import native_summary, summarize_input
from workbench.engine.inputs import FrameLike, schema_of, to_lazy
from workbench.engine.results import int64_counts
from workbench.errors import InputError
from workbench.findings.model import InputSummary

Engine = Literal["polars", "duckdb", "spark"]
EPOCH = dt.datetime(1970, 1, 1)


@dataclass(frozen=True)
class Frame:
    """An input on its engine: the narwhals lazy frame, the engine's name, the schema as polars
    dtypes, and (Spark) the columns of nested or binary types, typed ``pl.Null`` in ``schema``."""

    lf: nw.LazyFrame
    engine: Engine
    schema: pl.Schema
    name: str
    unsupported: dict[str, str] = field(default_factory=dict)

    def with_lf(self, lf: nw.LazyFrame) -> Frame:
        """The same input with a derived lazy frame (same engine)."""
        return Frame(lf, self.engine, schema_of_nw(lf, self), self.name, self.unsupported)


def open_frame(data: FrameLike, *, name: str) -> Frame:
    """Wrap ``data`` for a check: a Spark DataFrame stays on Spark, a duckdb relation on duckdb;
    anything else (polars, pandas, arrow, parquet/CSV paths) is read lazily by polars."""
    from workbench.engine._spark import is_spark, spark_schema

    if is_spark(data):
        schema, unsupported = spark_schema(data, name=name)
        return Frame(nw.from_native(data), "spark", schema, name, unsupported)
    if type(data).__module__.split(".")[0] == "duckdb" and hasattr(data, "pl"):
        return Frame(nw.from_native(data), "duckdb", duckdb_schema(data, name=name), name)
    return polars_frame(data, name=name)


def polars_frame(data: FrameLike, *, name: str, check: str | None = None) -> Frame:
    """``data`` read lazily by polars (a duckdb relation too); a Spark DataFrame is refused naming
    ``check`` (see :func:`workbench.engine.inputs.to_lazy`)."""
    lf = to_lazy(data, name=name, check=check)
    return Frame(nw.from_native(lf), "polars", schema_of(lf, name=name), name)


def read_once(frame: Frame, *, sorted_by: str | None = None) -> Frame:
    """The frame for a check that reads it many times: on polars its rows are read once into memory
    (sorted by ``sorted_by``, nulls last, when given: repeated keys are then adjacent and joins on
    the key merge); duckdb and Spark read their sources again per query, so there the frame is
    returned as it is (keep derived results with :class:`Store`)."""
    if frame.engine != "polars":
        return frame
    native = frame.lf.to_native()
    if sorted_by is not None:
        native = native.sort(sorted_by, nulls_last=True)
    return frame.with_lf(nw.from_native(native.collect().lazy()))


def same_connection(a: nw.LazyFrame, b: nw.LazyFrame) -> bool:
    """Whether the engine can join the two frames: False only for duckdb relations of two different
    connections (nothing is read or run to tell)."""
    if not (a.implementation.is_duckdb() and b.implementation.is_duckdb()):
        return True
    from workbench.engine._duckdb import same_connection as on_duckdb

    return on_duckdb(a.to_native(), b.to_native())


def refuse_nested(frame: Frame, used: list[str | None] | tuple[str | None, ...], *, check: str,
                  excludable: bool = False) -> None:
    """Raise :class:`InputError` naming every ``used`` column (None entries skipped) of a Spark
    frame whose type has no comparable value (arrays, maps, structs, binary), with the fix;
    ``excludable``: the check takes ``exclude=``, so leaving them out is one. Other engines have
    none."""
    from workbench.engine._spark import refuse_nested as on_spark

    on_spark(frame.unsupported, [c for c in used if c], name=frame.name, check=check, excludable=excludable)


def schema_of_nw(lf: nw.LazyFrame, frame: Frame) -> pl.Schema:
    """Polars dtypes of a derived lazy frame."""
    native = lf.to_native()
    if frame.engine == "polars":
        return native.collect_schema()
    if frame.engine == "duckdb":
        return duckdb_schema(native, name=frame.name)
    from workbench.engine._spark import spark_schema

    return spark_schema(native, name=frame.name)[0]


def collect(lf: nw.LazyFrame, frame: Frame, *, check: str, counts: bool = True) -> pl.DataFrame:
    """Run a summary on the frame's engine and return it as polars (with ``counts``, integer and
    decimal columns as Int64, whatever the engine's count type)."""
    return collect_on(lf, frame.engine, frame.name, check=check, counts=counts)


def collect_on(lf: nw.LazyFrame, engine: Engine, name: str, *, check: str, counts: bool = True) -> pl.DataFrame:
    """:func:`collect` given the engine and the input's name (for errors) instead of a Frame."""
    try:
        out = lf.to_native().collect(engine="streaming") if engine == "polars" else lf.collect("polars").to_native()
    except InputError:
        raise
    except Exception as exc:  # each engine raises its own error types
        from workbench.engine._spark import error_line

        raise InputError(f"{name}: {check} could not compute its summaries on {engine}: "
                         f"{error_line(exc)}") from None
    return int64_counts(out) if counts else out


def engine_of(lf: nw.LazyFrame) -> Engine:
    """The engine a narwhals lazy frame runs on."""
    impl = lf.implementation
    if impl.is_polars():
        return "polars"
    if impl.is_duckdb():
        return "duckdb"
    if impl.is_pyspark() or impl.is_pyspark_connect():
        return "spark"
    raise InputError(f"unsupported engine {impl}: pass a polars, duckdb or Spark frame.")


def frame_summary(frame: Frame) -> InputSummary:
    """Rows and an order-independent content fingerprint of the frame, computed on its engine."""
    native = frame.lf.to_native()
    if frame.engine == "polars":
        return summarize_input(native, name=frame.name)
    return native_summary(native, frame.engine, frame.schema, name=frame.name, unsupported=frame.unsupported)


def count(condition: nw.Expr, engine: Engine | None = None) -> nw.Expr:
    """How many rows meet ``condition`` (nulls do not): a sum of 0/1 flags, which every engine
    adds up (Spark will not sum booleans). Given ``engine="polars"``, the sum of the booleans
    themselves: polars adds those up six times faster than casts."""
    return condition.sum() if engine == "polars" else condition.cast(nw.Int64).sum()


def smallest(values: nw.Expr, engine: Engine | None = None) -> nw.Expr:
    """The smallest value that is not NaN (null if none; infinities count), on every engine: NaN is
    read as null, except on polars (``engine``), whose min already skips NaN, four times faster."""
    return values.min() if engine == "polars" else nw.when(~values.is_nan()).then(values).min()


def largest(values: nw.Expr, engine: Engine | None = None) -> nw.Expr:
    """The largest value that is not NaN (null if none; infinities count); see :func:`smallest`."""
    return values.max() if engine == "polars" else nw.when(~values.is_nan()).then(values).max()


def epoch_us(column: str, dtype: pl.DataType) -> nw.Expr:
    """Microseconds since the Unix epoch of a date or datetime column (a naive one read as UTC),
    the same on every engine."""
    zone = getattr(dtype, "time_zone", None)
    expr = nw.col(column)
    if dtype == pl.Date:
        expr = expr.cast(nw.Datetime("us"))
    if zone and zone != "UTC":  # an instant: the same in UTC, where the origin is
        expr = expr.dt.convert_time_zone("UTC")
    origin = EPOCH.replace(tzinfo=dt.UTC) if zone else EPOCH
    return (expr - nw.lit(origin)).dt.total_microseconds()


def with_window(frame: Frame, column: str, every: dt.timedelta, alias: str) -> nw.LazyFrame:
    """The frame's rows with ``alias``: the index of the ``every``-long window (aligned on the Unix
    epoch) holding ``column``'s time."""
    return _with_epoch(frame, column, alias, int(every.total_seconds() * 1_000_000))


def with_epoch(frame: Frame, column: str, alias: str) -> nw.LazyFrame:
    """The frame's rows with ``alias``: ``column``'s time in microseconds since the Unix epoch."""
    return _with_epoch(frame, column, alias, 1)


def _with_epoch(frame: Frame, column: str, alias: str, width: int) -> nw.LazyFrame:
    """Spark computes it natively (narwhals has no epoch there), with the engine's SQL."""
    dtype = frame.schema[column]
    if frame.engine != "spark":
        epoch = epoch_us(column, dtype)
        return frame.lf.with_columns((epoch // width if width > 1 else epoch).alias(alias))
    from pyspark.sql import functions as F

    from workbench.engine.sql import epoch_us_sql, floor_div_sql

    sql = epoch_us_sql(column, dtype, "spark")
    return nw.from_native(frame.lf.to_native().withColumn(alias, F.expr(floor_div_sql(sql, width, "spark")
                                                                         if width > 1 else sql)))


@dataclass
class Store:
    """What the comparison computes once and reads many times, kept where the data is: in memory
    (polars), in temporary tables of the relation's connection (duckdb), in Spark's cache (memory,
    spilling to disk). ``source``: for duckdb, a relation that reads none of those tables, to drop
    them through. ``truncate``: on Spark, keep a local checkpoint instead, which also cuts the
    query plan there: a result built from many window functions and joins is then planned once,
    not again by every summary that reads it (planning it took more time and memory than running it)."""

    engine: Engine
    source: Any = None
    tables: list[str] = field(default_factory=list)
    cached: list[Any] = field(default_factory=list)
    truncate: bool = False
    checkpoints: list[Any] = field(default_factory=list)

    def keep(self, lf: nw.LazyFrame) -> nw.LazyFrame:
        native = lf.to_native()
        if self.engine == "polars":
            return nw.from_native(native.collect().lazy())
        if self.engine == "spark":
            from pyspark import StorageLevel

            if self.truncate:
                kept = native.localCheckpoint(eager=True, storageLevel=StorageLevel.MEMORY_AND_DISK)
                # its blocks belong to the RDD under the new plan: free that one on release
                self.checkpoints.append(kept._jdf.queryExecution().analyzed().rdd())
                return nw.from_native(kept)
            self.cached.append(native.persist(StorageLevel.MEMORY_AND_DISK))
            return lf
        name = f"workbench_{uuid.uuid4().hex[:16]}"
        native.query("workbench_log", f"CREATE TEMP TABLE {name} AS SELECT * FROM workbench_log")
        self.tables.append(name)
        return nw.from_native(native.query("workbench_log", f"SELECT * FROM {name}"))

    def release(self) -> None:
        for sdf in self.cached:
            sdf.unpersist()
        for rdd in self.checkpoints:
            rdd.unpersist(False)
        self.checkpoints.clear()
        for name in self.tables:
            self.source.query("workbench_log", f"DROP TABLE IF EXISTS {name}")
        self.cached.clear()
        self.tables.clear()
