"""``run_report``: execute a report template with papermill and keep everything a scheduled run
needs — the executed notebook, a standalone offline HTML page, the findings JSON of each check,
and a run record — under a run id that the same template, parameters and data always give.

Exit status of a run: 0 no finding at or above ``fail_on``; 1 at least one; 4 the report failed
(a cell raised: the executed notebook keeps the error); 5 skipped, another run of the same
template into the same folder was in progress. Bad input (unknown template or parameter,
wrong type, missing data path, output folder not writable) raises before any kernel starts.

A run never damages the run it would replace. It executes into a staging folder
(``out/.staging/<template>-<run id>.<attempt>``, recorded in the history under that key while it
runs); only a successful run replaces ``out/<template>-<run id>``. A failed run takes that folder
only when it holds no successful run, else it keeps its own (``<template>-<run id>.<attempt>``);
a cancelled or killed one leaves everything else as it was. A process killed at any point, even
while its folder is being swapped in, is recognised later (its pid and start time no longer name
a running process) and :func:`reconcile` puts the folders and the history back in order.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError, InputError, WorkbenchError
from workbench.findings.model import SCHEMA_VERSION, SEVERITY_RANK
from workbench.metadata import version
from workbench.reports import history, process, templates
from workbench.reports.emit import FINDINGS_DIR, GIT_COMMIT, MODEL_CARD

INDEX = history.INDEX
STAGING = ".staging"
_sleep = time.sleep  # the retry wait (its own name, so a test can replace it alone)
EXIT_FAILED = 4


class RunInProgress(WorkbenchError):
    """Another run of the same template into the same folder holds the lock."""


def run_report(template: str | Path, parameters: dict[str, Any] | None = None, *, out: str | Path = "reports",
               fail_on: str = "critical", retries: int = 0, backoff: float = 30.0, notify: str | None = None,
               model_card: str | Path | None = None, mlflow_run: str | None = None,
               mlflow_tracking_uri: str | None = None, request_id: str | None = None) -> dict[str, Any]:
    """Run ``template`` with ``parameters`` into ``out/<template>-<run id>/`` and return the run
    record (also written there as ``run.json`` and indexed in ``out/index.json``; ``key`` is its
    history key and folder name).

    Two runs of one template into one folder never overlap: the second raises
    :class:`RunInProgress` at once. A data path (a file, a folder or a glob) that names no file
    yet is retried ``retries`` times, waiting ``backoff`` seconds, doubled each time; every other
    error is permanent. With ``notify`` (a webhook URL), a run that fails or has a finding at or
    above ``fail_on`` posts a Slack-compatible message; a failed delivery is recorded, never
    raised. ``model_card``: a YAML or JSON mapping (name, version, owner, training data, an MLflow
    run id ...) recorded with the run and shown in the report's lineage. ``mlflow_run``: an MLflow
    run id (or ``runs:/<id>/...``) whose name, experiment, parameters, metrics and tags are read
    from ``mlflow_tracking_uri`` (default ``MLFLOW_TRACKING_URI``) before the kernel starts and
    recorded the same way. ``request_id``: the JupyterLab request that started this run (recorded,
    so that the sidebar matches the two)."""
    if fail_on not in (*SEVERITY_RANK, "none"):
        raise ConfigError(f"fail_on must be one of {[*SEVERITY_RANK, 'none']}, got {fail_on!r}.")
    path = templates.find(template)
    card = _model_card(model_card)
    if mlflow_run:
        from workbench.reports.mlflow_run import mlflow_model

        card |= mlflow_model(mlflow_run, mlflow_tracking_uri)
    out = Path(out)
    for attempt in range(retries + 1):
        try:
            merged = templates.check(path, dict(parameters or {}))
            break
        except templates.MissingData:
            if attempt == retries:
                raise
            _sleep(backoff * 2**attempt)
    _writable(out)
    with _lock(out, path.stem):
        record = _run(path, merged, out, fail_on, card, request_id)
    if notify and record["status"] in ("ok", "failed") and (record["status"] == "failed" or record["exit_code"] == 1):
        record["notification"] = deliver(notify, record)
        _save(out / record["key"], out, record)
    return record


def _run(path: Path, merged: dict[str, Any], out: Path, fail_on: str, card: dict[str, Any],
         request_id: str | None) -> dict[str, Any]:
    """The run itself, holding the template's lock: staging folder, kernel, HTML, then :func:`_finish`."""
    fingerprints = {k: _fingerprint(p) for k, p in templates.data_files(merged).items()}
    run_id = _run_id(path, {**merged, "__model": card}, fingerprints)
    key = f"{path.stem}-{run_id}"
    if (out / key).exists() and not (out / key).is_dir():
        raise InputError(f"the run folder {str(out / key)!r} is a file, not a folder; move it away (the run writes "
                         "its report there) and run again.")
    staging_root = _folder(out / STAGING, "the staging folder")
    reconcile(out)
    attempt = secrets.token_hex(4)
    akey = f"{key}.{attempt}"
    staging = staging_root / akey
    record: dict[str, Any] = {
        "run_id": run_id, "key": akey, "attempt": attempt, "template": path.stem, "template_path": str(path),
        "parameters": merged, "data": fingerprints, "model": card, "workbench_version": version(),
        "git_commit": _git_commit(path), "request": request_id,
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), "status": "running",
        **process.me(), "notebook": None, "html": None}
    history.update(out, lambda runs: runs.__setitem__(akey, history.entry(record)))  # before its staging folder
    try:
        (staging / "findings").mkdir(parents=True)
        start = time.perf_counter()
        error = _execute(path, staging, merged, {MODEL_CARD: json.dumps(card, default=str),
                                                 GIT_COMMIT: record["git_commit"] or ""})
        _export_html(staging)
        findings, problem = _collect(staging / "findings")
    except BaseException as exc:  # a crash, not a failing cell: record it, leave no staging folder, re-raise
        _abandon(out, akey, staging, {"name": type(exc).__name__, "message": str(exc)})
        raise
    error = error or problem
    worst = max((SEVERITY_RANK[s] for s in findings["counts"] if findings["counts"][s]), default=None)
    failing = fail_on != "none" and worst is not None and worst >= SEVERITY_RANK[fail_on]
    record |= {"status": "failed" if error else "ok", "error": error, "findings": findings,
               "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
               "duration_s": round(time.perf_counter() - start, 3), "fail_on": fail_on,
               "exit_code": EXIT_FAILED if error else int(failing), "pid": None, "pid_start": None}
    return _finish(out, key, staging, record)


def _finish(out: Path, key: str, staging: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Move a finished attempt from ``staging`` into its folder and record it, in one step under
    the history's lock (so a cancel that came first stands). A successful run replaces
    ``out/<key>``; a failed one too, unless that folder holds a successful run: then it takes its
    own folder ``out/<key>.<attempt>``. Other finished attempts of the same run id are removed."""
    akey = record["key"]
    done: dict[str, Any] = {}

    def finish(runs: dict[str, dict[str, Any]]) -> None:
        mine = runs.get(akey)
        if mine is None or mine["status"] != "running":  # cancelled meanwhile
            shutil.rmtree(staging, ignore_errors=True)
            stopped = {k: (mine or {}).get(k) for k in ("status", "error", "exit_code", "finished_at")}
            done.update(record | stopped | {"status": stopped["status"] or "cancelled", "html": None, "notebook": None,
                                             "exit_code": stopped["exit_code"] or EXIT_FAILED})
            return
        dest = key if record["status"] == "ok" or not _holds_success(out / key) else akey
        folder = out.resolve() / dest
        final = record | {"key": dest, "notebook": str(folder / "report.ipynb"), "html": str(folder / "report.html"),
                          "findings": record["findings"] | {
                              "files": [str(folder / "findings" / Path(f).name) for f in record["findings"]["files"]]}}
        (staging / "run.json").write_text(json.dumps(final, indent=2, default=str) + "\n")
        _swap_in(staging, out, dest)
        runs.pop(akey)
        runs[dest] = history.entry(final)
        _drop_attempts(out, runs, key, keep=dest)
        done.update(final)

    history.update(out, finish)
    return done


def _swap_in(staging: Path, out: Path, dest: str) -> None:
    """Put ``staging`` in place of ``out/<dest>``. The old folder is first renamed to
    ``.staging/<dest>.previous``, then removed; a process killed in between leaves it there for
    :func:`mark_stale` to put back."""
    target, previous = out / dest, out / STAGING / f"{dest}.previous"
    if previous.exists():
        shutil.rmtree(previous)
    if target.exists():
        target.rename(previous)
    staging.rename(target)
    shutil.rmtree(previous, ignore_errors=True)


def _holds_success(folder: Path) -> bool:
    try:
        return json.loads((folder / "run.json").read_text()).get("status") == "ok"
    except (OSError, ValueError, AttributeError):
        return False


def _drop_attempts(out: Path, runs: dict[str, dict[str, Any]], key: str, keep: str) -> None:
    """Remove the finished attempts of run ``key`` other than ``keep``: their entries and folders."""
    attempt = re.compile(re.escape(key) + r"\.[0-9a-f]{8}")
    for other in [k for k in runs if k != keep and attempt.fullmatch(k) and runs[k]["status"] != "running"]:
        runs.pop(other)
        shutil.rmtree(out / other, ignore_errors=True)


def _abandon(out: Path, akey: str, staging: Path, error: dict[str, Any]) -> None:
    """An attempt that crashed: recorded as failed (unless cancelled meanwhile), its staging removed."""
    def mark(runs: dict[str, dict[str, Any]]) -> None:
        run = runs.get(akey)
        if run is not None and run["status"] == "running":
            run.update(status="failed", error=error, exit_code=EXIT_FAILED, pid=None, pid_start=None,
                       finished_at=dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"))
        shutil.rmtree(staging, ignore_errors=True)

    try:
        history.update(out, mark)
    except Exception:  # the crash itself matters more; the next run or listing reconciles
        shutil.rmtree(staging, ignore_errors=True)


def reconcile(out: str | Path) -> tuple[dict[str, dict[str, Any]], str | None]:
    """Put ``out`` back in order after runs that were killed or cancelled (:func:`mark_stale`)
    and return the history and its repair note, as :func:`workbench.reports.history.update`."""
    out = Path(out)
    if not (out / INDEX).exists() and not (out / STAGING).is_dir():
        return {}, None
    return history.update(out, lambda runs: mark_stale(runs, out))


def mark_stale(runs: dict[str, dict[str, Any]], out: Path | None = None) -> None:
    """Record every run still ``running`` whose process is gone (by pid and start time) as killed
    (edits ``runs``).

    With ``out``, its folders are repaired too: a run folder moved aside by a swap that did not
    finish is put back; a killed attempt whose folder had already been swapped in is recorded as
    what it finished as; staging folders that no running attempt owns are removed."""
    staging = out / STAGING if out is not None else None
    if out is not None and staging is not None and staging.is_dir():
        for previous in staging.glob("*.previous"):
            target = out / previous.name.removesuffix(".previous")
            if target.exists():
                shutil.rmtree(previous, ignore_errors=True)
            else:
                previous.rename(target)
    for akey, run in list(runs.items()):
        if run.get("status") != "running" or process.alive(run.get("pid"), run.get("pid_start")):
            continue
        if out is None or not _adopt(out, runs, akey, run):
            run.update(status="failed", error={"name": "Killed", "message": "the run stopped before finishing"},
                       exit_code=EXIT_FAILED, pid=None, pid_start=None, html=None, notebook=None)
    if staging is not None and staging.is_dir():
        live = {k for k, r in runs.items() if r.get("status") == "running"}
        for folder in staging.iterdir():
            if folder.name not in live and not folder.name.endswith(".previous"):
                if folder.is_dir() and not folder.is_symlink():
                    shutil.rmtree(folder, ignore_errors=True)
                else:
                    folder.unlink(missing_ok=True)


def _adopt(out: Path, runs: dict[str, dict[str, Any]], akey: str, run: dict[str, Any]) -> bool:
    """A killed attempt whose folder was already swapped in (killed before its history entry was
    written): record it from that folder's ``run.json``; False when there is no such folder."""
    attempt = run.get("attempt")
    if not attempt or not akey.endswith(f".{attempt}"):
        return False
    key = akey.removesuffix(f".{attempt}")
    for dest in (key, akey):
        try:
            record = json.loads((out / dest / "run.json").read_text())
            if record.get("attempt") != attempt or record.get("status") not in ("ok", "failed"):
                continue
            adopted = history.checked(out, dest, history.entry(record))
        except (OSError, ValueError, AttributeError):
            continue
        runs.pop(akey)
        runs[dest] = adopted
        _drop_attempts(out, runs, key, keep=dest)
        return True
    return False


def list_runs(out: str | Path = "reports") -> list[dict[str, Any]]:
    """Every run recorded in ``out/index.json``, newest first, each with its ``key`` (a corrupt
    history is kept aside and rebuilt, unusable entries set aside: :mod:`workbench.reports.history`;
    runs whose process is gone are recorded as killed: :func:`reconcile`)."""
    return list_runs_noted(out)[0]


def list_runs_noted(out: str | Path = "reports") -> tuple[list[dict[str, Any]], str | None]:
    """:func:`list_runs` and the history's repair note (None when nothing had to be repaired)."""
    out = Path(out)
    runs: dict[str, Any]
    note: str | None
    if not out.is_dir():
        runs, note = {}, None
    elif os.access(out, os.W_OK):
        runs, note = reconcile(out)
    else:  # someone else's reports: read them, repair nothing
        runs, note = history.read(out)
        mark_stale(runs)
    ordered = sorted((run | {"key": key} for key, run in runs.items()), key=lambda r: r.get("started_at") or "",
                     reverse=True)
    return ordered, note


@contextlib.contextmanager
def _lock(out: Path, template: str):
    """An exclusive, non-blocking lock per (folder, template), released when the process ends."""
    lock = out / f".{template}.lock"
    try:
        handle = lock.open("w")
    except IsADirectoryError:
        raise InputError(f"the run lock {str(lock)!r} is a folder; remove it (workbench creates it as an empty "
                         "file) and run again.") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise RunInProgress(f"a run of {template!r} into {str(out)!r} is already in progress; this one was "
                            "skipped (schedules never overlap).") from None
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def deliver(url: str, record: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
    """POST a Slack-compatible message (``text``) about a run to ``url`` (:func:`workbench.reports.deliver.post_json`:
    a timeout and retries); return what happened."""
    from workbench.reports.deliver import post_json

    counts = record["findings"]["counts"]
    lines = [f"workbench report {record['template']} ({record['run_id']}): {record['status']}, "
             f"{counts['critical']} critical, {counts['warning']} warning"]
    if record.get("error"):
        lines.append(f"error: {record['error']['name']}: {record['error']['message']}")
    for path in record["findings"]["files"]:
        with contextlib.suppress(ValueError, OSError):
            lines += [f"• {f['message']}" for f in read_findings(Path(path)) if f["severity"] == "critical"]
    lines.append(f"report: {record['html']}")
    sent = post_json(url, {"text": "\n".join(lines[:20])}, target="slack", timeout=timeout)
    return {k: v for k, v in sent.to_dict().items() if k != "target"}  # any failure is recorded, never fatal


def latest_alerts(out: str | Path = "reports", severity: str = "warning") -> list[dict[str, Any]]:
    """The findings at or above ``severity`` of the latest finished run of each template, most
    severe first: what is wrong now, across every report in ``out``.

    When a template's latest finished run did not succeed (failed, cancelled, killed), its alerts
    are those of its latest successful run, marked ``"stale": True`` with ``"from_run"`` (that
    run's id) and ``"latest_run"`` (key, status and start of the run that did not succeed); other
    alerts have ``"stale": False``. Findings are only read inside their run's folder in ``out``; a
    findings file that cannot be read becomes a warning alert saying so."""
    out = Path(out)
    by_template: dict[str, list[dict[str, Any]]] = {}
    for run in list_runs(out):  # newest first
        if run["status"] != "running":
            by_template.setdefault(run["template"], []).append(run)
    alerts = []
    for template, finished in by_template.items():
        latest = finished[0]
        source = next((r for r in finished if r["status"] == "ok"), None)
        if source is None:
            continue
        stale = source is not latest
        marks: dict[str, Any] = {"stale": stale, "from_run": source["run_id"]}
        if stale:
            marks["latest_run"] = {k: latest.get(k) for k in ("key", "status", "started_at")}
        base = {"template": template, "run_id": source["run_id"], "started_at": source["started_at"],
                "html": source.get("html"), **marks}
        for path in source["findings"]["files"]:
            try:
                findings = read_findings(Path(path), inside=out)
            except (ValueError, OSError) as exc:
                findings = [{"severity": "warning", "kind": "unreadable_findings",
                             "message": f"the findings file {Path(path).name!r} of run {source['key']} cannot be "
                                        f"read: {exc}"}]
            alerts += [base | {"severity": f["severity"], "kind": f["kind"], "message": f["message"]}
                       for f in findings if SEVERITY_RANK[f["severity"]] >= SEVERITY_RANK[severity]]
    return sorted(alerts, key=lambda a: -SEVERITY_RANK[a["severity"]])


def read_findings(path: Path, *, inside: Path | None = None) -> list[dict[str, Any]]:
    """The findings of a findings JSON file, each with a known ``severity`` and text ``kind`` and
    ``message``; ValueError saying what is wrong otherwise (or when ``path``, symlinks resolved,
    is not inside the folder ``inside``)."""
    if inside is not None and not path.resolve().is_relative_to(inside.resolve()):
        raise ValueError(f"it leads outside {str(inside)!r}")
    doc = json.loads(path.read_text())
    written = doc.get("schema_version") if isinstance(doc, dict) else None
    if written is not None and str(written).split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise ValueError(f"its findings schema version is {written}; this workbench reads "
                         f"{SCHEMA_VERSION.split('.')[0]}.x (a newer workbench wrote it)")
    findings = doc.get("findings") if isinstance(doc, dict) else None
    if not isinstance(findings, list):
        raise ValueError("it has no list of findings")
    for finding in findings:
        if not isinstance(finding, dict):
            raise ValueError(f"a finding is {finding!r}, not a mapping")
        if finding.get("severity") not in SEVERITY_RANK:
            raise ValueError(f"a finding has the unknown severity {finding.get('severity')!r} "
                             f"(known: {list(SEVERITY_RANK)})")
        if not isinstance(finding.get("message"), str) or not isinstance(finding.get("kind"), str):
            raise ValueError("a finding has no text kind or message")
    return findings


def _execute(path: Path, run_dir: Path, parameters: dict[str, Any], extra: dict[str, str]) -> dict[str, Any] | None:
    import papermill

    env = {FINDINGS_DIR: str(run_dir / "findings"), "PLOTLY_RENDERER": "plotly_mimetype+notebook", **extra}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        papermill.execute_notebook(str(path), str(run_dir / "report.ipynb"), parameters=parameters,
                                   kernel_name="python3", progress_bar=False, cwd=str(Path.cwd()))
        return None
    except papermill.PapermillExecutionError as exc:
        return {"cell": exc.exec_count, "name": exc.ename, "message": exc.evalue}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _export_html(run_dir: Path) -> None:
    """Standalone page with the code hidden: plotly.js is inlined by the renderer, so it works
    offline."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nbformat.read(run_dir / "report.ipynb", as_version=4))
    # nbconvert's page loads require.js and MathJax from a CDN; the report needs neither offline
    body = re.sub(r'<script[^>]*src="https?://[^"]*"[^>]*>\s*</script>', "", body)
    (run_dir / "report.html").write_text(body, encoding="utf-8")


def _collect(folder: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The findings files a run wrote and their counts by severity, and the error to record when
    one of them cannot be read (the run then fails: its counts would be wrong)."""
    files = sorted(folder.glob("*.json"))
    counts = dict.fromkeys(SEVERITY_RANK, 0)
    problem = None
    for f in files:
        try:
            for finding in read_findings(f):
                counts[finding["severity"]] += 1
        except (ValueError, OSError) as exc:
            problem = problem or {"name": "InvalidFindings", "message": f"the findings file {f.name!r} cannot be "
                                                                        f"read: {exc}"}
    return {"files": [str(f) for f in files], "counts": counts}, problem


def _save(run_dir: Path, out: Path, record: dict[str, Any]) -> None:
    (run_dir / "run.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    history.update(out, lambda runs: runs.__setitem__(record["key"], history.entry(record)))


def _folder(path: Path, what: str) -> Path:
    """``path`` as a folder (created when missing); a clear error when a file is in the way."""
    try:
        path.mkdir(exist_ok=True)
    except FileExistsError:
        raise InputError(f"{what} {str(path)!r} is a file, not a folder; move it away and run again.") from None
    except OSError as exc:
        raise InputError(f"{what} {str(path)!r} cannot be created: {exc.strerror}.") from None
    return path


def _model_card(path: str | Path | None) -> dict[str, Any]:
    """The model card as a mapping, read before anything runs."""
    if path is None:
        return {}
    import yaml

    from workbench.errors import ConfigError

    card_path = Path(path)
    if not card_path.is_file():
        raise InputError(f"model card {str(path)!r}: no such file.")
    try:
        card = yaml.safe_load(card_path.read_text())  # JSON is YAML too
    except yaml.YAMLError as exc:
        raise ConfigError(f"model card {str(path)!r}: not valid YAML/JSON: {exc}") from None
    if not isinstance(card, dict):
        raise ConfigError(f"model card {str(path)!r}: expected a mapping such as 'name: churn-model'.")
    return card


def _writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"output folder {str(out)!r} cannot be created: {exc.strerror}.") from None
    if not os.access(out, os.W_OK):
        raise InputError(f"output folder {str(out)!r} is not writable; pass --out to a folder you can write to.")


def _fingerprint(path: Path) -> dict[str, Any]:
    """Size and content hash of every file a data path reads (a file, a folder's files, a glob's
    matches: :func:`workbench.reports.templates.matches`), each named from the path's folder."""
    files = templates.matches(path)
    root = templates.glob_root(path)
    digest = hashlib.sha1()
    size = 0
    for f in files:
        size += f.stat().st_size
        digest.update(str(f.relative_to(root) if f.is_relative_to(root) and f != root else f.name).encode())
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return {"path": str(path), "files": len(files), "bytes": size, "sha1": digest.hexdigest()}


def _run_id(path: Path, parameters: dict[str, Any], data: dict[str, Any]) -> str:
    key = json.dumps({"template": hashlib.sha1(path.read_bytes()).hexdigest(), "parameters": parameters,
                      "data": {k: v["sha1"] for k, v in data.items()}}, sort_keys=True, default=str)
    return hashlib.sha1(key.encode()).hexdigest()[:12]


def _git_commit(path: Path) -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path.parent, capture_output=True, text=True,
                              timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None
