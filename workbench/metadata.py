"""What the installed package is called and which version it is: the one source of both.

The import package is ``workbench``; the distribution on the package index is :data:`DISTRIBUTION`
(``workbench`` there is an unrelated project, and the two cannot share an environment: both import as
``workbench``). The version is the distribution's metadata, written from ``pyproject.toml`` at install time.
"""

from __future__ import annotations

from functools import cache

DISTRIBUTION = "ml-reliability-workbench"


@cache
def version() -> str:
    """The installed distribution's version (e.g. ``"0.1.0"``), or ``"0+unknown"`` when the package runs
    from a source tree that was never installed (``PYTHONPATH=.``)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed(DISTRIBUTION)
    except PackageNotFoundError:
        return "0+unknown"


def install_hint(extra: str) -> str:
    """The pip command that adds an optional part, e.g. ``install_hint("ml")`` →
    ``pip install 'ml-reliability-workbench[ml]'``."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"
