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
from workbench.findings.model import InputSummary
from workbench.io import FrameLike, check_time_column, require_columns, schema_of, summarize_input, to_lazy

SIDES = ("production", "candidate")


@dataclass(frozen=True)
class Reconciliation:
    """The matched requests (lazy; one row per id on both sides, columns suffixed with the side)
    and the counts of what reconciliation set aside."""

    matched: pl.LazyFrame
    counts: dict[str, int] = field(default_factory=dict)
    roles: dict[str, str | None] = field(default_factory=dict)
    sides: dict[str, pl.LazyFrame] = field(default_factory=dict)
    inputs: tuple[InputSummary, ...] = ()
    _collected: dict[str, pl.LazyFrame] = field(default_factory=dict, repr=False, compare=False)

    def side(self, side: str, *, paired: bool = True) -> pl.LazyFrame:
        """One side's requests with the roles under their own names: the matched requests
        (``paired``, shadow mode) or every request that side logged once (canary mode)."""
        if not paired:
            if side not in self._collected:  # canary mode reads each side many times: materialise once
                self._collected[side] = self.sides[side].collect().lazy()
            return self._collected[side]
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
    only, matched requests. Each log is read once (the columns used only) and the matched requests
    are materialised once, since every comparison reads them.
    """
    by_cols = [by] if isinstance(by, str) else list(by)
    roles = {"timestamp": timestamp, "prediction": prediction, "score": score, "latency": latency, "error": error}
    sides = {}
    for side, data in zip(SIDES, (production, candidate), strict=True):
        lf = to_lazy(data, name=side, check="the shadow/canary comparison")
        schema = schema_of(lf, name=side)
        require_columns(schema, {"id": id, **roles, **{f"by[{i}]": b for i, b in enumerate(by_cols)}},
                        name=f"the {side} log")
        if timestamp:
            check_time_column(schema, timestamp, name=f"the {side} log", role="timestamp")
        sides[side] = (lf, schema)
    _check_ids(sides, id)
    _check_prediction_types(sides, prediction)
    cols = [c for c in roles.values() if c]
    # each log is read once, only the columns the comparison uses, and sorted by id: repeated ids
    # are then adjacent and the two sides join by merging (faster than hashing 10M ids)
    sides = {side: (lf.select(id, *dict.fromkeys([*by_cols, *cols])).sort(id, nulls_last=True).collect().lazy(),
                    schema) for side, (lf, schema) in sides.items()}
    _check_values(sides, roles)
    inputs = tuple(summarize_input(lf, name=side) for side, (lf, _) in sides.items())  # of the columns used
    counts: dict[str, int] = {}
    kept = {}
    for side, (lf, _schema) in sides.items():
        frame = lf.collect()
        ids = frame.get_column(id)
        repeat = (ids == ids.shift(1)).fill_null(False)
        counts[f"{side}_rows"] = frame.height
        counts[f"{side}_null_ids"] = ids.null_count()
        counts[f"{side}_duplicates"] = int(repeat.sum())
        ided = frame.head(frame.height - ids.null_count())  # nulls sort last
        kept[side] = (_latest_attempt(ided, ids.filter(repeat).unique(), id, timestamp, error)
                      if counts[f"{side}_duplicates"] else ided).lazy()
    prod = kept["production"].select(id, *by_cols, *(pl.col(c).alias(f"{c}_production") for c in cols))
    cand = kept["candidate"].select(id, *(pl.col(c).alias(f"{c}_candidate") for c in cols))
    # materialised once: every comparison reads it, and the join would otherwise run for each
    matched = prod.join(cand, on=id, how="inner").collect().lazy()
    n_matched = int(matched.select(pl.len()).collect().item())
    counts["matched"] = n_matched
    counts["production_only"] = counts["production_rows"] - counts["production_null_ids"] \
        - counts["production_duplicates"] - n_matched
    counts["candidate_only"] = counts["candidate_rows"] - counts["candidate_null_ids"] \
        - counts["candidate_duplicates"] - n_matched
    return Reconciliation(matched, counts, {**roles, "id": id}, kept, inputs)


def _check_ids(sides: dict, id: str) -> None:
    (_, a), (_, b) = sides["production"], sides["candidate"]
    if a[id] != b[id]:
        raise InputError(f"request id {id!r} is {a[id]} in the production log but {b[id]} in the candidate log; "
                         f"cast one side (e.g. pl.col({id!r}).cast(pl.{a[id]})) so the same request has the same id.")


def _check_prediction_types(sides: dict, prediction: str | None) -> None:
    """Both sides' predictions must be comparable: numbers with numbers, text with text."""
    if not prediction:
        return
    (_, a), (_, b) = sides["production"], sides["candidate"]
    pa, pb = a[prediction], b[prediction]
    if pa.is_numeric() != pb.is_numeric() or (pa == pl.Boolean) != (pb == pl.Boolean):
        raise InputError(f"prediction {prediction!r} is {pa} in the production log but {pb} in the candidate log; "
                         "cast one side so that the same class has the same value on both.")


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


def _latest_attempt(frame: pl.DataFrame, repeated: pl.Series, id: str, timestamp: str | None,
                    error: str | None) -> pl.DataFrame:
    """One row per id by the module's rule, keeping ``frame``'s order (sorted by id). Only the
    rows of the ``repeated`` ids are ranked; the others pass through."""
    keys, descending = [], []
    if timestamp:
        keys.append(pl.col(timestamp))
        descending.append(True)
    if error:
        keys.append(pl.col(error).cast(pl.Int8))
        descending.append(False)
    keys.append(pl.struct(pl.exclude("__row")).hash(seed=11))
    descending.append(False)
    indexed = frame.with_row_index("__row")
    candidates = indexed.filter(pl.col(id).is_in(repeated.implode()))
    chosen = candidates.sort([pl.col(id), *keys], descending=[False, *descending], nulls_last=True).unique(
        subset=[id], keep="first")["__row"]
    dropped = candidates.filter(~pl.col("__row").is_in(chosen.implode()))["__row"]
    return indexed.filter(~pl.col("__row").is_in(dropped.implode())).drop("__row")
