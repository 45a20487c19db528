"""The JupyterLab extension's sources pass its linters: `jlpm lint` in extensions/workbench-lab runs eslint
(typescript-eslint's type-checked rules) and `prettier --check`. CI runs only pytest, so this is where the lint
runs. The node packages are installed the way `pip install` builds the extension (hatch-jupyter-builder runs
`jlpm install` there, from yarn.lock and the npm registry), so it works from a fresh clone without node_modules."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXTENSION = Path(__file__).resolve().parents[1] / "extensions" / "workbench-lab"

pytestmark = pytest.mark.slow


def _jlpm(*args: str, stdin: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run jlpm (it comes with jupyter-builder, next to this interpreter) in the extension's folder; the folder
    goes first on PATH because package.json's scripts call jlpm by name."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([str(bin_dir / "jlpm"), *args], cwd=EXTENSION, env=env, input=stdin, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def node_packages() -> None:
    installed = _jlpm("install")
    assert installed.returncode == 0, installed.stdout[-4000:] + installed.stderr[-4000:]


def test_the_extension_passes_eslint_and_prettier(node_packages):
    lint = _jlpm("lint")
    assert lint.returncode == 0, f"`jlpm lint` failed (fix with `jlpm lint:fix`):\n{lint.stdout}\n{lint.stderr}"
    assert "All matched files use Prettier code style!" in lint.stdout


def test_eslint_checks_the_sources_with_their_types(node_packages):
    """An `any` and an unhandled promise fed in as src/dom.ts are refused: the type-aware rules cover src/."""
    probe = ("export const x: any = JSON.parse('1');\n"
             "export function f(p: Promise<void>): void {\n  p.then(() => 1);\n}\n")
    lint = _jlpm("eslint", "--stdin", "--stdin-filename", "src/dom.ts", stdin=probe, timeout=300)
    assert lint.returncode == 1, lint.stdout + lint.stderr
    rules = {"@typescript-eslint/no-explicit-any", "@typescript-eslint/no-floating-promises"}
    assert {rule for rule in rules if rule in lint.stdout} == rules, lint.stdout + lint.stderr


def test_the_plot_widgets_front_end_passes_eslint_and_prettier(node_packages):
    """workbench/widgets/plot.js (the explorers' anywidget module, shipped in the Python package) under the
    extension's eslint rules and prettier style."""
    source = (EXTENSION.parents[1] / "workbench" / "widgets" / "plot.js").read_text()
    lint = _jlpm("eslint", "--max-warnings", "0", "--stdin", "--stdin-filename", "plot.js", stdin=source, timeout=300)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    styled = _jlpm("prettier", "--stdin-filepath", "plot.js", stdin=source, timeout=300)
    assert styled.returncode == 0 and styled.stdout == source, styled.stdout + styled.stderr
