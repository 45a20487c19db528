"""The serving request log, read once: the used columns under internal names, timestamps in UTC, a window index
per row, exact copies of a row dropped, and the problems of the log counted (they become findings).

Rules: a naive ``timestamp`` is read as UTC (and said so); an aware one is converted to UTC. ``attempt`` is an
integer (1 = the original request); ``fallback`` and ``circuit_open`` are booleans. A row written twice (every
used column equal) is one request: the copies are dropped and counted. Two different rows with the same
``request_id`` and ``attempt`` are kept and counted (``duplicate_request_ids``). A retry (``attempt > 1``)
whose key (``idempotency_key``, else ``request_id``) has no ``attempt == 1`` row is an orphan retry: counted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from workbench.engine.inputs import FrameLike, check_time_column, schema_of, to_lazy
from workbench.errors import InputError
from workbench.service import columns as C

UTC_US = pl.Datetime("us", "UTC")
BOOLEANS = ("fallback", "circuit_open")
TEXT = ("request_id", "idempotency_key", "status", "error_class", "output_hash", "side_effect_id", "dependency")


@dataclass(frozen=True)
class Log:
    """The prepared log: ``rows`` (internal column names, sorted by key, attempt and time), the ``columns``,
    the window length ``every``, whether the timestamps were ``naive``, and ``counts`` of its problems
    (``rows``, ``exact_copies``, ``duplicate_ids``, ``orphan_retries``) with ``examples`` of each."""

    rows: pl.DataFrame
    columns: C.Columns
    every: dt.timedelta
    naive: bool
    counts: Mapping[str, int]
    examples: Mapping[str, list[Any]]


def read_log(requests: FrameLike, given: Mapping[str, Any], by: str | Sequence[str] | None,
             every: dt.timedelta, stratify: str | None = None) -> Log:
    """Open ``requests`` (any input :func:`~workbench.engine.inputs.to_lazy` accepts), resolve the columns
    (:func:`~workbench.service.columns.resolve`), check their types and collect the used columns once."""
    lf = to_lazy(requests, name="requests", check=C.OWNER)
    schema = schema_of(lf, name="requests")
    cols = C.resolve(given, by, schema, stratify)
    dtype = check_time_column(schema, cols.roles["timestamp"] or "", name="requests", role="timestamp")
    naive = getattr(dtype, "time_zone", None) is None
    _check_types(schema, cols)
    rows = _select(lf, cols, naive, every).collect()
    if rows.height == 0:
        raise InputError("requests: the log is empty (no rows); nothing to check. Check the path or the filter "
                         "that produced it, or pass only spans=.")
    total = rows.height
    rows = rows.unique(maintain_order=True)
    counts = {"rows": total, "exact_copies": total - rows.height}
    examples: dict[str, list[Any]] = {}
    rid, attempt = C.internal("request_id"), C.internal("attempt")
    id_keys = [rid, attempt] if cols.has("attempt") else [rid]
    dup = rows.group_by(id_keys).len().filter(pl.col("len") > 1).sort(id_keys)
    counts["duplicate_ids"] = int(dup.get_column("len").sum() - dup.height) if dup.height else 0
    examples["duplicate_ids"] = dup.get_column(rid).unique(maintain_order=True).head(5).to_list()
    if cols.has("attempt"):
        originals = rows.filter(pl.col(attempt) == 1).select(C.KEY).unique()
        orphans = rows.filter(pl.col(attempt) > 1).join(originals, on=C.KEY, how="anti").sort(C.KEY, C.TS)
        counts["orphan_retries"] = orphans.height
        keys = orphans.get_column(C.KEY).str.slice(2)  # without the "k:" / "r:" prefix
        examples["orphan_retries"] = keys.unique(maintain_order=True).head(5).to_list()
    sort = [C.KEY, *([attempt] if cols.has("attempt") else []), C.TS]
    return Log(rows.sort(sort, maintain_order=True), cols, every, naive, counts, examples)


def _drop_copies(rows: pl.DataFrame, id_keys: list[str]) -> pl.DataFrame:
    """``rows`` without exact copies (first kept): only rows sharing an id can be copies, so only those are
    compared column by column."""
    shared = rows.group_by(id_keys).len().filter(pl.col("len") > 1).drop("len")
    if shared.height == 0:
        return rows
    suspects = rows.join(shared, on=id_keys, how="semi", maintain_order="left")
    return pl.concat([rows.join(shared, on=id_keys, how="anti", maintain_order="left"),
                      suspects.unique(maintain_order=True)])


def _check_types(schema: Mapping[str, Any], cols: C.Columns) -> None:
    for role in BOOLEANS:
        name = cols.roles[role]
        if name is not None and schema[name] != pl.Boolean:
            raise InputError(f"requests: column {name!r} ({role}) must be boolean (true/false), got {schema[name]}. "
                             f"Convert it, e.g. pl.col({name!r}) == 'true'.")
    for role in ("attempt", "latency_ms"):
        name = cols.roles[role]
        if name is not None and not schema[name].is_numeric():
            raise InputError(f"requests: column {name!r} ({role}) must be numeric, got {schema[name]}. "
                             f"Cast it, e.g. pl.col({name!r}).cast(pl.Float64).")


def _select(lf: pl.LazyFrame, cols: C.Columns, naive: bool, every: dt.timedelta) -> pl.LazyFrame:
    ts_name = cols.roles["timestamp"] or ""
    ts = pl.col(ts_name).cast(pl.Datetime("us"))
    ts = ts.dt.replace_time_zone("UTC") if naive else pl.col(ts_name).dt.convert_time_zone("UTC").cast(UTC_US)
    exprs = [ts.alias(C.TS)]
    for role, name in cols.roles.items():
        if name is None or role == "timestamp":
            continue
        col = pl.col(name)
        if role in TEXT:
            col = col.cast(pl.String)
        elif role == "attempt":
            col = col.cast(pl.Int64)
        elif role == "latency_ms":
            col = col.cast(pl.Float64)
        exprs.append(col.alias(C.internal(role)))
    exprs += [pl.col(b).cast(pl.String).fill_null("null").alias(s) for s, b in cols.names.items()]
    if cols.stratum is not None:
        exprs.append(pl.col(cols.stratum).cast(pl.String).fill_null("null").alias(C.STRATUM))
    every_us = int(every / dt.timedelta(microseconds=1))
    key = pl.lit("r:") + pl.col(C.internal("request_id"))  # prefixes: a request id never meets an equal key
    if cols.has("idempotency_key"):
        key = pl.coalesce(pl.lit("k:") + pl.col(C.internal("idempotency_key")), key)
    return lf.select(exprs).with_columns(
        pl.col(C.TS).dt.epoch("us").floordiv(every_us).alias(C.WINDOW), key.alias(C.KEY))
