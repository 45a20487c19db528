"""The summaries stage of drift: small aggregate tables computed where the data is.

Every summary is described once — a list of :class:`Agg` (an alias, an operation and its argument)
over an input prepared by :func:`prepare` — and written once with the engine's frame protocol
(narwhals expressions over a :class:`~workbench.engine.frames.Frame`), so it runs on polars, duckdb
and Spark alike (:func:`workbench.engine.batch.run_summaries` chooses how each engine runs a batch).
Results are small polars frames: one row per group (window × segments) for numeric summaries, one
row per (group, value) for value counts. Nothing here computes a statistic;
:mod:`workbench.stats.distances` does, from these tables only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import narwhals as nw
import polars as pl

from workbench.drift.profile import ColumnKind
from workbench.engine.batch import STACKED, Aggregate, Quantiles, Summary, ValueCounts, run_summaries
from workbench.engine.columns import ROW_NUMBER, every_kth, with_numbers
from workbench.engine.frames import Engine, Frame, count, largest, smallest, with_window
from workbench.engine.reserved import PREFIX

SEP = "\x1f"

# Every column the summaries add to the user's data starts with PREFIX, and a used user column that
# starts with it is refused (:func:`refuse_reserved`), so no user column can collide with one.
WINDOW = f"{PREFIX}window"  # the window index of a row (group key)
VALUE = f"{PREFIX}value"  # a categorical column's value as compared (group key of value counts)
COUNT = f"{PREFIX}count"  # rows per group of value counts
ROWS = f"{PREFIX}rows"  # rows per group of the numeric summaries
BUCKET = f"{PREFIX}bucket"  # the profile bin of a value (see bucketize)
# ... and the engine's: ROW_NUMBER (every k-th row on duckdb and Spark), STACKED (Spark value counts)
INTERNAL_COLUMNS = (WINDOW, VALUE, COUNT, ROWS, BUCKET, ROW_NUMBER, STACKED)
EDGE_SAMPLE_ROWS = 200_000  # duckdb, Spark: edge samples up to this many rows are ranked by polars


def alias(name: str, op: str) -> str:
    """The result column of the aggregate ``op`` (``"sum"``, ``"le3"``, ...) of a column or comparison
    ``name``: ``PREFIX + name + SEP + op``. Also the helper columns of :func:`prepare`."""
    return f"{PREFIX}{name}{SEP}{op}"


@dataclass(frozen=True)
class Agg:
    """One aggregate: ``op`` over the column's comparable value (see :func:`prepare`)."""

    alias: str
    op: str
    column: str | None = None
    arg: float | None = None


@dataclass(frozen=True)
class ColumnRead:
    """How a column is read for comparison: its kind and the input dtype it is cast from."""

    name: str
    kind: ColumnKind
    dtype: pl.DataType


# -- the input, prepared -------------------------------------------------------------------
@dataclass(frozen=True)
class Prepared:
    """An input ready for drift's summaries: ``frame`` holds the columns read, each one's comparable
    value (:func:`value_column`), the window index (:data:`WINDOW`, with ``window``) and the segment
    ``keys`` as text (:func:`key_column`). ``frame.schema`` stays the user's (the columns read)."""

    frame: Frame
    keys: tuple[str, ...] = ()
    window: bool = False

    @property
    def groups(self) -> tuple[str, ...]:
        """The group columns of its summaries, as named in ``frame``."""
        return (*([WINDOW] if self.window else []), *(key_column(k) for k in self.keys))


def value_column(name: str) -> str:
    """The helper column of ``name``'s comparable value."""
    return alias(name, "value")


def key_column(name: str) -> str:
    """The helper column of segment column ``name`` as text."""
    return alias(name, "key")


def prepare(frame: Frame, reads: Mapping[str, ColumnRead], *, keys: Sequence[str] = (), timestamp: str | None = None,
            every: dt.timedelta | None = None, stride: int = 1) -> Prepared:
    """``frame``'s columns ``reads`` as compared: Float64 for numeric and datetime kinds (strings parse
    leniently, unparseable → null, counted as ``unparsed``; datetimes in epoch microseconds), String for
    categorical ones (booleans ``"true"``/``"false"``); segment ``keys`` as text; with ``every``, the
    index of the ``every``-long window (from the Unix epoch) holding ``timestamp``. Only the columns
    used are kept (no other user column meets a helper); ``stride`` > 1: every ``stride``-th row only."""
    used = list(dict.fromkeys([*reads, *keys, *([timestamp] if every else [])]))
    out = every_kth(frame, stride, used)  # type: ignore[arg-type]
    if every is not None:
        out = replace(out, lf=with_window(out, timestamp, every, WINDOW))  # type: ignore[arg-type]
    out = with_numbers(out, {value_column(c): c for c, r in reads.items() if r.kind in ("numeric", "datetime")})
    text = [nw.col(c).cast(nw.String).alias(value_column(c)) for c, r in reads.items()
            if r.kind not in ("numeric", "datetime")]
    text += [nw.col(k).cast(nw.String).alias(key_column(k)) for k in keys]
    if text:
        out = replace(out, lf=out.lf.with_columns(text))
    return Prepared(replace(out, schema=frame.schema), tuple(keys), every is not None)


# -- summaries -----------------------------------------------------------------------------
def aggregate(p: Prepared, aggs: Sequence[Agg]) -> Aggregate:
    """``aggs`` per group of ``p``, in one part per column (the column-less ones with the first); on polars
    as native expressions (:func:`_polars_expression`)."""
    if p.frame.engine == "polars":
        return Aggregate(p.frame.lf, (), p.groups, polars_parts=_parts(aggs, _polars_expression))
    return Aggregate(p.frame.lf, _parts(aggs, lambda a: _expression(a, p.frame.engine)), p.groups)


def _parts(aggs: Sequence[Agg], build: Callable[[Agg], Any]) -> tuple[tuple[Any, ...], ...]:
    parts: dict[str | None, list[Any]] = {}
    for a in aggs:
        parts.setdefault(a.column, []).append(build(a))
    shared = parts.pop(None, [])
    grouped = list(parts.values()) or [[]]
    return ((*shared, *grouped[0]), *map(tuple, grouped[1:]))


def _polars_expression(a: Agg) -> pl.Expr:
    """:func:`_expression` on polars, written natively (the measured fast path of
    :class:`~workbench.engine.batch.Aggregate`); the same results, checked by tests/test_engines.py."""
    if a.op == "rows":
        return pl.len().alias(a.alias)
    v = pl.col(value_column(a.column))  # type: ignore[arg-type]
    match a.op:
        case "nulls":
            expr = pl.col(a.column).is_null().sum()  # type: ignore[arg-type]
        case "missing":
            expr = v.is_null().sum()
        case "le":
            expr = (v <= a.arg).sum()
        case "lt":
            expr = (v < a.arg).sum()
        case "sum":
            expr = v.sum()
        case "min":  # polars' min and max skip NaN
            expr = v.min()
        case "max":
            expr = v.max()
        case _:
            raise ValueError(f"unknown aggregate {a.op!r}")
    return expr.alias(a.alias)


def _expression(a: Agg, engine: Engine) -> nw.Expr:
    if a.op == "rows":
        return nw.len().alias(a.alias)
    v = nw.col(value_column(a.column))  # type: ignore[arg-type]
    match a.op:
        case "nulls":  # null in the input
            expr = count(nw.col(a.column).is_null(), engine)  # type: ignore[arg-type]
        case "missing":  # null after reading (includes unparseable strings)
            expr = count(v.is_null(), engine)
        case "le":
            expr = count(v <= a.arg, engine)
        case "lt":
            expr = count(v < a.arg, engine)
        case "sum":
            expr = v.sum()
        case "min":  # NaN is ignored, infinities count
            expr = smallest(v, engine)
        case "max":
            expr = largest(v, engine)
        case _:
            raise ValueError(f"unknown aggregate {a.op!r}")
    return expr.alias(a.alias)


def value_counts(p: Prepared, column: str) -> ValueCounts:
    """Rows per group of ``p`` and value of the categorical ``column`` (columns :data:`VALUE`, :data:`COUNT`)."""
    return ValueCounts(p.frame.lf, value_column(column), p.groups, value=VALUE, count=COUNT)


def quantiles(p: Prepared, columns: Sequence[str], probs: Sequence[float]) -> Quantiles:
    """One row: per numeric column, its ``lower`` quantiles at ``probs`` (NaN left out), in the column
    :func:`value_column` of its name."""
    return Quantiles(p.frame.lf, tuple(value_column(c) for c in columns), tuple(probs), EDGE_SAMPLE_ROWS)


def run(frame: Frame, summaries: Sequence[Summary], keys: Sequence[str] = ()) -> list[pl.DataFrame]:
    """The summaries' results, computed on ``frame``'s engine; the segment ``keys`` under their own names."""
    out = run_summaries(summaries, frame.engine, name=frame.name, check="drift")
    return [result.rename({key_column(k): k for k in keys if key_column(k) in result.columns}) for result in out]


def row_count(frame: Frame) -> int:
    """The input's rows, counted on its engine."""
    result, = run(frame, [Aggregate(frame.lf, ((nw.len().alias(ROWS),),))])
    return int(result.item())


def bucketize(counts: pl.DataFrame, top: Sequence[str], known: Sequence[str] | None) -> pl.DataFrame:
    """Map value counts to the profile's bins, numbered (so no category value can be taken for a
    bin): ``i`` for the kept category ``top[i]``, ``len(top)`` (:func:`other_bucket`) for a known
    rare one, ``len(top) + 1`` (:func:`new_bucket`) for one never seen in the reference (the
    other bucket too when the known set was not kept); null stays null. Then add up counts per
    bin (column :data:`BUCKET`). Runs on the small value-count table."""
    v = pl.col(VALUE)
    index = v.replace_strict(list(top), list(range(len(top))), default=None, return_dtype=pl.Int64)
    kept = pl.when(v.is_null()).then(None).when(v.is_in(list(top))).then(index)
    bucket = kept.otherwise(other_bucket(top)) if known is None else \
        kept.when(v.is_in(list(known))).then(other_bucket(top)).otherwise(new_bucket(top))
    keys = [c for c in counts.columns if c not in (VALUE, COUNT)]
    return counts.with_columns(bucket.alias(BUCKET)).group_by([*keys, BUCKET]).agg(pl.col(COUNT).sum())


def other_bucket(top: Sequence[str]) -> int:
    """The bin of known rare categories (:func:`bucketize`)."""
    return len(top)


def new_bucket(top: Sequence[str]) -> int:
    """The bin of categories never seen in the reference (:func:`bucketize`)."""
    return len(top) + 1


# -- the summaries drift needs ---------------------------------------------------------------
def numeric_aggs(name: str, edges: Sequence[float], lo: float | None = None, hi: float | None = None, *,
                 prefix: str | None = None, lossless: bool = False) -> list[Agg]:
    """The summaries of one numeric column, the same for reference and current: null count,
    cumulative ``<= edge`` counts (differences give the bin counts), ``valid`` (values
    ``<= +inf``: neither null, unparseable nor NaN), the plain ``sum`` (not finite when a NaN or
    an infinity is present; the mean is then not reported) and, given the reference range
    ``[lo, hi]``, the counts ``< lo`` and ``<= hi``. Aliases are ``alias(prefix, op)`` (``prefix``
    defaults to the column name). ``lossless=True`` says the column is already numeric, so no
    value can fail to parse and ``missing`` (nulls after reading) is not needed."""
    p = prefix or name
    ops = ["nulls", "sum"] if lossless else ["nulls", "missing", "sum"]
    aggs = [Agg(alias(p, op), op, name) for op in ops]
    aggs += [Agg(alias(p, f"le{i}"), "le", name, float(e)) for i, e in enumerate(edges)]
    aggs.append(Agg(alias(p, "valid"), "le", name, float("inf")))
    if lo is not None and hi is not None:
        aggs += [Agg(alias(p, "below"), "lt", name, float(lo)), Agg(alias(p, "le_hi"), "le", name, float(hi))]
    return aggs
