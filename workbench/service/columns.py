"""Column names of the serving request log: the user's (each a keyword of :func:`check_service`), validated at
the boundary, and the internal ones the check works with.

The check selects the user's columns it uses under internal names (``__wb_ts``, ``__wb_attempt``, ...; segment
columns ``__wb_segment_0``, ...), so a user column never meets a column the code adds. User names come back in
the results (scope labels such as ``region=eu``, the subjects of the findings).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workbench import params
from workbench.engine.inputs import require_columns
from workbench.engine.reserved import PREFIX
from workbench.errors import ConfigError, InputError

OWNER = "check_service"
# role -> its default column name (wave-4 conventions for the serving request log)
ROLES: dict[str, str] = {
    "request_id": "request_id", "timestamp": "timestamp", "idempotency_key": "idempotency_key",
    "attempt": "attempt", "status": "status", "error_class": "error_class", "latency_ms": "latency_ms",
    "output_hash": "output_hash", "side_effect_id": "side_effect_id", "fallback": "fallback",
    "dependency": "dependency", "circuit_open": "circuit_open",
}
REQUIRED = ("request_id", "timestamp", "status")
DEFAULT_BY = ("client_id", "region", "endpoint")

TS, WINDOW, KEY, STRATUM = (f"{PREFIX}{n}" for n in ("ts", "window", "key", "stratum"))
DEFAULT_STRATIFY = "endpoint"


def internal(role: str) -> str:
    """The internal name of a role's column (``__wb_attempt``)."""
    return f"{PREFIX}{role}"


def segment(i: int) -> str:
    """The internal name of the ``i``-th segment (``by``) column."""
    return f"{PREFIX}segment_{i}"


@dataclass(frozen=True)
class Columns:
    """The user's column of each role (None: not in the log, that part of the check is skipped) and the segment
    columns ``by``; ``names`` maps each internal segment name to the user's."""

    roles: Mapping[str, str | None]
    by: tuple[str, ...]
    stratum: str | None = None  # the column whose values make stage latencies comparable (``stratify``)

    @property
    def names(self) -> dict[str, str]:
        return {segment(i): b for i, b in enumerate(self.by)}

    def has(self, *roles: str) -> bool:
        return all(self.roles.get(r) is not None for r in roles)


def resolve(given: Mapping[str, Any], by: str | Sequence[str] | None, schema: Mapping[str, Any],
            stratify: str | None = None) -> Columns:
    """Each role's column: the name given (it must be in the log), or the default name when the log has it
    (else None: the part that needs it is skipped). The three required roles must be present. ``by``: the
    segment columns (None: those of ``client_id``, ``region``, ``endpoint`` that the log has). ``stratify``: the
    stratum column of the stage latencies, kept when the log has it."""
    roles: dict[str, str | None] = {}
    missing = []
    for role, default in ROLES.items():
        value = given.get(role, default)
        name = _column(value, role)
        explicit = role in given and given[role] is not None
        if name is not None and name not in schema:
            if explicit or role in REQUIRED:
                missing.append((role, name))
            name = None
        roles[role] = name
    if by is None:
        segments = [b for b in DEFAULT_BY if b in schema]
    else:
        segments = [_column(b, f"by[{i}]") or "" for i, b in enumerate(params.column_names(by, name="by",
                                                                                        owner=OWNER))]
        missing += [(f"by[{i}]", b) for i, b in enumerate(segments) if b not in schema]
    if missing:
        require_columns(schema, dict(missing), name="requests")
    stratum = _column(stratify, "stratify")
    return Columns(roles, tuple(dict.fromkeys(segments)), stratum if stratum in schema else None)


def _column(value: Any, role: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"The {role!r} parameter of {OWNER} must be a column name (a non-empty string) or None. "
                          f"Got {value!r}.")
    if value.startswith(PREFIX):
        raise InputError(f"The {role!r} parameter of {OWNER} names column {value!r}, but names starting with "
                         f"{PREFIX!r} are reserved for the workbench's internal columns; rename the column.")
    return value
