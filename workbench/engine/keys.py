"""One row per key on every engine: of the rows sharing a key, the first in a stated order.

Used to resolve repeated request ids (retries, duplicate logging) before two logs are joined. The
order is a list of :class:`OrderKey` (a column, its direction, and whether to compare it as an
integer, as for a boolean flag); nulls come last in every direction, on every engine. Rows whose
key is null are dropped and counted, and so is every extra row of a repeated key.

narwhals cannot state this order (its ``over(order_by=...)`` is ascending only, without a place for
nulls), so each engine has its own code: on polars a sorted merge, where only the rows of repeated
keys are ranked (:mod:`._polars`); on duckdb ``QUALIFY row_number()`` (:mod:`._duckdb`); on Spark a
window function (:mod:`._spark`). Rows that tie on every column of the order are interchangeable
for the caller only if the order covers every column it reads (which one is kept may differ).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import narwhals as nw

from workbench.engine.frames import Frame, collect, count


@dataclass(frozen=True)
class OrderKey:
    """One column of the order: ``descending`` (else ascending), ``as_int``: compared as an integer
    (a boolean or 0/1 flag: false first). Nulls come last either way."""

    column: str
    descending: bool = False
    as_int: bool = False


@dataclass(frozen=True)
class KeyCounts:
    """What choosing one row per key set aside: ``rows`` read, ``null_keys`` (dropped), and
    ``duplicates`` (the extra rows of repeated keys, dropped)."""

    rows: int
    null_keys: int
    duplicates: int


def first_per_key(frame: Frame, key: str, order: Sequence[OrderKey], *, check: str) -> tuple[nw.LazyFrame, KeyCounts]:
    """The frame's rows with a non-null ``key``, one per key: the first by ``order`` (see the
    module docstring), on the frame's engine, and the counts of what was set aside. On polars the
    result is in memory, in ``key`` order (the frame is read once; a frame already sorted by
    ``key``, nulls last, is not sorted again); elsewhere it is a lazy query on the engine."""
    if frame.engine == "polars":
        from workbench.engine._polars import first_per_key as on_polars

        kept, (rows, nulls, duplicates) = on_polars(frame.lf.to_native(), key, order)
        return nw.from_native(kept.lazy()), KeyCounts(rows, nulls, duplicates)
    row = collect(frame.lf.select(nw.len().alias("rows"), count(nw.col(key).is_null()).alias("null_keys")),
                  frame, check=check).row(0, named=True)
    native = frame.lf.to_native()
    if frame.engine == "spark":
        from workbench.engine._spark import first_per_key as on_spark

        kept = nw.from_native(on_spark(native, key, order))
    else:
        from workbench.engine._duckdb import first_per_key as on_duckdb

        kept = nw.from_native(on_duckdb(native, key, order))
    n_kept = int(collect(kept.select(nw.len().alias("n")), frame, check=check).item())
    rows, nulls = int(row["rows"]), int(row["null_keys"] or 0)
    return kept, KeyCounts(rows, nulls, rows - nulls - n_kept)
