"""The duckdb backend's own needs: a relation's schema as polars dtypes, SQL over a relation, columns
computed by SQL, every k-th row, one row per key (:mod:`workbench.engine.keys`) and whether two
relations can be joined."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from workbench.errors import InputError

if TYPE_CHECKING:
    from workbench.engine.keys import OrderKey


def duckdb_schema(rel: Any, *, name: str) -> pl.Schema:
    """A duckdb relation's columns as polars dtypes; a failing source is reported naming the input.
    A TIMESTAMPTZ is an instant shown in the session's zone: it is read as UTC, like the other engines."""
    try:
        schema = rel.limit(0).pl().schema
    except Exception as exc:  # duckdb raises its own error types for a failing source
        raise InputError(f"{name}: could not read the duckdb relation: {exc}") from None
    return pl.Schema({c: pl.Datetime(t.time_unit, "UTC") if isinstance(t, pl.Datetime) and t.time_zone else t
                      for c, t in schema.items()})


def run_sql(rel: Any, text: str, *, name: str, check: str) -> pl.DataFrame:
    """Run ``text`` (duckdb SQL over the relation, named ``src``) and return its small result as polars."""
    import duckdb

    from workbench.engine.results import int64_counts

    try:
        return int64_counts(rel.query("src", text).pl())
    except duckdb.Error as exc:
        raise InputError(f"{name}: {check} could not compute its summaries in duckdb: {exc}") from exc


def with_sql_columns(rel: Any, columns: Mapping[str, str]) -> Any:
    """The relation with a column per ``alias: SQL expression`` added (its other columns kept)."""
    from workbench.engine.sql import quote

    return rel.project(", ".join(["*", *(f"{sql} AS {quote(alias)}" for alias, sql in columns.items())]))


def every_kth(rel: Any, stride: int, columns: Sequence[str], row_number: str) -> Any:
    """Every ``stride``-th row of ``columns``, in row order (``row_number() OVER ()``); only ``columns``
    are kept, so the row-number column (``row_number``, a reserved name) meets no user column."""
    from workbench.engine.sql import quote

    cols = ", ".join(quote(c) for c in columns)
    view, rn = f"workbench_{uuid.uuid4().hex[:16]}", quote(row_number)
    return rel.query(view, f"SELECT {cols} FROM (SELECT {cols}, row_number() OVER () AS {rn} FROM {view}) "
                           f"WHERE ({rn} - 1) % {int(stride)} = 0")


def first_per_key(rel: Any, key: str, order: Sequence[OrderKey]) -> Any:
    """The relation's rows with a non-null ``key``, one per key: the first by ``order`` (nulls last
    in every direction), as ``QUALIFY row_number()`` over the key (see :mod:`workbench.engine.keys`)."""
    from workbench.engine.sql import quote as q

    keys = ", ".join(f"{q(o.column)} DESC NULLS LAST" if o.descending else
                     f"{'CAST(' + q(o.column) + ' AS INTEGER)' if o.as_int else q(o.column)} ASC NULLS LAST"
                     for o in order) or "1"
    return rel.filter(f"{q(key)} IS NOT NULL").query(
        "workbench_log", f"SELECT * FROM workbench_log QUALIFY row_number() OVER (PARTITION BY {q(key)} "
                         f"ORDER BY {keys}) = 1")


def same_connection(a: Any, b: Any) -> bool:
    """Whether two duckdb relations belong to one connection (duckdb cannot combine relations of
    two). Only a join of their empty projections is built: nothing is read or run."""
    import duckdb

    try:
        a.limit(0).project("1 AS l").cross(b.limit(0).project("1 AS r"))
    except duckdb.InvalidInputException as exc:
        if "different connections" in str(exc):
            return False
        raise
    return True
