"""workbench.progress: a progress line for slow work, on a terminal or in a notebook; nothing with
--quiet, in CI or when stderr is not a terminal; nothing for work that ends within its delay."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from workbench import progress as P
from workbench.drift import check_drift

ROOT = Path(__file__).resolve().parents[1]


def _content(result) -> dict:
    """A result's JSON without the time it was made."""
    return {k: v for k, v in result.to_dict().items() if k != "created_at"}


class Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def no_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)


def test_a_terminal_gets_progress_a_pipe_ci_and_quiet_do_not(no_ci, monkeypatch):
    assert P.wanted(Terminal()) is True
    assert P.wanted(io.StringIO()) is False  # not a TTY (a pipe, a log file)
    with P.quiet():
        assert P.wanted(Terminal()) is False
    assert P.wanted(Terminal()) is True  # quiet only inside its block
    for value, shown in (("true", False), ("1", False), ("false", True), ("", True)):
        monkeypatch.setenv("CI", value)
        assert P.wanted(Terminal()) is shown, value


def test_the_line_appears_only_after_the_delay_and_ends_with_done(no_ci):
    clock, out = Clock(), Terminal()
    bar = P.Progress("check_drift", ["reading", "scanning", "comparing"], stream=out, clock=clock, interval=60)
    bar.start()
    bar.advance()  # quick work: nothing drawn
    assert out.getvalue() == ""
    clock.now += 2.5
    bar.draw()
    assert out.getvalue() == "\r" + "check_drift [###-------] 2/3 scanning · 2 s".ljust(70)
    clock.now += 4
    bar.advance()
    assert out.getvalue().endswith("\r" + "check_drift [#######---] 3/3 comparing · 6 s".ljust(70))
    bar.close()
    assert out.getvalue().endswith("\r" + "check_drift [##########] done · 6 s".ljust(70) + "\n")


def test_work_that_fails_ends_its_line_stopped_at_its_stage(no_ci):
    clock, out = Clock(), Terminal()

    @P.staged("check_x", ["reading", "comparing"])
    def failing() -> None:
        bar = P._CURRENT.get()
        assert bar is not None
        bar.stream, bar.clock, bar.started, bar.show = out, clock, clock(), True
        clock.now += 3
        P.advance()
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        failing()
    assert out.getvalue().endswith("\r" + "check_x [#####-----] stopped · 3 s".ljust(70) + "\n")


def test_quick_work_leaves_no_trace_and_a_hidden_bar_draws_nothing(no_ci):
    out = Terminal()
    with P.progress("x", ["a", "b"], stream=out) as bar:
        bar.advance()
    assert out.getvalue() == ""
    clock, pipe = Clock(), io.StringIO()
    hidden = P.Progress("x", ["a"], stream=pipe, clock=clock).start()
    clock.now += 10
    hidden.draw()
    hidden.close()
    assert hidden.show is False and pipe.getvalue() == ""


def test_the_redraw_thread_draws_slow_work_on_a_terminal(no_ci):
    out = Terminal()
    with P.progress("slow", ["one stage"], stream=out, delay=0.05) as bar:
        bar.interval = 0.01
        deadline = time.monotonic() + 10
        while "slow [" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
    assert out.getvalue().startswith("\rslow [----------] 1/1 one stage")
    assert re.search(r"\rslow \[##########\] done · \d+ s +\n$", out.getvalue())


def test_a_staged_check_advances_through_its_stages_and_an_inner_one_draws_nothing(no_ci, monkeypatch):
    seen: list[tuple[str, int, bool]] = []

    @P.staged("inner", ["i1", "i2"])
    def inner() -> None:
        bar = P._CURRENT.get()
        assert bar is not None
        seen.append((bar.what, bar.stage, bar.show))
        P.advance()

    @P.staged("outer", ["o1", "o2", "o3"])
    def outer() -> int:
        P.advance()
        inner()
        bar = P._CURRENT.get()
        assert bar is not None
        seen.append((bar.what, bar.stage, bar.show))
        return 7

    monkeypatch.setattr(sys, "stderr", Terminal())
    assert outer() == 7
    assert seen == [("inner", 0, False), ("outer", 1, True)]
    P.advance()  # outside a staged call: nothing happens
    assert P._CURRENT.get() is None


def test_check_drift_is_staged_and_its_result_unchanged(no_ci, monkeypatch):
    frame = pl.DataFrame({"x": [float(i % 11) for i in range(500)]})
    plain = check_drift(frame, frame.with_columns(x=pl.col("x") + 2))
    stages: list[int] = []
    real = P.Progress.advance

    def spy(self: P.Progress) -> None:
        real(self)
        stages.append(self.stage)

    monkeypatch.setattr(P.Progress, "advance", spy)
    monkeypatch.setattr(sys, "stderr", Terminal())
    again = check_drift(frame, frame.with_columns(x=pl.col("x") + 2))
    assert stages == [1, 2]  # reading the reference -> scanning current -> comparing
    assert _content(again) == _content(plain)
    assert check_drift.__name__ == "check_drift" and "Compare ``current``" in (check_drift.__doc__ or "")


@pytest.mark.slow
def test_the_cli_draws_progress_on_a_terminal_only_without_quiet(no_ci):
    """A slow drift check through the CLI, its stderr a real terminal (a pty) or a pipe."""
    mon = ROOT / "sample_data" / "monitoring"
    args = [sys.executable, "-c", "import time, workbench.drift.check as c; real = c._summaries\n"
            "def slow(*a, **k):\n    time.sleep(2.5)\n    return real(*a, **k)\n"
            "c._summaries = slow\nfrom workbench.cli import main\nraise SystemExit(main(__import__('sys').argv[1:]))",
            "drift", "--reference", str(mon / "reference.parquet"), "--current", str(mon / "current"),
            "--timestamp", "ts", "--exclude", "request_id", "--fail-on", "none"]
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"PYTHONPATH": str(ROOT)}

    def run(extra: list[str], tty: bool) -> str:
        if not tty:
            return subprocess.run(args + extra, env=env, capture_output=True, text=True, check=True).stderr
        return _stderr_on_a_terminal(args + extra, env)

    on_tty = run([], tty=True)
    assert "check_drift [" in on_tty and "2/3 scanning current" in on_tty and "done ·" in on_tty
    assert "check_drift [" not in run(["--quiet"], tty=True)
    assert "check_drift [" not in run([], tty=False)


def _stderr_on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run ``args`` with stderr on a pseudo-terminal 100 columns wide; what it wrote there."""
    import fcntl
    import pty
    import struct
    import termios

    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # tqdm draws nothing 0 wide
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=child)
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=300) == 0
    os.close(main)
    return b"".join(chunks).decode()


@pytest.mark.slow
def test_report_run_draws_papermills_cell_bar_on_a_terminal_only_without_quiet(no_ci, tmp_path):
    from _tiny_report import write_tiny

    template = write_tiny(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"PYTHONPATH": str(ROOT), "TINY_PAUSE": "3"}
    args = [sys.executable, "-m", "workbench.cli", "report", "run", str(template), "--out", str(tmp_path / "out"),
            "--fail-on", "none"]
    drawn = _stderr_on_a_terminal(args, env)
    assert "Executing: 100%" in drawn and "3/3 [" in drawn  # its cells and the injected parameters
    assert "Executing" not in _stderr_on_a_terminal([*args, "--quiet"], env)
    piped = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    assert "Executing" not in piped.stderr


def test_a_report_run_shows_papermills_bar_only_when_wanted(no_ci, monkeypatch):
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert P.report_bar() == {"disable": False, "delay": 2.0, "file": sys.stderr}
    with P.quiet():
        assert P.report_bar() is False
    monkeypatch.setenv("CI", "true")
    assert P.report_bar() is False


def test_check_leakage_is_staged(no_ci, monkeypatch, churn_result):
    from workbench.leakage import check_leakage
    from workbench.leakage.config import load_audit_config

    stages: list[int] = []
    real = P.Progress.advance

    def spy(self: P.Progress) -> None:
        real(self)
        stages.append(self.stage)

    monkeypatch.setattr(P.Progress, "advance", spy)
    kwargs = load_audit_config(ROOT / "sample_data" / "churn" / "audit.yaml")
    result = check_leakage(kwargs.pop("training"), **kwargs)
    assert stages == [1, 2]  # reading the inputs -> point-in-time features -> lateness, proxies and split
    assert _content(result) == _content(churn_result)  # the same findings as without the spy
