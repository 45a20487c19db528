"""The run history of an output folder: ``index.json``, one entry per run (key
``<template>-<run id>``, the name of the run's folder; an attempt that could not replace a good run
has its own key ``<template>-<run id>.<attempt>``), shared by the CLI, scheduled runs and the
JupyterLab extension.

Every read-modify-write holds an exclusive lock on ``.index.lock``, so runs of different
templates finishing together do not lose each other's entries. A history that cannot be read
(corrupt, or not a mapping of runs) is never overwritten: it is kept beside as
``index.corrupt-<time>.json`` and the history is rebuilt from the ``run.json`` in each run
folder. An entry that cannot be used (a field of the wrong type, an unknown status or severity, a
report or findings path that is not in the run's own folder) is set aside the same way, into
``index.invalid-<time>.json`` with the reason, and the others are kept. Entries written by an older
version are completed with the fields they lack, and their paths are read from the run's folder
in this output folder (so a moved folder still lists correctly).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.findings.model import SEVERITY_RANK

INDEX = "index.json"
FIELDS = ("run_id", "template", "status", "started_at", "finished_at", "duration_s", "findings", "exit_code",
          "html", "notebook", "pid", "pid_start", "attempt", "request", "error")
STATUSES = ("running", "ok", "failed", "cancelled", "unknown")


def read(out: Path) -> tuple[dict[str, dict[str, Any]], str | None]:
    """The runs recorded in ``out`` (key → entry with every field of :data:`FIELDS`) and, when the
    index had to be rebuilt or entries set aside, a sentence saying what happened (else None)."""
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
    findings: dict[str, Any] = out["findings"] if isinstance(out["findings"], dict) else {}
    counts: dict[str, Any] = findings["counts"] if isinstance(findings.get("counts"), dict) else {}
    out["findings"] = {"files": list(findings.get("files") or []),
                       "counts": {s: int(counts.get(s) or 0) for s in SEVERITY_RANK}}
    out["status"] = out["status"] or "unknown"
    if out["notebook"] is None and out["html"]:
        out["notebook"] = str(Path(out["html"]).with_name("report.ipynb"))
    return out


def checked(out: Path, key: str, run: Any) -> dict[str, Any]:
    """The entry ``run`` recorded under ``key``, completed (:func:`complete`) and with its paths
    read from the run's folder ``out/<key>``; raises ValueError saying what is wrong with it."""
    if not isinstance(key, str) or not key or key.startswith(".") or "/" in key or "\0" in key:
        raise ValueError(f"the key {key!r} is not a run folder name")
    if not isinstance(run, dict):
        raise ValueError(f"it is a {type(run).__name__}, not a mapping")
    for name, kinds in (("template", (str,)), ("run_id", (str,)), ("status", (str, type(None))),
                        ("started_at", (str, type(None))), ("finished_at", (str, type(None))),
                        ("duration_s", (int, float, type(None))), ("exit_code", (int, type(None))),
                        ("pid", (int, type(None))), ("pid_start", (int, type(None))),
                        ("attempt", (str, type(None))), ("request", (str, type(None))),
                        ("error", (dict, type(None))), ("findings", (dict, type(None))),
                        ("html", (str, type(None))), ("notebook", (str, type(None)))):
        value = run.get(name)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise ValueError(f"{name} is {value!r}, expected {' or '.join(k.__name__ for k in kinds)}")
    if run.get("status") not in (*STATUSES, None):
        raise ValueError(f"status {run['status']!r} is not one of {list(STATUSES)}")
    findings = run.get("findings") or {}
    files, counts = findings.get("files") or [], findings.get("counts") or {}
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise ValueError(f"findings.files is {files!r}, expected a list of paths")
    if not isinstance(counts, dict):
        raise ValueError(f"findings.counts is {counts!r}, expected a mapping of severity to count")
    for severity, count in counts.items():
        if severity not in SEVERITY_RANK:
            raise ValueError(f"findings.counts has the unknown severity {severity!r} (known: {list(SEVERITY_RANK)})")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError(f"findings.counts.{severity} is {count!r}, expected a count")
    done = complete(run)
    folder = out.resolve() / key
    done["html"] = _in_folder(folder, done["html"], ("report.html",), "html")
    done["notebook"] = _in_folder(folder, done["notebook"], ("report.ipynb",), "notebook")
    done["findings"]["files"] = [_in_folder(folder, f, ("findings", Path(f).name), "a findings file") for f in files]
    return done


def _in_folder(folder: Path, value: str | None, tail: tuple[str, ...], what: str) -> str | None:
    """``value`` read in ``folder``: it must name ``folder.name/<tail>`` (any prefix: the folder may have
    moved); anything else (another folder, ``..``, a file elsewhere) is refused."""
    if value is None:
        return None
    parts = Path(value).parts
    name = tail[-1]
    if (parts[-len(tail) - 1:] != (folder.name, *tail) or name in ("", ".", "..")
            or (what == "a findings file" and not name.endswith(".json"))):
        raise ValueError(f"{what} {value!r} is not in the run's own folder {folder.name!r}")
    return str(folder.joinpath(*tail))


def rebuild(out: Path) -> dict[str, dict[str, Any]]:
    """The history from the ``run.json`` of every run folder in ``out`` (unreadable ones skipped)."""
    runs = {}
    for path in sorted(out.glob("*/run.json")):
        try:
            record = json.loads(path.read_text())
            key = path.parent.name
            runs[key] = checked(out, key, entry(record))
        except (ValueError, KeyError, TypeError, OSError, AttributeError):
            continue
    return runs


def _read(out: Path) -> tuple[dict[str, dict[str, Any]], str | None]:
    index = out / INDEX
    if not index.exists():
        return {}, None
    if index.is_dir():
        raise InputError(f"the run history {str(index)!r} is a folder; move it away (it should be a file written by "
                         "workbench) and run again.")
    try:
        runs = json.loads(index.read_text())
        if not isinstance(runs, dict) or not all(isinstance(v, dict) and "template" in v for v in runs.values()):
            raise ValueError("it is not a mapping of run entries")
    except (ValueError, OSError) as exc:
        kept = index.with_name(f"index.corrupt-{_stamp()}.json")
        index.replace(kept)
        runs = rebuild(out)
        _write(out, runs)
        return runs, (f"the run history {str(index)!r} could not be read ({exc}); it was kept as {kept.name!r} "
                      f"and the history was rebuilt from the run folders ({len(runs)} run(s)).")
    good, bad = {}, {}
    for key, run in runs.items():
        try:
            good[key] = checked(out, key, run)
        except ValueError as exc:
            bad[key] = {"reason": str(exc), "entry": run}
    if not bad:
        return good, None
    kept = index.with_name(f"index.invalid-{_stamp()}.json")
    previous = json.loads(kept.read_text()) if kept.exists() else {}
    kept.write_text(json.dumps(previous | bad, indent=2, default=str) + "\n")
    _write(out, good)
    reasons = "; ".join(f"{k}: {v['reason']}" for k, v in bad.items())
    return good, (f"{len(bad)} entr{'y' if len(bad) == 1 else 'ies'} of the run history {str(index)!r} could not be "
                  f"used and {'was' if len(bad) == 1 else 'were'} set aside in {kept.name!r} ({reasons}).")


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")


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
    lock = out / ".index.lock"
    try:
        handle = lock.open("w")
    except IsADirectoryError:
        raise InputError(f"the history lock {str(lock)!r} is a folder; remove it (workbench creates it as an "
                         "empty file) and run again.") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
