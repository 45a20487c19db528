"""Reconcile two request logs (production and shadow, or baseline and canary) by request id.

Rule for repeated ids (retries, duplicate logging), stated once and applied to both sides: keep
the attempt with the latest ``timestamp``; among attempts with the same timestamp prefer one
without an error; among those, the one whose logged values (prediction, score, latency, then the
segment columns) are smallest, in that order, so the choice never depends on the order rows were
read in, nor on the engine. Without a ``timestamp`` the latest attempt cannot be told, and the
other rules decide alone. Every extra attempt is counted per side (``duplicate_requests``), and
so is every request logged on one side only (``coverage_gap``) and every row with a null id:
nothing is dropped without being counted.

The logs stay on their engine: polars (default; sorted by id and merged), or a duckdb relation or
a Spark DataFrame (repeated ids resolved by a window function, the sides joined by the engine);
the engine layer does each engine's part (:func:`workbench.engine.keys.first_per_key`).
Only counts come back here. Inside, the columns are renamed by role as they are read
(:mod:`workbench.shadow.columns`): a user's column name never meets one of the comparison's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import narwhals as nw
import polars as pl

from workbench.engine.frames import (
    Engine,
    Frame,
    Store,
    collect_on,
    count,
    frame_summary,
    open_frame,
    read_once,
    refuse_nested,
    same_connection,
    schema_of_nw,
)
from workbench.engine.inputs import FrameLike, check_time_column, require_columns
from workbench.engine.keys import OrderKey, first_per_key
from workbench.engine.labels import utc_fix
from workbench.errors import ConfigError, InputError
from workbench.findings.model import InputSummary
from workbench.shadow.columns import ID, by_column, refuse_reserved, role

SIDES = ("production", "candidate")
CHECK = "the shadow/canary comparison"


@dataclass(frozen=True)
class Reconciliation:
    """The matched requests (lazy, on the logs' engine; one row per id on both sides) and the
    counts of what reconciliation set aside. ``table`` and ``sides`` use the comparison's own
    column names (:mod:`workbench.shadow.columns`): :data:`~workbench.shadow.columns.ID`, the
    segment columns ``by_column(i)`` and each role as ``role(name, side)`` (``table``) or
    ``role(name)`` (``sides``); ``roles`` and ``by`` give the user's names; ``schema`` is
    ``table``'s."""

    table: nw.LazyFrame
    counts: dict[str, int] = field(default_factory=dict)
    roles: dict[str, str | None] = field(default_factory=dict)
    sides: dict[str, nw.LazyFrame] = field(default_factory=dict)
    inputs: tuple[InputSummary, ...] = ()
    engine: Engine = "polars"
    schema: pl.Schema = field(default_factory=pl.Schema)
    store: Store = field(default_factory=lambda: Store("polars"), repr=False, compare=False)
    _collected: dict[str, nw.LazyFrame] = field(default_factory=dict, repr=False, compare=False)
    by: tuple[str, ...] = ()

    @property
    def matched(self) -> Any:
        """The matched requests as the engine's own lazy frame (a polars LazyFrame, a duckdb
        relation or a Spark DataFrame) with the user's names: ``id``, the ``by`` columns
        (production's values) and each role's column as ``<column>_production`` and
        ``<column>_candidate``. A name that would repeat (a segment column already called
        ``pred_production``) keeps the comparison's own name."""
        id_column = self.roles["id"]
        assert id_column is not None  # reconcile() sets it to the checked id column
        names = {ID: id_column, **{by_column(i): b for i, b in enumerate(self.by)}}
        names |= {role(r, s): f"{c}_{s}" for r, c in self.roles.items() if c and r != "id" for s in SIDES}
        seen: set[str] = set()
        exprs = []
        for c in self.table.columns:
            name = names.get(c, c)
            name = c if name in seen else name
            seen.add(name)
            exprs.append(nw.col(c).alias(name))
        return self.table.select(*exprs).to_native()

    def side(self, side: str, *, paired: bool = True) -> nw.LazyFrame:
        """One side's requests with each role as ``role(name)``: the matched requests (``paired``,
        shadow mode) or every request that side logged once (canary mode)."""
        if not paired:
            if side not in self._collected:  # canary mode reads each side many times: computed once
                self._collected[side] = self.keep(self.sides[side])
            return self._collected[side]
        used = [r for r, c in self.roles.items() if c and r != "id"]
        return self.table.select(nw.col(ID), *(nw.col(by_column(i)) for i in range(len(self.by))),
                                 *(nw.col(role(r, side)).alias(role(r)) for r in used))

    def keep(self, lf: nw.LazyFrame) -> nw.LazyFrame:
        """``lf`` computed once, where the data is, for the comparisons that read it again."""
        return self.store.keep(lf)

    def release(self) -> None:
        """Free what the engine keeps for the comparison (Spark's cache, duckdb's temporary tables)."""
        self.store.release()

    def collect(self, lf: nw.LazyFrame, *, counts: bool = True) -> pl.DataFrame:
        """Run a summary of the matched requests (or of one side) on the engine; polars back."""
        return collect_on(lf, self.engine, "the request logs", check=CHECK, counts=counts)


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

    Inputs: the two logs (polars, pandas or arrow frames, parquet paths, duckdb relations or
    Spark DataFrames; both on one engine) with the same column names for each role; ``id`` is
    required, the other roles are optional. ``latency`` must be numeric and non-negative;
    ``score`` within [0, 1]; ``error`` boolean (or 0/1). Output: :class:`Reconciliation` with
    ``matched`` holding ``id``, the ``by`` columns (production's values) and each role as
    ``<column>_production`` and ``<column>_candidate``, and ``counts``: rows, null ids, duplicates per
    side, requests on one side only, matched requests. Each log is read once for the rule (on
    polars, only the columns used, sorted by id) and the matched requests are computed once where
    the data is (:class:`Store`), since every comparison reads them; :meth:`Reconciliation.release`
    frees them. A used column may not start with the reserved prefix ``__wb_``; the logs' other
    columns are never read.
    """
    roles = {"timestamp": timestamp, "prediction": prediction, "score": score, "latency": latency, "error": error}
    by_cols = _column_names(id, by, roles)
    frames = _open_logs(production, candidate, id, roles, by_cols)
    used_roles = {r: c for r, c in roles.items() if c}  # role: column, of the roles given
    # each log read once, only the columns used (on polars into memory, sorted by id: see read_once)
    plain = {s: read_once(f.with_lf(f.lf.select(*dict.fromkeys([id, *by_cols, *used_roles.values()]))),
                          sorted_by=id) for s, f in frames.items()}
    inputs = tuple(frame_summary(f) for f in plain.values())  # of the columns used, under the user's names
    # renamed by role: the comparison's columns never meet the user's names
    renamed = [nw.col(id).alias(ID), *(nw.col(b).alias(by_column(i)) for i, b in enumerate(by_cols)),
               *(nw.col(c).alias(role(r)) for r, c in used_roles.items())]
    selected = {s: f.with_lf(f.lf.select(*renamed)) for s, f in plain.items()}
    _check_values(selected, roles)
    counts: dict[str, int] = {}
    kept = {}
    for side, f in selected.items():
        kept[side], found = first_per_key(f, ID, _attempt_order(roles, len(by_cols)), check=CHECK)
        counts |= {f"{side}_rows": found.rows, f"{side}_null_ids": found.null_keys,
                   f"{side}_duplicates": found.duplicates}
    by_keys = [by_column(i) for i in range(len(by_cols))]
    prod = kept["production"].select(ID, *by_keys, *(nw.col(role(r)).alias(role(r, "production")) for r in used_roles))
    cand = kept["candidate"].select(ID, *(nw.col(role(r)).alias(role(r, "candidate")) for r in used_roles))
    engine = frames["production"].engine
    store = Store(engine, frames["production"].lf.to_native())
    matched = store.keep(prod.join(cand, on=ID, how="inner"))  # every comparison reads it: the join runs once
    n_matched = int(collect_on(matched.select(nw.len()), engine, "the request logs", check=CHECK).item())
    counts["matched"] = n_matched
    for side in SIDES:
        counts[f"{side}_only"] = counts[f"{side}_rows"] - counts[f"{side}_null_ids"] \
            - counts[f"{side}_duplicates"] - n_matched
    schema = schema_of_nw(matched, frames["production"])
    return Reconciliation(matched, counts, {**roles, "id": id}, kept, inputs, engine, schema, store,
                          by=tuple(by_cols))


def _open_logs(production: FrameLike, candidate: FrameLike, id: str, roles: dict[str, str | None],
               by_cols: list[str]) -> dict[str, Frame]:
    """Both logs on their engine, checked: the used columns exist, are not reserved nor nested; the
    logs are on one engine (duckdb: one connection); ids, timestamps and predictions comparable."""
    frames: dict[str, Frame] = {}
    used = {"id": id, **roles, **{f"by[{i}]": b for i, b in enumerate(by_cols)}}
    for side, data in zip(SIDES, (production, candidate), strict=True):
        frame = open_frame(data, name=side)
        require_columns(frame.schema, used, name=f"the {side} log")
        refuse_reserved(used, name=f"the {side} log")
        refuse_nested(frame, list(used.values()), check=CHECK)
        if roles["timestamp"]:
            check_time_column(frame.schema, roles["timestamp"], name=f"the {side} log", role="timestamp")
        frames[side] = frame
    if frames["production"].engine != frames["candidate"].engine:
        raise InputError(f"the production log is on {frames['production'].engine} but the candidate log on "
                         f"{frames['candidate'].engine}; pass both on one engine (the comparison joins them "
                         "request by request where they are).")
    if not same_connection(frames["production"].lf, frames["candidate"].lf):
        raise InputError("the production log and the candidate log are duckdb relations of two different "
                         "connections, which duckdb cannot join; create both from one connection, e.g. "
                         "con = duckdb.connect(); con.read_parquet(production_path) and "
                         "con.read_parquet(candidate_path).")
    if roles["timestamp"]:
        _check_time_zones(frames, roles["timestamp"])
    sides = {s: (f.lf, f.schema) for s, f in frames.items()}
    _check_ids(sides, id)
    _check_prediction_types(sides, roles["prediction"])
    return frames


def _attempt_order(roles: dict[str, str | None], n_by: int) -> list[OrderKey]:
    """The module's rule as an order of the renamed columns: the latest ``timestamp`` first, then
    no error before an error, then the smallest logged values (prediction, score, latency, the
    segment columns)."""
    order = [OrderKey(role("timestamp"), descending=True)] if roles["timestamp"] else []
    order += [OrderKey(role("error"), as_int=True)] if roles["error"] else []
    order += [OrderKey(role(r)) for r in ("prediction", "score", "latency") if roles[r]]
    return order + [OrderKey(by_column(i)) for i in range(n_by)]


def _column_names(id: object, by: object, roles: Mapping[str, object]) -> list[str]:
    """The ``by`` columns as a list, once ``id``, ``by`` and the roles are known to be column names
    (text; a role may be None): anything else is refused naming the parameter."""
    if not isinstance(id, str) or not id:
        raise ConfigError(f"id must be the name of the request id column, got {id!r}.")
    for name, column in roles.items():
        if column is not None and (not isinstance(column, str) or not column):
            raise ConfigError(f"{name} must be a column name (or None), got {column!r}.")
    by_cols = [by] if isinstance(by, str) else list(by) if isinstance(by, Sequence) else None
    if by_cols is None or not all(isinstance(b, str) and b for b in by_cols):
        raise ConfigError(f"by must be a column name or a list of column names, got {by!r}.")
    return by_cols


def _check_time_zones(frames: dict[str, Frame], timestamp: str) -> None:
    """Both logs' ``timestamp`` naive, or both time-zone aware: one side's clock is not to be guessed."""
    zones = {s: getattr(f.schema[timestamp], "time_zone", None) for s, f in frames.items()}
    if bool(zones["production"]) == bool(zones["candidate"]):
        return
    aware, naive = ("production", "candidate") if zones["production"] else ("candidate", "production")
    raise InputError(f"Mixed naive and time-zone-aware timestamps: timestamp {timestamp!r} is in {zones[aware]} in "
                     f"the {aware} log but naive in the {naive} log. Make them agree, e.g. "
                     f"{utc_fix(timestamp, frames[naive].engine)} on the {naive} log if its times are UTC.")


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


def _check_values(sides: dict[str, Frame], roles: dict[str, str | None]) -> None:
    """Latency numeric and non-negative, score numeric in [0, 1], error boolean or integer, on the
    logs renamed by role (the messages name the user's columns)."""
    for side, frame in sides.items():
        schema = frame.schema
        checks = []
        if roles["latency"]:
            col, dtype = roles["latency"], schema[role("latency")]
            if not dtype.is_numeric():
                raise InputError(f"{side} log: latency column {col!r} must be numeric, got {dtype}.")
            checks.append(count(nw.col(role("latency")) < 0).alias("negative_latency"))
        if roles["score"]:
            col, dtype = roles["score"], schema[role("score")]
            if not dtype.is_numeric():
                raise InputError(f"{side} log: score column {col!r} must be numeric, got {dtype}.")
            score = nw.col(role("score"))
            checks.append(count((score < 0) | (score > 1)).alias("score_out_of_range"))
        if roles["error"] and schema[role("error")] != pl.Boolean and not schema[role("error")].is_integer():
            raise InputError(f"{side} log: error column {roles['error']!r} must be boolean or 0/1, "
                             f"got {schema[role('error')]}.")
        if not checks:
            continue
        found = collect_on(frame.lf.select(checks), frame.engine, frame.name, check=CHECK).row(0, named=True)
        if found.get("negative_latency"):
            raise InputError(f"{side} log: {found['negative_latency']:,} rows have a negative {roles['latency']!r}; "
                             "latencies are durations, check the unit and the clock used.")
        if found.get("score_out_of_range"):
            raise InputError(f"{side} log: {found['score_out_of_range']:,} rows have {roles['score']!r} outside "
                             "[0, 1]; pass probabilities as score (raw margins as prediction).")
