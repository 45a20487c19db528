"""Apache Spark as an engine for the summaries stage: recognise a Spark DataFrame, read its
schema as polars dtypes, run a summary query in Spark SQL and bring back only its (small)
result as a polars frame. pyspark is imported only when the user passes a Spark DataFrame.

What runs on the cluster: the summary queries (aggregates grouped by window × segment × bin).
What comes back: their result rows (a few hundred to a few thousand), through Arrow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from workbench.errors import InputError

if TYPE_CHECKING:
    from workbench.engine.keys import OrderKey


def is_spark(data: Any) -> bool:
    """True for a classic or Spark Connect ``pyspark.sql`` DataFrame."""
    module = type(data).__module__
    return module.startswith("pyspark.sql") and type(data).__name__ == "DataFrame"


def spark_schema(sdf: Any, *, name: str) -> tuple[pl.Schema, dict[str, str]]:
    """The DataFrame's columns as polars dtypes, and the columns whose Spark type has no
    comparable value (arrays, maps, structs, binary) with that type's name; those are typed
    ``pl.Null`` here so that naming them is left to the check that would read them.

    A source that fails lazily (e.g. a parquet path removed after the DataFrame was defined)
    is reported naming the input."""
    try:
        fields = sdf.schema.fields
    except Exception as exc:  # the source is read lazily: a missing path surfaces here
        raise InputError(f"{name}: could not read the Spark DataFrame's schema: {error_line(exc)}") from None
    schema: dict[str, pl.DataType] = {}
    unsupported: dict[str, str] = {}
    for field in fields:
        dtype = _polars_dtype(field.dataType)
        if dtype is None:
            unsupported[field.name] = field.dataType.simpleString()
            dtype = pl.Null()
        schema[field.name] = dtype
    return pl.Schema(schema), unsupported


def _polars_dtype(t: Any) -> pl.DataType | None:
    name = t.typeName()
    simple = {"byte": pl.Int8, "short": pl.Int16, "integer": pl.Int32, "long": pl.Int64, "float": pl.Float32,
              "double": pl.Float64, "string": pl.String, "varchar": pl.String, "char": pl.String,
              "boolean": pl.Boolean, "date": pl.Date, "void": pl.Null}
    if name in simple:
        return simple[name]()
    if name == "timestamp":  # an instant, stored as UTC microseconds
        return pl.Datetime("us", "UTC")
    if name == "timestamp_ntz":
        return pl.Datetime("us")
    if name == "decimal":
        return pl.Decimal(t.precision, t.scale)
    return None


def refuse_nested(unsupported: dict[str, str], used: list[str] | tuple[str, ...], *, name: str, check: str,
                  excludable: bool = False) -> None:
    """Raise naming every column the check would read whose Spark type it cannot compare;
    ``excludable``: the check takes ``exclude=``, so say that leaving them out is a fix."""
    bad = {c: unsupported[c] for c in used if c in unsupported}
    if bad:
        listed = ", ".join(f"{c!r} ({t})" for c, t in bad.items())
        first = next(iter(bad))
        fix = f"Exclude them (exclude={sorted(bad)}) or flatten them first" if excludable else "Flatten them first"
        raise InputError(
            f"{name}: {check} cannot read Spark column(s) {listed}: nested and binary types have no single value "
            f"to compare. {fix}, e.g. df.withColumn('{first}_x', F.col('{first}')['x']).")


def view_name(sdf: Any) -> str:
    """A temporary view of the DataFrame for SQL, unique to this DataFrame object and session."""
    view = f"workbench_src_{id(sdf):x}"
    sdf.createOrReplaceTempView(view)
    return view


def run_sql(sdf: Any, text: str, *, name: str, check: str) -> pl.DataFrame:
    """Run ``text`` (Spark SQL over :func:`view_name`) and return its result as polars."""
    try:
        table = sdf.sparkSession.sql(text).toArrow()
    except Exception as exc:  # Spark raises its own analysis/execution errors
        raise InputError(f"{name}: {check} could not compute its summaries on Spark: {error_line(exc)}") from None
    from workbench.engine.results import int64_counts

    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return int64_counts(frame)


def with_sql_columns(sdf: Any, columns: Mapping[str, str]) -> Any:
    """The DataFrame with a column per ``alias: Spark SQL expression`` added."""
    from pyspark.sql import functions as F

    return sdf.withColumns({alias: F.expr(sql) for alias, sql in columns.items()})


def every_kth(sdf: Any, stride: int, columns: Sequence[str], row_number: str) -> Any:
    """Every ``stride``-th row of ``columns`` by ``monotonically_increasing_id`` (no shuffle): in row order
    for one partition; of each partition, at ids that are multiples of ``stride``, for several. Only
    ``columns`` are kept, so the id column (``row_number``, a reserved name) meets no user column."""
    from pyspark.sql import functions as F

    from workbench.engine.sql import quote

    cols = [F.col(quote(c, "spark")) for c in columns]
    return sdf.select(*cols, F.monotonically_increasing_id().alias(row_number)).where(
        F.col(row_number) % int(stride) == 0).select(*cols)


def stacked_value_counts(sdf: Any, keys: Sequence[str], columns: Sequence[str], *, value: str, count: str,
                         stacked: str) -> pl.DataFrame:
    """Rows per group of ``keys``, column (its index in ``columns``, column ``stacked``) and value (column
    ``value``) of ``columns`` (of one type), counted in one job: each row is stacked once per column."""
    from pyspark.sql import functions as F

    from workbench.engine.sql import quote

    pairs = ", ".join(f"{i}, {quote(c, 'spark')}" for i, c in enumerate(columns))
    rows = sdf.selectExpr(*(quote(k, "spark") for k in keys),
                          f"stack({len(columns)}, {pairs}) AS ({quote(stacked, 'spark')}, {quote(value, 'spark')})")
    group = [F.col(quote(c, "spark")) for c in (*keys, stacked, value)]
    frame = pl.from_arrow(rows.groupBy(*group).agg(F.count(F.lit(1)).alias(count)).toArrow())
    assert isinstance(frame, pl.DataFrame)
    return frame


def first_per_key(sdf: Any, key: str, order: Sequence[OrderKey]) -> Any:
    """The DataFrame's rows with a non-null ``key``, one per key: the first by ``order`` (nulls last
    in every direction), as ``row_number()`` over a window per key (see :mod:`workbench.engine.keys`)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from workbench.engine.reserved import ATTEMPT

    keys = [(F.col(o.column).desc_nulls_last() if o.descending else
             (F.col(o.column).cast("int") if o.as_int else F.col(o.column)).asc_nulls_last()) for o in order]
    window = Window.partitionBy(key).orderBy(*keys) if keys else Window.partitionBy(key).orderBy(F.lit(0))
    return sdf.where(F.col(key).isNotNull()).withColumn(ATTEMPT, F.row_number().over(window)) \
        .where(F.col(ATTEMPT) == 1).drop(ATTEMPT)


def error_line(exc: Exception) -> str:
    """The informative line of a Spark error: for a JVM error, its root cause (e.g. the
    ``FileNotFoundException`` naming a missing file), otherwise the message's first line."""
    cause = getattr(exc, "java_exception", None)
    if cause is not None:
        while cause.getCause() is not None:
            cause = cause.getCause()
        text = str(cause.toString())
    else:
        text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
