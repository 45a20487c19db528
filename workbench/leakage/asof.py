"""As-of lookups: for each left row, the nearest right row of the same key before (or after) a time.

Semantics (both engines): for a left row with key ``k`` and time ``t``, ``direction="backward"``
picks the right row with key ``k`` and the largest ``right_on`` that is ``< t``
(``strict=True``) or ``<= t`` (``strict=False``); ``"forward"`` picks the smallest ``right_on``
that is ``> t`` / ``>= t``. If several right rows share that time, the last one in the right
frame's order wins (backward) or the first one (forward). No such row gives nulls. Left rows
are all kept; their order is not.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

Engine = Literal["polars", "duckdb"]
ENGINES: tuple[str, ...] = ("polars", "duckdb")


def asof_lookup(left: pl.LazyFrame, right: pl.LazyFrame, *, by: str, left_on: str, right_on: str,
                strict: bool, engine: Engine = "polars", direction: str = "backward",
                presorted: bool = False) -> pl.LazyFrame:
    """Attach to each ``left`` row the columns of its as-of match in ``right``.

    ``right``'s columns other than ``by`` come back unchanged (give them names distinct from
    ``left``'s). ``presorted=True`` promises that ``right`` is sorted by ``(by, right_on)`` with
    ties in the intended order, which saves a sort of the right side.
    """
    if engine == "polars":
        return _asof_polars(left, right, by=by, left_on=left_on, right_on=right_on, strict=strict,
                            direction=direction, presorted=presorted)
    if engine == "duckdb":
        return _asof_duckdb(left, right, by=by, left_on=left_on, right_on=right_on, strict=strict,
                            direction=direction)
    raise ValueError(f"engine must be one of {list(ENGINES)}, got {engine!r}")


def _asof_polars(left: pl.LazyFrame, right: pl.LazyFrame, *, by: str, left_on: str, right_on: str,
                 strict: bool, direction: str, presorted: bool) -> pl.LazyFrame:
    # join_asof with `by` needs each group sorted by the 'on' key; a stable sort by (by, key)
    # keeps the given order among ties. Null times cannot match.
    right = right.filter(pl.col(right_on).is_not_null())
    if not presorted:
        right = right.sort([by, right_on], maintain_order=True)
    return left.sort([by, left_on]).join_asof(
        right, left_on=left_on, right_on=right_on, by=by, strategy=direction,  # type: ignore[arg-type]
        allow_exact_matches=not strict, check_sortedness=False)


def _asof_duckdb(left: pl.LazyFrame, right: pl.LazyFrame, *, by: str, left_on: str, right_on: str,
                 strict: bool, direction: str) -> pl.LazyFrame:
    import duckdb

    left_df = left.collect()
    right_df = right.filter(pl.col(right_on).is_not_null()).with_row_index("__wb_order").collect()
    if direction == "backward":
        op, keep = (">" if strict else ">="), "DESC"
    else:
        op, keep = ("<" if strict else "<="), "ASC"
    right_cols = [c for c in right_df.columns if c not in (by, "__wb_order")]
    select_right = ", ".join(f'r."{c}"' for c in right_cols)
    con = duckdb.connect()
    try:
        con.register("l", left_df)
        con.register("r0", right_df)
        # duckdb picks one of tied right rows arbitrarily: keep the one the semantics name.
        sql = (
            "WITH r AS (SELECT * FROM r0 QUALIFY row_number() OVER "
            f'(PARTITION BY "{by}", "{right_on}" ORDER BY "__wb_order" {keep}) = 1) '
            f"SELECT l.*, {select_right} FROM l ASOF LEFT JOIN r "
            f'ON l."{by}" = r."{by}" AND l."{left_on}" {op} r."{right_on}"'
        )
        out = con.sql(sql).pl()
    finally:
        con.close()
    # duckdb renames time zones (UTC -> Etc/UTC) and may widen types: restore the inputs' dtypes.
    expected = {**dict(left_df.schema), **{c: right_df.schema[c] for c in right_cols}}
    return out.cast({c: expected[c] for c in out.columns if c in expected}).lazy()
