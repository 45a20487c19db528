"""The request table at the boundary: the user's column names (each a keyword of
:func:`~workbench.llm.check_llm`, defaulting to the names of the LLM request-log convention), which
parts of the check they allow, and the rows under internal names.

Every column the check computes with is selected under a name starting with :data:`PREFIX`
(``__wb_ts``, ``__wb_segment_0``, ``__wb_in``, ...), so a user column never meets one the code
adds. Optional columns left at their default name and absent switch their part off (the result
says which and why); a column named explicitly and absent is an error naming it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from workbench.engine.inputs import require_columns
from workbench.engine.reserved import PREFIX, refuse_reserved
from workbench.errors import ConfigError

OWNER = "check_llm"
# the role of each column keyword -> its default name (the LLM request-log convention)
DEFAULTS: dict[str, str] = {
    "request_id": "request_id", "timestamp": "timestamp", "api_key": "api_key", "user_id": "user_id",
    "model": "model", "input_tokens": "input_tokens", "output_tokens": "output_tokens", "cost": "cost",
    "latency_ms": "latency_ms", "status": "status", "grounded": "grounded", "k": "k", "retrieved": "retrieved",
    "first_relevant_rank": "first_relevant_rank", "relevance_known": "relevance_known",
    "retrieval_latency_ms": "retrieval_latency_ms", "query_type": "query_type",
}
DEFAULT_BY = ("region", "query_type", "model")
DEFAULT_VERSIONS = ("model_version", "prompt_version")

# internal names of the columns the check computes with
TS, IN, OUT, COST, LAT, ERROR, GROUNDED, RANK, KNOWN, RETRIEVED, RLAT, QTYPE = (
    PREFIX + n for n in ("ts", "in", "out", "cost", "lat", "error", "grounded", "rank", "known", "retrieved",
                         "rlat", "qtype"))
ENTITY_NAMES = {"api_key": PREFIX + "api_key", "user_id": PREFIX + "user_id"}


def segment(i: int) -> str:
    """The internal name of the ``i``-th segment (``by``) column."""
    return f"{PREFIX}segment_{i}"


def version(i: int) -> str:
    """The internal name of the ``i``-th version column."""
    return f"{PREFIX}version_{i}"


@dataclass(frozen=True)
class Columns:
    """The user's columns the check found: ``roles`` (role -> column, for the ones present),
    ``by`` and ``versions`` (the segment and version columns present), and ``skipped`` (role ->
    why it is absent)."""

    roles: dict[str, str]
    by: list[str]
    versions: list[str]
    skipped: dict[str, str] = field(default_factory=dict)

    def has(self, *roles: str) -> bool:
        return all(r in self.roles for r in roles)

    @property
    def segments(self) -> dict[str, str]:
        """Internal segment column -> the user's name."""
        return {segment(i): b for i, b in enumerate(self.by)}

    @property
    def version_names(self) -> dict[str, str]:
        """Internal version column -> the user's name."""
        return {version(i): v for i, v in enumerate(self.versions)}


def resolve(schema: Mapping[str, Any], given: Mapping[str, Any], by: str | Sequence[str] | None,
            versions: str | Sequence[str] | None, *, name: str = "requests") -> Columns:
    """Which of the user's columns are there. ``given``: role -> the name passed (every role of
    :data:`DEFAULTS`); ``by``/``versions``: None for the defaults present, else required."""
    for role, column in given.items():
        if column is not None and (not isinstance(column, str) or not column):
            raise ConfigError(f"The {role!r} parameter of {OWNER} must be a column name (a non-empty string) or None. "
                              f"Got {column!r}.")
    explicit = {role: c for role, c in given.items() if c is not None and c != DEFAULTS[role]}
    require_columns(schema, {"timestamp": given["timestamp"], **explicit}, name=name)
    roles: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for role, column in given.items():
        if column is None:
            skipped[role] = "turned off (None)"
        elif column in schema:
            roles[role] = column
        else:
            skipped[role] = f"no column {column!r}"
    by_cols = _named_list(by, DEFAULT_BY, schema, "by", name)
    version_cols = _named_list(versions, DEFAULT_VERSIONS, schema, "versions", name)
    used: dict[str, str | None] = {**roles, **{f"by[{i}]": b for i, b in enumerate(by_cols)},
                                   **{f"versions[{i}]": v for i, v in enumerate(version_cols)}}
    refuse_reserved(used, name=name)
    return Columns(roles, by_cols, version_cols, skipped)


def _named_list(value: str | Sequence[str] | None, default: Sequence[str], schema: Mapping[str, Any], role: str,
                name: str) -> list[str]:
    if value is None:
        return [c for c in default if c in schema]
    values = [value] if isinstance(value, str) else list(value)
    if not all(isinstance(v, str) and v for v in values):
        raise ConfigError(f"The {role!r} parameter of {OWNER} must be a column name or a list of column names. "
                          f"Got {value!r}.")
    require_columns(schema, {f"{role}[{i}]": v for i, v in enumerate(values)}, name=name)
    return list(dict.fromkeys(values))


def text(column: str) -> pl.Expr:
    """A segment-like column as text, a null being the value "null"."""
    return pl.col(column).cast(pl.String).fill_null("null")
