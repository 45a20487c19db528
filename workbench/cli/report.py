"""``workbench report run|list|schedule``: report runs from papermill templates, their history, their schedules.

The options of ``report run`` are declared once, in :mod:`workbench.reports.arguments` (the scheduler checks a
schedule's run options with the same declaration). Exit status of ``report run``: 0 no finding at or above
``--fail-on``, 1 at least one, 2 usage or input error, 4 the report failed, 5 skipped (another run of the same
template into ``--out`` is in progress).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from workbench.cli.finish import EXIT_OK, EXIT_SKIPPED
from workbench.reports.arguments import add_run_arguments


def templates_help() -> str:
    """The templates ``report run`` finds from here, each with its parameters, defaults and what they are."""
    from workbench.reports import templates

    lines = ["templates (set a parameter with -p NAME VALUE):"]
    for name, path in templates.available().items():
        lines.append(f"  {name}")
        for parameter, info in templates.parameters(path).items():
            lines.append(f"    {parameter} = {info['default']!r}" + (f"  # {info['help']}" if info["help"] else ""))
    return "\n".join(lines)


class _RunHelp(argparse.Action):
    """``report run --help``: the usual help, then the templates' parameters (read only when asked for)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: Any, values: Any, option: str | None = None) -> None:
        print(parser.format_help() + "\n" + templates_help())
        parser.exit()


def add_report_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """``report`` and its actions."""
    r = sub.add_parser("report", help="run report notebooks (papermill templates) and list past runs")
    r_sub = r.add_subparsers(dest="report", metavar="ACTION", parser_class=parser_class)

    run = r_sub.add_parser(
        "run", help="run a report template",
        description="Run a template from notebooks/reports/ (or a notebook path) into --out: the executed notebook, "
                    "an offline HTML page, the findings JSON and a run record. Exit status: 0 no finding at or "
                    "above --fail-on, 1 at least one, 2 usage or input error, 4 the report failed, 5 skipped "
                    "(another run of the same template into --out is in progress).", add_help=False)
    run.add_argument("-h", "--help", action=_RunHelp, help="show this help, the templates and their parameters")
    add_run_arguments(run)
    lst = r_sub.add_parser("list", help="the runs recorded in an output folder, newest first")
    lst.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default ./reports)")
    sch = r_sub.add_parser(
        "schedule", help="install, list or remove cron schedules of report runs",
        description="Recurring runs with cron. add NAME --cron '0 * * * *' -- TEMPLATE [run options]: run "
                    "`workbench report run TEMPLATE ...` from this folder on that schedule (runs of one schedule "
                    "never overlap). list. remove NAME.")
    sch.add_argument("action", choices=["add", "list", "remove"])
    sch.add_argument("name", nargs="?", help="schedule name (add, remove)")
    sch.add_argument("--cron", help="five-field cron expression, e.g. '0 * * * *' for hourly (add)")
    sch.add_argument("--crontab-file", type=Path, help="edit this crontab file instead of the user's crontab")


def report(args: argparse.Namespace) -> int:
    """Run the ``report`` action in ``args``; returns the exit status."""
    from workbench.errors import ConfigError

    if args.report == "list":
        return _list(args.out)
    if args.report == "schedule":
        return _schedule(args)
    if args.report != "run":
        raise ConfigError("workbench report needs an action: run, list or schedule.")
    return _run(args)


def _list(out: Path) -> int:
    from workbench.reports import latest_alerts
    from workbench.reports.run import list_runs_noted

    runs, note = list_runs_noted(out)
    if note:
        print(f"workbench report list: warning: {note}", file=sys.stderr)
    print("runs, newest first:")
    for run in runs:
        counts = run["findings"]["counts"]
        html = run["html"] if run["html"] and Path(run["html"]).is_file() else "(no report)"
        print(f"  {run['started_at']}  {run['template']:12} {run['status']:9} exit {run['exit_code']}  "
              f"critical {counts['critical']}, warning {counts['warning']}  {html}")
    alerts = latest_alerts(out)
    print(f"latest alerts ({len(alerts)}, from the latest successful run of each template):")
    for alert in alerts:
        stale = (f" (stale: from run {alert['from_run']}; the latest run, {alert['latest_run']['key']}, "
                 f"{alert['latest_run']['status']})" if alert["stale"] else "")
        print(f"  [{alert['severity']}] {alert['template']}: {alert['message']}{stale}")
    return EXIT_OK


def _parameters(args: argparse.Namespace) -> dict[str, Any]:
    """``--parameters-file``, then each ``-p NAME VALUE`` over it (VALUE read as a Python literal when it is one)."""
    import ast

    from workbench.errors import ConfigError

    params: dict[str, Any] = {}
    if args.parameters_file:
        import yaml

        try:
            params = yaml.safe_load(args.parameters_file.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"--parameters-file {str(args.parameters_file)!r}: {exc}") from None
    for name, value in args.parameter:
        try:
            params[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[name] = value
    return params


def _run(args: argparse.Namespace) -> int:
    from workbench.progress import quiet
    from workbench.reports import run_report
    from workbench.reports.run import RunInProgress

    try:
        with quiet(args.quiet):
            record = run_report(args.template, _parameters(args), out=args.out, fail_on=args.fail_on,
                                retries=args.retries, backoff=args.backoff, notify=args.notify,
                                model_card=args.model_card, mlflow_run=args.mlflow_run,
                                mlflow_tracking_uri=args.mlflow_tracking_uri)
    except RunInProgress as exc:
        print(f"SKIPPED: {exc}")
        return EXIT_SKIPPED
    counts = record["findings"]["counts"]
    # a run that worked but whose findings reach --fail-on exits 1: say FAIL, not OK, and why
    gate = record["status"] == "ok" and record["exit_code"] == 1
    status = "FAIL" if gate else record["status"].upper()
    print(f"{status}: {record['template']} run {record['run_id']} in {record['duration_s']:.1f} s; "
          f"critical {counts['critical']}, warning {counts['warning']}, info {counts['info']}"
          + (f" (the report was written; findings at or above --fail-on {args.fail_on})" if gate else ""))
    if record.get("error"):
        print(f"error in cell {record['error']['cell']}: {record['error']['name']}: {record['error']['message']}")
    print(f"report {record['html']}\nnotebook {record['notebook']}")
    return int(record["exit_code"])


def _schedule(args: argparse.Namespace) -> int:
    from workbench.errors import ConfigError
    from workbench.reports import schedule

    if args.action == "list":
        for name, line in schedule.installed(crontab_file=args.crontab_file).items():
            print(f"{name}: {line}")
        return EXIT_OK
    if not args.name:
        raise ConfigError(f"schedule {args.action} needs a NAME.")
    if args.action == "remove":
        if not schedule.remove(args.name, crontab_file=args.crontab_file):
            raise ConfigError(f"no schedule named {args.name!r}.")
        print(f"removed {args.name}")
        return EXIT_OK
    if not args.cron:
        raise ConfigError("schedule add needs --cron, e.g. --cron '0 * * * *'.")
    line = schedule.add(args.name, args.cron, args.run_args, crontab_file=args.crontab_file)
    print(f"installed {args.name}: {line}")
    return EXIT_OK
