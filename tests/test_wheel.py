"""The wheel is the product: built, checked, installed in a fresh virtualenv outside the source tree, and used
there as a new user would (the README's main job on the demo data, the Jupyter extensions, a report run from the
packaged templates, the findings schema, the version)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from importlib.metadata import version as installed
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTION = "ml-reliability-workbench"
pytestmark = pytest.mark.slow
COLOURS = re.compile(r"\x1b\[[0-9;]*m")


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    _run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out), str(ROOT)], ROOT, env)
    wheel, = out.glob("*.whl")
    sdist, = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


@pytest.fixture(scope="module")
def venv(built, tmp_path_factory) -> dict:
    """A fresh virtualenv, outside the source tree, with the wheel and its lab extra installed (pinned)."""
    home = tmp_path_factory.mktemp("user")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "JUPYTER_PATH",
                                                          "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR")}
    _run([sys.executable, "-m", "venv", str(home / "venv")], home, env)
    bin_dir = home / "venv" / "bin"
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["JUPYTER_CONFIG_DIR"] = str(home / ".jupyter")  # nothing from this machine's user config
    _run([str(bin_dir / "pip"), "install", "-q", "-c", str(ROOT / "constraints.txt"),
          f"{built['wheel']}[lab]"], home, env, timeout=1800)
    work = home / "work"
    work.mkdir()
    return {"bin": bin_dir, "env": env, "work": work}


def test_the_sdist_and_wheel_pass_twine_check_and_carry_the_license(built):
    _run([sys.executable, "-m", "twine", "check", "--strict", str(built["wheel"]), str(built["sdist"])], ROOT,
         dict(os.environ))
    assert built["wheel"].name.startswith("ml_reliability_workbench-")
    names = zipfile.ZipFile(built["wheel"]).namelist()
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(built["wheel"]).read(meta).decode()
    assert f"Name: {DISTRIBUTION}" in text and "License-Expression: Apache-2.0" in text
    assert any(n.endswith("licenses/LICENSE") for n in names)
    assert any(n.endswith("licenses/THIRD_PARTY_NOTICES.md") for n in names)
    # what an installed user needs: templates, schema, demo data, the charts' plotly.js, the prebuilt extension
    for needed in ("workbench/reports/notebooks/drift.ipynb", "workbench/findings/findings.schema.json",
                   "workbench/demo_data/churn/audit.yaml", "workbench/demo_data/monitoring/drift.yaml",
                   "workbench/widgets/plot.js", "workbench/present/static/plotly-cartesian.min.js",
                   "workbench/present/static/plotly-cartesian.LICENSE.txt"):
        assert needed in names, needed
    assert any("share/jupyter/labextensions/workbench-lab/static/style.js" in n for n in names)


def test_the_installed_wheel_runs_the_main_job_on_the_demo_data(venv):
    bin_dir, env, work = venv["bin"], venv["env"], venv["work"]
    where = _run([str(bin_dir / "python"), "-c", "import workbench; print(workbench.__file__)"], work, env).stdout
    assert str(bin_dir.parent) in where and str(ROOT) not in where  # the wheel, not the source tree
    version = _run([str(bin_dir / "workbench"), "--version"], work, env).stdout.strip()
    assert version == f"workbench {installed(DISTRIBUTION)} ({DISTRIBUTION})"
    _run([str(bin_dir / "workbench"), "demo-data", "sample_data"], work, env)
    _run([str(bin_dir / "workbench"), "leakage", "--config", "sample_data/churn/audit.yaml",
          "--out", "out/leakage.json", "--report", "out/leakage.html", "--fail-on", "none"], work, env)
    _run([str(bin_dir / "workbench"), "drift", "--config", "sample_data/monitoring/drift.yaml",
          "--out", "out/drift.json", "--fail-on", "none"], work, env)
    _run([str(bin_dir / "workbench"), "performance", "--config", "sample_data/performance/performance.yaml",
          "--out", "out/performance.json", "--fail-on", "none"], work, env)
    shadow = subprocess.run([str(bin_dir / "workbench"), "shadow", "--config", "sample_data/shadow/shadow.yaml",
                             "--out", "out/shadow.json"], cwd=work, env=env, capture_output=True, text=True)
    assert shadow.returncode == 1 and "verdict: ROLLBACK" in shadow.stdout, shadow.stdout + shadow.stderr
    assert {json.loads((work / "out" / f"{c}.json").read_text())["check"] for c in
            ("leakage", "drift", "performance", "shadow")} == {"leakage", "drift", "performance", "shadow"}
    leakage = json.loads((work / "out" / "leakage.json").read_text())
    assert leakage["workbench_version"] == installed(DISTRIBUTION)
    planted = json.loads((work / "sample_data" / "churn" / "planted.json").read_text())
    assert planted and {f["kind"] for f in leakage["findings"]}  # a real audit, with findings
    assert "<html" in (work / "out" / "leakage.html").read_text().lower()
    schema = json.loads(_run([str(bin_dir / "workbench"), "schema", "findings"], work, env).stdout)
    assert schema["$id"].startswith("workbench/findings/1.")


def test_the_installed_wheel_enables_both_jupyter_extensions(venv):
    bin_dir, env, work = venv["bin"], venv["env"], venv["work"]
    lab = _run([str(bin_dir / "jupyter"), "labextension", "list"], work, env)
    text = COLOURS.sub("", lab.stdout + lab.stderr)
    assert re.search(r"workbench-lab v\S+ enabled OK \(python, ml-reliability-workbench\)", text), text
    server = _run([str(bin_dir / "jupyter"), "server", "extension", "list"], work, env)
    text = COLOURS.sub("", server.stdout + server.stderr)
    assert re.search(r"^\s+workbench enabled$", text, re.M) and re.search(r"^\s+workbench \S+ OK$", text, re.M), text


def test_the_installed_wheel_runs_a_report_from_its_packaged_templates(venv):
    bin_dir, env, work = venv["bin"], venv["env"], venv["work"]
    if not (work / "sample_data").exists():
        _run([str(bin_dir / "workbench"), "demo-data", "sample_data"], work, env)
    assert not (work / "notebooks").exists()  # so the template can only come from the package
    _run([str(bin_dir / "workbench"), "report", "run", "drift", "--out", "reports", "--fail-on", "none"], work, env,
         timeout=900)
    run, = (work / "reports").glob("drift-*/run.json")
    record = json.loads(run.read_text())
    assert record["status"] == "ok" and record["workbench_version"] == installed(DISTRIBUTION)
    assert (run.parent / "report.html").stat().st_size > 10_000
