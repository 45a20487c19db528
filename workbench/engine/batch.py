"""Several summaries of one input, run together where the data is; each comes back as a small polars frame.

A summary is one of three kinds, written with narwhals expressions over a lazy frame of the input:
:class:`Aggregate` (named aggregates, one row per group of ``keys``), :class:`ValueCounts` (rows per
group and value of a column) and :class:`Quantiles` (polars' ``lower`` quantiles of columns, exact).
:func:`run_summaries` is the one place that chooses how each engine runs a batch:

- polars: every plan in one ``collect_all`` (streaming); of an ungrouped aggregate or quantiles over many
  columns, the parts beyond the first :data:`PARTS_PER_QUERY` run one after the other (same time, far
  less memory);
- duckdb: one query per summary; quantiles of a small frame in polars, of a large one by ``quantile_disc``;
- Spark: the value counts of one frame with one grouping in one job (each row stacked once per column);
  an aggregate in queries of at most :data:`PARTS_PER_QUERY` parts, joined on the keys (a query with
  hundreds of aggregates exceeds the size of method Spark compiles and runs interpreted, three times
  slower); quantiles of a small frame in polars, of a large one ranked on the cluster (:mod:`.ranks`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import narwhals as nw
import polars as pl

from workbench.engine.failures import engine_errors
from workbench.engine.frames import Engine
from workbench.engine.ranks import lower_quantiles, polars_lower_quantiles
from workbench.engine.reserved import PREFIX
from workbench.engine.results import int64_counts

PARTS_PER_QUERY = 5  # parts (a column's aggregates) per query, where an engine splits a wide aggregate
STACKED = f"{PREFIX}column"  # which column a stacked value comes from (Spark value counts)
ENGINE_NAMES = {"polars": "polars", "duckdb": "duckdb", "spark": "Spark"}


@dataclass(frozen=True)
class Aggregate:
    """Named aggregate expressions of ``lf``, one row per group of ``keys`` (no keys: one row). ``parts``:
    the expressions in groups an engine may run as separate queries (e.g. one group per column)."""

    lf: nw.LazyFrame
    parts: tuple[tuple[nw.Expr, ...], ...]
    keys: tuple[str, ...] = ()
    # for an input on polars, the parts as native polars expressions instead (``parts`` may then be empty):
    # narwhals' translation of a few hundred aggregate expressions cost 40-60 ms per drift check
    # (bench/warm_drift.py --profile), a tenth of the check at a million rows
    polars_parts: tuple[tuple[pl.Expr, ...], ...] | None = None


@dataclass(frozen=True)
class ValueCounts:
    """Rows of ``lf`` per group of ``keys`` and value of ``column``: columns ``keys``, ``value`` (the
    column's values) and ``count``."""

    lf: nw.LazyFrame
    column: str
    keys: tuple[str, ...] = ()
    value: str = "value"
    count: str = "count"


@dataclass(frozen=True)
class Quantiles:
    """One row: per column, the list of polars' ``lower`` quantiles at ``probs`` of its non-null, non-NaN
    values (see :func:`workbench.engine.ranks.lower_quantiles`; ``local_rows`` is passed on)."""

    lf: nw.LazyFrame
    columns: tuple[str, ...]
    probs: tuple[float, ...]
    local_rows: int = 200_000


Summary = Aggregate | ValueCounts | Quantiles


def run_summaries(summaries: Sequence[Summary], engine: Engine, *, name: str, check: str) -> list[pl.DataFrame]:
    """The summaries' results, in order, computed on ``engine`` (integer counts as Int64). ``name`` and
    ``check`` name the input and the check when the engine fails."""
    if engine == "polars":
        return _run_polars(summaries, name, check)
    done = _spark_value_counts(summaries, name, check) if engine == "spark" else {}
    return [done[i] if i in done else _run_one(s, engine, name, check) for i, s in enumerate(summaries)]


def _plan(lf: nw.LazyFrame, keys: Sequence[str], exprs: Sequence[nw.Expr]) -> nw.LazyFrame:
    return lf.group_by(*keys).agg(*exprs) if keys else lf.select(*exprs)


def _native_plans(lf: pl.LazyFrame, keys: Sequence[str], parts: Sequence[Sequence[pl.Expr]]) -> list[pl.LazyFrame]:
    """The polars plans of an aggregate given as native expressions, split as :func:`_run_polars` splits others."""
    if keys:
        return [lf.group_by(*keys).agg([e for part in parts for e in part])]
    return [lf.select(chunk) for chunk in _chunks(parts)]


def _chunks(parts: Sequence[Sequence[Any]]) -> list[list[Any]]:
    return [[e for part in parts[i:i + PARTS_PER_QUERY] for e in part] for i in range(0, len(parts), PARTS_PER_QUERY)]


def _counts_plan(s: ValueCounts) -> nw.LazyFrame:
    return s.lf.group_by(*s.keys, s.column).agg(nw.len().alias(s.count)).rename({s.column: s.value})


def _run_polars(summaries: Sequence[Summary], name: str, check: str) -> list[pl.DataFrame]:
    firsts: list[pl.LazyFrame] = []
    rests: list[list[pl.LazyFrame]] = []
    for s in summaries:
        if isinstance(s, Quantiles):  # a few columns at a time, like a wide aggregate
            plans = [polars_lower_quantiles(s.lf.to_native(), s.columns[i:i + PARTS_PER_QUERY], s.probs)
                     for i in range(0, len(s.columns), PARTS_PER_QUERY)]
        elif isinstance(s, ValueCounts):
            plans = [_counts_plan(s).to_native()]
        elif s.polars_parts is not None:
            plans = _native_plans(s.lf.to_native(), s.keys, s.polars_parts)
        elif s.keys:
            plans = [_plan(s.lf, s.keys, [e for part in s.parts for e in part]).to_native()]
        else:  # one row per part: they join side by side
            plans = [_plan(s.lf, (), chunk).to_native() for chunk in _chunks(s.parts)]
        firsts.append(plans[0])
        rests.append(plans[1:])

    def run() -> list[pl.DataFrame]:
        out = []
        # no common-subplan caching: the plans share their input's prepared columns, which polars would
        # otherwise keep in memory whole (+30% peak memory), while each plan reads only the columns it needs
        no_cache = pl.QueryOptFlags(comm_subplan_elim=False)
        for frame, rest in zip(pl.collect_all(firsts, engine="streaming", optimizations=no_cache), rests, strict=True):
            more = [plan.collect(engine="streaming") for plan in rest]
            out.append(pl.concat([frame, *more], how="horizontal") if more else frame)
        return out

    return [int64_counts(frame) for frame in _attempt(run, "polars", name, check)]


def _run_one(s: Summary, engine: Engine, name: str, check: str) -> pl.DataFrame:
    if isinstance(s, Quantiles):
        return lower_quantiles(s.lf, engine, s.columns, s.probs, name=name, check=check, local_rows=s.local_rows)
    if isinstance(s, ValueCounts):
        return _collect(_counts_plan(s), engine, name, check)
    chunks = [[e for part in s.parts for e in part]] if engine == "duckdb" else _chunks(s.parts)
    frames = [_collect(_plan(s.lf, s.keys, chunk), engine, name, check) for chunk in chunks]
    if not s.keys:
        return pl.concat(frames, how="horizontal")
    out = frames[0]
    for frame in frames[1:]:
        out = out.join(frame, on=list(s.keys), how="full", coalesce=True, nulls_equal=True)
    return out


def _collect(lf: nw.LazyFrame, engine: Engine, name: str, check: str) -> pl.DataFrame:
    return int64_counts(_attempt(lambda: lf.collect("polars").to_native(), engine, name, check))


def _spark_value_counts(summaries: Sequence[Summary], name: str, check: str) -> dict[int, pl.DataFrame]:
    """Value counts of one frame with one grouping, several columns of one type, in one Spark job: each
    row is stacked once per column (``stack``) and counted by (group, column, value); each summary gets
    the rows of its column, as it would alone."""
    from workbench.engine._spark import stacked_value_counts

    batches: dict[tuple, list[int]] = {}
    for i, s in enumerate(summaries):
        if isinstance(s, ValueCounts):
            dtype = s.lf.collect_schema()[s.column]
            batches.setdefault((id(s.lf), s.keys, s.value, s.count, str(dtype)), []).append(i)
    out: dict[int, pl.DataFrame] = {}
    for members in (m for m in batches.values() if len(m) > 1):
        first = summaries[members[0]]
        assert isinstance(first, ValueCounts)
        columns = [summaries[i].column for i in members]  # type: ignore[union-attr]
        job = partial(stacked_value_counts, first.lf.to_native(), first.keys, columns, value=first.value,
                      count=first.count, stacked=STACKED)
        counts = int64_counts(_attempt(job, "spark", name, check))
        for k, i in enumerate(members):
            out[i] = counts.filter(pl.col(STACKED) == k).drop(STACKED)
    return out


def _attempt(thunk: Callable[[], Any], engine: Engine, name: str, check: str) -> Any:
    """Run an engine action, reporting its failure as an InputError naming the input and the check."""
    with engine_errors(name, ENGINE_NAMES[engine], check=check, doing="compute its summaries"):
        return thunk()
