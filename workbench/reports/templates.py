"""Report templates: parameterized notebooks in ``notebooks/reports/`` (a cell tagged
``parameters``), found by name or path, with their parameters read and checked before any
kernel starts."""

from __future__ import annotations

import ast
import glob
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError, InputError, did_you_mean

# the working folder's templates first (a user's own), then the checkout's, then those in the wheel
TEMPLATE_DIRS = (Path.cwd() / "notebooks" / "reports", Path(__file__).resolve().parents[2] / "notebooks" / "reports",
                 Path(__file__).resolve().parent / "notebooks")


class MissingData(InputError):
    """A data path a template needs does not exist (yet): the one error worth retrying."""


def available(dirs: Sequence[Path] = TEMPLATE_DIRS) -> dict[str, Path]:
    """Template name → path, from the first of ``dirs`` that has each name."""
    found: dict[str, Path] = {}
    for folder in dirs:
        if folder.is_dir():
            for path in sorted(folder.glob("*.ipynb")):
                found.setdefault(path.stem, path)
    return found


def find(template: str | Path) -> Path:
    """A template by name (``drift``) or by path to a notebook."""
    path = Path(template)
    if path.suffix == ".ipynb":
        if not path.is_file():
            raise ConfigError(f"template {str(template)!r}: no such notebook.")
        return path
    names = available()
    if str(template) not in names:
        raise ConfigError(f"unknown template {str(template)!r}; available: {sorted(names)}."
                         f"{did_you_mean(str(template), names)}")
    return names[str(template)]


def parameters(path: Path) -> dict[str, dict[str, Any]]:
    """The template's parameters: name → {"default": value, "type": name of its type, "help": text}."""
    import papermill

    out = {}
    for name, info in papermill.inspect_notebook(str(path)).items():
        default = _literal(info["default"])
        out[name] = {"default": default, "type": type(default).__name__, "help": info.get("help", "")}
    return out


def check(path: Path, given: dict[str, Any], *, base: Path | None = None) -> dict[str, Any]:
    """Validate ``given`` against the template's parameters (unknown names and wrong types are
    refused, naming the valid ones) and check that every ``*_path`` parameter (a file, a folder or a
    glob) names at least one file (relative paths from ``base``, default the working folder).
    A text given for a list parameter is a comma-separated list (``-p exclude request_id,ts`` is
    ``["request_id", "ts"]``; each item read as a Python literal when it is one, ``""`` is ``[]``).
    Returns the full set with defaults filled in."""
    declared = parameters(path)
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise ConfigError(f"template {path.stem!r} has no parameter {', '.join(map(repr, unknown))}; valid: "
                          + ", ".join(f"{k} ({v['type']})" for k, v in declared.items()) + ".")
    given = {name: _as_list(value) if isinstance(declared[name]["default"], list) else value
             for name, value in given.items()}
    merged = {k: v["default"] for k, v in declared.items()} | given
    for name, value in given.items():
        expected = declared[name]["default"]
        if expected is not None and value is not None and not _same_kind(value, expected):
            raise ConfigError(f"parameter {name!r} of template {path.stem!r} must be {type(expected).__name__} "
                              f"(like {expected!r}), got {type(value).__name__} {value!r}.")
    for name, path in data_files(merged, base=base).items():
        if not matches(path, base=base):
            raise MissingData(f"{_describe(name, merged)}: no such file or directory, or no file matches it "
                              f"(relative to {base or Path.cwd()}).")
    return merged


def matches(path: Path, *, base: Path | None = None) -> list[Path]:
    """The files a data path reads, sorted, as the input boundary (:mod:`workbench.engine.inputs`) reads them:
    a file; every file under a folder; for a path with glob characters (``*?[``), every file the
    glob matches and every file under each folder it matches. ``[]`` when there is none.
    A relative glob is expanded in ``base`` (default: the working folder); ``base`` itself is never
    read as a pattern."""
    text = str(path)
    if glob.has_magic(text):
        root = base if base is not None and (path.is_relative_to(base) or not path.is_absolute()) else None
        pattern = path.relative_to(root) if root is not None and path.is_relative_to(root) else path
        found = [(root / m if root is not None else Path(m)) for m in sorted(glob.glob(str(pattern), root_dir=root))]
    else:
        found = [path] if path.exists() else []
    files: list[Path] = []
    for match in found:
        if match.is_dir():
            files += sorted(p for p in match.rglob("*") if p.is_file())
        elif match.is_file():
            files.append(match)
    return files


def glob_root(path: Path) -> Path:
    """The folder a data path's files are named from: the path itself for a folder, its parent
    for a file, the part before the first glob character for a glob."""
    parts = path.parts
    for i, part in enumerate(parts):
        if glob.has_magic(part):
            return Path(*parts[:i]) if i else Path()
    return path if path.is_dir() else path.parent


def data_files(merged: dict[str, Any], *, base: Path | None = None) -> dict[str, Path]:
    """Every data file a run reads: each ``*_path`` parameter and, for a leakage audit declaration
    (``config_path``), the training table and sources it names, keyed ``config_path:training``,
    ``config_path:sources.<name>``. A declaration that is not valid is refused here, before a
    kernel starts. Relative paths are read from ``base`` (default: the working folder)."""
    files: dict[str, Path] = {}
    for name, value in merged.items():
        if not (name.endswith("_path") and value):
            continue
        files[name] = (base or Path()) / value
        if name == "config_path" and files[name].is_file():
            files |= {f"{name}:{key}": (base or Path()) / p for key, p in _declared(files[name]).items()}
    return files


def _declared(config: Path) -> dict[str, str]:
    from workbench.leakage.config import load_audit_config

    kwargs = load_audit_config(config)
    named = {"training": kwargs["training"]}
    named |= {f"sources.{k}": s.data for k, s in kwargs["sources"].items() if isinstance(s.data, str)}
    return named


def _describe(name: str, merged: dict[str, Any]) -> str:
    if ":" in name:
        param, key = name.split(":", 1)
        return f"{key} declared in {param}={merged[param]!r}"
    return f"parameter {name}={merged[name]!r}"


def _same_kind(value: Any, expected: Any) -> bool:
    if isinstance(expected, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(expected, bool)
    if isinstance(expected, int | float):
        return isinstance(value, int | float)
    return isinstance(value, type(expected))


def _as_list(value: Any) -> Any:
    """A text as the list of its comma-separated items (each a literal when it is one); other values as they are."""
    if not isinstance(value, str):
        return value
    return [_literal(item.strip()) for item in value.split(",") if item.strip()]


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
