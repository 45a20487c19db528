"""What every check does after computing: write the findings JSON and the HTML page, print, exit.

Exit status of a check (``leakage``, ``drift``, ``skew``, ``performance``): 0 no finding at or above
``--fail-on``; 1 at least one, or a ``check_skipped`` finding (a check asked for could not run; the
verdict says INCOMPLETE). ``shadow`` exits with its verdict instead (:func:`finish_verdict`).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_HOLD, EXIT_SKIPPED = 0, 1, 2, 3, 5


@dataclass(frozen=True)
class Outputs:
    """The output options of a check run (flags only, never read from a config file)."""

    out: Path | None
    report: Path | None
    fail_on: str
    quiet: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Outputs:
        """``--out``, ``--report``, ``--fail-on`` (default critical) and ``--quiet`` of a parsed command."""
        out, report = getattr(args, "out", None), getattr(args, "report", None)
        return cls(out=Path(out) if out else None, report=Path(report) if report else None,
                   fail_on=getattr(args, "fail_on", None) or "critical", quiet=bool(getattr(args, "quiet", None)))


def guard_outputs(outputs: Outputs, inputs: Iterable[Any], more: Mapping[str, Any] | None = None) -> None:
    """Refuse, before any work, an output path that cannot be written or that is one of the ``inputs``
    (the config file is one). ``more``: other outputs by flag, e.g. ``{"--save-profile": path}``."""
    from workbench.outputs import check_output_paths

    check_output_paths({"--out": outputs.out, "--report": outputs.report, **(more or {})}, list(inputs))


def write_outputs(result: Any, outputs: Outputs) -> None:
    """The findings JSON and the HTML page, both rendered before either is written (each atomically)."""
    from workbench.outputs import write_all
    from workbench.present.html import result_page

    write_all({outputs.out: lambda: result.to_json() + "\n", outputs.report: lambda: result_page(result)})


def _print_result(result: Any, outputs: Outputs) -> None:
    from workbench.present.text import result_text

    print(result_text(result))
    for label, path in (("findings", outputs.out), ("report", outputs.report)):
        if path:
            print(f"{label} written to {path}")


def finish(result: Any, outputs: Outputs) -> int:
    """Write the findings JSON and HTML report, print the summary and the verdict line, return the exit status."""
    write_outputs(result, outputs)
    fail_on = outputs.fail_on
    failing = () if fail_on == "none" else result.at_least(fail_on)
    # a check that was asked for and could not run: the run is not a pass, whatever --fail-on says
    skipped = [] if fail_on == "none" else [f.subject for f in result.findings if f.kind == "check_skipped"]
    if not outputs.quiet:
        _print_result(result, outputs)
    if fail_on == "none":
        worst = result.max_severity or "none"
        verdict = f"DONE: {len(result.findings)} finding(s), worst {worst}; --fail-on none never fails"
    elif failing:
        verdict = f"FAIL: {len(failing)} finding(s) at or above {fail_on}"
    elif skipped:
        verdict = f"INCOMPLETE: check(s) that could not run: {', '.join(skipped)} (see the check_skipped findings)"
    else:
        verdict = f"PASS: no finding at or above {fail_on}"
    print(verdict)
    return EXIT_FINDINGS if failing or skipped else EXIT_OK


def finish_verdict(result: Any, outputs: Outputs) -> int:
    """``shadow``: write the outputs, print, and exit with the verdict (0 promote, 1 rollback, 3 hold)."""
    write_outputs(result, outputs)
    verdict = result.verdict
    if not outputs.quiet:
        _print_result(result, outputs)
    print(f"{verdict.decision.upper()}: " + (verdict.reasons[0] if verdict.reasons else ""))
    return int(verdict.exit_code)
