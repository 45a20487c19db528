"""The at-a-glance header in headless Debian Chromium (Playwright): the status line and its tiles show
above the findings table in the CLI's ``--report`` page and in a report run's HTML. Screenshots go to
``out/browser/`` (or ``$WORKBENCH_ARTIFACTS``). Run with ``-n 0``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

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
