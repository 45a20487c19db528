"""The options of ``workbench report run``: declared once, used by the CLI and by the scheduler
(which checks a schedule's run options before installing it)."""

from __future__ import annotations

import argparse
from pathlib import Path

from workbench.findings.model import SEVERITY_RANK


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the template and the options of a report run to ``parser``."""
    parser.add_argument("template", help="template name (e.g. drift) or path to a notebook")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="a parameter; VALUE is read as a Python literal when it is one, and as a comma-separated "
                             "list for a list parameter, e.g. -p exclude request_id,ts (repeatable)")
    parser.add_argument("-f", "--parameters-file", type=Path, help="YAML file of parameters (-p overrides it)")
    parser.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default ./reports)")
    parser.add_argument("--fail-on", choices=[*SEVERITY_RANK, "none"], default="critical",
                        help="exit 1 if a finding is at least this severe (default: critical; 'none' never)")
    parser.add_argument("--retries", type=int, default=0,
                        help="retry this many times when a data path does not exist yet (default 0)")
    parser.add_argument("--backoff", type=float, default=30.0,
                        help="first wait between retries, seconds, doubled each time (default 30)")
    parser.add_argument("--model-card", type=Path,
                        help="YAML/JSON model card recorded with the run and shown in the report's lineage")
    parser.add_argument("--mlflow-run", metavar="RUN_ID",
                        help="MLflow run of the model (id or runs:/ID/...): its name, experiment, params, metrics "
                             "and tags are recorded and shown like a model card")
    parser.add_argument("--mlflow-tracking-uri", metavar="URI",
                        help="MLflow tracking URI for --mlflow-run (default: MLFLOW_TRACKING_URI)")
    parser.add_argument("--notify", metavar="URL",
                        help="webhook for a failed run or findings at or above --fail-on (Slack-compatible JSON)")


class _Refused(Exception):
    """argparse refused the options: its message."""


class _RunParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _Refused(message)


def parse_run_args(run_args: list[str]) -> argparse.Namespace:
    """``run_args`` (a template and its options) parsed as ``workbench report run`` parses them.
    Raises ValueError with argparse's message when they are refused."""
    parser = _RunParser(prog="workbench report run", add_help=False)
    add_run_arguments(parser)
    try:
        return parser.parse_args(run_args)
    except _Refused as exc:
        raise ValueError(str(exc)) from None
