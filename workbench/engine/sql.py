"""SQL text for the duckdb and Spark backends: identifier quoting, float literals, floor division,
epoch microseconds and lenient number parsing, in each dialect. Only the engine and its backends write SQL."""

from __future__ import annotations

import math
from typing import Any, Literal

import polars as pl

Dialect = Literal["duckdb", "spark"]


def quote(name: str | None, dialect: Dialect = "duckdb") -> str:
    """An identifier quoted for ``dialect`` (backticks on Spark, double quotes on duckdb)."""
    assert name is not None
    if dialect == "spark":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def float_literal(value: Any, dialect: Dialect = "duckdb") -> str:
    """A float literal that reads back as the same double (inf and nan included) in ``dialect``."""
    x = float(value)
    if dialect == "spark" or not math.isfinite(x):  # a Spark literal like 0.1 would be a DECIMAL
        return f"CAST('{x!r}' AS DOUBLE)"
    return repr(x)


def floor_div_sql(x: str, w: int, dialect: Dialect) -> str:
    """``x // w`` rounded down, in ``dialect``."""
    if dialect == "spark":
        return f"(({x} - pmod({x}, {w})) DIV {w})"
    return f"({x} // {w})"


def epoch_us_sql(column: str, dtype: pl.DataType, dialect: Dialect) -> str:
    """Microseconds since the Unix epoch (UTC; a naive datetime read as UTC) of a date/datetime column."""
    col = quote(column, dialect)
    if dialect == "duckdb":
        return f"epoch_us(CAST({col} AS TIMESTAMP))" if dtype == pl.Date else f"epoch_us({col})"
    if dtype == pl.Date:
        return f"(CAST(unix_date({col}) AS BIGINT) * 86400000000)"
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
        return f"timestampdiff(MICROSECOND, TIMESTAMP_NTZ'1970-01-01 00:00:00', {col})"
    return f"unix_micros({col})"


def parse_float_sql(column: str, dtype: pl.DataType, dialect: Dialect) -> str:
    """``column`` (text, or any type read through its text) parsed as a double in ``dialect``: surrounding
    spaces ignored, anything unparseable null (never an error, also under Spark's ANSI mode)."""
    col = quote(column, dialect)
    if dtype != pl.String:
        col = f"CAST({col} AS {'STRING' if dialect == 'spark' else 'VARCHAR'})"
    return f"TRY_CAST(trim({col}) AS DOUBLE)"
