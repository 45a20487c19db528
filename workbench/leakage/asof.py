"""As-of lookups: for each left row, the latest right row of the same key before a time.

Semantics (both engines): for a left row with key ``k`` and time ``t``, pick the right row
with key ``k`` and the largest ``right_on`` that is ``< t`` (``strict=True``) or ``<= t``
(``strict=False``); if several right rows share that time, the last one in the right
frame's order wins. No such row gives nulls. Left rows are all kept.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

Engine = Literal["polars", "duckdb"]
ENGINES: tuple[str, ...] = ("polars", "duckdb")


def asof_lookup(left: pl.LazyFrame, right: pl.LazyFrame, *, by: str, left_on: str, right_on: str,
                strict: bool, engine: Engine = "polars") -> pl.LazyFrame:
    """Attach to each ``left`` row the columns of its as-of match in ``right``.

    ``right``'s columns other than ``by`` come back unchanged (give them distinct names).
    Returns a LazyFrame with every left row; row order is not preserved.
    """
    if engine == "polars":
        return _asof_polars(left, right, by=by, left_on=left_on, right_on=right_on, strict=strict)
    if engine == "duckdb":
        return _asof_duckdb(left, right, by=by, left_on=left_on, right_on=right_on, strict=strict)
    raise ValueError(f"engine must be one of {list(ENGINES)}, got {engine!r}")


def _asof_polars(left: pl.LazyFrame, right: pl.LazyFrame, *, by: str, left_on: str, right_on: str,
                 strict: bool) -> pl.LazyFrame:
    # join_asof needs both sides sorted by the 'on' key (globally, also within 'by' groups);
    # null times cannot match and are dropped from the right side first.
    right_sorted = (right.filter(pl.col(right_on).is_not_null())
                    .with_row_index("__order").sort([right_on, "__order"]).drop("__order"))
    if left_on == right_on:
        right_sorted = right_sorted.with_columns(pl.col(right_on).alias("__asof_rt")).drop(right_on)
        return (left.sort(left_on).join_asof(right_sorted, left_on=left_on, right_on="__asof_rt", by=by,
                                             allow_exact_matches=not strict, check_sortedness=False)
                .drop("__asof_rt", strict=False))
    return left.sort(left_on).join_asof(right_sorted, left_on=left_on, right_on=right_on, by=by,
                                        allow_exact_matches=not strict, check_sortedness=False)


def _asof_duckdb(left: pl.LazyFrame, right: pl.LazyFrame, *, by: str, left_on: str, right_on: str,
                 strict: bool) -> pl.LazyFrame:
    import duckdb

    left_df = left.collect()
    right_df = right.filter(pl.col(right_on).is_not_null()).with_row_index("__order").collect()
    op = ">" if strict else ">="
    right_cols = [c for c in right_df.columns if c not in (by, "__order")]
    # duckdb picks one of tied right rows arbitrarily; break ties by keeping the last per (key, time).
    select_right = ", ".join(f'r."{c}"' for c in right_cols)
    con = duckdb.connect()
    try:
        con.register("l", left_df)
        con.register("r0", right_df)
        sql = (
            "WITH r AS (SELECT * FROM r0 QUALIFY row_number() OVER "
            f'(PARTITION BY "{by}", "{right_on}" ORDER BY __order DESC) = 1) '
            f"SELECT l.*, {select_right} FROM l ASOF LEFT JOIN r "
            f'ON l."{by}" = r."{by}" AND l."{left_on}" {op} r."{right_on}"'
        )
        out = con.sql(sql).pl()
    finally:
        con.close()
    # duckdb renames time zones (UTC -> Etc/UTC) and may widen types: restore the inputs' dtypes.
    expected = {**dict(left_df.schema), **{c: right_df.schema[c] for c in right_cols}}
    return out.cast({c: expected[c] for c in out.columns if c in expected}).lazy()
