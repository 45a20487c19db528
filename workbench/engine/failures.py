"""An engine's own errors, raised while a check builds or runs its queries, as an InputError that
names the input, the check and the engine (and, where the backend's error has a known cause, the fix)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from workbench.engine._spark import error_line
from workbench.errors import InputError

# causes of backend errors a user can fix, by a phrase of the error, and the fix
_HINTS = {
    "different connections": " Create the training set and every source from one duckdb connection.",
}


@contextmanager
def engine_errors(name: str, engine: str, *, check: str, doing: str = "build its queries") -> Iterator[None]:
    """Report an engine's error inside the block as ``InputError("<name>: <check> could not <doing>
    on <engine>: <the error's informative line>")``: a refusal while building queries that join
    inputs (duckdb refuses relations of two connections), or a source failing while a result is
    computed (e.g. a deleted parquet partition). An InputError passes through unchanged."""
    try:
        yield
    except InputError:
        raise
    except Exception as exc:  # each engine raises its own error types
        hint = "".join(fix for phrase, fix in _HINTS.items() if phrase in str(exc))
        raise InputError(f"{name}: {check} could not {doing} on {engine}: {error_line(exc)}{hint}") from None
