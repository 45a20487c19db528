"""Recurring report runs with cron: install, list and remove schedules in a crontab (the user's,
through the ``crontab`` command, or a crontab file to install with ``crontab FILE``). Each entry is one line,
marked with a comment naming the schedule, that runs ``workbench report run`` in the folder it was
installed from; the run's lock keeps two runs of one schedule from overlapping.

Everything is checked when a schedule is added, not when cron first runs it: the name, the five
cron fields (numbers in range, lists, ranges, steps, month and weekday names), the template, and
the run options (parsed by the real ``workbench report run`` parser; parameter names and types
checked against the template). Every argument is quoted for the shell and its ``%`` escaped for cron
(which turns a bare ``%`` into a newline); an argument cron cannot carry (a newline, a NUL, a
backslash before ``%``) is refused. The line is checked to read back as exactly the arguments given."""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

from workbench.errors import ConfigError, did_you_mean

MARK = "# workbench-report:"
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
# (name, lowest, highest, names) of the five fields; cron reads weekday 7 as Sunday too
_FIELDS = (("minute", 0, 59, ()), ("hour", 0, 23, ()), ("day of month", 1, 31, ()),
           ("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
           ("day of week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")))
_ITEM = re.compile(r"(?:(\*)|(\d+)(?:-(\d+))?)(?:/(\d+))?")


def add(name: str, cron: str, run_args: list[str], *, crontab_file: Path | None = None,
        workdir: Path | None = None) -> str:
    """Install (or replace) schedule ``name``: ``cron`` is a five-field expression, ``run_args``
    the arguments of ``workbench report run`` (template first). Returns the installed line.
    Everything is validated first (:func:`check_cron`, :func:`check_run_args`): nothing is written
    when something is wrong."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(f"schedule name {name!r}: use letters, digits, '.', '_' or '-'.")
    fields = check_cron(cron)
    folder = (workdir or Path.cwd()).resolve()
    check_run_args(run_args, folder)
    words = [sys.executable, "-m", "workbench.cli", "report", "run", *run_args]
    line = (f"{' '.join(fields)} cd {_quote(str(folder))} && {' '.join(_quote(a) for a in words)} "
            f">> {_quote(str(folder / 'workbench-cron.log'))} 2>&1")
    if command_words(line) != [str(folder), *words]:  # cron would run something else: never install it
        raise ConfigError(f"schedule {name!r}: the arguments cannot be written as one cron line: {run_args!r}.")
    entries = {n: entry for n, entry in _entries(_read(crontab_file)) if n != name}
    entries[name] = line
    _write(crontab_file, _strip(_read(crontab_file)) + [f"{MARK} {n}\n{entry}" for n, entry in entries.items()])
    return line


def check_cron(cron: str) -> list[str]:
    """The five fields of ``cron``, each checked: ``*``, numbers, ranges ``a-b``, steps ``*/n`` or
    ``a-b/n`` and lists of those, in the field's range; month and weekday names (``jan``, ``mon``)
    as single items. A ConfigError names the field and what is wrong."""
    fields = cron.split() if isinstance(cron, str) else []
    if len(fields) != 5 or "\n" in cron or "\r" in cron:
        raise ConfigError(f"cron {cron!r}: expected five fields such as '0 * * * *' (minute hour day month weekday).")
    for text, (what, low, high, names) in zip(fields, _FIELDS, strict=True):
        for item in text.split(","):
            if item.lower() in names:
                continue
            match = _ITEM.fullmatch(item)
            if not match:
                raise ConfigError(f"cron {cron!r}: the {what} field {text!r} is not valid: use *, a number, a range "
                                  "a-b, a step */n or a-b/n, or a list of those separated by commas.")
            star, first, last, step = match.groups()
            numbers = [int(v) for v in (first, last) if v is not None]
            if any(not low <= v <= high for v in numbers):
                raise ConfigError(f"cron {cron!r}: the {what} field {text!r} is out of range: {what} goes from {low} "
                                  f"to {high}.")
            if len(numbers) == 2 and numbers[0] > numbers[1]:
                raise ConfigError(f"cron {cron!r}: the {what} range {item!r} goes backwards.")
            if step is not None and not 1 <= int(step) <= high - low + 1:
                raise ConfigError(f"cron {cron!r}: the step in {item!r} must be from 1 to {high - low + 1}.")
            if step is not None and not star and last is None:
                raise ConfigError(f"cron {cron!r}: a step needs * or a range before it (e.g. */15 or 0-30/5), "
                                  f"got {item!r}.")
    return fields


def check_run_args(run_args: list[str], workdir: Path) -> None:
    """Refuse, at add time, run options that ``workbench report run`` would refuse: they are parsed
    by its own parser, the template must exist (from ``workdir``) and the ``-p`` parameters must be
    ones the template declares, of the right type (data that does not exist yet is fine: the run
    may be scheduled before it arrives). Arguments cron cannot carry are refused too."""
    if not run_args:
        raise ConfigError("give the template and its options after --, e.g. -- drift -p window 1h --out reports.")
    for arg in run_args:
        if not isinstance(arg, str) or any(c in arg for c in "\n\r\0"):
            raise ConfigError(f"schedule argument {arg!r}: a newline, carriage return or NUL cannot be part of a "
                              "cron line; remove it.")
        if "\\%" in arg:
            raise ConfigError(f"schedule argument {arg!r}: cron cannot pass a backslash followed by '%'.")
    args = _parse_run_args(run_args)
    import ast
    import contextlib

    from workbench.reports import templates

    template = Path(args.template)
    dirs = [workdir / "notebooks" / "reports", *templates.TEMPLATE_DIRS[1:]]
    if template.suffix == ".ipynb":
        path = template if template.is_absolute() else workdir / template
        if not path.is_file():
            raise ConfigError(f"template {args.template!r}: no such notebook (from {workdir}).")
    else:
        found = templates.available(dirs)
        if args.template not in found:
            raise ConfigError(f"unknown template {args.template!r}; available: {sorted(found)}."
                              f"{did_you_mean(args.template, found)}")
        path = found[args.template]
    params = {}
    for key, value in args.parameter:
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    with contextlib.suppress(templates.MissingData):  # the data may arrive before the first run (--retries)
        templates.check(path, params, base=workdir)


def _parse_run_args(run_args: list[str]) -> argparse.Namespace:
    """``workbench report run`` options parsed as that command parses them; a ConfigError with
    argparse's message when it refuses them."""
    from workbench.reports.arguments import parse_run_args

    try:
        return parse_run_args(run_args)
    except ValueError as exc:
        raise ConfigError(f"the run options {run_args!r} are not valid for workbench report run: {exc}.") from None


def _quote(word: str) -> str:
    """``word`` for a crontab command: shell-quoted, and each ``%`` escaped (cron turns a bare one
    into a newline)."""
    return shlex.quote(word).replace("%", "\\%")


def command_words(line: str) -> list[str]:
    """What the shell receives from a managed crontab line, as cron passes it: the working folder and
    the words of the command (cron's ``%`` handling undone, then split as the shell would)."""
    command = line.split(None, 5)[5]
    text, escaped, out = command, False, list[str]()
    for ch in text:  # Debian/vixie cron: "\%" is a literal %, a bare % ends the command (the rest is stdin)
        if escaped:
            escaped = False
            if ch == "%":
                out[-1] = "%"
                continue
        elif ch == "\\":
            escaped = True
        elif ch == "%":
            break
        out.append(ch)
    words = shlex.split("".join(out))
    if len(words) < 7 or words[0] != "cd" or words[2] != "&&" or words[-3] != ">>" or words[-1] != "2>&1":
        return []
    return [words[1], *words[3:-3]]


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
