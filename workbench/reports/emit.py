"""What a report template calls to hand its results to the run: ``emit(result)`` writes the
findings JSON where the running report collects it (and does nothing outside a run)."""

from __future__ import annotations

import os
from pathlib import Path

from workbench.findings.model import CheckResult
from workbench.metadata import version

FINDINGS_DIR = "WORKBENCH_FINDINGS_DIR"


def emit(result: CheckResult, name: str | None = None) -> Path | None:
    """Write ``result``'s findings JSON as ``<name or check>.json`` in the run's findings folder;
    return its path, or None when not running under ``workbench report run``."""
    folder = os.environ.get(FINDINGS_DIR)
    if not folder:
        return None
    path = Path(folder) / f"{name or result.check}.json"
    result.to_json(str(path))
    return path


MODEL_CARD = "WORKBENCH_MODEL_CARD"
GIT_COMMIT = "WORKBENCH_GIT_COMMIT"


def lineage(results: list[CheckResult]) -> object:
    """Where a report's numbers come from, as HTML for the report's last cell: every input of every
    check (rows and content fingerprint), the time ranges analysed where a check has them, the
    model card given to the run, the workbench version and the code commit."""
    import json
    from html import escape

    from IPython.display import HTML

    rows = []
    for result in results:
        for item in result.inputs:
            rows.append(f"<tr><td>{escape(result.check)}</td><td>{escape(item.name)}</td><td>{item.rows:,}</td>"
                        f"<td><code>{escape(item.fingerprint)}</code></td></tr>")
    spans = [f"<li>{escape(result.check)}: {escape(span)}</li>" for result in results
             if (span := _time_range(result))]
    card = json.loads(os.environ.get(MODEL_CARD) or "{}")
    model = "".join(f"<tr><td>{escape(str(k))}</td><td>{escape(_cell(v))}</td></tr>" for k, v in card.items()
                    if v not in (None, {}, []))
    return HTML(
        "<table><thead><tr><th>check</th><th>input</th><th>rows</th><th>fingerprint</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        + (f"<h4>Time analysed</h4><ul>{''.join(spans)}</ul>" if spans else "")
        + (f"<h4>Model</h4><table><tbody>{model}</tbody></table>" if model else
           "<p>No model was given (<code>--model-card FILE</code> or <code>--mlflow-run ID</code>).</p>")
        + f"<p>workbench {escape(version())}; code commit {escape(os.environ.get(GIT_COMMIT) or 'unknown')}</p>")


def _cell(value: object) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k} = {v}" for k, v in value.items())
    return str(value)


def _time_range(result: CheckResult) -> str | None:
    """First window start to the end of the last window, where the check had time windows."""
    window = result.parameters.get("window")
    for name in ("windows", "columns"):
        table = result.tables.get(name)
        if table is not None and "window_start" in table.columns and window:
            starts = table["window_start"].drop_nulls()
            if starts.len():
                import datetime as dt

                length = window if isinstance(window, dt.timedelta) else dt.timedelta(seconds=float(window))
                first, last = str(starts.min()), starts.max()
                assert isinstance(last, dt.date)  # a datetime (or date) window start
                return f"{first} to {last + length} (windows of {length})"
    return None
