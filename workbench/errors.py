"""Exceptions raised by the workbench.

All are rooted in built-ins so callers can catch ``ValueError`` as usual.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class WorkbenchError(ValueError):
    """Base class of every error the workbench raises on purpose."""


class InputError(WorkbenchError):
    """The data given to a check is unusable (missing column, wrong dtype, empty, ...)."""


class ConfigError(WorkbenchError):
    """A declaration or configuration is inconsistent (unknown source, bad duration, ...)."""


def closest_names(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Return up to ``n`` candidates that look like ``name`` (for 'did you mean' hints)."""
    candidates = list(candidates)
    lowered = {c.lower(): c for c in candidates}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[h] for h in hits]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ' Did you mean ...?' suffix, or '' when nothing is close."""
    hits = closest_names(name, candidates)
    if not hits:
        return ""
    return " Did you mean " + " or ".join(repr(h) for h in hits) + "?"
