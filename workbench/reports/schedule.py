"""Recurring report runs with cron: install, list and remove schedules in a crontab (the user's,
through the ``crontab`` command, or a crontab file to install with ``crontab FILE``). Each entry is one line,
marked with a comment naming the schedule, that runs ``workbench report run`` in the folder it was
installed from; the run's lock keeps two runs of one schedule from overlapping."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from workbench.errors import ConfigError

MARK = "# workbench-report:"
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_FIELD = re.compile(r"^[\d*/,-]+$")


def add(name: str, cron: str, run_args: list[str], *, crontab_file: Path | None = None,
        workdir: Path | None = None) -> str:
    """Install (or replace) schedule ``name``: ``cron`` is a five-field expression, ``run_args``
    the arguments of ``workbench report run`` (template first). Returns the installed line."""
    if not _NAME.match(name):
        raise ConfigError(f"schedule name {name!r}: use letters, digits, '.', '_' or '-'.")
    fields = cron.split()
    if len(fields) != 5 or not all(_FIELD.match(f) for f in fields):
        raise ConfigError(f"cron {cron!r}: expected five fields such as '0 * * * *' (minute hour day month weekday).")
    if not run_args:
        raise ConfigError("give the template and its options after --, e.g. -- drift -p window 1h --out reports.")
    folder = (workdir or Path.cwd()).resolve()
    command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "workbench.cli", "report", "run", *run_args])
    log = shlex.quote(str(folder / "workbench-cron.log"))
    line = f"{cron} cd {shlex.quote(str(folder))} && {command} >> {log} 2>&1"
    entries = {n: entry for n, entry in _entries(_read(crontab_file)) if n != name}
    entries[name] = line
    _write(crontab_file, _strip(_read(crontab_file)) + [f"{MARK} {n}\n{entry}" for n, entry in entries.items()])
    return line


def remove(name: str, *, crontab_file: Path | None = None) -> bool:
    """Remove schedule ``name``; False when there was none."""
    text = _read(crontab_file)
    entries = dict(_entries(text))
    if name not in entries:
        return False
    del entries[name]
    _write(crontab_file, _strip(text) + [f"{MARK} {n}\n{entry}" for n, entry in entries.items()])
    return True


def installed(*, crontab_file: Path | None = None) -> dict[str, str]:
    """Schedule name → its crontab line."""
    return dict(_entries(_read(crontab_file)))


def _entries(text: str) -> list[tuple[str, str]]:
    lines = text.splitlines()
    return [(lines[i][len(MARK):].strip(), lines[i + 1]) for i in range(len(lines) - 1) if lines[i].startswith(MARK)]


def _strip(text: str) -> list[str]:
    """The crontab without workbench entries (other users' lines are kept as they are)."""
    lines, out, skip = text.splitlines(), [], False
    for line in lines:
        if skip:
            skip = False
            continue
        if line.startswith(MARK):
            skip = True
            continue
        out.append(line)
    return out


def _read(crontab_file: Path | None) -> str:
    if crontab_file is not None:
        return crontab_file.read_text() if crontab_file.exists() else ""
    try:
        done = subprocess.run(["crontab", "-l"], capture_output=True, text=True, timeout=10)
    except FileNotFoundError:
        raise ConfigError("the crontab command is not installed: install cron (Debian: apt install cron), or "
                          "write a crontab file with --crontab-file and install it with `crontab FILE`.") from None
    return done.stdout if done.returncode == 0 else ""


def _write(crontab_file: Path | None, lines: list[str]) -> None:
    text = "\n".join(lines).strip("\n") + "\n"
    if crontab_file is not None:
        crontab_file.write_text(text)
        return
    done = subprocess.run(["crontab", "-"], input=text, capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        raise ConfigError(f"crontab refused the new table: {done.stderr.strip()}")
