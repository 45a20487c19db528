"""Read a ``--config`` file: YAML, or JSON when it ends in ``.json``; a mapping at the top level.

Every error names the file and the fix (ConfigError): missing, a folder, not UTF-8, not YAML/JSON, not a
mapping. What the keys mean is the command's business (:func:`workbench.cli.options.config_values`, or
the leakage audit's own declaration in :mod:`workbench.leakage.config`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError


def read_config(path: str | Path, *, example: str) -> dict[str, Any]:
    """The top-level mapping of the file at ``path``. ``example``: a file name suggested when ``path`` is a
    folder (e.g. ``drift.yaml``)."""
    import yaml

    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {str(path)!r} not found.")
    if path.is_dir():
        raise ConfigError(f"config {str(path)!r} is a folder; give the YAML or JSON file in it, "
                          f"e.g. {str(path / example)!r}.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config {str(path)!r} is not UTF-8 text (byte {exc.start}); "
                          "save it as UTF-8 YAML or JSON.") from None
    except OSError as exc:
        raise ConfigError(f"config {str(path)!r} cannot be read: {exc.strerror}.") from None
    try:
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML/JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level.")
    return raw
