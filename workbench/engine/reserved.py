"""The reserved prefix of the columns the workbench adds inside a computation.

Every helper column a check adds to the user's data is named ``__wb_<name>`` (``__wb_y``,
``__wb_window``, ``__wb_label``, ...), and the checks select only the user columns they use before
adding one, so a user column can never collide with a helper. A used user column whose name starts
with the prefix is refused at the boundary (:func:`refuse_reserved`). Result tables keep readable
names: the prefix never reaches the user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from workbench.errors import InputError

PREFIX = "__wb_"
ROW = f"{PREFIX}row"  # a row's position, to choose among a key's rows (engine.keys, polars)
ATTEMPT = f"{PREFIX}attempt"  # a row's rank within its key (engine.keys, duckdb and Spark)


def refuse_reserved(columns: Iterable[str | None] | Mapping[str, str | None], *, name: str) -> None:
    """Raise :class:`InputError` when a used column of input ``name`` starts with :data:`PREFIX`.

    ``columns``: the used column names, or a mapping of role (``"id"``, ``"label"``) to column name
    (the roles are then named in the message); ``None`` entries are skipped."""
    roles = dict(columns) if isinstance(columns, Mapping) else {c: c for c in columns}
    taken = {role: c for role, c in roles.items() if isinstance(c, str) and c.startswith(PREFIX)}
    if not taken:
        return
    reserved = sorted(set(taken.values()))
    given = "" if not isinstance(columns, Mapping) else " (" + ", ".join(f"{r}={c!r}" for r, c in taken.items()) + ")"
    renames = ", ".join(f"{c!r}: {c[len(PREFIX):] or 'wb'!r}" for c in reserved)
    raise InputError(f"{name}: column(s) {reserved}{given} start with {PREFIX!r}, the prefix reserved for the "
                     f"workbench's internal columns. Rename them first, e.g. df.rename({{{renames}}}).")
