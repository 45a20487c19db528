"""``workbench demo-data PATH``: write the sample data the README and the walkthroughs use.

The data ships inside the wheel (``workbench/demo_data``, from the repository's ``sample_data/``), so that an
installed user runs the README's commands without a clone: ``workbench demo-data sample_data`` writes the same
folders (``churn``, ``monitoring``, ``shadow``, ``performance``, ``llm_app``, ``serving``) with their YAML
configs, whose paths are relative to the config file.
"""

from __future__ import annotations

import argparse
import shutil
from importlib import resources
from pathlib import Path

from workbench.cli.finish import EXIT_OK
from workbench.errors import InputError

SCENARIOS = ("churn", "monitoring", "shadow", "performance", "llm_app", "serving")


def add_demo_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``demo-data`` on the top-level parser's subcommands."""
    demo = sub.add_parser("demo-data", help=f"write the sample data ({', '.join(SCENARIOS)}) to PATH",
                          description=__doc__.splitlines()[0])
    demo.add_argument("path", metavar="PATH", help="a folder to create, or an empty one")


def demo_source() -> Path:
    """Where the sample data is: inside the installed package, else the source tree's ``sample_data/``."""
    packaged = Path(str(resources.files("workbench") / "demo_data"))
    if packaged.is_dir():
        return packaged
    tree = Path(__file__).resolve().parents[2] / "sample_data"
    if tree.is_dir():
        return tree
    raise InputError("the sample data is not installed with this workbench (no workbench/demo_data); reinstall "
                     "ml-reliability-workbench from its wheel")


def write_demo_data(path: str | Path) -> Path:
    """Copy the sample scenarios and their README to ``path`` (created; an existing folder must be empty).
    Returns the folder. Nothing is overwritten."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise InputError(f"{str(target)!r} is a file; give a folder to create (e.g. sample_data)")
    if target.is_dir() and any(target.iterdir()):
        raise InputError(f"{str(target)!r} is not empty; give a new or empty folder (nothing is overwritten)")
    source = demo_source()
    target.mkdir(parents=True, exist_ok=True)
    for name in SCENARIOS:
        shutil.copytree(source / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(source / "README.md", target / "README.md")
    return target


def demo_data(args: argparse.Namespace) -> int:
    """The ``demo-data`` command: write the data and say what to run next."""
    target = write_demo_data(args.path)
    print(f"wrote the sample data to {target}/ ({', '.join(SCENARIOS)}); try:\n"
          f"  workbench leakage --config {target}/churn/audit.yaml --report leakage-report.html\n"
          f"  workbench drift --config {target}/monitoring/drift.yaml --report drift-report.html")
    return EXIT_OK
