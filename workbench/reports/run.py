"""``run_report``: execute a report template with papermill and keep everything a scheduled run
needs — the executed notebook, a standalone offline HTML page, the findings JSON of each check,
and a run record — under a run id that the same template, parameters and data always give.

Exit status of a run: 0 no finding at or above ``fail_on``; 1 at least one; 4 the report failed
(a cell raised: the executed notebook keeps the error); 5 skipped, another run of the same
template into the same folder was in progress. Bad input (unknown template or parameter,
wrong type, missing data path, output folder not writable) raises before any kernel starts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from workbench.errors import InputError, WorkbenchError
from workbench.findings.model import SEVERITY_RANK
from workbench.reports import history, templates
from workbench.reports.emit import FINDINGS_DIR, GIT_COMMIT, MODEL_CARD, installed_version

INDEX = history.INDEX
_sleep = time.sleep  # the retry wait (its own name, so a test can replace it alone)
EXIT_FAILED = 4


class RunInProgress(WorkbenchError):
    """Another run of the same template into the same folder holds the lock."""


def run_report(template: str | Path, parameters: dict[str, Any] | None = None, *, out: str | Path = "reports",
               fail_on: str = "critical", retries: int = 0, backoff: float = 30.0, notify: str | None = None,
               model_card: str | Path | None = None, mlflow_run: str | None = None,
               mlflow_tracking_uri: str | None = None) -> dict[str, Any]:
    """Run ``template`` with ``parameters`` into ``out/<template>-<run id>/`` and return the run
    record (also written there as ``run.json`` and indexed in ``out/index.json``).

    Two runs of one template into one folder never overlap: the second raises
    :class:`RunInProgress` at once. A data path that does not exist yet is retried ``retries``
    times, waiting ``backoff`` seconds, doubled each time; every other error is permanent. With
    ``notify`` (a webhook URL), a run that fails or has a finding at or above ``fail_on`` posts a
    Slack-compatible message; a failed delivery is recorded, never raised. ``model_card``: a YAML
    or JSON mapping (name, version, owner, training data, an MLflow run id ...) recorded with the
    run and shown in the report's lineage. ``mlflow_run``: an MLflow run id (or ``runs:/<id>/...``)
    whose name, experiment, parameters, metrics and tags are read from ``mlflow_tracking_uri``
    (default ``MLFLOW_TRACKING_URI``) before the kernel starts and recorded the same way."""
    if fail_on not in (*SEVERITY_RANK, "none"):
        raise InputError(f"fail_on must be one of {[*SEVERITY_RANK, 'none']}, got {fail_on!r}.")
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
        record = _run(path, merged, out, fail_on, card)
    if notify and (record["status"] == "failed" or record["exit_code"] == 1):
        record["notification"] = deliver(notify, record)
        _save(Path(record["notebook"]).parent, out, record)
    return record


def _run(path: Path, merged: dict[str, Any], out: Path, fail_on: str, card: dict[str, Any]) -> dict[str, Any]:
    fingerprints = {k: _fingerprint(p) for k, p in templates.data_files(merged).items()}
    run_id = _run_id(path, {**merged, "__model": card}, fingerprints)
    run_dir = out / f"{path.stem}-{run_id}"
    if run_dir.exists():
        shutil.rmtree(run_dir)  # the same template, parameters and data: this run replaces the last one
    (run_dir / "findings").mkdir(parents=True)
    _fail_stale(out)
    record: dict[str, Any] = {
        "run_id": run_id, "template": path.stem, "template_path": str(path), "parameters": merged,
        "data": fingerprints, "model": card, "workbench_version": installed_version(), "git_commit": _git_commit(path),
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), "status": "running",
        "pid": os.getpid(),
        "notebook": str(run_dir / "report.ipynb"), "html": str(run_dir / "report.html")}
    _save(run_dir, out, record)
    start = time.perf_counter()
    error = _execute(path, run_dir, merged, {MODEL_CARD: json.dumps(card, default=str),
                                             GIT_COMMIT: record["git_commit"] or ""})
    _export_html(run_dir)
    findings = _collect(run_dir / "findings")
    worst = max((SEVERITY_RANK[s] for s in findings["counts"] if findings["counts"][s]), default=None)
    failing = fail_on != "none" and worst is not None and worst >= SEVERITY_RANK[fail_on]
    record |= {"status": "failed" if error else "ok", "error": error, "findings": findings,
               "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
               "duration_s": round(time.perf_counter() - start, 3), "fail_on": fail_on,
               "exit_code": EXIT_FAILED if error else int(failing)}
    record.pop("pid")
    _save(run_dir, out, record)
    return record


def list_runs(out: str | Path = "reports") -> list[dict[str, Any]]:
    """Every run recorded in ``out/index.json``, newest first (a corrupt history is kept aside and
    rebuilt from the run folders: :mod:`workbench.reports.history`)."""
    runs, _ = history.read(Path(out))
    return sorted(runs.values(), key=lambda r: r.get("started_at") or "", reverse=True)


@contextlib.contextmanager
def _lock(out: Path, template: str):
    """An exclusive, non-blocking lock per (folder, template), released when the process ends."""
    handle = (out / f".{template}.lock").open("w")
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
    """POST a Slack-compatible message (``text``) about a run to ``url``; return what happened."""
    import urllib.request

    counts = record["findings"]["counts"]
    lines = [f"workbench report {record['template']} ({record['run_id']}): {record['status']}, "
             f"{counts['critical']} critical, {counts['warning']} warning"]
    if record.get("error"):
        lines.append(f"error: {record['error']['name']}: {record['error']['message']}")
    for path in record["findings"]["files"]:
        for finding in json.loads(Path(path).read_text())["findings"]:
            if finding["severity"] == "critical":
                lines.append(f"• {finding['message']}")
    lines.append(f"report: {record['html']}")
    body = json.dumps({"text": "\n".join(lines[:20])}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return {"url": url, "status": "sent", "http_status": response.status}
    except Exception as exc:  # any failure to deliver is recorded, never fatal
        return {"url": url, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}


def latest_alerts(out: str | Path = "reports", severity: str = "warning") -> list[dict[str, Any]]:
    """The findings at or above ``severity`` of the latest finished run of each template, most
    severe first: what is wrong now, across every report in ``out``."""
    latest: dict[str, dict[str, Any]] = {}
    for run in list_runs(out):  # newest first
        if run.get("status") in ("ok", "failed") and run["template"] not in latest:
            latest[run["template"]] = run
    alerts = []
    for template, run in latest.items():
        for path in (run.get("findings") or {}).get("files", []):
            if not Path(path).exists():
                continue
            for finding in json.loads(Path(path).read_text())["findings"]:
                if SEVERITY_RANK[finding["severity"]] >= SEVERITY_RANK[severity]:
                    alerts.append({"template": template, "run_id": run["run_id"], "started_at": run["started_at"],
                                   "severity": finding["severity"], "kind": finding["kind"],
                                   "message": finding["message"], "html": run.get("html")})
    return sorted(alerts, key=lambda a: -SEVERITY_RANK[a["severity"]])


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


def _collect(folder: Path) -> dict[str, Any]:
    files = sorted(folder.glob("*.json"))
    counts = dict.fromkeys(SEVERITY_RANK, 0)
    for f in files:
        for finding in json.loads(f.read_text())["findings"]:
            counts[finding["severity"]] += 1
    return {"files": [str(f) for f in files], "counts": counts}


def _save(run_dir: Path, out: Path, record: dict[str, Any]) -> None:
    (run_dir / "run.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    key = f"{record['template']}-{record['run_id']}"

    def put(runs: dict[str, dict[str, Any]]) -> None:
        runs[key] = history.entry(record)

    history.update(out, put)


def _fail_stale(out: Path) -> None:
    """A run still marked running whose process is gone was killed: record it as failed."""
    if (out / INDEX).exists():
        history.update(out, mark_stale)


def mark_stale(runs: dict[str, dict[str, Any]]) -> None:
    """Mark every run still ``running`` whose process is gone as failed (edits ``runs``)."""
    for run in runs.values():
        if run.get("status") == "running" and not _alive(run.get("pid")):
            run.update(status="failed", error={"name": "Killed", "message": "the run stopped before finishing"},
                       exit_code=EXIT_FAILED, pid=None)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


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
    """Size and content hash of a data file, or of every file under a data folder."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    digest = hashlib.sha1()
    size = 0
    for f in files:
        size += f.stat().st_size
        digest.update(str(f.relative_to(path) if f != path else f.name).encode())
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
