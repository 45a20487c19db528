"""Acting on a verdict: run the command given for it (``--on-rollback``, ``--on-promote``, ``--on-hold``)
with the verdict in its environment.

The command is split like a shell would split it (:func:`shlex.split`) and run without a shell, so
nothing in a result (a reason, a segment value) can ever be executed: the verdict reaches the
command only through its environment. For pipes or ``&&``, say so explicitly:
``--on-rollback "sh -c 'kubectl argo rollouts abort my-model && ./page-team'"``.

Environment given to the command, on top of the caller's:

=========================  ============================================================================
``WORKBENCH_CHECK``        the check's name (``shadow``)
``WORKBENCH_VERDICT``      ``promote``, ``hold`` or ``rollback``
``WORKBENCH_EXIT_CODE``    the verdict's exit status: 0 promote, 1 rollback, 3 hold
``WORKBENCH_REASONS``      the verdict's reasons, one per line, most serious first
``WORKBENCH_FINDINGS``     path of the findings JSON (``--out``, else a temporary file kept while it runs)
``WORKBENCH_STAGE``        the current and next traffic share of a stage plan (empty without one)
``WORKBENCH_NEXT_STAGE``
``WORKBENCH_METRICS``      path of the ``--metrics-out`` file, when one was written
=========================  ============================================================================

The command runs after every output was written, with no standard input, its output going where
the caller's goes, for at most ``timeout`` seconds (then it is killed with its process group). Its
outcome is an :class:`ActionOutcome`; a command that cannot start, exits non-zero or times out is
``failed`` (``workbench shadow`` then exits 6).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from workbench.errors import ConfigError

if TYPE_CHECKING:
    from workbench.findings.model import CheckResult

DECISIONS = ("rollback", "promote", "hold")
DEFAULT_TIMEOUT = 300.0


@dataclass(frozen=True)
class ActionOutcome:
    """What the command did. ``status``: ``ok`` (exit 0), ``failed`` (non-zero exit, could not start,
    or timed out: ``error`` says which). ``duration_s``: wall-clock seconds."""

    flag: str
    command: str
    status: Literal["ok", "failed"]
    exit_code: int | None
    duration_s: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_command(command: str, *, flag: str) -> list[str]:
    """``command`` as an argument list; ConfigError naming ``flag`` when it cannot be split, is empty,
    or names a program that is not found."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ConfigError(f"{flag} {command!r} cannot be read as a command: {exc}. Quote it as in a shell.") from None
    if not argv:
        raise ConfigError(f"{flag} is empty; give the command to run, e.g. {flag} './rollback.sh'.")
    if shutil.which(argv[0]) is None:
        raise ConfigError(f"{flag}: the program {argv[0]!r} was not found (not on PATH, or not executable); "
                          "give its path.")
    return argv


def verdict_environment(result: CheckResult, findings: str | Path, metrics: str | Path | None = None) -> dict[str, str]:
    """The ``WORKBENCH_*`` variables of the table above, for ``result`` (which must have a verdict)."""
    verdict = _verdict(result)
    env = {"WORKBENCH_CHECK": result.check, "WORKBENCH_VERDICT": verdict.decision,
           "WORKBENCH_EXIT_CODE": str(verdict.exit_code), "WORKBENCH_REASONS": "\n".join(verdict.reasons),
           "WORKBENCH_FINDINGS": str(findings),
           "WORKBENCH_STAGE": "" if verdict.stage is None else f"{verdict.stage:g}",
           "WORKBENCH_NEXT_STAGE": "" if verdict.next_stage is None else f"{verdict.next_stage:g}"}
    if metrics is not None:
        env["WORKBENCH_METRICS"] = str(metrics)
    return env


def run_command(command: str, env: Mapping[str, str], *, flag: str = "command",
                timeout: float = DEFAULT_TIMEOUT) -> ActionOutcome:
    """Run ``command`` (no shell) with ``env`` added to this process's environment."""
    start = time.perf_counter()

    def outcome(status: Literal["ok", "failed"], code: int | None, error: str | None = None) -> ActionOutcome:
        return ActionOutcome(flag, command, status, code, round(time.perf_counter() - start, 3), error)

    try:
        argv = parse_command(command, flag=flag)
        process = subprocess.Popen(argv, env={**os.environ, **env}, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    except (ConfigError, OSError) as exc:
        return outcome("failed", None, f"could not start: {exc}")
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):  # its own process group: the command and what it started
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return outcome("failed", None, f"timed out after {timeout:g} s and was killed")
    if code != 0:
        return outcome("failed", code, f"exited with status {code}")
    return outcome("ok", 0)


def act_on_verdict(result: CheckResult, *, on_rollback: str | None = None, on_promote: str | None = None,
                   on_hold: str | None = None, timeout: float = DEFAULT_TIMEOUT, findings: str | Path | None = None,
                   metrics: str | Path | None = None) -> ActionOutcome | None:
    """Run the command given for ``result``'s verdict (None when none was given for it), with the
    verdict in its environment. ``findings``: a findings JSON already written for the command to
    read; without it, one is written to a temporary file that lives while the command runs.
    ``timeout``: seconds (> 0). Python twin of ``workbench shadow --on-rollback CMD ...``."""
    verdict = _verdict(result)
    if not (isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0):
        raise ConfigError(f"timeout must be a number of seconds > 0, got {timeout!r}.")
    command = {"rollback": on_rollback, "promote": on_promote, "hold": on_hold}[verdict.decision]
    if command is None:
        return None
    flag = f"--on-{verdict.decision}"
    if findings is not None:
        return run_command(command, verdict_environment(result, findings, metrics), flag=flag, timeout=timeout)
    with tempfile.TemporaryDirectory(prefix="workbench-") as folder:
        path = Path(folder) / f"{result.check}-findings.json"
        result.to_json(str(path))
        return run_command(command, verdict_environment(result, path, metrics), flag=flag, timeout=timeout)


def _verdict(result: CheckResult) -> Any:
    if result.verdict is None:
        raise ConfigError(f"the {result.check!r} result has no verdict to act on; commands on a verdict need a "
                          "check that decides (check_shadow).")
    return result.verdict
