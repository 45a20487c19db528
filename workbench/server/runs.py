"""What the JupyterLab extension's REST endpoints do, without the web server: paths confined to
the server's root, templates with their parameters, report runs in background processes, their
history, cancellation and new audit notebooks.

A run started here is a detached process (``python -m workbench.server.worker``, its own
session) that calls :func:`workbench.reports.run_report`: it survives the browser closing and a
server restart, and it is recorded in the same history as a CLI or scheduled run. Each start is
also written as a request file (``<out>/.requests/<id>.json``) so that a run that failed before
its record existed (bad data found late, a crash) still shows, with its error; once the run has
its own record (which names the request), the request is no longer listed. The server reaps the
workers it started (a thread waits for each), so a worker that died is never taken for a running
one; runs and requests are identified by pid and process start time
(:mod:`workbench.reports.process`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import glob
import json
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError, InputError
from workbench.findings.model import SEVERITY_RANK
from workbench.reports import history, process, templates
from workbench.reports.run import EXIT_FAILED, reconcile

REQUESTS = ".requests"
REQUEST_ID = re.compile(r"[0-9a-f]{32}")
RUN_KEY = re.compile(r"[^/]+-[0-9a-f]+(\.[0-9a-f]{8})?")


class Forbidden(InputError):
    """A path that leaves the server's root (``..``, an absolute path, a symlink out)."""


class Conflict(InputError):
    """A run of the same template into the same folder is already in progress."""


class NotFound(InputError):
    """No such run, request or template."""


def confine(root: Path, relative: str, *, what: str) -> Path:
    """``relative`` resolved inside ``root``; refused when it is absolute, climbs with ``..`` or
    resolves (through symlinks) outside ``root``."""
    if not isinstance(relative, str) or not relative.strip():
        raise InputError(f"{what} must be a path relative to the server's root, got {relative!r}.")
    path = Path(relative)
    if path.is_absolute() or ".." in path.parts:
        raise Forbidden(f"{what} {relative!r} is not allowed: give a path inside the server's root, without '..'.")
    resolved = (root / path).resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise Forbidden(f"{what} {relative!r} leads outside the server's root (a symlink?); it is not allowed.")
    return resolved


def report_page(root: Path, relative: str) -> Path:
    """A report page to serve in a browser tab of its own: an ``.html`` file inside ``root``, confined
    like every path here (no ``..``, no absolute path, no symlink out); like Jupyter's own file
    handler, nothing under a hidden folder or file (``.staging`` of a run in progress) is served."""
    path = confine(root, relative, what="the report")
    if path.suffix.lower() not in (".html", ".htm"):
        raise Forbidden(f"the report {relative!r} is not an HTML page; only .html files are served here.")
    if any(part.startswith(".") for part in Path(relative).parts) or not path.is_file():
        raise NotFound(f"no report {relative!r} under the server's root.")
    return path


def relative(root: Path, path: str | Path | None) -> str | None:
    """A path as seen from the server's root (for the file browser), or None outside it."""
    if not path:
        return None
    resolved = (root / path).resolve()
    return str(resolved.relative_to(root.resolve())) if resolved.is_relative_to(root.resolve()) else None


def template_dirs(root: Path) -> list[Path]:
    """Where templates are looked up: the root's ``notebooks/reports`` first, then the package's."""
    return [root / "notebooks" / "reports", *templates.TEMPLATE_DIRS[1:]]


def list_templates(root: Path) -> list[dict[str, Any]]:
    """Each template: name, its parameters (name → default, type, help) and, when its parameters
    cell cannot be read, ``error`` instead (the others are still listed)."""
    out = []
    for name, path in sorted(templates.available(template_dirs(root)).items()):
        item: dict[str, Any] = {"name": name, "path": relative(root, path), "parameters": {}, "error": None}
        try:
            item["parameters"] = parameters_of(path)
        except Exception as exc:  # a broken template must not hide the others
            item["error"] = f"the parameters cell of {path.name!r} cannot be read: {exc}"
        out.append(item)
    return out


def parameters_of(path: Path) -> dict[str, dict[str, Any]]:
    """A template's parameters; refused when its ``parameters`` cell is missing or not Python."""
    import ast

    import nbformat

    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        raise InputError("no cell is tagged 'parameters'")
    try:
        ast.parse(cells[0].source)
    except SyntaxError as exc:
        raise InputError(f"line {exc.lineno}: {exc.msg}") from None
    return {k: _jsonable(v) for k, v in templates.parameters(path).items()}


def find_template(root: Path, name: str) -> Path:
    """A template by name only (never a path), from :func:`template_dirs`."""
    found = templates.available(template_dirs(root))
    if name not in found:
        raise NotFound(f"unknown template {name!r}; available: {sorted(found)}.")
    return found[name]


def start_run(root: Path, template: str, parameters: dict[str, Any], *, out: str = "reports",
              fail_on: str = "critical") -> dict[str, Any]:
    """Validate, then start a run in a background process; returns the request (id, pid, ...).

    Refused before anything starts: an unknown template or parameter, a wrong type, a data path
    that is missing or outside the root, an output folder outside the root, an invalid
    ``fail_on``, or a run of the same template into the same folder already in progress."""
    if fail_on not in (*SEVERITY_RANK, "none"):
        raise ConfigError(f"fail_on must be one of {[*SEVERITY_RANK, 'none']}, got {fail_on!r}.")
    if not isinstance(parameters, dict):
        raise ConfigError(f"parameters must be an object of name → value, got {type(parameters).__name__}.")
    path = find_template(root, template)
    out_dir = confine(root, out, what="the output folder")
    for name, value in parameters.items():
        if name.endswith("_path") and isinstance(value, str) and value:
            confine(root, value, what=f"parameter {name}")
    merged = templates.check(path, dict(parameters), base=root)  # data paths are relative to the root
    for name, data in templates.data_files(merged, base=root).items():
        confine_data(root, name, data)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"the output folder {out!r} cannot be created: {exc.strerror}.") from None
    if not out_dir.is_dir():
        raise InputError(f"the output folder {out!r} is a file, not a folder.")
    busy = in_progress(out_dir, template)
    if busy:
        raise Conflict(f"a run of {template!r} into {out!r} is already in progress (started {busy}); wait for it "
                       "or cancel it.")
    request_id = uuid.uuid4().hex
    folder = out_dir / REQUESTS
    folder.mkdir(exist_ok=True)
    request: dict[str, Any] = {
        "id": request_id, "template": template, "template_path": str(path), "parameters": parameters,
        "out": str(out_dir), "fail_on": fail_on, "status": "starting",
        "requested_at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), "pid": None}
    _write_request(folder / f"{request_id}.json", request)
    log = (folder / f"{request_id}.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "workbench.server.worker", str(folder / f"{request_id}.json")],
                            cwd=root, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)  # its own session: it outlives the browser and the server
    log.close()
    request |= {"pid": proc.pid, "pid_start": process.start_time(proc.pid)}
    threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()  # no zombie when it ends
    _write_request(folder / f"{request_id}.json", request)
    return request


def confine_data(root: Path, name: str, data: Path) -> None:
    """Refuse a data path that reads anything outside ``root``: the path itself and, as the run
    reads them, every glob match and every file and folder under a matched folder, symlinks resolved
    (a literal folder named ``[e]scape`` is read as the glob ``escape``)."""
    root = root.resolve()
    text = str(data)
    if glob.has_magic(text):
        relative_pattern = data.relative_to(root) if data.is_relative_to(root) else data
        found = [root / m for m in glob.glob(str(relative_pattern), root_dir=root)]
    else:
        found = [data]
    folders, seen = [], set()
    for item in found:
        _confined(root, name, item)
        if item.is_dir():
            folders.append(item.resolve())
    while folders:  # every file and folder under a matched folder, following symlinks (each checked first)
        folder = folders.pop()
        if folder in seen:
            continue
        seen.add(folder)
        for item in folder.iterdir():
            _confined(root, name, item)
            if item.is_dir():
                folders.append(item.resolve())


def _confined(root: Path, name: str, item: Path) -> None:
    if not item.resolve().is_relative_to(root):
        raise Forbidden(f"{name} reads {str(item)!r}, which leads outside the server's root; it is not allowed.")


def in_progress(out_dir: Path, template: str) -> str | None:
    """When a run of ``template`` into ``out_dir`` is in progress, its start time (else None)."""
    import fcntl

    lock = out_dir / f".{template}.lock"
    if lock.is_dir():
        raise InputError(f"the run lock {str(lock)!r} is a folder; remove it (workbench creates it as an empty "
                         "file) and run again.")
    if lock.exists():
        with lock.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(handle, fcntl.LOCK_UN)
            except BlockingIOError:
                return _started(out_dir, template) or "just now"
    for request in _requests(out_dir):
        if request["template"] == template and request["status"] in ("starting", "running") \
                and process.alive(request.get("pid"), request.get("pid_start")):
            return request["requested_at"]
    return None


def runs(root: Path, out: str = "reports") -> dict[str, Any]:
    """The history of ``out`` for the sidebar: runs newest first (paths relative to the root, and
    None when the file is not there; runs whose process is gone marked failed), requests that have
    no run yet (starting, or failed before their run existed, with the log's tail) and a
    ``warning`` when the history had to be repaired. A request whose run is recorded is not
    listed (the run is), and its file is removed once its worker has ended."""
    out_dir = confine(root, out, what="the output folder")
    recorded, note = reconcile(out_dir) if out_dir.is_dir() else ({}, None)
    items = []
    for key, run in recorded.items():
        files = [relative(root, f) for f in run["findings"]["files"]]
        items.append(run | {"key": key, "html": _existing(root, run.get("html")),
                            "notebook": _existing(root, run.get("notebook")),
                            "findings": run["findings"] | {"files": files}})
    claimed = {r.get("request") for r in recorded.values() if r.get("request")}
    claimed_pids = {(r.get("pid"), r.get("pid_start")) for r in recorded.values() if r.get("pid")}
    pending = []
    for request in _requests(out_dir):
        live = process.alive(request.get("pid"), request.get("pid_start"))
        if request["id"] in claimed or (request.get("pid"), request.get("pid_start")) in claimed_pids:
            if not live:  # its run's record says everything, and no worker will update it any more
                _forget(out_dir, request["id"])
            continue
        if request["status"] in ("starting", "running") and not live:
            request |= {"status": "failed", "error": _tail(out_dir, request["id"])}
        pending.append(request)
    items.sort(key=lambda r: r.get("started_at") or "", reverse=True)
    return {"out": out, "runs": items, "requests": pending, "warning": note}


def cancel(root: Path, key: str, out: str = "reports") -> dict[str, Any]:
    """Stop a run (by its history key) or a request (by id): its process group gets SIGTERM; the
    history records it as cancelled. A cancelled run never replaces the run it would have
    replaced (:mod:`workbench.reports.run`)."""
    out_dir = confine(root, out, what="the output folder")
    if REQUEST_ID.fullmatch(key):
        path = out_dir / REQUESTS / f"{key}.json"
        if not path.exists():
            raise NotFound(f"no run request {key!r} in {out!r}.")
        request = json.loads(path.read_text())
        ident = (request.get("pid"), request.get("pid_start"))

        def mark(runs: dict[str, dict[str, Any]]) -> None:
            _stop(*ident)
            for run in runs.values():
                mine = run.get("request") == key or (run.get("pid"), run.get("pid_start")) == ident
                if mine and run.get("status") == "running":
                    _cancelled(run)

        if out_dir.is_dir():
            history.update(out_dir, mark)
        else:
            _stop(*ident)
        request["status"] = "cancelled"
        _write_request(path, request)
        return request
    if not RUN_KEY.fullmatch(key):
        raise NotFound(f"no run {key!r} in {out!r}.")
    found: dict[str, Any] = {}

    def stop(runs: dict[str, dict[str, Any]]) -> None:
        if key not in runs:
            raise NotFound(f"no run {key!r} in {out!r}.")
        run = runs[key]
        if run.get("status") != "running":
            raise Conflict(f"run {key!r} is not running (status {run.get('status')!r}).")
        _stop(run.get("pid"), run.get("pid_start"))
        _cancelled(run)
        found.update(run | {"key": key})

    history.update(out_dir, stop)
    return found


def new_notebook(root: Path, template: str, folder: str = "audits") -> str:
    """Copy a template into ``folder`` under the root as a new notebook (a free name, its template named in
    ``metadata.workbench``); returns its path relative to the root."""
    source = find_template(root, template)
    target_dir = confine(root, folder, what="the notebook folder")
    target_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y-%m-%d")
    notebook = json.loads(source.read_text(encoding="utf-8"))
    _paths_from(notebook, root.resolve(), target_dir)
    notebook.setdefault("metadata", {})["workbench"] = {"template": template}  # JupyterLab opens it clean
    for i in range(1, 1000):
        target = target_dir / f"{template}-{stamp}{'' if i == 1 else f'-{i}'}.ipynb"
        if not target.exists():
            target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            return str(target.relative_to(root.resolve()))
    raise Conflict(f"too many {template} notebooks for {stamp} in {folder!r}.")


# `name = "value"  # comment` in a parameters cell, for a parameter whose name ends in _path
_PATH_PARAMETER = re.compile(r'^(?P<head>\s*\w+_path\s*=\s*)(?P<quote>["\'])(?P<value>[^"\']*)(?P=quote)(?P<tail>.*)$')


def _paths_from(notebook: dict[str, Any], root: Path, folder: Path) -> None:
    """Rewrite the relative ``*_path`` defaults of the parameters cell so that they name the same files from
    ``folder``, where the new notebook lives and its kernel starts (a template's defaults are relative to the
    server root, where report runs start). Absolute, empty and glob-free paths that do not exist under the root
    are left as they are."""
    offset = Path(os.path.relpath(root, folder))
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code" or "parameters" not in cell.get("metadata", {}).get("tags", []):
            continue
        source = cell["source"] if isinstance(cell["source"], list) else cell["source"].splitlines(keepends=True)
        for i, line in enumerate(source):
            match = _PATH_PARAMETER.match(line.rstrip("\n"))
            if not match or not match["value"] or os.path.isabs(match["value"]):
                continue
            if not glob.glob(str(root / match["value"])):
                continue
            moved = (offset / match["value"]).as_posix()
            source[i] = f"{match['head']}{match['quote']}{moved}{match['quote']}{match['tail']}" + \
                ("\n" if line.endswith("\n") else "")
        cell["source"] = source


def _cancelled(run: dict[str, Any]) -> None:
    run.update(status="cancelled", exit_code=EXIT_FAILED, pid=None, pid_start=None, html=None, notebook=None,
               error={"name": "Cancelled", "message": "cancelled from JupyterLab"},
               finished_at=dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"))


def _stop(pid: int | None, started: int | None = None) -> None:
    """SIGTERM to the run's process group (a worker leads its own), or to the process alone (a CLI run)."""
    if pid is None or not process.alive(pid, started):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGTERM)  # the worker and what it started in its session
        else:
            os.kill(pid, signal.SIGTERM)


def _existing(root: Path, path: str | None) -> str | None:
    """A run's file relative to the root when it is there (a cancelled or killed run has none)."""
    found = relative(root, path)
    return found if found is not None and (root / found).is_file() else None


def _forget(out_dir: Path, request_id: str) -> None:
    for suffix in (".json", ".log"):
        (out_dir / REQUESTS / f"{request_id}{suffix}").unlink(missing_ok=True)


def _started(out_dir: Path, template: str) -> str | None:
    runs, _ = history.read(out_dir)
    times = [r["started_at"] for r in runs.values() if r["template"] == template and r["status"] == "running"]
    return max(times) if times else None


def _requests(out_dir: Path) -> list[dict[str, Any]]:
    folder = out_dir / REQUESTS
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            request = json.loads(path.read_text())
            if isinstance(request, dict) and REQUEST_ID.fullmatch(str(request.get("id"))) \
                    and isinstance(request.get("template"), str) and isinstance(request.get("status"), str):
                found.append(request)
        except (ValueError, OSError):
            continue
    return sorted(found, key=lambda r: str(r.get("requested_at") or ""), reverse=True)


def _tail(out_dir: Path, request_id: str, lines: int = 20) -> dict[str, str]:
    log = out_dir / REQUESTS / f"{request_id}.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    last = "\n".join(text.strip().splitlines()[-lines:])
    return {"name": "Stopped", "message": last or "the run's process ended before it recorded anything"}


def _write_request(path: Path, request: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(request, indent=2, default=str) + "\n")
    tmp.replace(path)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
