"""Names of the columns the shadow/canary comparison works with inside its computation.

The logs' columns are renamed by role as they are read (:func:`workbench.shadow.reconcile`): the
request id becomes :data:`ID`, the ``i``-th segment column :func:`by_column` ``(i)``, each role
(prediction, score, ...) :func:`role` ``(name)`` on one side's rows and ``role(name, side)`` on the
matched requests; the labels' value is :data:`~workbench.engine.labels.LABEL`. Every helper column the
comparison adds carries the same reserved prefix, and a log or label column the comparison uses
may not start with it (:func:`refuse_reserved`), so a user's column can never collide with one of
ours, whatever its name (``segment``, ``n``, ``bin``, ...). The user's names appear only in the
findings, the ``scope`` texts and the messages; the result tables have readable column names.
"""

from __future__ import annotations

from workbench.engine.labels import LABEL, LABEL_TIME_US
from workbench.engine.reserved import ATTEMPT, PREFIX, ROW, refuse_reserved

ROLES = ("timestamp", "prediction", "score", "latency", "error")
ID = f"{PREFIX}id"
DELTA = f"{PREFIX}delta"  # candidate minus production on one request
BIN = f"{PREFIX}bin"  # the bin of |delta|
CLASS_PRODUCTION = f"{PREFIX}class_production"  # the confusion counts behind kappa
CLASS_CANDIDATE = f"{PREFIX}class_candidate"
HELPERS = (ID, ROW, ATTEMPT, DELTA, BIN, CLASS_PRODUCTION, CLASS_CANDIDATE, LABEL, LABEL_TIME_US)


def role(name: str, side: str | None = None) -> str:
    """The column of role ``name`` (one of :data:`ROLES`): on one side's rows, or suffixed with the
    ``side`` on the matched requests."""
    if name not in ROLES:
        raise ValueError(f"unknown role {name!r}")
    return f"{PREFIX}{name}" if side is None else f"{PREFIX}{name}_{side}"


def by_column(i: int) -> str:
    """The column of the ``i``-th segment column (``by[i]``)."""
    return f"{PREFIX}by_{i}"


def internal_columns(n_by: int, sides: tuple[str, ...]) -> list[str]:
    """Every column name the comparison may add, for ``n_by`` segment columns."""
    roles = [role(r, s) for r in ROLES for s in (None, *sides)]
    return [*HELPERS, *roles, *(by_column(i) for i in range(n_by))]


__all__ = ["ATTEMPT", "BIN", "CLASS_CANDIDATE", "CLASS_PRODUCTION", "DELTA", "HELPERS", "ID", "LABEL", "PREFIX",
           "ROLES", "ROW", "by_column", "internal_columns", "refuse_reserved", "role"]
