"""Validation of the request table (and of separate judgments) and its rows under internal names.

Bad input is an :class:`InputError` naming the column and the fix: negative token counts (with
the first offending rows), token or cost columns that are not numbers, a ``grounded`` score outside
[0, 1] or given without ``grounded_threshold``, a model without a price when the cost comes from
``prices``, an empty table. Missing values are not errors: a request with a null token count is
left out of the token statistics and counted; a request with a null ``grounded`` was not judged.
Judgments given as a separate table are joined on the request id; judged ids that are not in the
requests are counted and reported, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from workbench.engine.inputs import FrameLike, check_time_column, require_columns, schema_of, to_lazy
from workbench.errors import ConfigError, InputError
from workbench.llm import columns as C
from workbench.llm.columns import Columns

Prices = Mapping[str, Any]


@dataclass(frozen=True)
class Prepared:
    """The rows under internal names (lazy), the columns found, the timestamp's time zone (None:
    naive, read as UTC), and facts about the input worth stating (``notes``: counts of null
    tokens, unmatched judgments, ...)."""

    rows: pl.LazyFrame
    source: pl.LazyFrame  # the user's requests, as given (its fingerprint is the input's)
    columns: Columns
    zone: str | None
    notes: dict[str, Any]
    cost_source: str | None  # "column", "prices" or None (no cost)


def prepare(requests: FrameLike, given: Mapping[str, Any], by: Any, versions: Any, *, judgments: FrameLike | None,
            prices: Prices | None, grounded_threshold: float | None) -> Prepared:
    lf = source = to_lazy(requests, name="requests", check=C.OWNER)
    schema = schema_of(lf, name="requests")
    notes: dict[str, Any] = {}
    if judgments is not None:
        lf, schema = _join_judgments(lf, schema, judgments, given, notes)
    cols = C.resolve(schema, given, by, versions)
    roles = cols.roles
    dtype = check_time_column(schema, roles["timestamp"], name="requests", role="timestamp")
    zone = getattr(dtype, "time_zone", None)
    _check_numeric(schema, roles, ("input_tokens", "output_tokens"), integer=True)
    _check_numeric(schema, roles, ("cost", "latency_ms", "retrieval_latency_ms", "k", "retrieved",
                                   "first_relevant_rank"), integer=False)
    cost_source = "column" if "cost" in roles else "prices" if prices is not None else None
    exprs = [_timestamp(roles["timestamp"], dtype).alias(C.TS),
             *(C.text(b).alias(s) for s, b in cols.segments.items()),
             *(C.text(v).alias(s) for s, v in cols.version_names.items()),
             *(C.text(roles[r]).alias(C.ENTITY_NAMES[r]) for r in C.ENTITY_NAMES if r in roles)]
    exprs += _usage(roles, prices, lf, schema)
    exprs += _quality(roles, schema, grounded_threshold)
    rows = lf.select(exprs)
    _check_values(rows, roles, notes, lf)
    if "grounded" in roles and schema[roles["grounded"]].is_numeric():
        _check_scores(lf, roles["grounded"])
    if cost_source is None:
        cols.skipped.setdefault("cost", "no cost column and no prices=")
    return Prepared(rows, source, cols, zone, notes, cost_source)


def _timestamp(column: str, dtype: pl.DataType) -> pl.Expr:
    """The time as UTC instants (a naive time is read as UTC)."""
    expr = pl.col(column)
    if dtype == pl.Date:
        expr = expr.cast(pl.Datetime("us"))
    zone = getattr(dtype, "time_zone", None)
    if zone:
        expr = expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return expr.cast(pl.Datetime("us"))


def _check_numeric(schema: Mapping[str, Any], roles: Mapping[str, str], names: tuple[str, ...], *,
                   integer: bool) -> None:
    for role in names:
        if role in roles:
            dtype = schema[roles[role]]
            ok = dtype.is_integer() if integer else dtype.is_numeric()
            if not ok and dtype != pl.Null:
                kind = "integer counts" if integer else "numbers"
                raise InputError(f"requests: {role} column {roles[role]!r} must hold {kind}, got {dtype}; cast it "
                                 f"(e.g. pl.col({roles[role]!r}).cast(pl.Int64)).")


def _usage(roles: Mapping[str, str], prices: Prices | None, lf: pl.LazyFrame, schema: Mapping[str, Any]) -> list:
    out = []
    for role, internal in (("input_tokens", C.IN), ("output_tokens", C.OUT)):
        if role in roles:
            out.append(pl.col(roles[role]).cast(pl.Int64).alias(internal))
    if "cost" in roles:
        out.append(pl.col(roles["cost"]).cast(pl.Float64).alias(C.COST))
    elif prices is not None:
        out.append(_priced(roles, prices, lf).alias(C.COST))
    if "latency_ms" in roles:
        out.append(pl.col(roles["latency_ms"]).cast(pl.Float64).alias(C.LAT))
    if "status" in roles:
        out.append((pl.col(roles["status"]).cast(pl.String) != "ok").alias(C.ERROR))
    return out


def price_table(prices: Prices) -> dict[str, tuple[float, float]]:
    """Model -> (input, output) price per 1,000 tokens, from ``{"gpt-4o": {"input": 0.0025,
    "output": 0.01}}`` or ``{"gpt-4o": (0.0025, 0.01)}`` (as :func:`workbench.telemetry.requests_from_spans`)."""
    if not isinstance(prices, Mapping):
        raise ConfigError(f"The 'prices' parameter of {C.OWNER} must map each model to its price per 1,000 tokens, "
                          f"e.g. {{'gpt-4o': {{'input': 0.0025, 'output': 0.01}}}}. Got {prices!r}.")
    table = {}
    for model, price in prices.items():
        pair = (price.get("input"), price.get("output")) if isinstance(price, Mapping) else price
        if not (isinstance(model, str) and isinstance(pair, tuple | list) and len(pair) == 2
                and all(isinstance(p, int | float) and not isinstance(p, bool) and p >= 0 for p in pair)):
            raise ConfigError(f"The 'prices' parameter of {C.OWNER} must map each model to its price per 1,000 "
                              f"tokens, e.g. {{'gpt-4o': {{'input': 0.0025, 'output': 0.01}}}}; got {model!r}: "
                              f"{price!r}.")
        table[model] = (float(pair[0]), float(pair[1]))
    return table


def _priced(roles: Mapping[str, str], prices: Prices, lf: pl.LazyFrame) -> pl.Expr:
    """Each request's cost: its tokens at its model's price; a model without a price is refused by name."""
    table = price_table(prices)
    if "model" not in roles:
        raise InputError(f"requests: prices= needs the model of each request, but there is no column "
                         f"{C.DEFAULTS['model']!r}; name it with model=..., or give a cost column (cost=...).")
    model = roles["model"]
    used = lf.select(pl.col(model).cast(pl.String).unique()).collect().to_series().to_list()
    unknown = sorted((m for m in used if m not in table), key=str)
    if unknown:
        example = next((m for m in unknown if m is not None), "my-model")
        raise InputError(f"requests: no price for the model(s) {unknown} in column {model!r}. Add them to prices, "
                         f"e.g. prices={{..., {example!r}: {{'input': 0.0025, 'output': 0.01}}}} (per 1,000 tokens), "
                         "or give a cost column (cost=...).")
    names = pl.col(model).cast(pl.String)
    price_in = names.replace_strict({m: p[0] for m, p in table.items()}, default=None, return_dtype=pl.Float64)
    price_out = names.replace_strict({m: p[1] for m, p in table.items()}, default=None, return_dtype=pl.Float64)
    tokens_in = pl.col(roles["input_tokens"]).cast(pl.Float64) if "input_tokens" in roles else pl.lit(0.0)
    tokens_out = pl.col(roles["output_tokens"]).cast(pl.Float64) if "output_tokens" in roles else pl.lit(0.0)
    return (tokens_in * price_in + tokens_out * price_out) / 1000


def _quality(roles: Mapping[str, str], schema: Mapping[str, Any], threshold: float | None) -> list[pl.Expr]:
    out = []
    if "grounded" in roles:
        column = roles["grounded"]
        dtype = schema[column]
        if dtype == pl.Boolean:
            if threshold is not None:
                raise ConfigError(f"grounded_threshold applies to a score, but {column!r} is already true/false; "
                                  "leave grounded_threshold out.")
            out.append(pl.col(column).alias(C.GROUNDED))
        elif dtype.is_numeric():
            if threshold is None:
                raise ConfigError(f"requests: grounded column {column!r} holds scores ({dtype}), not true/false: "
                                  "pass grounded_threshold= (a score at or above it counts as grounded, e.g. 0.5).")
            out.append((pl.col(column).cast(pl.Float64) >= threshold).alias(C.GROUNDED))
        elif dtype != pl.Null:
            raise InputError(f"requests: grounded column {column!r} must be true/false (null: not judged) or a "
                             f"score in [0, 1] with grounded_threshold=; got {dtype}.")
        else:
            out.append(pl.lit(None, pl.Boolean).alias(C.GROUNDED))
    if "first_relevant_rank" in roles:
        out.append(pl.col(roles["first_relevant_rank"]).cast(pl.Float64).alias(C.RANK))
        known = pl.col(roles["relevance_known"]).cast(pl.Boolean) if "relevance_known" in roles else pl.lit(True)
        out.append(known.fill_null(False).alias(C.KNOWN))
    if "retrieved" in roles:
        out.append(pl.col(roles["retrieved"]).cast(pl.Float64).alias(C.RETRIEVED))
    if "retrieval_latency_ms" in roles:
        out.append(pl.col(roles["retrieval_latency_ms"]).cast(pl.Float64).alias(C.RLAT))
    if "query_type" in roles:
        out.append(C.text(roles["query_type"]).alias(C.QTYPE))
    return out


def _check_values(rows: pl.LazyFrame, roles: Mapping[str, str], notes: dict[str, Any], lf: pl.LazyFrame) -> None:
    """Empty input, negative tokens or costs, scores outside [0, 1]: one pass over the rows."""
    names = set(rows.collect_schema())
    checks = [pl.len().alias("rows")]
    for internal, role in ((C.IN, "input_tokens"), (C.OUT, "output_tokens"), (C.COST, "cost")):
        if internal in names:
            checks += [(pl.col(internal) < 0).sum().alias(f"negative {role}"),
                       pl.col(internal).is_null().sum().alias(f"null {role}")]
    found = rows.select(checks).collect().row(0, named=True)
    if found["rows"] == 0:
        raise InputError("requests: no rows. Pass the request log (one row per request).")
    for role in ("input_tokens", "output_tokens", "cost"):
        if found.get(f"negative {role}"):
            column = roles.get(role, role)
            where = lf.with_row_index("row").filter(pl.col(column) < 0).select("row").head(5).collect()["row"]
            raise InputError(f"requests: {found[f'negative {role}']:,} rows have a negative {role} in column "
                             f"{column!r} (rows {where.to_list()}{', …' if found[f'negative {role}'] > 5 else ''}); "
                             "counts and costs cannot be negative: fix or drop those rows.")
        if found.get(f"null {role}"):
            notes[f"null_{role}"] = int(found[f"null {role}"])
    notes["rows"] = int(found["rows"])


def _check_scores(lf: pl.LazyFrame, column: str) -> None:
    """A grounded score must lie in [0, 1] (null: not judged)."""
    score = pl.col(column).cast(pl.Float64)
    outside = lf.select(((score < 0) | (score > 1) | score.is_nan()).sum()).collect().item()
    if outside:
        raise InputError(f"requests: {outside:,} rows have a grounded score in column {column!r} outside [0, 1] (or "
                         "NaN); pass scores in [0, 1] (null for a request that was not judged), or true/false.")


def _join_judgments(lf: pl.LazyFrame, schema: pl.Schema, judgments: FrameLike, given: Mapping[str, Any],
                    notes: dict[str, Any]) -> tuple[pl.LazyFrame, pl.Schema]:
    """The requests with the judgments' ``grounded`` column, joined on the request id (the
    requests' own ``grounded`` column, if any, is replaced). Judged ids not in the requests are
    counted in ``notes`` (``unmatched_judgments`` and a few ``unmatched_ids``); an id judged twice,
    or repeated in the requests, is refused."""
    rid, grounded = given["request_id"], given["grounded"]
    if rid is None or grounded is None:
        raise ConfigError("judgments= needs request_id= and grounded= (the columns to join on and to read).")
    judged = to_lazy(judgments, name="judgments", check=C.OWNER)
    judged_schema = schema_of(judged, name="judgments")
    require_columns(schema, {"request_id": rid}, name="requests")
    require_columns(judged_schema, {"request_id": rid, "grounded": grounded}, name="judgments")
    judged = judged.select(pl.col(rid).cast(schema[rid]), grounded)
    twice = judged.group_by(rid).len().filter(pl.col("len") > 1).select(pl.len()).collect().item()
    if twice:
        raise InputError(f"judgments: {twice:,} request ids are judged more than once in column {rid!r}; keep one "
                         "judgment per request (e.g. the latest: judgments.unique(subset=..., keep='last')).")
    repeated = lf.group_by(rid).len().filter(pl.col("len") > 1).select(pl.len()).collect().item()
    if repeated:
        raise InputError(f"requests: {repeated:,} request ids appear more than once in column {rid!r}, so a judgment "
                         "could not be joined to one request; give each request its own id (or drop the copies).")
    unmatched = judged.join(lf.select(rid), on=rid, how="anti").select(rid).sort(rid).collect()[rid]
    if unmatched.len():
        notes["unmatched_judgments"] = unmatched.len()
        notes["unmatched_ids"] = unmatched.head(5).to_list()
    lf = lf.drop(grounded, strict=False).join(judged, on=rid, how="left", maintain_order="left")
    notes["judgments_joined_on"] = rid
    return lf, schema_of(lf, name="requests")
