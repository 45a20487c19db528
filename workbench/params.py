"""Parameter validation at the boundary: one rule per kind of parameter.

Every public entry point passes its options through these functions, so that a wrong value is
refused with the parameter's name, what was given and what is allowed, in the form scikit-learn
uses ("The 'threshold' parameter of check_performance must be a probability in (0, 1). Got 2.0."),
instead of being read as something else (``timedelta(0)`` turning windows off, ``"maybe"`` read as
true) or failing deep inside with an ``AttributeError``.

Rules, by kind:

* durations are strictly positive (``"90d"``, ``"6h"``, ``"15m"``, ``"30s"``, ``"2w"``, a
  ``timedelta`` or a number of seconds); ``0s`` and negative values are refused. Embargoes and
  other offsets that may be zero use :func:`non_negative_duration`;
* probabilities, confidences and FDR levels lie strictly inside (0, 1); proportions (tolerances,
  margins) in [0, 1); shares (of traffic) in (0, 1];
* booleans are ``True`` or ``False`` (not ``"maybe"``, ``1`` or ``"yes"``);
* datetimes are ``datetime`` objects or ISO-8601 strings (``"2026-03-08"``,
  ``"2026-03-08T12:00:00+00:00"``), parsed here; anything else is refused;
* counts are integers at least a stated minimum;
* column names are strings; a list of column names is a string (one name) or a list or tuple
  of strings;
* a keyword of an earlier version (:data:`RENAMED`) is refused with its new name
  (:func:`renamed_keywords`), and a check's earlier function name still works for one release,
  with a ``DeprecationWarning`` naming the new one (:func:`deprecated_alias`).
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import math
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ParamSpec, TypeVar

from workbench.errors import ConfigError

DEFAULT_FDR = 0.01
"""The false-discovery rate every check controls by default (Benjamini–Hochberg across its tests). Chosen by
measurement (docs/vocabulary.md, BENCHMARKS.md): against 0.05 it lowers the false alarms on unchanged
data at 1,000 rows and keeps the power at 100,000 rows at 100% for every rule."""

_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*(w|d|h|m|s)\s*$")
DURATION_EXAMPLES = "'90d', '6h', '15m' or '30s'"


def _where(name: str, owner: str | None) -> str:
    return f"The {name!r} parameter of {owner}" if owner else f"The {name!r} parameter"


def parse_duration_value(value: Any, *, name: str, owner: str | None = None) -> dt.timedelta:
    """Read a duration: a ``timedelta``, a number of seconds, or text like ``'90d'`` / ``'6h'``.

    Returns the timedelta, possibly zero or negative (the callers below apply the sign rule).
    Raises :class:`ConfigError` naming ``name`` when it cannot be read.
    """
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, bool) or value is None:
        raise ConfigError(f"{_where(name, owner)} must be a duration such as {DURATION_EXAMPLES}. Got {value!r}.")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ConfigError(f"{_where(name, owner)} must be a finite duration. Got {value!r}.")
        return dt.timedelta(seconds=float(value))
    match = _DURATION.match(str(value))
    if not match:
        raise ConfigError(f"{_where(name, owner)} must be a duration such as {DURATION_EXAMPLES}; "
                          f"cannot read {value!r}.")
    return dt.timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


OFF_HINT = "To turn it off, leave it out (None)."


def positive_duration(value: Any, *, name: str, owner: str | None = None, hint: str | None = None) -> dt.timedelta:
    """A duration strictly greater than zero (windows, TTLs, look-backs). ``hint``: a sentence
    added to the error telling what leaving the parameter out does at this call site (e.g.
    :data:`OFF_HINT`, or "Leave it out for the default of one day."); none by default."""
    td = parse_duration_value(value, name=name, owner=owner)
    if td <= dt.timedelta(0):
        raise ConfigError(f"{_where(name, owner)} must be a duration greater than zero, such as "
                          f"{DURATION_EXAMPLES}. Got {value!r}." + (f" {hint}" if hint else ""))
    return td


def non_negative_duration(value: Any, *, name: str, owner: str | None = None) -> dt.timedelta:
    """A duration of zero or more (embargoes, delays)."""
    td = parse_duration_value(value, name=name, owner=owner)
    if td < dt.timedelta(0):
        raise ConfigError(f"{_where(name, owner)} must be a duration of zero or more, such as "
                          f"'0s' or {DURATION_EXAMPLES}. Got {value!r}.")
    return td


def optional_positive_duration(value: Any, *, name: str, owner: str | None = None,
                               hint: str | None = OFF_HINT) -> dt.timedelta | None:
    """None, or a duration strictly greater than zero. ``hint`` (default :data:`OFF_HINT`, for an
    option that None turns off) is added to the error; say what None means where it is not off."""
    return None if value is None else positive_duration(value, name=name, owner=owner, hint=hint)


def open_unit(value: Any, *, name: str, owner: str | None = None) -> float:
    """A number strictly between 0 and 1 (a probability threshold, a confidence, an FDR level)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not (0 < value < 1):
        raise ConfigError(f"{_where(name, owner)} must be a number strictly between 0 and 1. Got {value!r}.")
    return float(value)


def proportion(value: Any, *, name: str, owner: str | None = None) -> float:
    """A number in [0, 1): a tolerance or a margin in proportion points (0.005 = half a point)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not (0 <= value < 1):
        raise ConfigError(f"{_where(name, owner)} must be a proportion in [0, 1) (0.005 = half a point). "
                          f"Got {value!r}.")
    return float(value)


def share(value: Any, *, name: str, owner: str | None = None) -> float:
    """A number in (0, 1]: a share of a whole that may be all of it (a traffic share)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not (0 < value <= 1):
        raise ConfigError(f"{_where(name, owner)} must be a share in (0, 1] (0.05 = 5%, 1 = all). Got {value!r}.")
    return float(value)


def boolean(value: Any, *, name: str, owner: str | None = None) -> bool:
    """``True`` or ``False``, nothing else (in YAML: ``true`` / ``false``)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{_where(name, owner)} must be true or false. Got {value!r}.")
    return value


def count(value: Any, *, name: str, minimum: int = 1, owner: str | None = None) -> int:
    """An integer at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{_where(name, owner)} must be an integer of at least {minimum}. Got {value!r}.")
    return int(value)


def positive_number(value: Any, *, name: str, owner: str | None = None) -> float:
    """A finite number strictly greater than zero (ratios, margins)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{_where(name, owner)} must be a number greater than zero. Got {value!r}.")
    return float(value)


def non_negative_number(value: Any, *, name: str, owner: str | None = None) -> float:
    """A finite number of zero or more (tolerances)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ConfigError(f"{_where(name, owner)} must be a number of zero or more. Got {value!r}.")
    return float(value)


def column_name(value: Any, *, name: str, owner: str | None = None, optional: bool = True) -> str | None:
    """A column name (a string); ``None`` too when ``optional``."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{_where(name, owner)} must be a column name (a non-empty string)"
                          f"{' or None' if optional else ''}. Got {value!r}.")
    return value


def column_names(value: Any, *, name: str, owner: str | None = None) -> list[str]:
    """Column names: one name as a string, or a list, tuple or other collection of names (``()`` for none)."""
    if isinstance(value, str):
        return [column_name(value, name=name, owner=owner, optional=False)]  # type: ignore[list-item]
    names = None
    if isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        names = list(value)
    if names is None or not all(isinstance(v, str) and v for v in names):
        raise ConfigError(f"{_where(name, owner)} must be a column name or a list of column names. Got {value!r}.")
    return names


def datetime_value(value: Any, *, name: str, owner: str | None = None) -> dt.datetime | None:
    """None, a ``datetime``, a ``date`` (midnight) or an ISO-8601 string, as a ``datetime``.

    A date or a string without a time zone gives a naive datetime, compared as the data's own
    time zone by the checks (as a naive ``datetime`` would be).
    """
    if value is None or isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConfigError(f"{_where(name, owner)} must be a datetime or an ISO time such as "
                      f"'2026-03-08T12:00:00+00:00'. Got {value!r}.")


# -- names of earlier versions ------------------------------------------------------------------------------
RENAMED = {"n_bins": "bins", "min_rows": "min_support", "min_segment": "min_support", "data": "predictions"}
"""Keywords (and config keys) of earlier versions -> their name now: one name per concept (docs/vocabulary.md)."""

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T", bound=type)


def refuse_renamed(given: Iterable[str], old: Iterable[str], *, where: str) -> None:
    """Raise :class:`ConfigError` when ``given`` (keywords, config keys) holds one of the ``old`` names of
    :data:`RENAMED`: "check_drift: n_bins was renamed bins", instead of Python's bare ``TypeError``
    (``where``: the function, or the config file)."""
    for name in given:
        if name in old:
            raise ConfigError(f"{where}: {name} was renamed {RENAMED[name]} (the old name is refused; "
                              f"use {RENAMED[name]}).")


def renamed_keywords(*old: str, owner: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate ``owner`` so that a call with one of its ``old`` keywords (keys of :data:`RENAMED`) raises
    :class:`ConfigError` naming the new keyword."""
    unknown = set(old) - set(RENAMED)
    if unknown:
        raise KeyError(f"not in params.RENAMED: {sorted(unknown)}")

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            refuse_renamed(kwargs, old, where=owner)
            return function(*args, **kwargs)

        return call

    return decorate


def renamed_fields(*old: str, owner: str) -> Callable[[T], T]:
    """:func:`renamed_keywords` for a class: its constructor refuses the ``old`` keywords."""

    def decorate(cls: T) -> T:
        cls.__init__ = renamed_keywords(*old, owner=owner)(cls.__init__)  # type: ignore[misc]
        return cls

    return decorate


def deprecated_alias(old: str, new: str, module: str) -> Callable[..., Any]:
    """A function named ``old`` that warns (``DeprecationWarning`` naming ``new``) and calls ``module.new``.

    ``new`` is looked up at each call, so the alias always runs the current function. Kept for one release.
    """

    def alias(*args: Any, **kwargs: Any) -> Any:
        warnings.warn(f"{old} is deprecated and will be removed in the next release: use {new} "
                      f"(from workbench import {new}).", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(module), new)(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = old
    alias.__doc__ = f"Deprecated: the earlier name of :func:`workbench.{new}` (warns, then calls it)."
    return alias
