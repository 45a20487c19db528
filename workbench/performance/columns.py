"""Column names in the performance checks: the user's, validated at the boundary (the numeric,
duration and datetime options go through :mod:`workbench.params`), and the internal ones.

Every column a performance check adds while computing is named with :data:`PREFIX`. A user column
whose name starts with it is refused, the prefix being reserved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.errors import ConfigError, InputError

PREFIX = "__wb_"


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
