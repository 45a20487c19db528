"""The at-a-glance header in headless Debian Chromium (Playwright): the status line and its tiles show
above the findings table in the CLI's ``--report`` page, in a report run's HTML and in JupyterLab's
findings renderer. Screenshots go to ``out/browser/`` (or ``$WORKBENCH_ARTIFACTS``). Run with ``-n 0``."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.test_lab_browser import _findings_notebook, _free_port
from workbench.cli import main
from workbench.reports import run_report

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("WORKBENCH_ARTIFACTS", ROOT / "out" / "browser"))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright  # a dev dependency: the browser tests must not skip

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _tiles(browser, html: Path, name: str) -> dict:
    """Open ``html`` and read the glance as shown: headline, tiles (label, value, position) and where the
    first findings table starts; a screenshot of the header goes to the artifacts."""
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.goto(html.as_uri())
    glance = page.locator(".wb-glance").first
    glance.wait_for(state="visible")
    glance.screenshot(path=str(ARTIFACTS / f"glance-{name}.png"))
    shown = page.evaluate("""() => {
        const box = e => e.getBoundingClientRect();
        const glance = document.querySelector('.wb-glance');
        const table = [...document.querySelectorAll('table')].find(t => t.offsetParent !== null);
        return {
          level: glance.querySelector('.wb-glance-level').innerText,
          headline: glance.querySelector('.wb-glance-headline').innerText,
          tiles: [...glance.querySelectorAll('.wb-tile')].map(t => ({
            label: t.querySelector('.wb-tile-label').innerText, value: t.querySelector('.wb-tile-value').innerText,
            top: box(t).top, left: box(t).left, width: box(t).width, visible: t.offsetParent !== null})),
          glance_bottom: box(glance).bottom, table_top: table ? box(table).top : null};
      }""")
    page.close()
    return shown


def test_the_cli_report_page_shows_the_tiles_above_the_table(browser, tmp_path, capsys):
    out, report = tmp_path / "drift.json", tmp_path / "drift.html"
    assert main(["drift", "--config", str(ROOT / "sample_data" / "monitoring" / "drift.yaml"), "--out", str(out),
                 "--report", str(report), "--fail-on", "none", "--quiet"]) == 0
    shown = _tiles(browser, report, "cli-drift")
    expected = json.loads(out.read_text())["glance"]
    assert (shown["level"], shown["headline"]) == (expected["level"].upper(), expected["headline"])
    assert expected["headline"] == "6 of 14 columns drifted, 2 schema changes"
    assert [(t["label"], t["value"]) for t in shown["tiles"]] == [(t["label"], t["value"]) for t in expected["tiles"]]
    assert all(t["visible"] and t["width"] > 80 for t in shown["tiles"])
    first, second = shown["tiles"][:2]
    assert first["top"] == second["top"] and second["left"] > first["left"] + first["width"]  # side by side
    assert shown["glance_bottom"] <= shown["table_top"]  # before the table


def test_the_shadow_report_page_shows_the_verdict_once_as_its_status(browser, tmp_path):
    report = tmp_path / "shadow.html"
    assert main(["shadow", "--config", str(ROOT / "sample_data" / "shadow" / "shadow.yaml"), "--report", str(report),
                 "--quiet"]) == 1
    shown = _tiles(browser, report, "cli-shadow")
    assert (shown["level"], shown["headline"]) == ("CRITICAL", "ROLLBACK: 3 of 9 guardrails breached")
    assert report.read_text().count("ROLLBACK") == 1
    assert [t["label"] for t in shown["tiles"]] == ["guardrails breached", "traffic", "requests compared"]


def test_a_report_run_page_shows_the_tiles(browser, tmp_path):
    record = run_report("drift", {}, out=tmp_path, fail_on="none")
    assert record["status"] == "ok", record.get("error")
    shown = _tiles(browser, Path(record["html"]), "report-run-drift")
    assert (shown["level"], shown["headline"]) == ("CRITICAL", "6 of 14 columns drifted, 2 schema changes")
    assert [t["label"] for t in shown["tiles"]] == ["columns drifted", "schema changes", "largest shift", "rows"]
    assert shown["glance_bottom"] <= shown["table_top"]


def test_the_jupyterlab_findings_renderer_shows_the_tiles(browser, tmp_path):
    """A saved result's findings output in JupyterLab, rendered by this checkout's built extension (put first on
    JUPYTER_PATH, so an older installed build cannot stand in for it)."""
    built = ROOT / "workbench" / "labextension"
    assert (built / "package.json").is_file(), "build the extension: cd extensions/workbench-lab && jlpm build:prod"
    paths = tmp_path / "jupyter_path" / "labextensions"
    paths.mkdir(parents=True)
    (paths / "workbench-lab").symlink_to(built, target_is_directory=True)
    root = tmp_path / "root"
    root.mkdir()
    doc = _findings_notebook(root / "findings.ipynb")
    with _jupyterlab(tmp_path, root, paths.parent) as (url, token):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{url}lab/tree/findings.ipynb?token={token}")
        page.wait_for_selector(".wb-findings .wb-table tbody tr", timeout=90_000)
        page.locator(".wb-findings").first.screenshot(path=str(ARTIFACTS / "glance-lab-findings.png"))
        assert page.locator(".wb-findings .wb-glance").count() == 1, (
            "the renderer shows no glance: rebuild the extension (cd extensions/workbench-lab && jlpm build:prod)")
        headline = page.locator(".wb-findings .wb-glance-headline").inner_text()
        tiles = page.locator(".wb-findings .wb-tile").all_inner_texts()
        page.close()
    assert headline == doc["glance"]["headline"] and headline.startswith("ROLLBACK: ")
    assert tiles == [f"{t['label']}\n{t['value']}" for t in doc["glance"]["tiles"]]


@contextmanager
def _jupyterlab(base: Path, root: Path, jupyter_path: Path) -> Iterator[tuple[str, str]]:
    """A JupyterLab server on a free port (its own config and runtime, ``jupyter_path`` first); yields its URL
    and token, and stops it by its process group."""
    config = base / "config"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    port, token = _free_port(), secrets.token_hex(16)
    env = os.environ | {"JUPYTER_CONFIG_DIR": str(config), "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
                        "JUPYTER_PATH": str(jupyter_path)}
    with (base / "lab.log").open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
             f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
             "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             f"--LabApp.workspaces_dir={base / 'workspaces'}"],
            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}api/status?token={token}", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start: {(base / 'lab.log').read_text()[-3000:]}") from None
                time.sleep(0.5)
        yield url, token
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
