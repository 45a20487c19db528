"""Reconcile two request logs (production and shadow, or baseline and canary) by request id.

Rule for repeated ids (retries, duplicate logging), stated once and applied to both sides: keep
the attempt with the latest ``timestamp``; among attempts with the same timestamp prefer one
without an error; among those, the one whose row content hashes lowest (so the choice never
depends on the order rows were read in). Without a ``timestamp`` the latest attempt cannot be
told, and the error/hash rule decides alone. Every extra attempt is counted per side
(``duplicate_requests``), and so is every request logged on one side only (``coverage_gap``) and
every row with a null id: nothing is dropped without being counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from workbench.errors import InputError
from workbench.io import FrameLike, require_columns, schema_of, to_lazy

SIDES = ("production", "candidate")


@dataclass(frozen=True)
class Reconciliation:
    """The matched requests (lazy; one row per id on both sides, columns suffixed with the side)
    and the counts of what reconciliation set aside."""

    matched: pl.LazyFrame
    counts: dict[str, int] = field(default_factory=dict)
    roles: dict[str, str | None] = field(default_factory=dict)
    sides: dict[str, pl.LazyFrame] = field(default_factory=dict)

    def side(self, side: str, *, paired: bool = True) -> pl.LazyFrame:
        """One side's requests with the roles under their own names: the matched requests
        (``paired``, shadow mode) or every request that side logged once (canary mode)."""
        if not paired:
            return self.sides[side]
        cols = [c for k, c in self.roles.items() if c and k != "id"]
        return self.matched.select(pl.exclude([f"{c}_{s}" for c in cols for s in SIDES]),
                                   *(pl.col(f"{c}_{side}").alias(c) for c in cols))


def reconcile(
    production: FrameLike,
    candidate: FrameLike,
    *,
    id: str,  # the request id column (the project's vocabulary)
    timestamp: str | None = None,
    prediction: str | None = None,
    score: str | None = None,
    latency: str | None = None,
    error: str | None = None,
    by: str | Sequence[str] = (),
) -> Reconciliation:
    """Match the two logs request by request (see the module docstring for the rule).

    Inputs: the two logs with the same column names for each role; ``id`` is required, the other
    roles are optional. ``latency`` must be numeric and non-negative; ``score`` within [0, 1];
    ``error`` boolean (or 0/1). Output: :class:`Reconciliation` with ``matched`` holding ``id``,
    the ``by`` columns (production's values) and each role as ``<role>_production`` and
    ``<role>_candidate``, and ``counts``: rows, null ids, duplicates per side, requests on one side
    only, matched requests. One lazy plan; ``counts`` costs one pass over each log.
    """
    by_cols = [by] if isinstance(by, str) else list(by)
    roles = {"timestamp": timestamp, "prediction": prediction, "score": score, "latency": latency, "error": error}
    sides = {}
    for side, data in zip(SIDES, (production, candidate), strict=True):
        lf = to_lazy(data, name=side)
        schema = schema_of(lf, name=side)
        require_columns(schema, {"id": id, **roles, **{f"by[{i}]": b for i, b in enumerate(by_cols)}},
                        name=f"the {side} log")
        sides[side] = (lf, schema)
    _check_ids(sides, id)
    _check_values(sides, roles)
    counts: dict[str, int] = {}
    kept = {}
    for side, (lf, schema) in sides.items():
        stats = lf.select(pl.len().alias("rows"), pl.col(id).is_null().sum().alias("null_ids"),
                          pl.col(id).n_unique().alias("ids")).collect().row(0, named=True)
        has_null = stats["null_ids"] > 0
        counts[f"{side}_rows"] = int(stats["rows"])
        counts[f"{side}_null_ids"] = int(stats["null_ids"])
        counts[f"{side}_duplicates"] = int(stats["rows"] - stats["null_ids"] - (stats["ids"] - has_null))
        kept[side] = _latest_attempt(lf.filter(pl.col(id).is_not_null()), schema, id, timestamp, error)
    cols = [c for c in roles.values() if c]
    kept = {side: lf.select(id, *dict.fromkeys([*by_cols, *cols])) for side, lf in kept.items()}
    prod = kept["production"].select(id, *by_cols, *(pl.col(c).alias(f"{c}_production") for c in cols))
    cand = kept["candidate"].select(id, *(pl.col(c).alias(f"{c}_candidate") for c in cols))
    matched = prod.join(cand, on=id, how="inner")
    n_matched = int(matched.select(pl.len()).collect().item())
    counts["matched"] = n_matched
    counts["production_only"] = counts["production_rows"] - counts["production_null_ids"] \
        - counts["production_duplicates"] - n_matched
    counts["candidate_only"] = counts["candidate_rows"] - counts["candidate_null_ids"] \
        - counts["candidate_duplicates"] - n_matched
    return Reconciliation(matched, counts, {**roles, "id": id}, kept)


def _check_ids(sides: dict, id: str) -> None:
    (_, a), (_, b) = sides["production"], sides["candidate"]
    if a[id] != b[id]:
        raise InputError(f"request id {id!r} is {a[id]} in the production log but {b[id]} in the candidate log; "
                         f"cast one side (e.g. pl.col({id!r}).cast(pl.{a[id]})) so the same request has the same id.")


def _check_values(sides: dict, roles: dict[str, str | None]) -> None:
    for side, (lf, schema) in sides.items():
        checks = []
        if roles["latency"]:
            col = roles["latency"]
            if not schema[col].is_numeric():
                raise InputError(f"{side} log: latency column {col!r} must be numeric, got {schema[col]}.")
            checks.append((pl.col(col) < 0).sum().alias("negative_latency"))
        if roles["score"]:
            col = roles["score"]
            if not schema[col].is_numeric():
                raise InputError(f"{side} log: score column {col!r} must be numeric, got {schema[col]}.")
            checks.append(((pl.col(col) < 0) | (pl.col(col) > 1)).sum().alias("score_out_of_range"))
        if roles["error"] and schema[roles["error"]] != pl.Boolean and not schema[roles["error"]].is_integer():
            raise InputError(f"{side} log: error column {roles['error']!r} must be boolean or 0/1, "
                             f"got {schema[roles['error']]}.")
        if not checks:
            continue
        found = lf.select(checks).collect().row(0, named=True)
        if found.get("negative_latency"):
            raise InputError(f"{side} log: {found['negative_latency']:,} rows have a negative {roles['latency']!r}; "
                             "latencies are durations, check the unit and the clock used.")
        if found.get("score_out_of_range"):
            raise InputError(f"{side} log: {found['score_out_of_range']:,} rows have {roles['score']!r} outside "
                             "[0, 1]; pass probabilities as score (raw margins as prediction).")


def _latest_attempt(lf: pl.LazyFrame, schema: pl.Schema, id: str, timestamp: str | None,
                    error: str | None) -> pl.LazyFrame:
    keys, descending = [], []
    if timestamp:
        keys.append(pl.col(timestamp))
        descending.append(True)
    if error:
        keys.append(pl.col(error).cast(pl.Int8))
        descending.append(False)
    keys.append(pl.struct(pl.all()).hash(seed=11))
    descending.append(False)
    return lf.sort([pl.col(id), *keys], descending=[False, *descending], nulls_last=True).unique(
        subset=[id], keep="first", maintain_order=False)
