"""The run history of an output folder: ``index.json``, one entry per run (key
``<template>-<run id>``), shared by the CLI, scheduled runs and the JupyterLab extension.

Every read-modify-write holds an exclusive lock on ``.index.lock``, so runs of different
templates finishing together do not lose each other's entries. A history that cannot be read
(corrupt, or not a mapping of runs) is never overwritten: it is kept beside as
``index.corrupt-<time>.json`` and the history is rebuilt from the ``run.json`` in each run
folder. Entries written by an older version are completed with the fields they lack.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from workbench.findings.model import SEVERITY_RANK

INDEX = "index.json"
FIELDS = ("run_id", "template", "status", "started_at", "finished_at", "duration_s", "findings", "exit_code",
          "html", "notebook", "pid", "error")


def read(out: Path) -> tuple[dict[str, dict[str, Any]], str | None]:
    """The runs recorded in ``out`` (key → entry with every field of :data:`FIELDS`) and, when the
    index had to be rebuilt, a sentence saying what happened to it (else None)."""
    with _locked(out):
        return _read(out)


def update(out: Path, change: Callable[[dict[str, dict[str, Any]]], None]
           ) -> tuple[dict[str, dict[str, Any]], str | None]:
    """Apply ``change`` to the runs (a dict it edits in place) and save them atomically, under the
    lock, when it changed something. Returns the runs after the change and the repair note of
    :func:`read`, if any."""
    with _locked(out):
        runs, note = _read(out)
        before = json.dumps(runs, sort_keys=True, default=str)
        change(runs)
        if json.dumps(runs, sort_keys=True, default=str) != before or not (out / INDEX).exists():
            _write(out, runs)
        return runs, note


def entry(record: dict[str, Any]) -> dict[str, Any]:
    """The index entry of a run record (the fields the history lists)."""
    return complete({k: record.get(k) for k in FIELDS})


def complete(run: dict[str, Any]) -> dict[str, Any]:
    """An entry with every field, as the current version writes it (older entries lack some)."""
    out = {k: run.get(k) for k in FIELDS} | {k: v for k, v in run.items() if k not in FIELDS}
    findings = out["findings"] if isinstance(out["findings"], dict) else {}
    counts = findings.get("counts") if isinstance(findings.get("counts"), dict) else {}
    out["findings"] = {"files": list(findings.get("files") or []),
                       "counts": {s: int(counts.get(s) or 0) for s in SEVERITY_RANK}}
    out["status"] = out["status"] or "unknown"
    if out["notebook"] is None and out["html"]:
        out["notebook"] = str(Path(out["html"]).with_name("report.ipynb"))
    return out


def rebuild(out: Path) -> dict[str, dict[str, Any]]:
    """The history from the ``run.json`` of every run folder in ``out`` (unreadable ones skipped)."""
    runs = {}
    for path in sorted(out.glob("*/run.json")):
        try:
            record = json.loads(path.read_text())
            runs[f"{record['template']}-{record['run_id']}"] = entry(record)
        except (ValueError, KeyError, TypeError, OSError):
            continue
    return runs


def _read(out: Path) -> tuple[dict[str, dict[str, Any]], str | None]:
    index = out / INDEX
    if not index.exists():
        return {}, None
    try:
        runs = json.loads(index.read_text())
        if not isinstance(runs, dict) or not all(isinstance(v, dict) and "template" in v for v in runs.values()):
            raise ValueError("it is not a mapping of run entries")
    except (ValueError, OSError) as exc:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        kept = index.with_name(f"index.corrupt-{stamp}.json")
        index.replace(kept)
        runs = rebuild(out)
        _write(out, runs)
        return runs, (f"the run history {str(index)!r} could not be read ({exc}); it was kept as {kept.name!r} "
                      f"and the history was rebuilt from the run folders ({len(runs)} run(s)).")
    return {k: complete(v) for k, v in runs.items()}, None


def _write(out: Path, runs: dict[str, dict[str, Any]]) -> None:
    index = out / INDEX
    tmp = index.with_suffix(".tmp")
    tmp.write_text(json.dumps(runs, indent=2, default=str) + "\n")
    tmp.replace(index)


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """The history's lock (blocking: entries are small, writes quick)."""
    if not out.is_dir():
        yield
        return
    with (out / ".index.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
