"""Files the workbench writes for the user: checked before any work, written whole or not at all.

* :func:`check_output_paths` runs before a check computes anything. It refuses an output path that
  is a folder, whose folder cannot be created (a parent is a file, no permission), or that is one of
  the inputs (the same file, a file inside an input folder, or a file an input glob matches), so a
  finished check never fails on writing and never overwrites the data it read.
* :func:`write_atomically` writes each file to a temporary name in the same folder, then renames it
  over the target: a reader sees the old file or the new one, never half of one. :func:`write_all`
  renders every output first, so when one cannot be produced none is written.
"""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from workbench.errors import ConfigError

_GLOB_CHARS = "*?["


def check_output_paths(outputs: Mapping[str, Path | str | None], inputs: Iterable[str | Path | None]) -> None:
    """Raise :class:`ConfigError` naming the option (``outputs`` keys, e.g. ``"--out"``) when its path
    cannot be written or is one of ``inputs`` (paths, folders or globs; others such as frames are skipped)."""
    given = {option: Path(p) for option, p in outputs.items() if p is not None}
    input_files, input_dirs = _input_paths(inputs)
    seen: dict[Path, str] = {}
    for option, path in given.items():
        target = path.resolve()
        if target in seen:
            raise ConfigError(f"{option} and {seen[target]} name the same file {str(path)!r}; give each its own.")
        seen[target] = option
        if target.is_dir():
            raise ConfigError(f"{option} {str(path)!r} is a folder; give a file name, e.g. {str(path / 'out.json')!r}.")
        if target in input_files or any(d == target or d in target.parents for d in input_dirs):
            raise ConfigError(f"{option} {str(path)!r} is one of the inputs; writing there would overwrite the data. "
                              "Give another path.")
        _check_folder(option, path)


def _input_paths(inputs: Iterable[str | Path | None]) -> tuple[set[Path], list[Path]]:
    files: set[Path] = set()
    dirs: list[Path] = []
    for item in inputs:
        if not isinstance(item, str | Path):
            continue
        text = str(item)
        matches = glob.glob(text) if any(ch in text for ch in _GLOB_CHARS) else [text]
        for match in matches:
            p = Path(match).resolve()
            (dirs.append(p) if p.is_dir() else files.add(p))
    return files, dirs


def _check_folder(option: str, path: Path) -> None:
    """The folder of ``path`` exists and is writable, or can be created."""
    folder = path.parent if str(path.parent) else Path(".")
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise ConfigError(f"{option} {str(path)!r}: {str(probe)!r} is a file, not a folder; give a path in a folder.")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {str(path)!r}: cannot write in {str(probe)!r} (permission denied); "
                          "give a path in a folder you can write to.")


def write_atomically(path: Path | str, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        # mkstemp makes the file private (0600); the output gets the mode a plain open() would give it
        os.chmod(tmp, _mode_of(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _mode_of(path: Path) -> int:
    """The mode of the file being replaced, else what the umask leaves of 0666."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask, read without changing it where Linux shows it (another thread could
    create a file while it is briefly changed)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    umask = os.umask(0)
    os.umask(umask)
    return umask


def write_all(outputs: Mapping[Path | str | None, Callable[[], str]]) -> None:
    """Render every output (``path -> function returning its text``), then write each atomically.
    A rendering error leaves no file written or changed."""
    rendered = [(Path(p), render()) for p, render in outputs.items() if p is not None]
    for path, text in rendered:
        write_atomically(path, text)
