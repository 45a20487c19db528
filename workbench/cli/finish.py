"""What every check does after computing: write the findings JSON and the HTML page, print, exit.

Exit status of a check (``leakage``, ``drift``, ``skew``, ``performance``): 0 no finding at or above
``--fail-on``; 1 at least one, or a ``check_skipped`` finding (a check asked for could not run; the
verdict says INCOMPLETE); 6 when a command with the notification flags of
:data:`workbench.cli.options.VERDICT_ACTIONS` could not deliver one. ``shadow`` exits with its verdict
instead (:func:`finish_verdict`): 0 promote, 1 rollback, 3 hold; and 6 when the verdict was reached but
an action asked for did not complete (the ``--on-*`` command failed, timed out or could not start, or a
notification could not be delivered): the verdict line is printed and the outputs written all the same,
and the failure is said on standard error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_HOLD, EXIT_SKIPPED, EXIT_ACTION_FAILED = 0, 1, 2, 3, 5, 6
ROUTING_KEY = "WORKBENCH_PAGERDUTY_ROUTING_KEY"


@dataclass(frozen=True)
class Outputs:
    """The output options of a check run (flags only, never read from a config file)."""

    out: Path | None
    report: Path | None
    fail_on: str
    quiet: bool
    metrics_out: Path | None = None
    actions: Mapping[str, str] = field(default_factory=dict)  # decision -> command (--on-rollback ...)
    action_timeout: float = 300.0
    notify: Mapping[str, str] = field(default_factory=dict)  # notify/alertmanager/pagerduty/alert_source/alert_link

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Outputs:
        """``--out``, ``--report``, ``--fail-on`` (default critical) and ``--quiet`` of a parsed command, and
        the flags of :data:`workbench.cli.options.VERDICT_ACTIONS` where the command has them."""
        from workbench.cli.options import ACTION_TIMEOUT

        out, report = getattr(args, "out", None), getattr(args, "report", None)
        metrics = getattr(args, "metrics_out", None)
        timeout = getattr(args, "action_timeout", None)
        seconds = 300.0 if timeout is None else ACTION_TIMEOUT.convert(timeout, ACTION_TIMEOUT.name)
        if not seconds > 0:
            raise ConfigError(f"--action-timeout must be a number of seconds > 0; got {timeout!r}.")
        actions = {d: c for d in ("rollback", "promote", "hold") if (c := getattr(args, f"on_{d}", None)) is not None}
        notify = {k: v for k in ("notify", "alertmanager", "pagerduty", "alert_source", "alert_link")
                  if (v := getattr(args, k, None))}
        return cls(out=Path(out) if out else None, report=Path(report) if report else None,
                   fail_on=getattr(args, "fail_on", None) or "critical", quiet=bool(getattr(args, "quiet", None)),
                   metrics_out=Path(metrics) if metrics else None, actions=actions, action_timeout=seconds,
                   notify=notify)


def guard_outputs(outputs: Outputs, inputs: Iterable[Any], more: Mapping[str, Any] | None = None) -> None:
    """Refuse, before any work, an output path that cannot be written or that is one of the ``inputs``
    (the config file is one), an ``--on-*`` command that cannot run, a notification URL that is not
    http(s), and ``--pagerduty`` without its routing key in the environment. ``more``: other outputs by
    flag, e.g. ``{"--save-profile": path}``."""
    from workbench.outputs import check_output_paths
    from workbench.reports.actions import parse_command

    check_output_paths({"--out": outputs.out, "--report": outputs.report, "--metrics-out": outputs.metrics_out,
                        **(more or {})}, list(inputs))
    for decision, command in outputs.actions.items():
        parse_command(command, flag=f"--on-{decision}")
    for key in ("notify", "alertmanager", "pagerduty", "alert_link"):
        url = outputs.notify.get(key)
        if url is not None and not url.startswith(("http://", "https://")):
            raise ConfigError(f"--{key.replace('_', '-')} expects an http:// or https:// URL; got {url!r}.")
    if "pagerduty" in outputs.notify and not os.environ.get(ROUTING_KEY):
        raise ConfigError(f"--pagerduty needs the routing key (the integration key of an Events API v2 integration) "
                          f"in the environment variable {ROUTING_KEY}; it is never read from the command line.")


def write_outputs(result: Any, outputs: Outputs) -> None:
    """The findings JSON, the HTML page and the Prometheus metrics, all rendered before any is written
    (each atomically)."""
    from workbench.outputs import write_all
    from workbench.present.html import result_page
    from workbench.present.metrics import prometheus_text

    write_all({outputs.out: lambda: result.to_json() + "\n", outputs.report: lambda: result_page(result),
               outputs.metrics_out: lambda: prometheus_text(result)})


def _print_result(result: Any, outputs: Outputs) -> None:
    from workbench.present.text import result_text

    print(result_text(result))
    for label, path in (("findings", outputs.out), ("report", outputs.report), ("metrics", outputs.metrics_out)):
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
    failures = close_loop(result, outputs)  # notifications, where the command has the flags
    for failure in failures:
        print(f"workbench {result.check}: error: {failure}", file=sys.stderr)
    if failures:
        return EXIT_ACTION_FAILED
    return EXIT_FINDINGS if failing or skipped else EXIT_OK


def finish_verdict(result: Any, outputs: Outputs) -> int:
    """``shadow``: write the outputs, print, run the verdict's command, notify, and exit with the
    verdict (0 promote, 1 rollback, 3 hold), or 6 when an action asked for did not complete."""
    write_outputs(result, outputs)
    verdict = result.verdict
    if not outputs.quiet:
        _print_result(result, outputs)
    print(f"{verdict.decision.upper()}: " + (verdict.reasons[0] if verdict.reasons else ""))
    failures = close_loop(result, outputs)
    for failure in failures:
        print(f"workbench {result.check}: error: {failure}", file=sys.stderr)
    return EXIT_ACTION_FAILED if failures else int(verdict.exit_code)


def close_loop(result: Any, outputs: Outputs) -> list[str]:
    """Run the ``--on-<verdict>`` command (a result with a verdict), then send the notifications (which
    say what the command did: the verdict and its critical findings, or for a check without verdict its
    findings at or above ``--fail-on``); print one line for each unless ``--quiet``; return the failures,
    one sentence each."""
    from workbench.reports.actions import act_on_verdict
    from workbench.reports.deliver import notify

    failures = []
    action = None
    if result.verdict is not None:
        action = act_on_verdict(result, on_rollback=outputs.actions.get("rollback"),
                                on_promote=outputs.actions.get("promote"), on_hold=outputs.actions.get("hold"),
                                timeout=outputs.action_timeout, findings=outputs.out, metrics=outputs.metrics_out)
    if action is not None:
        if not outputs.quiet:
            print(f"action {action.flag}: {action.status} ({action.duration_s:.2f} s)")
        if not action.ok:
            failures.append(f"the {action.flag} command failed: {action.error} ({action.command})")
    targets = outputs.notify
    if not {"notify", "alertmanager", "pagerduty"} & set(targets):
        return failures
    sent = notify(result, slack=targets.get("notify"), alertmanager=targets.get("alertmanager"),
                  pagerduty=targets.get("pagerduty"),
                  routing_key=os.environ.get(ROUTING_KEY), source=targets.get("alert_source"),
                  min_severity="critical" if result.verdict is not None else outputs.fail_on,
                  link=targets.get("alert_link"), action=None if action is None else action.to_dict())
    for delivery in sent:
        if not outputs.quiet:
            print(f"notified {delivery.target}: {delivery.status}" +
                  (f" (HTTP {delivery.http_status})" if delivery.http_status else ""))
        if not delivery.ok:
            failures.append(f"the {delivery.target} notification to {delivery.url} failed after "
                            f"{delivery.attempts} attempt(s): {delivery.error}")
    return failures
