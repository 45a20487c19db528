"""Acting on a verdict: ``workbench shadow --on-rollback/--on-promote/--on-hold CMD`` and
:func:`workbench.reports.actions.act_on_verdict` run the command for the verdict with the verdict in its
environment, without a shell, within a timeout; a failed command makes the exit status 6."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.errors import ConfigError
from workbench.findings.model import CheckResult
from workbench.reports.actions import act_on_verdict, parse_command, run_command
from workbench.shadow import check_shadow

DATA = Path(__file__).resolve().parents[1] / "sample_data" / "shadow"
ROLES = {"id": "request_id", "prediction": "prediction", "latency": "latency_ms", "error": "error"}
ARGS = ["shadow", "--production", str(DATA / "production.parquet"), "--id", "request_id", "--prediction",
        "prediction", "--latency", "latency_ms", "--error", "error", "--labels", str(DATA / "labels.parquet")]
# a hook that records its arguments and the WORKBENCH_* environment into the file named by its first argument
RECORD = ("import json, os, sys; json.dump({'argv': sys.argv[1:], 'env': {k: v for k, v in os.environ.items() "
          "if k.startswith('WORKBENCH_')}}, open(sys.argv[1], 'w')); sys.exit(int(os.environ.get('HOOK_EXIT', '0')))")


def hook(script: Path, record: Path, *extra: str) -> str:
    """A command line (as a user would type it) running the recording hook."""
    script.write_text(RECORD)
    return shlex.join([sys.executable, str(script), str(record), *extra])


@pytest.fixture(scope="module")
def rollback() -> CheckResult:
    return check_shadow(DATA / "production.parquet", DATA / "candidate.parquet", labels=DATA / "labels.parquet",
                        stages=[0.01, 0.05, 0.25, 1.0], stage=0.05, **ROLES)


@pytest.fixture(scope="module")
def hold() -> CheckResult:
    return check_shadow(DATA / "production.parquet", DATA / "candidate_same.parquet", **ROLES)  # no labels


def test_the_rollback_command_gets_the_verdict_in_its_environment(rollback, tmp_path):
    record = tmp_path / "record.json"
    outcome = act_on_verdict(rollback, on_rollback=hook(tmp_path / "h.py", record), on_promote="false",
                             on_hold="false")
    assert outcome is not None and outcome.ok and outcome.exit_code == 0 and outcome.flag == "--on-rollback"
    env = json.loads(record.read_text())["env"]
    assert env["WORKBENCH_VERDICT"] == "rollback" and env["WORKBENCH_EXIT_CODE"] == "1"
    assert env["WORKBENCH_CHECK"] == "shadow"
    assert env["WORKBENCH_REASONS"].splitlines() == list(rollback.verdict.reasons)
    assert (env["WORKBENCH_STAGE"], env["WORKBENCH_NEXT_STAGE"]) == ("0.05", "0")
    assert "WORKBENCH_METRICS" not in env
    # the findings file lived while the command ran, and is gone with its temporary folder
    assert env["WORKBENCH_FINDINGS"].endswith("shadow-findings.json")
    assert not Path(env["WORKBENCH_FINDINGS"]).exists()


def test_only_the_verdicts_command_runs_and_none_given_is_none(hold, tmp_path):
    assert hold.verdict.decision == "hold"
    assert act_on_verdict(hold, on_rollback="false", on_promote="false") is None
    ran = act_on_verdict(hold, on_hold=hook(tmp_path / "h.py", tmp_path / "hold.json"), on_rollback="false")
    assert ran is not None and ran.ok and ran.flag == "--on-hold"
    assert json.loads((tmp_path / "hold.json").read_text())["env"]["WORKBENCH_EXIT_CODE"] == "3"


def test_the_command_is_never_given_to_a_shell(rollback, tmp_path):
    """Shell syntax in the command stays literal text: split like a shell line, run without one."""
    pwned = tmp_path / "pwned"
    words = [f"$(touch {pwned})", f"; touch {pwned}", "a b", "`id`"]
    record = tmp_path / "record.json"
    outcome = act_on_verdict(rollback, on_rollback=hook(tmp_path / "h.py", record, *words))
    assert outcome is not None and outcome.ok
    assert json.loads(record.read_text())["argv"] == [str(record), *words]
    assert not pwned.exists()
    # a shell on purpose is the user's explicit choice, and then it is one
    shell = run_command(shlex.join(["sh", "-c", f"touch {pwned}"]), {}, flag="--on-rollback")
    assert shell.ok and pwned.exists()


def test_a_command_that_fails_times_out_or_cannot_start_is_reported(rollback, tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK_EXIT", "4")
    failed = act_on_verdict(rollback, on_rollback=hook(tmp_path / "h.py", tmp_path / "r.json"))
    assert failed is not None and not failed.ok
    assert (failed.status, failed.exit_code, failed.error) == ("failed", 4, "exited with status 4")
    slow = act_on_verdict(rollback, on_rollback=shlex.join([sys.executable, "-c", "import time; time.sleep(60)"]),
                          timeout=0.5)
    assert slow is not None and slow.status == "failed" and slow.exit_code is None
    assert slow.error == "timed out after 0.5 s and was killed" and slow.duration_s < 10
    gone = run_command(str(tmp_path / "missing.sh"), {}, flag="--on-rollback")
    assert gone.status == "failed" and gone.error is not None and gone.error.startswith("could not start")


def test_bad_commands_and_arguments_are_refused_naming_the_flag(rollback):
    with pytest.raises(ConfigError, match="--on-hold 'a \"b' cannot be read as a command"):
        parse_command('a "b', flag="--on-hold")
    with pytest.raises(ConfigError, match="--on-promote is empty"):
        parse_command("  ", flag="--on-promote")
    with pytest.raises(ConfigError, match="the program 'no-such-program-here' was not found"):
        parse_command("no-such-program-here --now", flag="--on-rollback")
    with pytest.raises(ConfigError, match="timeout must be a number of seconds > 0, got 0"):
        act_on_verdict(rollback, on_rollback="true", timeout=0)
    no_verdict = CheckResult("drift", (), ())
    with pytest.raises(ConfigError, match="the 'drift' result has no verdict to act on"):
        act_on_verdict(no_verdict, on_rollback="true")


@pytest.mark.slow
def test_the_cli_runs_the_command_after_writing_the_outputs_and_keeps_the_verdicts_exit_status(tmp_path, capsys):
    out, metrics, record = tmp_path / "findings.json", tmp_path / "shadow.prom", tmp_path / "record.json"
    args = [*ARGS, "--candidate", str(DATA / "candidate.parquet"), "--out", str(out), "--metrics-out", str(metrics),
            "--on-rollback", hook(tmp_path / "h.py", record), "--on-promote", "false", "--quiet"]
    assert main(args) == 1  # rollback, and the command succeeded
    env = json.loads(record.read_text())["env"]
    assert env["WORKBENCH_FINDINGS"] == str(out) and env["WORKBENCH_METRICS"] == str(metrics)
    assert json.loads(out.read_text())["verdict"]["decision"] == env["WORKBENCH_VERDICT"] == "rollback"
    captured = capsys.readouterr()
    assert captured.out.startswith("ROLLBACK: ") and captured.err == ""


@pytest.mark.slow
def test_a_failed_command_makes_the_exit_status_6_and_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HOOK_EXIT", "2")
    out = tmp_path / "findings.json"
    command = hook(tmp_path / "h.py", tmp_path / "record.json")
    args = [*ARGS, "--candidate", str(DATA / "candidate.parquet"), "--out", str(out), "--on-rollback", command]
    assert main(args) == 6
    captured = capsys.readouterr()
    assert "ROLLBACK: " in captured.out and "action --on-rollback: failed" in captured.out
    assert captured.err == f"workbench shadow: error: the --on-rollback command failed: exited with status 2 " \
                           f"({command})\n"
    assert json.loads(out.read_text())["verdict"]["decision"] == "rollback"  # the outputs are written all the same
    timeout = [*ARGS, "--candidate", str(DATA / "candidate.parquet"), "--quiet", "--action-timeout", "0.5",
               "--on-rollback", shlex.join([sys.executable, "-c", "import time; time.sleep(60)"])]
    assert main(timeout) == 6
    assert "timed out after 0.5 s and was killed" in capsys.readouterr().err


def test_a_command_that_cannot_run_is_refused_before_any_work(tmp_path, capsys):
    out = tmp_path / "findings.json"
    args = [*ARGS, "--candidate", str(DATA / "candidate.parquet"), "--out", str(out),
            "--on-hold", "nowhere-to-be-found"]
    assert main(args) == 2
    assert capsys.readouterr().err == "workbench shadow: error: --on-hold: the program 'nowhere-to-be-found' was not " \
                                      "found (not on PATH, or not executable); give its path.\n"
    assert not out.exists()
    assert main([*ARGS, "--candidate", str(DATA / "candidate.parquet"), "--action-timeout", "0"]) == 2
    assert "--action-timeout must be a number of seconds > 0; got '0'" in capsys.readouterr().err
