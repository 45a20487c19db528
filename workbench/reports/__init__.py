"""Report notebooks: papermill templates run into an executed notebook, an offline HTML page, the
findings JSON and a run record (issue 7, in progress)."""

from workbench.reports.emit import emit, lineage
from workbench.reports.run import latest_alerts, list_runs, run_report

__all__ = ["emit", "latest_alerts", "lineage", "list_runs", "run_report"]
