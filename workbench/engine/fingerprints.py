"""Row counts and order-independent content fingerprints of inputs, computed on their own engine
(the run record's "same data?" evidence): a polars frame in one pass, a duckdb relation or a Spark
DataFrame with one SQL aggregate where the data is."""

from __future__ import annotations

import hashlib
from typing import Any

import polars as pl

from workbench.engine.inputs import schema_of
from workbench.engine.sql import quote
from workbench.findings.model import InputSummary


def summarize_input(lf: pl.LazyFrame, *, name: str) -> InputSummary:
    """Row count and an order-independent content fingerprint of ``lf`` (one pass)."""
    schema = schema_of(lf, name=name)
    if not schema:
        return InputSummary(name, 0, (), "empty")
    stats = lf.select(
        pl.len().alias("rows"),
        pl.struct(pl.all()).hash(seed=7).cast(pl.UInt64).sum().alias("h"),
    ).collect()
    schema_text = ";".join(f"{k}:{v}" for k, v in schema.items())
    digest = hashlib.sha1(f"{schema_text}|{stats['h'][0]}".encode()).hexdigest()[:16]
    return InputSummary(name, int(stats["rows"][0]), tuple(schema), f"sha1:{digest}")


def native_summary(native: Any, engine: str, schema: pl.Schema, *, name: str,
                   unsupported: dict[str, str] | None = None) -> InputSummary:
    """Row count and content fingerprint of a duckdb relation or a Spark DataFrame (``engine``),
    computed there; ``schema``: its columns as polars dtypes, ``unsupported``: Spark columns of
    nested or binary types (hashed through JSON / base64, which Spark can hash)."""
    if engine == "duckdb":
        from workbench.engine._duckdb import run_sql as duckdb_sql

        row = duckdb_sql(native, "SELECT count(*) AS rows, CAST(sum(hash(src)) AS VARCHAR) AS h FROM src",
                         name=name, check="fingerprint").row(0)
    else:
        from workbench.engine._spark import run_sql, view_name

        text = (f"SELECT count(*) AS rows, CAST(sum(CAST({spark_row_hash(schema, unsupported or {})} "
                f"AS DECIMAL(38, 0))) AS STRING) AS h FROM {view_name(native)}")
        row = run_sql(native, text, name=name, check="fingerprint").row(0)
    schema_text = ";".join(f"{k}:{v}" for k, v in schema.items())
    digest = hashlib.sha1(f"{schema_text}|{row[1]}".encode()).hexdigest()[:16]
    return InputSummary(name, int(row[0]), tuple(schema), f"{engine}-sha1:{digest}")


def spark_row_hash(schema: pl.Schema, unsupported: dict[str, str]) -> str:
    """Spark SQL for a 64-bit hash of each row (maps, which Spark will not hash, as JSON; binary
    as base64)."""
    parts = [f"to_json({quote(c, 'spark')})" if t.startswith("map") else
             f"base64({quote(c, 'spark')})" if t == "binary" else quote(c, "spark")
             for c, t in ((c, unsupported.get(c, "")) for c in schema)]
    return f"xxhash64({', '.join(parts)})"
