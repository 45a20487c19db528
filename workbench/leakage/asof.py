"""As-of lookups on polars: for each left row, the nearest right row of the same key before (or after) a time.

Semantics: for a left row with key ``k`` and time ``t``, ``direction="backward"`` picks the right
row with key ``k`` and the largest ``right_on`` that is ``< t`` (``strict=True``) or ``<= t``
(``strict=False``); ``"forward"`` picks the smallest ``right_on`` that is ``> t`` / ``>= t``. If
several right rows share that time, the last one in the right frame's order wins (backward) or
the first one (forward). No such row gives nulls. Left rows are all kept; their order is not.
"""

from __future__ import annotations

import polars as pl


def asof_lookup(left: pl.LazyFrame, right: pl.LazyFrame, *, by: str, left_on: str, right_on: str,
                strict: bool, direction: str = "backward", presorted: bool = False) -> pl.LazyFrame:
    """Attach to each ``left`` row the columns of its as-of match in ``right``.

    ``right``'s columns other than ``by`` come back unchanged (give them names distinct from
    ``left``'s). ``presorted=True`` promises that ``right`` is sorted by ``(by, right_on)`` with
    ties in the intended order, which saves a sort of the right side.
    """
    # join_asof with `by` needs each group sorted by the 'on' key; a stable sort by (by, key)
    # keeps the given order among ties. Null times cannot match.
    right = right.filter(pl.col(right_on).is_not_null())
    if not presorted:
        right = right.sort([by, right_on], maintain_order=True)
    return left.sort([by, left_on]).join_asof(
        right, left_on=left_on, right_on=right_on, by=by, strategy=direction,  # type: ignore[arg-type]
        allow_exact_matches=not strict, check_sortedness=False)
