"""Imports point down: checks never import presentation or widgets; heavy optional deps stay lazy."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "workbench"
COMPUTE = ["io.py", "stats.py", "errors.py", "distributions.py", "leakage", "drift", "shadow"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_compute_layers_do_not_import_presentation():
    files = [p for entry in COMPUTE for p in ((PKG / entry).rglob("*.py") if (PKG / entry).is_dir() else [PKG / entry])]
    assert len(files) > 5
    for path in files:
        bad = {m for m in _imports(path) if m.startswith(("workbench.present", "workbench.widgets", "plotly",
                                                          "ipywidgets", "anywidget"))}
        assert not bad, f"{path.relative_to(PKG)} imports {bad}"


def test_importing_the_library_does_not_load_notebook_or_heavy_packages():
    code = ("import sys, workbench, workbench.leakage, workbench.drift, workbench.cli; "
            "print(sorted(m for m in ('plotly', 'ipywidgets', 'pandas', 'sklearn', 'duckdb') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
