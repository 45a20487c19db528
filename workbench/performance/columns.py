"""Column names in the performance checks: the user's, validated at the boundary (the numeric,
duration and datetime options go through :mod:`workbench.params`), and the internal ones.

Every column a performance check adds while computing is named with :data:`PREFIX`. The checks
first select the user's columns they use under internal names (segment columns become
``__wb_segment_0``, ``__wb_segment_1``, ...; the target ``__wb_y``, the score ``__wb_p``, the
prediction ``__wb_pred``, the timestamp ``__wb_ts``), so a user column never meets a column the
code adds, whatever its name: the summaries grouped from those rows hold only internal keys beside
their statistics (``n``, ``pos``, ``correct``, ...). User names come back in the results (scope
labels such as ``region=eu`` and the findings' segments). A user column whose name starts with the
prefix is refused, the prefix being reserved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.engine.reserved import PREFIX
from workbench.errors import ConfigError, InputError

# the error hint of the window options, which None sets to their default rather than turning off
DEFAULT_WINDOW_HINT = "Leave it out (None) for the default of one day."


def column(value: Any, *, name: str, owner: str) -> str:
    """A column name: a non-empty string not starting with the reserved prefix."""
    if not isinstance(value, str) or not value:
        raise ConfigError(f"The {name!r} parameter of {owner} must be a column name (a non-empty string). "
                          f"Got {value!r}.")
    if value.startswith(PREFIX):
        raise InputError(f"The {name!r} parameter of {owner} names column {value!r}, but names starting with "
                         f"{PREFIX!r} are reserved for the workbench's internal columns; rename the column.")
    return value


def optional_column(value: Any, *, name: str, owner: str) -> str | None:
    """None, or a column name (see :func:`column`)."""
    return None if value is None else column(value, name=name, owner=owner)


def columns(value: Any, *, name: str, owner: str) -> list[str]:
    """One column name or a sequence of them, as a list without repeats (first occurrence kept)."""
    if isinstance(value, str):
        return [column(value, name=name, owner=owner)]
    if not isinstance(value, Sequence):
        raise ConfigError(f"The {name!r} parameter of {owner} must be a column name or a list of column names. "
                          f"Got {value!r}.")
    return list(dict.fromkeys(column(v, name=f"{name}[{i}]", owner=owner) for i, v in enumerate(value)))


# Internal columns added to the rows: the target as 0/1, the score, the predicted class or value,
# the timestamp, a score bin, a time-window index, and a constant key.
Y, P, PRED, TS, BIN, WINDOW, ALL = (PREFIX + name for name in ("y", "p", "pred", "ts", "bin", "window", "all"))
INTERNAL = (Y, P, PRED, TS, BIN, WINDOW, ALL)


def segment(i: int) -> str:
    """The internal name of the ``i``-th segment (``by``) column."""
    return f"{PREFIX}segment_{i}"


def segments(by: Sequence[str]) -> dict[str, str]:
    """Internal name of each segment column -> the user's name (in ``by``'s order)."""
    return {segment(i): b for i, b in enumerate(by)}
