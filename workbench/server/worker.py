"""The background process of a run started from JupyterLab: ``python -m workbench.server.worker
<request.json>``. It runs the report (:func:`workbench.reports.run_report`, which records it in the
folder's history like any run). A run that finished, or was skipped for one in progress, removes
its request; one refused or crashed before its record existed leaves it, with the error, for the
sidebar."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from workbench.errors import WorkbenchError


def main(request_path: str) -> int:
    """Run the request; exit status as ``workbench report run`` (0, 1, 4 failed, 5 skipped, 2 refused)."""
    from workbench.reports import process
    from workbench.reports.run import RunInProgress, run_report

    path = Path(request_path)
    request = json.loads(path.read_text())
    _update(path, status="running", **process.me())
    try:
        record = run_report(request["template_path"], request["parameters"], out=request["out"],
                            fail_on=request["fail_on"], request_id=request["id"])
    except RunInProgress:
        _forget(path)  # the run in progress is the one the sidebar shows
        return 5
    except WorkbenchError as exc:
        _update(path, status="failed", error={"name": type(exc).__name__, "message": str(exc)})
        return 2
    except Exception as exc:  # recorded for the sidebar, then re-raised into the log
        _update(path, status="failed", error={"name": type(exc).__name__, "message": str(exc)})
        raise
    _forget(path)  # the run's own record (history, run.json, notebook) now says everything
    return int(record.get("exit_code") or 0)


def _forget(path: Path) -> None:
    """Remove the request and its log: only requests that never got a run record stay listed."""
    path.unlink(missing_ok=True)
    path.with_suffix(".log").unlink(missing_ok=True)


def _update(path: Path, **changes: object) -> None:
    request = json.loads(path.read_text()) | changes
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(request, indent=2, default=str) + "\n")
    tmp.replace(path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
