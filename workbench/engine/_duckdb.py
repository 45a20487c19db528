"""The duckdb backend's own needs: a relation's schema as polars dtypes and SQL over a relation."""

from __future__ import annotations

from typing import Any

import polars as pl

from workbench.errors import InputError


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
