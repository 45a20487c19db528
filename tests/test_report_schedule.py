"""Cron schedules are validated when they are added (name, the five cron fields, template, run
options) and every argument reaches the shell as given: no extra crontab line, no `%` turned into
a newline by cron, no shell syntax run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from workbench.cli import main
from workbench.errors import ConfigError
from workbench.reports import schedule

BEFORE = "MAILTO=ops@example.com\n30 2 * * * /usr/bin/backup\n"
HOSTILE = ["50%", "%%", "a\\b", "it's", 'say "hi"', "x; touch {pwned}", "`touch {pwned}`", "$(touch {pwned})",
           "$HOME", "a b\tc", "*", "-- --out", "'", "100%'; touch {pwned}; echo '%"]


def _cron_command(line: str) -> str:
    """The command of a crontab line as Debian's cron hands it to /bin/sh: a backslash before % is
    removed, and the first bare % ends the command (the rest would be its stdin)."""
    command, out, escaped = line.split(None, 5)[5], [], False
    for ch in command:
        if escaped and ch == "%":
            out[-1] = "%"
        elif not escaped and ch == "%":
            break
        else:
            out.append(ch)
        escaped = not escaped and ch == "\\"
    return "".join(out)


def test_hostile_arguments_reach_the_command_exactly_and_add_no_crontab_line(tmp_path, monkeypatch):
    pwned = tmp_path / "pwned"
    fake = tmp_path / "python%x"  # stands in for the interpreter: prints the arguments it received
    fake.write_text(f"#!/bin/sh\nexec {sys.executable} -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "
                    '"$@"\n')
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))
    workdir = tmp_path / "work dir %'$(x)"
    workdir.mkdir()
    crontab = tmp_path / "crontab"
    crontab.write_text(BEFORE)
    values = [v.format(pwned=pwned) for v in HOSTILE]
    for i, value in enumerate(values):
        schedule.add(f"s{i}", "*/5 1-3,7 * jan mon", ["drift", "-p", "window", value, "--out", value],
                     crontab_file=crontab, workdir=workdir)
    lines = crontab.read_text().splitlines()
    assert "\n".join(lines[:2]) + "\n" == BEFORE and len(lines) == 2 + 2 * len(values)
    assert lines[2::2] == [f"{schedule.MARK} s{i}" for i in range(len(values))]
    for i, (value, line) in enumerate(zip(values, lines[3::2], strict=True)):
        assert line.startswith("*/5 1-3,7 * jan mon cd ")
        done = subprocess.run(["/bin/sh", "-c", _cron_command(line)], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        printed = (workdir / "workbench-cron.log").read_text().splitlines()[-1]
        assert json.loads(printed) == ["-m", "workbench.cli", "report", "run", "drift", "-p", "window", value,
                                       "--out", value], i
        assert schedule.installed(crontab_file=crontab)[f"s{i}"] == line
    assert not pwned.exists()


@pytest.mark.parametrize("value", ["1d\n* * * * * touch /tmp/x", "1d\r", "a\0b", "50\\%"])
def test_arguments_cron_cannot_carry_are_refused_and_nothing_is_written(value, tmp_path):
    crontab = tmp_path / "crontab"
    crontab.write_text(BEFORE)
    with pytest.raises(ConfigError, match="schedule argument"):
        schedule.add("daily", "0 0 * * *", ["drift", "-p", "window", value], crontab_file=crontab)
    assert crontab.read_text() == BEFORE


@pytest.mark.parametrize(("cron", "message"), [
    ("99 99 * * *", "the minute field '99' is out of range: minute goes from 0 to 59"),
    ("0 24 * * *", "the hour field '24' is out of range"),
    ("0 0 0 * *", "the day of month field '0' is out of range"),
    ("0 0 * 13 *", "the month field '13' is out of range"),
    ("0 0 * * 8", "the day of week field '8' is out of range"),
    ("0 0 * * 1,9", "the day of week field '1,9' is out of range"),
    ("30-10 * * * *", "the minute range '30-10' goes backwards"),
    ("*/0 * * * *", "the step in '*/0' must be from 1 to 60"),
    ("5/2 * * * *", "a step needs * or a range before it"),
    ("0 0 * foo *", "the month field 'foo' is not valid"),
    ("0 0 * * mon-fri", "the day of week field 'mon-fri' is not valid"),
    ("0 0 * * * *", "expected five fields"),
    ("@hourly", "expected five fields"),
])
def test_invalid_cron_expressions_are_refused(cron, message):
    with pytest.raises(ConfigError, match=message.replace("*", r"\*")):
        schedule.check_cron(cron)


@pytest.mark.parametrize("cron", ["0 * * * *", "*/15 0-6,22-23 1,15 1-12/3 *",
                                  "0 9 * JAN,jul MON", "0 0 1 * 7", "59 23 31 12 0-6/2"])
def test_valid_cron_expressions_are_accepted(cron):
    assert schedule.check_cron(cron) == cron.split()


@pytest.mark.parametrize(("name", "run_args", "message"), [
    ("daily\n", ["drift"], r"schedule name 'daily\\n'"),
    ("daily\n* * * * * evil", ["drift"], "schedule name"),
    ("daily", ["drfit"], "unknown template 'drfit'.*Did you mean 'drift'"),
    ("daily", ["nowhere.ipynb"], "template 'nowhere.ipynb': no such notebook"),
    ("daily", ["drift", "--bogus"], "not valid for workbench report run: .*unrecognized arguments: --bogus"),
    ("daily", ["drift", "--fail-on", "sometimes"], "not valid for workbench report run: .*invalid choice"),
    ("daily", ["drift", "-p", "windoww", "1d"], "has no parameter 'windoww'"),
    ("daily", ["drift", "-p", "window", "5"], "parameter 'window' of template 'drift' must be str"),
    ("daily", [], "give the template"),
])
def test_bad_schedules_are_refused_at_add_time(name, run_args, message, tmp_path):
    crontab = tmp_path / "crontab"
    crontab.write_text(BEFORE)
    with pytest.raises(ConfigError, match=message):
        schedule.add(name, "0 * * * *", run_args, crontab_file=crontab)
    assert crontab.read_text() == BEFORE


def test_data_that_does_not_exist_yet_is_fine_at_add_time(tmp_path):
    crontab = tmp_path / "crontab"
    schedule.add("later", "0 * * * *", ["drift", "-p", "current_path", "arrives/later/*.parquet", "--retries", "3"],
                 crontab_file=crontab, workdir=tmp_path)
    assert list(schedule.installed(crontab_file=crontab)) == ["later"]


def test_the_cli_refuses_an_invalid_schedule_with_exit_2(tmp_path, capsys):
    crontab = tmp_path / "crontab"
    assert main(["report", "schedule", "add", "x", "--cron", "99 99 * * *", "--crontab-file", str(crontab), "--",
                 "drift"]) == 2
    assert "out of range" in capsys.readouterr().err and not crontab.exists()
    assert main(["report", "schedule", "add", "x", "--cron", "0 * * * *", "--crontab-file", str(crontab), "--",
                 "drift", "--nope"]) == 2
    assert "unrecognized arguments: --nope" in capsys.readouterr().err and not crontab.exists()
