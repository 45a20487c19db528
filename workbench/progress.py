"""Progress of long work: one line on stderr that a terminal or a notebook redraws in place.

    with progress("drift", ["reading the reference", "scanning current", "comparing"]) as bar:
        ...              # stage 1
        bar.advance()    # stage 2 starts
        ...

    @staged("check_drift", ["reading the reference", "scanning current", "comparing"])
    def check_drift(...):
        ...
        advance()        # the next stage of the innermost staged call (a no-op outside one)

Nothing is drawn for work that ends within ``delay`` seconds (2 by default): a line appears only
when the work is slow, then is redrawn every ``interval`` seconds with the stage and the elapsed
time (``drift [####------] 2/3 scanning current · 7 s``), and ends with a newline when done.

Whether to draw (:func:`wanted`): never with ``--quiet`` (:func:`quiet`), never in CI (the ``CI``
variable set to anything but ``""``/``false``/``0``), and otherwise only on a terminal (stderr is
a TTY) or in a notebook kernel (Jupyter renders the carriage returns as one updating line).
Report runs show papermill's own bar (tqdm, which papermill depends on) under the same rule.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

_QUIET: ContextVar[bool] = ContextVar("workbench_progress_quiet", default=False)
_CURRENT: ContextVar[Progress | None] = ContextVar("workbench_progress_current", default=None)
WIDTH = 10  # characters of the bar


@contextmanager
def quiet(on: bool = True) -> Iterator[None]:
    """No progress inside this block when ``on`` (the CLI's ``--quiet``)."""
    token = _QUIET.set(on or _QUIET.get())
    try:
        yield
    finally:
        _QUIET.reset(token)


def in_ci() -> bool:
    """Whether the ``CI`` environment variable says this runs in continuous integration."""
    return os.environ.get("CI", "").strip().lower() not in ("", "false", "0", "no")


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (its shell is ipykernel's)."""
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None) if shell else None
    return get is not None and type(get()).__name__ == "ZMQInteractiveShell"


def wanted(stream: IO[str] | None = None) -> bool:
    """Whether progress should be drawn on ``stream`` (default stderr): not quiet, not in CI, and a
    terminal or a notebook."""
    if _QUIET.get() or in_ci():
        return False
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) or in_notebook()


class Progress:
    """A line for ``what`` going through ``stages``; see the module's docstring. ``show`` ``None``
    asks :func:`wanted`."""

    def __init__(self, what: str, stages: Sequence[str], *, show: bool | None = None, stream: IO[str] | None = None,
                 delay: float = 2.0, interval: float = 0.5, clock: Callable[[], float] = time.monotonic) -> None:
        self.what, self.stages = what, list(stages)
        self.stream = sys.stderr if stream is None else stream
        self.show = wanted(self.stream) if show is None else show
        self.delay, self.interval, self.clock = delay, interval, clock
        self.stage, self.started, self.drawn = 0, clock(), False
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> Progress:
        """Start the clock (and the thread that redraws the line once ``delay`` has passed)."""
        self.started = self.clock()
        if self.show:
            self._thread = threading.Thread(target=self._loop, name="workbench-progress", daemon=True)
            self._thread.start()
        return self

    def advance(self) -> None:
        """The next stage starts."""
        self.stage = min(self.stage + 1, len(self.stages) - 1)
        self.draw()

    def line(self) -> str:
        """The text drawn now: the bar, the stage and the elapsed seconds."""
        n = len(self.stages)
        filled = round(WIDTH * self.stage / n) if n else WIDTH
        label = self.stages[self.stage] if self.stages else ""
        return (f"{self.what} [{'#' * filled}{'-' * (WIDTH - filled)}] {self.stage + 1}/{n} {label} · "
                f"{self.clock() - self.started:.0f} s")

    def draw(self, *, final: str | None = None) -> None:
        """Redraw the line when it is shown and the work has taken ``delay`` seconds; ``final``
        (``"done"``, ``"stopped"``) ends it."""
        if not self.show or (not self.drawn and self.clock() - self.started < self.delay):
            return
        with self._lock:
            text = self.line()
            if final:
                bar = "#" * WIDTH if final == "done" else text[len(self.what) + 2:len(self.what) + 2 + WIDTH]
                text = f"{self.what} [{bar}] {final} · {self.clock() - self.started:.0f} s"
            self.stream.write("\r" + text.ljust(70) + ("\n" if final else ""))
            self.stream.flush()
            self.drawn = True

    def close(self, *, ok: bool = True) -> None:
        """Stop redrawing; end the line if one was drawn (``done``, or ``stopped`` when not ``ok``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.drawn:
            self.draw(final="done" if ok else "stopped")

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.draw()


@contextmanager
def progress(what: str, stages: Sequence[str], *, show: bool | None = None, stream: IO[str] | None = None,
             delay: float = 2.0) -> Iterator[Progress]:
    """A :class:`Progress` over the block (options as for it)."""
    bar = Progress(what, stages, show=show, stream=stream, delay=delay).start()
    try:
        yield bar
    except BaseException:
        bar.close(ok=False)
        raise
    bar.close()


def staged(what: str, stages: Sequence[str]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a function whose calls go through ``stages`` (it calls :func:`advance` between
    them): each call draws a :class:`Progress` line when slow. A staged call inside another one
    draws nothing of its own (the outer line stays)."""
    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            outer = _CURRENT.get() is not None
            bar = Progress(what, stages, show=False if outer else None).start()
            token = _CURRENT.set(bar)
            try:
                result = func(*args, **kwargs)
            except BaseException:
                bar.close(ok=False)
                raise
            finally:
                _CURRENT.reset(token)
            bar.close()
            return result
        return wrapper
    return decorate


def advance() -> None:
    """The next stage of the innermost :func:`staged` call; nothing outside one."""
    bar = _CURRENT.get()
    if bar is not None:
        bar.advance()


def report_bar() -> dict[str, object] | bool:
    """papermill's ``progress_bar`` argument for a report run: its tqdm bar (cells run, on stderr,
    after ``2`` s) when :func:`wanted`, else ``False``."""
    return {"disable": False, "delay": 2.0, "file": sys.stderr} if wanted() else False


__all__ = ["Progress", "advance", "in_ci", "in_notebook", "progress", "quiet", "report_bar", "staged", "wanted"]
