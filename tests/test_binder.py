"""binder/ is what mybinder needs: checked without Docker the way repo2docker would use it —
a fresh virtualenv from binder/requirements.txt (run from the repository root), postBuild, then the
tour notebook executed in that environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_binder_environment_builds_and_runs_the_tour(tmp_path):
    venv = tmp_path / "binder-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    # repo2docker's base image brings JupyterLab; the constraints pin the version the suite ran with
    subprocess.run([*pip, "-r", "binder/requirements.txt", "jupyterlab", "-c", "constraints.txt"], cwd=ROOT,
                   check=True, timeout=900)
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    built = subprocess.run(["bash", "binder/postBuild"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "@jupyter-widgets/jupyterlab-manager" in built.stdout and "jupyterlab-plotly" in built.stdout
    assert "workbench-lab" in built.stdout and "workbench 0.1.0" in built.stdout  # the sidebar and its endpoints
    check = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    start = subprocess.run(["bash", "binder/start", "printenv", "PLOTLY_RENDERER"], cwd=ROOT, capture_output=True,
                           text=True, check=True)
    assert start.stdout.strip() == "plotly_mimetype+notebook"
    run = subprocess.run([str(venv / "bin" / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
                          "notebooks/tour.ipynb", "--output-dir", str(tmp_path)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert (tmp_path / "tour.ipynb").exists()
    # installed from the repository (not editable), the report templates come with the package
    data = ROOT / "sample_data" / "monitoring"
    report = subprocess.run([str(venv / "bin" / "python"), "-m", "workbench.cli", "report", "run", "drift", "-p",
                             "reference_path", str(data / "reference.parquet"), "-p", "current_path",
                             str(data / "current"), "--out", str(tmp_path / "reports"), "--fail-on", "none"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert report.returncode == 0 and report.stdout.startswith("OK: drift run"), report.stdout + report.stderr


@pytest.mark.parametrize(("repo", "url"), [
    ("https://github.com/acme/workbench.git",
     "https://mybinder.org/v2/gh/acme/workbench/main?urlpath=lab/tree/notebooks/tour.ipynb"),
    ("git@github.com:acme/workbench.git",
     "https://mybinder.org/v2/gh/acme/workbench/main?urlpath=lab/tree/notebooks/tour.ipynb"),
    ("https://gitlab.com/acme/ml/workbench",
     "https://mybinder.org/v2/gl/acme%2Fml%2Fworkbench/main?urlpath=lab/tree/notebooks/tour.ipynb"),
    ("https://git.example.org/workbench",
     "https://mybinder.org/v2/git/https%3A%2F%2Fgit.example.org%2Fworkbench.git/main?urlpath=lab/tree/notebooks/tour.ipynb"),
])
def test_the_binder_badge_opens_the_tour_for_the_repository_address(repo, url, tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "binder"))
    try:
        import badge
    finally:
        sys.path.pop(0)
    assert badge.binder_url(repo) == url
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{badge.MARK}\nplaceholder\n\nrest\n")
    monkeypatch.setattr(badge, "ROOT", tmp_path)
    assert badge.main(["--repo", repo, "--write"]) == 0
    assert readme.read_text() == f"# x\n\n{badge.MARK}\n[![Launch on Binder](https://mybinder.org/badge_logo.svg)]({url})\n\nrest\n"
    assert badge.MARK in (ROOT / "README.md").read_text().splitlines()  # where --write puts the badge


def test_the_wheel_ships_the_prebuilt_lab_extension_and_the_server_switch(tmp_path):
    """Users install a wheel and need no node: it carries the built labextension, its install.json,
    the server extension's config and the report templates."""
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
                   check=True, timeout=600, capture_output=True)
    (wheel,) = tmp_path.glob("ml_reliability_workbench-*.whl")  # the distribution's name, not the import name
    names = set(zipfile.ZipFile(wheel).namelist())
    data = f"{wheel.name.split('-py3')[0]}.data/data/"
    lab = f"{data}share/jupyter/labextensions/workbench-lab/"
    assert {f"{lab}package.json", f"{lab}install.json", f"{lab}static/style.js",
            f"{data}etc/jupyter/jupyter_server_config.d/workbench.json",
            "workbench/server/handlers.py", "workbench/reports/notebooks/shadow.ipynb"} <= names
    assert any(n.startswith(f"{lab}static/remoteEntry.") for n in names)
