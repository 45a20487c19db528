"""polars' own path for what narwhals cannot state: one row per key by an order with directions
and nulls last (:func:`workbench.engine.keys.first_per_key`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

from workbench.engine.reserved import ROW

if TYPE_CHECKING:
    from workbench.engine.keys import OrderKey


def first_per_key(lf: pl.LazyFrame, key: str, order: Sequence[OrderKey]) -> tuple[pl.DataFrame, tuple[int, int, int]]:
    """One row per non-null ``key`` and (rows, null keys, extra rows of repeated keys). The rows
    are read once and sorted by ``key`` (nulls last; skipped when they already are), so that a
    repeated key's rows are adjacent (found by comparing neighbours, far cheaper than grouping
    millions of keys) and a join on the key can merge; only the rows of repeated keys are ranked."""
    frame = lf.collect()
    keys = frame.get_column(key)
    if not keys.is_sorted(nulls_last=True):
        frame = frame.sort(key, nulls_last=True)
        keys = frame.get_column(key)
    repeat = (keys == keys.shift(1)).fill_null(False)
    nulls, duplicates = keys.null_count(), int(repeat.sum())
    kept = frame.head(frame.height - nulls)  # nulls sort last
    if duplicates:
        kept = _first_of_repeated(kept, keys.filter(repeat).unique(), key, order)
    return kept, (frame.height, nulls, duplicates)


def _first_of_repeated(frame: pl.DataFrame, repeated: pl.Series, key: str, order: Sequence[OrderKey]) -> pl.DataFrame:
    """One row per key by ``order``, keeping ``frame``'s order (sorted by key). Only the rows of the
    ``repeated`` keys are ranked; the others pass through."""
    exprs = [pl.col(o.column).cast(pl.Int8) if o.as_int else pl.col(o.column) for o in order]
    descending = [o.descending for o in order]
    indexed = frame.with_row_index(ROW)
    candidates = indexed.filter(pl.col(key).is_in(repeated.implode()))
    chosen = candidates.sort([pl.col(key), *exprs, pl.col(ROW)], descending=[False, *descending, False],
                             nulls_last=True).unique(subset=[key], keep="first", maintain_order=True)[ROW]
    dropped = candidates.filter(~pl.col(ROW).is_in(chosen.implode()))[ROW]
    return indexed.filter(~pl.col(ROW).is_in(dropped.implode())).drop(ROW)
