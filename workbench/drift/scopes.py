"""Where drift is compared (all of current, each window, each segment value) and the current-side
summaries those comparisons read: the summaries of current and their assembled results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from workbench.drift.profile import ColumnProfile
from workbench.drift.summaries import (
    BUCKET,
    COUNT,
    ROWS,
    VALUE,
    WINDOW,
    Agg,
    ColumnRead,
    aggregate,
    alias,
    bucketize,
    numeric_aggs,
    prepare,
    value_counts,
)
from workbench.engine.batch import Summary
from workbench.engine.frames import Frame
from workbench.errors import InputError


@dataclass(frozen=True)
class Pair:
    """A current column compared against a reference column profile."""

    key: str
    current: str
    profile: ColumnProfile
    role: str | None = None
    rename_candidate: bool = False


@dataclass(frozen=True)
class Summaries:
    """Current-side summaries: the numeric aggregates per group, the bucketed counts per
    categorical comparison, the raw value counts per categorical column, the group keys."""

    numeric: pl.DataFrame
    categorical: dict[str, pl.DataFrame]
    values: dict[str, pl.DataFrame]
    keys: list[str]
    rows: int


Assemble = Callable[[list[pl.DataFrame], list[Pair]], "Summaries"]


def current_summaries(cur: Frame, pairs: list[Pair], by: list[str], timestamp: str | None,
                       every: dt.timedelta | None) -> tuple[list[Summary], Assemble]:
    """The summaries of current, and how to assemble their results into :class:`Summaries`."""
    reads = {p.current: ColumnRead(p.current, p.profile.kind, cur.schema[p.current]) for p in pairs}
    aggs = [Agg(ROWS, "rows")]
    for p in pairs:
        if p.profile.kind in ("numeric", "datetime"):
            lossless = cur.schema[p.current].is_numeric() or p.profile.kind == "datetime"
            aggs += numeric_aggs(p.current, p.profile.edges, p.profile.minimum, p.profile.maximum, prefix=p.key,
                                 lossless=lossless)
        else:
            aggs.append(Agg(alias(p.key, "nulls"), "nulls", p.current))
    prepared = prepare(cur, reads, keys=by, timestamp=timestamp, every=every)
    summaries: list[Summary] = [aggregate(prepared, aggs)]
    cats = [p for p in pairs if p.profile.kind in ("categorical", "boolean")]
    # one value count per current column, shared by its comparisons (renames included)
    distinct = list(dict.fromkeys(p.current for p in cats))
    summaries += [value_counts(prepared, c) for c in distinct]
    keys = ([WINDOW] if every else []) + by

    def assemble(results: list[pl.DataFrame], fitted: list[Pair]) -> Summaries:
        """Summaries from the results; categories are bucketed with the fitted profiles."""
        numeric = results[0]
        counts = dict(zip(distinct, results[1:], strict=True))
        buckets = {p.key: bucketize(counts[p.current], p.profile.categories, p.profile.known)
                   for p in fitted if p.profile.kind in ("categorical", "boolean")}
        return Summaries(numeric, buckets, counts, keys, int(numeric[ROWS].sum()) if numeric.height else 0)

    return summaries, assemble


@dataclass(frozen=True)
class Scope:
    """Where a comparison applies: everything, one window, or one segment value."""

    kind: str  # "all", "window", "segment"
    filters: dict[str, Any]
    window: tuple[dt.datetime, dt.datetime] | None = None
    segment: dict[str, str] | None = None

    @property
    def key(self) -> tuple:
        """The scope's filters as a hashable key (``()`` for all of current)."""
        return tuple(self.filters.items())

    def mask(self, frame: pl.DataFrame) -> pl.Expr:
        expr = pl.lit(True)
        for k, v in self.filters.items():
            expr = expr & (pl.col(k).is_null() if v is None else (pl.col(k) == v))
        return expr

    @property
    def label(self) -> str:
        """'all', the window's start in ISO form, or 'column=value' for a segment."""
        if self.window:
            return self.window[0].isoformat()
        if self.segment:
            return ", ".join(f"{k}={v}" for k, v in self.segment.items())
        return "all"

    def to_scope(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.window:
            out["window"] = [self.window[0].isoformat(), self.window[1].isoformat()]
        if self.segment:
            out["segment"] = dict(self.segment)
        return out


MAX_WINDOWS = 10_000


def list_scopes(s: Summaries, by: list[str], every: dt.timedelta | None, ts_dtype: Any) -> list[Scope]:
    """All of current, then every window from the first to the last (empty ones included, so a
    gap in the data is reported), then every segment value."""
    scopes = [Scope("all", {})]
    seen = [x for x in s.numeric[WINDOW].unique().to_list() if x is not None] if every is not None else []
    if seen and every is not None:
        first, last = min(seen), max(seen)
        if last - first >= MAX_WINDOWS:
            raise InputError(f"current spans {last - first + 1:,} windows of {every}; choose a longer window "
                             f"(at most {MAX_WINDOWS:,} windows).")
        tz = getattr(ts_dtype, "time_zone", None)
        zone = dt.UTC if tz else None
        for w in range(first, last + 1):
            start = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + w * every
            if zone is None:
                start = start.replace(tzinfo=None)
            scopes.append(Scope("window", {WINDOW: w}, window=(start, start + every)))
    for b in by:
        for v in sorted(s.numeric[b].unique().to_list(), key=lambda x: (x is None, x)):
            scopes.append(Scope("segment", {b: v}, segment={b: v}))
    return scopes


def collapse(frame: pl.DataFrame, scope: Scope, keys: list[str]) -> dict[str, Any]:
    """Sum the fine-grained summary rows of one scope (every current aggregate is a count or a sum)."""
    part = frame.filter(scope.mask(frame)) if scope.filters else frame
    return part.select(pl.exclude(keys).sum()).row(0, named=True)


# -- one comparison ---------------------------------------------------------------------------


def new_values(counts: pl.DataFrame, scope: Scope, known: tuple[str, ...], top: int = 5) -> list[tuple[str, int]]:
    """The most frequent current values of a scope that the reference never had."""
    part = counts.filter(scope.mask(counts)) if scope.filters else counts
    new = part.filter(pl.col(VALUE).is_not_null() & ~pl.col(VALUE).is_in(list(known)))
    ranked = new.group_by(VALUE).agg(pl.col(COUNT).sum()).sort([COUNT, VALUE], descending=[True, False])
    return [(str(v), int(c)) for v, c in ranked.head(top).iter_rows()]


def bucket_counts(counts: pl.DataFrame, keys: list[str]) -> dict[tuple, dict[Any, int]]:
    """Bucketed counts of one categorical comparison summed per scope, in one group-by per key:
    ``{(): all of current, ((key, value),): one window or segment value}`` → ``{bucket: count}``."""
    out: dict[tuple, dict[Any, int]] = {(): dict(counts.group_by(BUCKET).agg(pl.col(COUNT).sum()).iter_rows())}
    for key in keys:
        grouped = counts.group_by([key, BUCKET]).agg(pl.col(COUNT).sum())
        for value, bucket, n in grouped.iter_rows():
            out.setdefault(((key, value),), {})[bucket] = n
    return out
