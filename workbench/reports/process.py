"""Which process is running a report: a pid alone is not enough (pids are reused, and a child that
exited stays a zombie until its parent reaps it), so a run records its pid *and* its process start
time, and a run counts as alive only while a process with that pid and that start time is running."""

from __future__ import annotations

import os
from pathlib import Path


def start_time(pid: int) -> int | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux ``/proc/<pid>/stat``,
    field 22), or None when there is no such process or no ``/proc``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    # field 2 (the command name) is in parentheses and may itself hold spaces or ')': split after the last ')'
    fields = stat[stat.rfind(")") + 2:].split()
    try:
        return int(fields[19])  # fields[0] is field 3 (the state), so field 22 is fields[19]
    except (IndexError, ValueError):
        return None


def alive(pid: object, started: object = None) -> bool:
    """Whether the process ``pid`` that started at ``started`` (see :func:`start_time`) is running.

    A zombie (exited, not reaped yet) is not running. Without a recorded start time (older
    entries) only the pid is checked; without ``/proc`` (not Linux), ``os.kill(pid, 0)`` decides."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except PermissionError:
        pass  # it exists, owned by another user
    except OSError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return not Path("/proc/self/stat").exists()  # gone meanwhile, or no /proc on this system
    except OSError:
        return True
    if stat[stat.rfind(")") + 2:].split()[:1] == ["Z"]:
        return False
    return started is None or start_time(pid) == started


def me() -> dict[str, int | None]:
    """This process: ``{"pid": ..., "pid_start": ...}``, as a run records it."""
    return {"pid": os.getpid(), "pid_start": start_time(os.getpid())}
