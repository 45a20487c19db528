"""The ``workbench`` command line.

Exit status of ``workbench audit leakage``, ``drift``, ``skew`` and ``performance``: 0 no finding at or above
``--fail-on``; 1 at least one, or a ``check_skipped`` finding (a check asked for could not run; the verdict
says INCOMPLETE); 2 usage or input error. ``workbench compare``: 0 promote,
1 rollback, 3 hold, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.findings.model import SEVERITY_RANK
from workbench.reports.arguments import add_run_arguments

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_HOLD, EXIT_SKIPPED = 0, 1, 2, 3, 5


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep its message format
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="workbench", description="ML reliability workbench: audits and monitors for models.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    schema = sub.add_parser("schema", help="print a JSON Schema shipped with the package")
    schema.add_argument("name", choices=["findings"], help="which schema")

    audit = sub.add_parser("audit", help="run an audit")
    audit_sub = audit.add_subparsers(dest="audit", metavar="AUDIT", parser_class=_Parser)
    leak = audit_sub.add_parser(
        "leakage", help="point-in-time leakage audit of a training set",
        description="Audit a training set for point-in-time leakage. Give --config (YAML/JSON), or --training "
                    "with --entity and --prediction-time for the checks that need no declarations (split, "
                    "duplicates, target proxy, feature timestamps). Flags override the config.")
    leak.add_argument("--config", type=Path, help="YAML/JSON declaration of inputs, sources and features")
    leak.add_argument("--training", help="training set (parquet/CSV path or glob)")
    leak.add_argument("--entity", help="entity key column")
    leak.add_argument("--prediction-time", help="prediction time column")
    leak.add_argument("--target", help="label column")
    leak.add_argument("--positive", help="the --target value that is the positive class (needed unless the label "
                                         "is boolean or 0/1), e.g. --positive yes")
    leak.add_argument("--split", help="split column (values --train-value / --test-value)")
    leak.add_argument("--train-value", help="split value of training rows (default 'train')")
    leak.add_argument("--test-value", help="split value of test rows (default 'test')")
    leak.add_argument("--feature-timestamp", action="append", default=[], metavar="FEATURE=COLUMN",
                      help="a training column holding the time FEATURE was observed (repeatable)")
    leak.add_argument("--engine", choices=["polars", "duckdb"], help="engine for as-of joins (default polars)")
    _add_output_options(leak)

    d = sub.add_parser(
        "drift", help="drift and schema evolution of current data against a reference",
        description="Compare --current with --reference (a dataset, or a profile saved with --save-profile) "
                    "per column, window and segment. Exit status as for the leakage audit.")
    d.add_argument("--reference", help="reference data (parquet/CSV path, glob or directory) or a *.profile.json")
    d.add_argument("--current", help="current data (path, glob, or a directory of parquet partitions)")
    d.add_argument("--save-profile", type=Path, metavar="PATH",
                   help="fit the reference profile and save it here (reuse it as --reference PATH)")
    d.add_argument("--timestamp", help="current column with each row's time; splits current into windows")
    d.add_argument("--window", help="window length, e.g. 1h, 6h, 1d (default 1d with --timestamp)")
    d.add_argument("--by", action="append", default=[], metavar="COLUMN",
                   help="segment column (repeatable); with --save-profile, the profile keeps each segment's counts")
    d.add_argument("--score", help="model score column (prediction drift)")
    d.add_argument("--prediction", help="predicted class column (prediction drift)")
    d.add_argument("--target", help="label column (label drift)")
    d.add_argument("--columns", help="comma-separated columns to compare (default: all supported)")
    d.add_argument("--exclude", action="append", default=[], metavar="COLUMN",
                   help="column to leave out, e.g. an id (repeatable)")
    d.add_argument("--engine", choices=["polars", "duckdb"], help="engine for the summaries (default polars)")
    d.add_argument("--multivariate", action="store_true",
                   help="also train a reference-vs-current classifier (needs scikit-learn: workbench[ml])")
    _add_output_options(d)

    k = sub.add_parser(
        "skew", help="training/serving skew: the same requests compared feature by feature",
        description="Join --training and --serving by --id and report, per feature, the share of requests whose "
                    "values differ. Exit status as for the leakage audit.")
    k.add_argument("--training", required=True, help="features as rebuilt for training (path or glob)")
    k.add_argument("--serving", required=True, help="features as logged at serving time (path or glob)")
    k.add_argument("--id", required=True, help="request id column, unique on each side")
    k.add_argument("--columns", help="comma-separated features to compare (default: all shared)")
    _add_output_options(k)
    _add_compare_parser(sub)
    _add_performance_parser(sub)
    _add_report_parser(sub)
    return parser


def _add_report_parser(sub) -> None:  # type: ignore[no-untyped-def]
    r = sub.add_parser("report", help="run report notebooks (papermill templates) and list past runs")
    r_sub = r.add_subparsers(dest="report", metavar="ACTION", parser_class=_Parser)
    run = r_sub.add_parser(
        "run", help="run a report template",
        description="Run a template from notebooks/reports/ (or a notebook path) into --out: the executed notebook, "
                    "an offline HTML page, the findings JSON and a run record. Exit status: 0 no finding at or "
                    "above --fail-on, 1 at least one, 2 usage or input error, 4 the report failed, 5 skipped "
                    "(another run of the same template into --out is in progress).")
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


def _add_performance_parser(sub) -> None:  # type: ignore[no-untyped-def]
    p = sub.add_parser(
        "performance", help="subgroup performance, localized drops, calibration and label-free estimates",
        description="Measure a model on its prediction log per segment and time window, with labels inline "
                    "(--target) or arriving separately (--labels --id). Exit status as for the leakage audit.")
    p.add_argument("--predictions", required=True, help="prediction log (parquet/CSV path or glob)")
    p.add_argument("--by", action="append", required=True, metavar="COLUMN", help="segment column (repeatable)")
    p.add_argument("--target", help="label column in the predictions (null where not known yet)")
    p.add_argument("--labels", help="labels file (id and label columns) arriving separately")
    p.add_argument("--id", help="request id column shared by predictions and labels")
    p.add_argument("--label", default="label", help="label column in --labels (default 'label')")
    p.add_argument("--label-time", help="column of --labels saying when each label arrived")
    p.add_argument("--as-of", help="use only labels arrived by this ISO time (needs --label-time)")
    p.add_argument("--prediction", help="predicted class (0/1) or value column")
    p.add_argument("--score", help="probability of class 1 (AUC, log loss, Brier, calibration, estimates)")
    p.add_argument("--threshold", type=float, default=0.5, help="class = score >= threshold without --prediction")
    p.add_argument("--timestamp", help="prediction time column: localized drops per --window")
    p.add_argument("--window", help="window length, e.g. 1h, 6h, 1d (default 1d with --timestamp)")
    p.add_argument("--reference", help="labelled reference (same columns; label inline) for calibration")
    p.add_argument("--depth", type=int, default=2, help="most segment columns combined in one scope (default 2)")
    p.add_argument("--min-support", type=int, default=100, help="rows a scope needs to be tested (default 100)")
    p.add_argument("--margin", type=float, help="smallest drop worth an alert (default 0.05 accuracy, 10%% MAE)")
    p.add_argument("--fdr", type=float, default=0.01, help="false-discovery rate across tested cells (default 0.01)")
    _add_output_options(p)


def _add_compare_parser(sub) -> None:  # type: ignore[no-untyped-def]
    from workbench.shadow.task import TASKS
    from workbench.shadow.verdict import DEFAULT_STAGES, Guardrails

    g = Guardrails()
    c = sub.add_parser(
        "compare", help="shadow-vs-production or canary comparison with a promote/hold/rollback verdict",
        description="Compare a candidate's request log with production's (shadow: same requests; canary: split "
                    "traffic) and decide. Exit status: 0 promote, 1 rollback, 3 hold, 2 usage or input error.")
    c.add_argument("--production", required=True, help="production (or baseline) request log: path or glob")
    c.add_argument("--candidate", required=True, help="candidate (shadow or canary) request log: path or glob")
    c.add_argument("--id", required=True, help="request id column")
    c.add_argument("--mode", choices=["shadow", "canary"], default="shadow",
                   help="shadow: both sides answered the same requests; canary: each side its own share")
    c.add_argument("--timestamp", help="request time column (the latest attempt of a retried request is kept)")
    c.add_argument("--prediction", help="predicted class column")
    c.add_argument("--score", help="score column in [0, 1] (score deltas)")
    c.add_argument("--latency", help="latency column (any unit, the same on both sides)")
    c.add_argument("--error", help="error flag column (boolean or 0/1)")
    c.add_argument("--by", action="append", default=[], metavar="COLUMN", help="segment column (repeatable)")
    c.add_argument("--labels", help="labels file (id and label columns; may arrive later)")
    c.add_argument("--label", default="label", help="label column in --labels (default 'label')")
    c.add_argument("--label-time", help="column of --labels saying when each label arrived")
    c.add_argument("--as-of", help="use only labels arrived by this ISO time (needs --label-time)")
    c.add_argument("--latency-ratio", type=float, default=g.latency_ratio,
                   help=f"guardrail: largest p95 latency ratio candidate/production (default {g.latency_ratio})")
    c.add_argument("--error-increase", type=float, default=g.error_increase,
                   help=f"guardrail: largest error-rate increase, a proportion (default {g.error_increase})")
    c.add_argument("--accuracy-drop", type=float, default=g.accuracy_drop,
                   help=f"guardrail: largest accuracy drop, overall and per segment (default {g.accuracy_drop})")
    c.add_argument("--mae-ratio", type=float, default=g.mae_ratio,
                   help=f"guardrail (regression): largest MAE ratio candidate/production (default {g.mae_ratio})")
    c.add_argument("--task", choices=TASKS, default="auto",
                   help="binary: classes 0/1, 1 the positive class (classification: the same); multiclass: any "
                        "classes compared by equality; regression: numeric predictions; auto (default): regression "
                        "for a float prediction, else binary for 0/1 classes")
    c.add_argument("--large-change", type=float,
                   help="regression: a change of the prediction larger than this counts as a disagreement "
                        "(default: a tenth of production's prediction standard deviation)")
    c.add_argument("--max-coverage-gap", type=float, default=g.max_coverage_gap,
                   help=f"guardrail: largest share of production requests the candidate may miss "
                        f"(default {g.max_coverage_gap})")
    c.add_argument("--min-requests", type=int, default=g.min_requests,
                   help=f"requests needed for a verdict other than hold (default {g.min_requests})")
    c.add_argument("--min-labelled", type=int, default=g.min_labelled,
                   help=f"labelled requests needed to judge accuracy (default {g.min_labelled})")
    c.add_argument("--min-segment", type=int, default=g.min_segment,
                   help=f"labelled requests a segment needs to be tested (default {g.min_segment})")
    c.add_argument("--looks", type=int, default=g.looks,
                   help="how many times this candidate will be checked, e.g. 168 for hourly over a week; the "
                        "false-rollback rate holds over all of them (default 1)")
    c.add_argument("--operations-only", action="store_true",
                   help="judge latency and errors alone when there are no labels (default: hold without labels)")
    c.add_argument("--confidence", type=float, default=g.confidence, help="confidence (default 0.95)")
    c.add_argument("--stages", help=f"traffic plan, e.g. {','.join(str(s) for s in DEFAULT_STAGES)}")
    c.add_argument("--stage", type=float, help="the candidate's current traffic share (canary: default observed)")
    c.add_argument("--out", type=Path, help="write the findings JSON (with the top-level verdict) here")
    c.add_argument("--report", type=Path, help="write a standalone HTML report here")
    c.add_argument("--quiet", action="store_true", help="print only the verdict line")


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    """--out, --report, --fail-on and --quiet: the same for every check (see :func:`_finish`)."""
    parser.add_argument("--out", type=Path, help="write the findings JSON here")
    parser.add_argument("--report", type=Path, help="write a standalone HTML report here")
    parser.add_argument("--fail-on", choices=[*SEVERITY_RANK, "none"], default="critical",
                        help="exit 1 if a finding is at least this severe (default: critical; 'none' never)")
    parser.add_argument("--quiet", action="store_true", help="print only the one-line verdict")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (a closed output pipe, as in ``| head``, ends quietly)."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # the reader went away (e.g. `workbench report list | head`): stop writing, without a traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    run_args: list[str] = []
    if "--" in argv:  # `report schedule add NAME ... -- TEMPLATE [run options]`
        cut = argv.index("--")
        argv, run_args = argv[:cut], argv[cut + 1:]
    args = parser.parse_args(argv)
    args.run_args = run_args
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command == "schema":
        from workbench.findings.schema import findings_schema

        print(json.dumps(findings_schema(), indent=2))
        return EXIT_OK
    commands = {"drift": _drift, "skew": _skew, "compare": _compare, "performance": _performance,
                "report": _report}
    name = "audit leakage" if args.command == "audit" and args.audit == "leakage" else args.command
    run = _audit_leakage if name == "audit leakage" else commands.get(args.command)
    if run is not None:
        try:
            return run(args)
        except WorkbenchError as exc:
            print(f"workbench {name}: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    parser.parse_args([args.command, "--help"])
    return EXIT_USAGE


def _audit_leakage(args: argparse.Namespace) -> int:
    from workbench.errors import ConfigError
    from workbench.leakage.audit import audit_leakage
    from workbench.leakage.config import load_audit_config

    kwargs = load_audit_config(args.config) if args.config else {}
    flags = {"training": args.training, "entity": args.entity, "prediction_time": args.prediction_time,
             "target": args.target, "positive": args.positive, "split": args.split, "train_value": args.train_value,
             "test_value": args.test_value, "engine": args.engine}
    kwargs.update({k: v for k, v in flags.items() if v is not None})
    for item in args.feature_timestamp:
        feature, sep, column = item.partition("=")
        if not sep or not feature or not column:
            raise ConfigError(f"--feature-timestamp expects FEATURE=COLUMN, got {item!r}.")
        kwargs.setdefault("feature_timestamps", {})[feature] = column
    missing = [f"--{k.replace('_', '-')}" for k in ("training", "entity", "prediction_time") if k not in kwargs]
    if missing:
        raise ConfigError(f"missing {', '.join(missing)} (or give them in --config).")
    training = kwargs.pop("training")
    _guard_outputs(args, [training, *(getattr(src, "data", None) for src in (kwargs.get("sources") or {}).values())])
    return _finish(audit_leakage(training, **kwargs), args)


def _drift(args: argparse.Namespace) -> int:
    from workbench.drift import DriftProfile, drift, fit_profile
    from workbench.errors import ConfigError

    if not args.reference:
        raise ConfigError("missing --reference (a dataset or a saved *.profile.json).")
    if not args.current and not args.save_profile:
        raise ConfigError("missing --current (or --save-profile to only fit and save the reference profile).")
    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    exclude = [*args.exclude, *([args.timestamp] if args.timestamp else [])]
    _guard_outputs(args, [args.reference, args.current])
    if args.reference.endswith(".json"):
        reference = DriftProfile.load(args.reference)
    else:
        labels = [c for c in (args.prediction, args.target) if c]
        reference = fit_profile(args.reference, columns=columns, exclude=exclude, categorical=labels, by=args.by,
                                engine=args.engine)
    if args.save_profile:
        path = reference.save(args.save_profile)
        if not args.quiet:
            print(f"reference profile ({len(reference.columns)} columns, {reference.rows:,} rows) saved to {path}")
        if not args.current:
            return EXIT_OK
    result = drift(reference, args.current, columns=columns, exclude=args.exclude, timestamp=args.timestamp,
                   window=args.window, by=args.by, score=args.score, prediction=args.prediction,
                   target=args.target, engine=args.engine, multivariate=args.multivariate)
    return _finish(result, args)


def _skew(args: argparse.Namespace) -> int:
    from workbench.drift import training_serving_skew

    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    _guard_outputs(args, [args.training, args.serving])
    result = training_serving_skew(args.training, args.serving, id=args.id, columns=columns)
    return _finish(result, args)


def _compare(args: argparse.Namespace) -> int:

    from workbench.errors import ConfigError
    from workbench.shadow import Guardrails, compare_logs

    try:
        stages = [float(s) for s in args.stages.split(",")] if args.stages else None
    except ValueError:
        raise ConfigError(f"--stages expects comma-separated shares such as 0.01,0.05,0.25,1; "
                          f"got {args.stages!r}.") from None
    as_of = _iso_time(args.as_of)
    _guard_outputs(args, [args.production, args.candidate, args.labels])
    guard = Guardrails(latency_ratio=args.latency_ratio, error_increase=args.error_increase,
                       accuracy_drop=args.accuracy_drop, mae_ratio=args.mae_ratio,
                       max_coverage_gap=args.max_coverage_gap,
                       min_requests=args.min_requests, min_labelled=args.min_labelled, min_segment=args.min_segment,
                       looks=args.looks, require_accuracy=not args.operations_only, confidence=args.confidence)
    result = compare_logs(args.production, args.candidate, id=args.id, timestamp=args.timestamp,
                          prediction=args.prediction, score=args.score, latency=args.latency, error=args.error,
                          by=args.by, labels=args.labels, label=args.label, label_time=args.label_time, as_of=as_of,
                          mode=args.mode, guardrails=guard, stage=args.stage, stages=stages,
                          confidence=args.confidence, task=args.task, large_change=args.large_change)
    args.fail_on = "none"
    _write_outputs(result, args)
    verdict = result.verdict
    if not args.quiet:
        from workbench.present.text import result_text

        print(result_text(result))
        for label, path in (("findings", args.out), ("report", args.report)):
            if path:
                print(f"{label} written to {path}")
    print(f"{verdict.decision.upper()}: " + (verdict.reasons[0] if verdict.reasons else ""))
    return verdict.exit_code


def _performance(args: argparse.Namespace) -> int:
    from workbench.performance import performance

    _guard_outputs(args, [args.predictions, args.labels, args.reference])
    result = performance(args.predictions, by=args.by, target=args.target, labels=args.labels, id=args.id,
                         label=args.label, label_time=args.label_time, as_of=_iso_time(args.as_of),
                         prediction=args.prediction, score=args.score, threshold=args.threshold,
                         timestamp=args.timestamp, window=args.window, reference=args.reference, depth=args.depth,
                         min_support=args.min_support, margin=args.margin, fdr=args.fdr)
    return _finish(result, args)


def _iso_time(text: str | None):  # type: ignore[no-untyped-def]
    import datetime as dt

    from workbench.errors import ConfigError

    try:
        return dt.datetime.fromisoformat(text) if text else None
    except ValueError:
        raise ConfigError(f"--as-of expects an ISO time such as 2026-03-02T12:00:00+00:00; got {text!r}.") from None


def _report(args: argparse.Namespace) -> int:
    import ast

    from workbench.errors import ConfigError
    from workbench.reports import latest_alerts, run_report
    from workbench.reports.run import list_runs_noted

    if args.report == "list":
        runs, note = list_runs_noted(args.out)
        if note:
            print(f"workbench report list: warning: {note}", file=sys.stderr)
        print("runs, newest first:")
        for run in runs:
            counts = run["findings"]["counts"]
            html = run["html"] if run["html"] and Path(run["html"]).is_file() else "(no report)"
            print(f"  {run['started_at']}  {run['template']:12} {run['status']:9} exit {run['exit_code']}  "
                  f"critical {counts['critical']}, warning {counts['warning']}  {html}")
        alerts = latest_alerts(args.out)
        print(f"latest alerts ({len(alerts)}, from the latest successful run of each template):")
        for alert in alerts:
            stale = (f" (stale: from run {alert['from_run']}; the latest run, {alert['latest_run']['key']}, "
                     f"{alert['latest_run']['status']})" if alert["stale"] else "")
            print(f"  [{alert['severity']}] {alert['template']}: {alert['message']}{stale}")
        return EXIT_OK
    if args.report == "schedule":
        return _schedule(args)
    if args.report != "run":
        raise ConfigError("workbench report needs an action: run, list or schedule.")
    params: dict = {}
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
    from workbench.reports.run import RunInProgress

    try:
        record = run_report(args.template, params, out=args.out, fail_on=args.fail_on, retries=args.retries,
                            backoff=args.backoff, notify=args.notify, model_card=args.model_card,
                            mlflow_run=args.mlflow_run, mlflow_tracking_uri=args.mlflow_tracking_uri)
    except RunInProgress as exc:
        print(f"SKIPPED: {exc}")
        return EXIT_SKIPPED
    counts = record["findings"]["counts"]
    print(f"{record['status'].upper()}: {record['template']} run {record['run_id']} in {record['duration_s']:.1f} s; "
          f"critical {counts['critical']}, warning {counts['warning']}, info {counts['info']}")
    if record.get("error"):
        print(f"error in cell {record['error']['cell']}: {record['error']['name']}: {record['error']['message']}")
    print(f"report {record['html']}\nnotebook {record['notebook']}")
    return record["exit_code"]


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


def _guard_outputs(args: argparse.Namespace, inputs: list) -> None:  # type: ignore[type-arg]
    """Refuse, before any work, an output path that cannot be written or that is one of the inputs."""
    from workbench.outputs import check_output_paths

    outputs = {"--out": getattr(args, "out", None), "--report": getattr(args, "report", None),
               "--save-profile": getattr(args, "save_profile", None)}
    check_output_paths(outputs, [getattr(args, "config", None), *inputs])


def _write_outputs(result, args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    """The findings JSON and the HTML page, both rendered before either is written (each atomically)."""
    from workbench.outputs import write_all
    from workbench.present.html import result_page

    write_all({args.out: lambda: result.to_json() + "\n", args.report: lambda: result_page(result)})


def _finish(result, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    """Write the findings JSON and HTML report, print the summary, return the exit status."""
    from workbench.present.text import result_text

    _write_outputs(result, args)
    failing = () if args.fail_on == "none" else result.at_least(args.fail_on)
    # a check that was asked for and could not run: the run is not a pass, whatever --fail-on says
    skipped = [] if args.fail_on == "none" else [f.subject for f in result.findings if f.kind == "check_skipped"]
    if not args.quiet:
        print(result_text(result))
        for label, path in (("findings", args.out), ("report", args.report)):
            if path:
                print(f"{label} written to {path}")
    if args.fail_on == "none":
        worst = result.max_severity or "none"
        verdict = f"DONE: {len(result.findings)} finding(s), worst {worst}; --fail-on none never fails"
    elif failing:
        verdict = f"FAIL: {len(failing)} finding(s) at or above {args.fail_on}"
    elif skipped:
        verdict = f"INCOMPLETE: check(s) that could not run: {', '.join(skipped)} (see the check_skipped findings)"
    else:
        verdict = f"PASS: no finding at or above {args.fail_on}"
    print(verdict)
    return EXIT_FINDINGS if failing or skipped else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
