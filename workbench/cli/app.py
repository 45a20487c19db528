"""The parser of the whole command line, and :func:`main`."""

from __future__ import annotations

import argparse
import json
import os
import sys

from workbench.cli.checks import CHECKS
from workbench.cli.demo import add_demo_parser, demo_data
from workbench.cli.finish import EXIT_OK, EXIT_USAGE
from workbench.cli.report import add_report_parser, report
from workbench.errors import WorkbenchError

# names and flags of earlier versions, refused with the one to use (never kept as a second name)
RETIRED_COMMANDS = {
    "audit": "`workbench audit leakage` is now `workbench leakage` (same options)",
    "compare": "`workbench compare` is now `workbench shadow` (same options; --stages 0.01,0.05 is now "
               "--plan-stage 0.01 --plan-stage 0.05)",
}
RETIRED_FLAGS = {
    "--columns": "--columns a,b is now the repeatable --column: --column a --column b",
    "--stages": "--stages 0.01,0.05 is now the repeatable --plan-stage: --plan-stage 0.01 --plan-stage 0.05",
    "--min-segment": "--min-segment is now --min-support (the rows a scope needs to be tested, as in every check)",
    "--engine": "--engine is gone: the engine is the input's (the command line reads files with polars)",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]  # argparse exits 2 too; keep its format
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``workbench`` parser: ``schema``, one command per check, ``report``."""
    from workbench.metadata import DISTRIBUTION, version

    parser = _Parser(prog="workbench", description="ML reliability workbench: audits and monitors for models.")
    parser.add_argument("--version", action="version", version=f"workbench {version()} ({DISTRIBUTION})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    schema = sub.add_parser("schema", help="print a JSON Schema shipped with the package")
    schema.add_argument("name", choices=["findings"], help="which schema")
    for command in CHECKS:
        command.add_parser(sub)
    add_report_parser(sub, _Parser)
    add_demo_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (a closed output pipe, as in ``| head``, ends quietly)."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # the reader went away (e.g. `workbench report list | head`): stop writing, without a traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


def _retired(argv: list[str]) -> str | None:
    """The message for a command or flag of an earlier version in ``argv``, else None."""
    if not argv or argv[0].startswith("-"):
        return None
    if argv[0] in RETIRED_COMMANDS:
        return f"workbench: error: {RETIRED_COMMANDS[argv[0]]}."
    if argv[0] in {c.name for c in CHECKS}:
        for word in argv[1:]:
            flag = word.partition("=")[0]
            if flag in RETIRED_FLAGS:
                return f"workbench {argv[0]}: error: {RETIRED_FLAGS[flag]}."
    return None


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    run_args: list[str] = []
    if "--" in argv:  # `report schedule add NAME ... -- TEMPLATE [run options]`
        cut = argv.index("--")
        argv, run_args = argv[:cut], argv[cut + 1:]
    retired = _retired(argv)
    if retired:
        print(retired, file=sys.stderr)
        return EXIT_USAGE
    parser = build_parser()
    args = parser.parse_args(argv)
    args.run_args = run_args
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command == "schema":
        from workbench.findings.schema import findings_schema

        print(json.dumps(findings_schema(), indent=2))
        return EXIT_OK
    commands = {command.name: command.execute for command in CHECKS} | {"report": report, "demo-data": demo_data}
    run = commands[args.command]
    try:
        return run(args)
    except WorkbenchError as exc:
        print(f"workbench {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
