"""The reserved prefix of the leakage audit's internal (helper) columns.

Every column the audit adds inside a computation is named ``__wb_<name>`` (``__wb_entity``,
``__wb_pt``, ``__wb_status``, ...), and the audit selects only the user columns it uses before
adding one, so a user column can never collide with a helper. A used user column whose name
starts with the prefix is refused at the boundary (:func:`refuse_reserved`). Result tables keep
readable names (``feature``, ``rows``, ...): the prefix never reaches the user.
"""

from __future__ import annotations

from collections.abc import Iterable

from workbench.errors import InputError

PREFIX = "__wb_"


def refuse_reserved(columns: Iterable[str | None], *, name: str) -> None:
    """Raise :class:`InputError` when a used column of input ``name`` starts with :data:`PREFIX`."""
    reserved = sorted({c for c in columns if c is not None and c.startswith(PREFIX)})
    if reserved:
        renames = ", ".join(f"{c!r}: {c[len(PREFIX):] or 'wb'!r}" for c in reserved)
        raise InputError(f"{name}: column(s) {reserved} start with {PREFIX!r}, the prefix reserved for the "
                         f"workbench's internal columns. Rename them first, e.g. df.rename({{{renames}}}).")
