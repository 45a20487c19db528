"""The JupyterLab extension in a real JupyterLab, driven in headless Debian Chromium by Playwright:
the Reliability sidebar opens and lists the templates (path parameters readable); a report runs
from it, its progress pinned in view, and its HTML opens in a browser tab of its own with its
plotly charts drawn; the latest alerts group by template and collapse; report and audit notebooks
open clean; a saved findings output renders through the MIME renderer (sortable, filterable), and
a findings file from the file browser as the same table; the explorer widgets render with their
plotly charts in a live notebook; the dark theme applies, to plotly charts too. Screenshots go to
``out/browser/`` (or ``$WORKBENCH_ARTIFACTS``). JupyterLab loads this checkout's built
labextension (``workbench/labextension``, ``jlpm build:prod``) when there is one."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("WORKBENCH_ARTIFACTS", ROOT / "out" / "browser"))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
KERNEL = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
pytestmark = pytest.mark.slow

WIDGET_CELLS = [
    "import datetime as dt\nfrom pathlib import Path\nS = Path('sample_data')",
    "from workbench.leakage import check_leakage\nfrom workbench.leakage.config import load_audit_config\n"
    "from workbench.widgets import LeakageExplorer\n"
    "kwargs = load_audit_config(S / 'churn' / 'audit.yaml')\n"
    "LeakageExplorer.from_result(check_leakage(kwargs.pop('training'), **kwargs))",
    "from workbench.drift import check_drift\nfrom workbench.widgets import DriftExplorer\n"
    "DriftExplorer.from_result(check_drift(S / 'monitoring' / 'reference.parquet', S / 'monitoring' / 'current', "
    "timestamp='ts', exclude=['request_id'], score='score', target='label'))",
    "from workbench.performance import check_performance\n"
    "from workbench.widgets import CalibrationExplorer, SubgroupExplorer\n"
    "P = S / 'performance'\n"
    "perf = check_performance(P / 'predictions.parquet', labels=P / 'labels.parquet', id='request_id', "
    "label_time='label_time', as_of=dt.datetime(2026, 3, 8, 12, tzinfo=dt.UTC), prediction='prediction', "
    "score='score', by=['region', 'device'], timestamp='ts', window='6h', reference=P / 'reference.parquet')\n"
    "SubgroupExplorer.from_result(perf)",
    "CalibrationExplorer.from_result(perf)",
    "from workbench.shadow import check_shadow\nfrom workbench.widgets import explore\nH = S / 'shadow'\n"
    "explore(check_shadow(H / 'production.parquet', H / 'candidate.parquet', id='request_id', "
    "timestamp='ts', prediction='prediction', latency='latency_ms', error='error', by='region', "
    "labels=H / 'labels.parquet'))",
]

PLOT_CELLS = [  # a figure through plotly's MIME renderer, and a FigureWidget (as the explorers show them)
    "import plotly.graph_objects as go\ngo.Figure(go.Bar(x=['a', 'b', 'c'], y=[3, 1, 2]))",
    "go.FigureWidget(go.Figure(go.Scatter(x=[1, 2, 3], y=[2, 3, 1])))",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _findings_notebook(path: Path) -> dict:
    """A saved notebook whose only output is a result's display (no kernel needed to show it)."""
    from workbench.shadow import check_shadow

    h = ROOT / "sample_data" / "shadow"
    result = check_shadow(h / "production.parquet", h / "candidate.parquet", id="request_id", timestamp="ts",
                          prediction="prediction", latency="latency_ms", error="error", by="region",
                          labels=h / "labels.parquet")
    bundle = result._repr_mimebundle_()
    (path.parent / "out").mkdir()
    result.to_json(str(path.parent / "out" / "shadow-findings.json"))  # as `workbench shadow --out` writes it
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("check_shadow(...)", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("execute_result", data=bundle, execution_count=1)]
    nb.cells = [cell]
    nb.metadata["kernelspec"] = KERNEL
    nbformat.write(nb, path)
    return bundle["application/vnd.workbench.findings+json"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a free port with its own root, config, runtime and workspaces."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    shutil.copytree(ROOT / "sample_data", root / "sample_data", ignore=shutil.ignore_patterns("*.py"))
    findings = _findings_notebook(root / "findings.ipynb")
    broken = nbformat.read(ROOT / "notebooks" / "reports" / "drift.ipynb", as_version=4)  # a template that
    next(c for c in broken.cells if "parameters" in c.metadata.get("tags", [])).source = "window = (1d"  # won't parse
    (root / "notebooks" / "reports").mkdir(parents=True)
    nbformat.write(broken, root / "notebooks" / "reports" / "broken.ipynb")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in WIDGET_CELLS]
    nb.metadata["kernelspec"] = KERNEL
    nbformat.write(nb, root / "widgets.ipynb")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in PLOT_CELLS]
    nb.metadata["kernelspec"] = KERNEL
    nbformat.write(nb, root / "plots.ipynb")
    config = base / "config"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    port, token = _free_port(), secrets.token_hex(16)
    env = os.environ | {"JUPYTER_CONFIG_DIR": str(config), "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
                        "PLOTLY_RENDERER": "plotly_mimetype+notebook"}
    built = ROOT / "workbench" / "labextension"
    if (built / "package.json").exists():  # this checkout's build first (not a copy installed from elsewhere)
        (base / "data" / "labextensions").mkdir(parents=True)
        (base / "data" / "labextensions" / "workbench-lab").symlink_to(built)
        env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(base / "data"), os.environ.get("JUPYTER_PATH")]))
    log = (base / "lab.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.expose_app_in_browser=True",
         f"--LabApp.workspaces_dir={base / 'workspaces'}"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
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
    yield {"url": url, "token": token, "root": root, "findings": findings}
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def page(lab):
    from playwright.sync_api import sync_playwright  # a dev dependency: the browser tests must not skip

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 950})
        page.goto(f"{lab['url']}lab?token={lab['token']}")
        page.wait_for_selector("#jp-main-dock-panel", timeout=60_000)
        page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.commands.hasCommand('workbench:new-audit')", timeout=60_000)
        yield page
        browser.close()


def _open(page, path: str) -> None:
    """Open ``path`` alone in the main area (other documents closed, so selectors see only it)."""
    page.evaluate("""async path => {
        const app = window.jupyterapp;
        for (const widget of [...app.shell.widgets('main')]) {
          if (widget.context) { widget.context.model.dirty = false; }  // kernel metadata only: no prompt
          widget.close();
        }
        await app.commands.execute('docmanager:open', {path});
      }""", path)


def _shot(page, name: str, selector: str | None = None) -> Path:
    target = ARTIFACTS / f"{name}.png"
    if selector:
        element = page.locator(selector).first
        element.scroll_into_view_if_needed()
        element.screenshot(path=str(target))
    else:
        page.screenshot(path=str(target))
    return target


def _sidebar(page):
    """The Reliability sidebar, opened by its tab in the left bar (a click on an open tab closes it)."""
    if not page.locator(".wb-sidebar").is_visible():
        page.locator(".jp-SideBar [data-id='workbench-reliability']").click()
    page.wait_for_selector(".wb-sidebar select option", state="attached")
    return page.locator(".wb-sidebar")


def test_the_sidebar_opens_with_the_templates_and_their_parameter_form(page):
    sidebar = _sidebar(page)
    options = sidebar.get_by_label("Template").locator("option").all_inner_texts()
    assert {"drift", "leakage", "model_health", "performance", "shadow"} <= set(options)
    sidebar.get_by_label("Template").select_option("shadow")
    assert sidebar.locator("input[name='looks']").input_value() == "1"
    assert sidebar.locator("input[name='by']").input_value() == "region, device"
    assert _shot(page, "sidebar").stat().st_size > 0
    sidebar.get_by_label("Template").select_option("drift")
    path = sidebar.locator("textarea[name='reference_path']")
    assert path.input_value() == "sample_data/monitoring/reference.parquet"
    assert path.get_attribute("title") == "sample_data/monitoring/reference.parquet"  # the full path in a tooltip
    fits = path.evaluate("f => ({sw: f.scrollWidth, cw: f.clientWidth, sh: f.scrollHeight, ch: f.clientHeight})")
    assert fits["sw"] <= fits["cw"] and fits["sh"] <= fits["ch"] + 1, fits  # wrapped, all of it shown
    path.fill("sample_data/monitoring/a/much/longer/folder/name/than/the/sidebar/is/wide/reference.parquet")
    fits = path.evaluate("f => ({sh: f.scrollHeight, ch: f.clientHeight, title: f.title})")
    assert fits["sh"] <= fits["ch"] + 1 and fits["title"].endswith("/wide/reference.parquet"), fits  # it grew
    _shot(page, "sidebar-paths", ".wb-sidebar")
    sidebar.get_by_label("Template").select_option("shadow")
    sidebar.get_by_label("Template").select_option("broken")  # its parameters cell cannot be parsed
    error = sidebar.locator(".wb-status.wb-error").first.inner_text()
    assert "parameters cell of 'broken.ipynb' cannot be read" in error
    assert sidebar.locator("button.wb-run").is_disabled()
    _shot(page, "sidebar-broken-template", ".wb-sidebar")


def test_the_sidebar_says_when_the_history_was_corrupt_and_keeps_it(page, lab):
    broken = lab["root"] / "old-reports"
    broken.mkdir()
    (broken / "index.json").write_text('{"drift-01": {"run_id": ')  # cut off mid-write
    sidebar = _sidebar(page)
    out = sidebar.get_by_label("Output folder")
    out.fill("old-reports")
    out.dispatch_event("change")
    sidebar.locator(".wb-status.wb-warning", has_text="could not be read").wait_for(timeout=30_000)
    assert list(broken.glob("index.corrupt-*.json"))  # kept, not overwritten
    _shot(page, "sidebar-corrupt-history", ".wb-sidebar")
    out.fill("reports")
    out.dispatch_event("change")


def test_a_report_runs_from_the_sidebar_and_its_html_opens(page):
    from playwright.sync_api import expect

    sidebar = _sidebar(page)
    sidebar.get_by_label("Template").select_option("shadow")
    sidebar.get_by_label("Fail on").select_option("none")  # the run is ok even with findings
    sidebar.locator("button.wb-run").click()
    page.wait_for_function("() => document.querySelector('.wb-sidebar .wb-run').disabled === false")
    background = sidebar.locator(".wb-status", has_text="shadow is running in the background")
    assert background.count() == 1
    sidebar.locator("button.wb-run").click()  # a second run of the same template while the first runs
    sidebar.locator(".wb-status.wb-error", has_text="already in progress").wait_for(timeout=30_000)
    sidebar.locator(".wb-run-item .wb-state-ok").first.wait_for(timeout=180_000)
    expect(sidebar.locator(".wb-status", has_text="already in progress")).to_have_count(0, timeout=30_000)
    sidebar.locator("button.wb-run").click()  # a third run, let alone: its note goes when it ends
    background.wait_for(timeout=30_000)
    busy = ".wb-sidebar .wb-runs .wb-state-running, .wb-sidebar .wb-runs .wb-state-starting"
    page.wait_for_selector(busy, timeout=30_000)
    # its progress shows without scrolling: pinned at the top of the sidebar, even scrolled to the bottom
    page.evaluate("() => { const s = document.querySelector('.wb-sidebar'); s.scrollTop = s.scrollHeight; }")
    progress = sidebar.locator(".wb-progress")
    expect(progress).to_contain_text("shadow", timeout=15_000)
    box, pane = progress.bounding_box(), sidebar.bounding_box()
    assert pane["y"] <= box["y"] and box["y"] + box["height"] <= pane["y"] + pane["height"], (box, pane)
    assert page.evaluate("() => document.querySelector('.wb-sidebar').scrollTop") > 0  # it was scrolled
    _shot(page, "sidebar-progress", ".wb-sidebar")
    page.wait_for_selector(busy, state="detached", timeout=180_000)
    expect(background).to_have_count(0, timeout=15_000)  # not a stale "running in the background"
    expect(progress).to_be_hidden(timeout=15_000)
    item = sidebar.locator(".wb-run-item").filter(has=page.locator(".wb-state-ok")).first
    assert int(item.locator(".wb-sev-critical").inner_text().split()[0]) >= 1  # the sample's planted regressions
    _shot(page, "sidebar-run-finished", ".wb-sidebar")
    with page.context.expect_page(timeout=30_000) as opened:  # a browser tab of its own, where scripts run
        item.get_by_role("button", name="HTML").click()
    report = opened.value
    try:
        assert "/workbench/report/reports/shadow-" in report.url and report.url.endswith("/report.html")
        report.locator("text=ROLLBACK").first.wait_for(timeout=30_000)
        report.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
        drawn = report.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => {
            const box = gd.querySelector('.main-svg').getBoundingClientRect();
            const marks = gd.querySelectorAll('.trace path, .trace rect, .trace .point');
            return {width: box.width, height: box.height, traces: gd.querySelectorAll('.trace').length,
                    marks: [...marks].filter(m => m.getBoundingClientRect().width > 0).length};
          })""")
        assert len(drawn) >= 1 and all(c["width"] > 100 and c["height"] > 100 for c in drawn), drawn
        assert all(c["traces"] >= 1 and c["marks"] >= 1 for c in drawn), drawn  # plotly drew its data
        report.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
        report.screenshot(path=str(ARTIFACTS / "report-html.png"))
    finally:
        report.close()


def test_the_latest_alerts_are_grouped_by_template_and_collapse(page):
    from playwright.sync_api import expect

    sidebar = _sidebar(page)
    group = sidebar.locator("details.wb-alert-group", has=page.locator("summary", has_text="shadow"))
    group.wait_for(timeout=30_000)
    alerts = group.locator("li.wb-alert")
    critical = int(group.locator("summary .wb-sev-critical").inner_text().split()[0])
    assert critical >= 1 and alerts.count() >= critical
    assert alerts.first.is_visible()
    group.locator("summary").click()  # collapse
    expect(alerts.first).to_be_hidden()
    sidebar.get_by_role("button", name="Refresh").click()  # it stays as the user left it
    page.wait_for_timeout(1000)
    expect(alerts.first).to_be_hidden()
    assert group.evaluate("d => d.open") is False
    group.locator("summary").click()
    expect(alerts.first).to_be_visible()


def _dirty_once_settled(page) -> bool:
    """Whether the current notebook is marked unsaved once its kernel is connected and JupyterLab has
    written the kernel's metadata into it (what used to mark report and audit notebooks unsaved)."""
    page.wait_for_function(
        """() => {
          const w = window.jupyterapp.shell.currentWidget;
          const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
          if (!k || k.connectionStatus !== 'connected' || k.status !== 'idle') { return false; }
          const spec = w.context.model.getMetadata('kernelspec');
          const info = w.context.model.getMetadata('language_info');
          return spec && spec.display_name === w.sessionContext.kernelDisplayName && info && info.name === 'python';
        }""", timeout=120_000)
    page.wait_for_timeout(500)
    tab_dirty = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-current.jp-mod-dirty").count() > 0
    model_dirty = page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.dirty")
    assert tab_dirty == model_dirty
    return model_dirty


def test_a_report_notebook_opens_clean_and_an_edit_still_marks_it(page):
    sidebar = _sidebar(page)
    item = sidebar.locator(".wb-run-item").filter(has=page.locator(".wb-state-ok")).first
    item.get_by_role("button", name="Notebook").click()
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="report.ipynb").first.wait_for(timeout=30_000)
    assert _dirty_once_settled(page) is False
    page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model.cells.get(0).sharedModel.setSource('x')")
    assert page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.dirty") is True
    page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.sharedModel.undo()")


def test_saved_findings_render_through_the_mime_renderer(page, lab):
    doc = lab["findings"]
    _open(page, "findings.ipynb")
    table = page.locator(".jp-Notebook .wb-findings").first
    table.wait_for(timeout=60_000)
    rows = table.locator("tr.wb-row")
    assert rows.count() == len(doc["findings"])
    severities = [s.strip() for s in rows.locator(".wb-badge").all_inner_texts()]
    rank = {"critical": 2, "warning": 1, "info": 0}
    assert severities == sorted(severities, key=lambda s: -rank[s])  # most severe first
    table.get_by_role("button", name="Kind").click()
    kinds = rows.locator("td:nth-child(2)").all_inner_texts()
    assert kinds == sorted(kinds, key=str.lower)
    table.locator("select").select_option("critical")
    assert rows.count() == sum(f["severity"] == "critical" for f in doc["findings"])
    table.locator("select").select_option("all")
    table.locator("input[type='search']").fill("latency")
    assert 0 < rows.count() < len(doc["findings"])
    rows.first.focus()
    page.keyboard.press("Enter")  # keyboard: a row opens its details
    assert table.locator("tr.wb-detail:not([hidden])").count() == 1
    _shot(page, "findings-renderer", ".jp-Notebook .wb-findings")


def test_a_findings_file_opens_from_the_file_browser_as_the_findings_table(page, lab):
    doc = lab["findings"]
    page.evaluate("""async () => {
        const app = window.jupyterapp;
        for (const widget of [...app.shell.widgets('main')]) {
          if (widget.context) { widget.context.model.dirty = false; }
          widget.close();
        }
        await app.commands.execute('filebrowser:go-to-path', {path: 'out/'});
      }""")
    entry = page.locator(".jp-DirListing-item", has_text="shadow-findings.json").first
    entry.wait_for(timeout=30_000)
    entry.dblclick()
    table = page.locator(".jp-MimeDocument .wb-findings").first
    table.wait_for(timeout=30_000)
    assert table.locator("tr.wb-row").count() == len(doc["findings"])
    assert table.locator(".wb-findings-header strong").inner_text() == f"shadow: {len(doc['findings'])} finding(s)"
    _shot(page, "findings-file", ".jp-MimeDocument .wb-findings")
    factories = page.evaluate("""() => {
        const registry = window.jupyterapp.docRegistry;
        return {
          findings: registry.defaultWidgetFactory('out/shadow-findings.json').name,
          dotted: registry.defaultWidgetFactory('x.findings.json').name,
          plain: registry.defaultWidgetFactory('out/settings.json').name,
          schema: registry.defaultWidgetFactory('findings.schema.json').name,
          run: registry.preferredWidgetFactories('reports/shadow-1/findings/shadow.json').map(f => f.name)
        };
      }""")
    assert factories["findings"] == factories["dotted"] == "Findings table"
    assert factories["plain"] != "Findings table" and factories["schema"] != "Findings table"
    assert "Findings table" in factories["run"]  # "Open With" on a report run's findings/<check>.json
    # and a report run's findings open as the table from its entry in the sidebar
    sidebar = _sidebar(page)
    item = sidebar.locator(".wb-run-item").filter(has=page.locator(".wb-state-ok")).first
    item.get_by_role("button", name="Findings").click()
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-current", has_text="shadow.json").wait_for(timeout=30_000)
    run_table = page.locator(".jp-MimeDocument:visible .wb-findings").first
    run_table.wait_for(timeout=30_000)
    assert run_table.locator("tr.wb-row").count() >= 1


def _run_all(page, cells: int, shot: str) -> None:
    """Run every cell of the current notebook once its kernel is connected and idle; wait for all prompts."""
    page.wait_for_function(
        """() => {
          const w = window.jupyterapp.shell.currentWidget;
          const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
          return k && k.connectionStatus === 'connected' && k.status === 'idle';
        }""", timeout=120_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    try:
        page.wait_for_function(
            """n => {
              const prompts = [...window.jupyterapp.shell.currentWidget.node.querySelectorAll('.jp-InputArea-prompt')];
              return prompts.length === n && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""", arg=cells, timeout=300_000)
    finally:
        _shot(page, shot)
        print(page.evaluate("() => [...window.jupyterapp.shell.currentWidget.node.querySelectorAll("
                            "'.jp-InputArea-prompt')].map(p => p.textContent)"))


def test_explorer_widgets_render_with_plotly_charts(page):
    _open(page, "widgets.ipynb")
    _run_all(page, len(WIDGET_CELLS), "widgets-notebook")
    assert page.locator(".jp-Notebook .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
                        ).filter(has_text="Error").count() == 0
    outputs = page.locator(".jp-Notebook .jp-Cell").nth
    for i, name in ((1, "leakage"), (2, "drift"), (3, "subgroups"), (4, "calibration"), (5, "shadow")):
        cell = outputs(i)
        cell.scroll_into_view_if_needed()
        cell.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        assert cell.locator(".js-plotly-plot .main-svg").count() >= 1, name
        _shot(page, f"widget-{name}", f".jp-Notebook .jp-Cell >> nth={i}")


def test_a_click_on_a_chart_reaches_python_and_redraws_the_linked_chart(page):
    """The drift explorer (opened by the test above): a heatmap cell's click goes to the kernel as a
    message, which picks the column and window and redraws the distribution chart in place."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(2)
    cell.scroll_into_view_if_needed()
    plots = cell.locator(".js-plotly-plot")
    plots.nth(2).wait_for(timeout=60_000)
    picked = plots.nth(1).evaluate("""gd => {
        const heat = gd.data[0], row = heat.y.indexOf('country'), col = 5;
        gd.emit('plotly_click', {points: [{curveNumber: 0, pointNumber: [row, col]}]});  // what a click emits
        return heat.x[col];
      }""")
    plots.nth(2).evaluate("""(gd, window) => new Promise((resolve, reject) => {
        const done = () => gd.layout.title.text.startsWith('country: reference vs current (' + window);
        const start = Date.now();
        (function wait() {
          if (done()) { resolve(); } else if (Date.now() - start > 60000) { reject(gd.layout.title.text); }
          else { setTimeout(wait, 100); }
        })();
      })""", picked)
    assert cell.locator(".js-plotly-plot .gtitle", has_text="country: reference vs current").count() == 1
    _shot(page, "widget-drift-clicked", ".jp-Notebook .jp-Cell >> nth=2")


def test_the_launcher_and_the_palette_start_a_new_audit_notebook(page, lab):
    # the palette first, while no notebook is loading: a notebook that loads takes the focus back and
    # closes the palette under the test (seen on a loaded machine)
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:activate-command-palette')")
    palette = page.locator(".lm-CommandPalette-input")
    palette.wait_for(state="visible", timeout=30_000)
    palette.fill("New Drift report")
    items = page.locator(".lm-CommandPalette-item", has_text="New Drift report notebook")
    items.first.wait_for(timeout=30_000)
    assert items.count() == 1
    page.keyboard.press("Escape")
    palette.wait_for(state="hidden", timeout=30_000)
    page.evaluate("() => window.jupyterapp.commands.execute('launcher:create')")
    card = page.locator(".jp-LauncherCard:visible", has_text="New Leakage audit notebook").first
    card.wait_for(timeout=30_000)
    card.click()
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="leakage-").first
    tab.wait_for(timeout=30_000)
    created = list((lab["root"] / "audits").glob("leakage-*.ipynb"))
    assert len(created) == 1 and "parameters" in created[0].read_text()
    page.locator(".jp-NotebookPanel:visible .jp-Cell").first.wait_for(timeout=60_000)
    assert _dirty_once_settled(page) is False  # a new notebook opens saved
    _shot(page, "launcher-new-audit")


def test_the_dark_theme_applies_to_the_sidebar_and_the_renderer(page):
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    page.wait_for_selector("body[data-jp-theme-light='false']", state="attached", timeout=30_000)
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=30_000)  # the theme switch's splash
    _sidebar(page)
    background = page.evaluate(
        "() => getComputedStyle(document.querySelector('.wb-sidebar')).backgroundColor")
    red, green, blue = (int(v) for v in background[background.index("(") + 1:background.index(")")].split(",")[:3])
    assert (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255 < 0.3, background  # a dark background
    _shot(page, "dark-theme")
    _light_again(page)


def _light_again(page) -> None:
    """Back to the light theme, and wait until it applies (the next test must not start half-way)."""
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
    page.wait_for_selector("body[data-jp-theme-light='true']", state="attached", timeout=30_000)
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=30_000)


def _tick_lightness(page) -> list[float]:
    """The lightness (0 dark .. 1 light) of the first axis label of every chart in the current notebook."""
    fills = page.evaluate("""() => [...window.jupyterapp.shell.currentWidget.node.querySelectorAll('.js-plotly-plot')]
        .map(gd => getComputedStyle(gd.querySelector('.xtick text')).fill)""")
    lightness = []
    for fill in fills:
        red, green, blue = (int(float(v)) for v in fill[fill.index("(") + 1:fill.index(")")].split(",")[:3])
        lightness.append((0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255)
    return lightness


def test_plots_follow_the_dark_theme_and_back(page):
    """A figure shown by plotly's MIME renderer and a FigureWidget take the dark theme's colours, and their
    own template again back in the light theme."""
    _open(page, "plots.ipynb")
    _run_all(page, len(PLOT_CELLS), "plots-notebook")
    charts = page.locator(".jp-Notebook .js-plotly-plot .main-svg")
    charts.nth(len(PLOT_CELLS) - 1).wait_for(timeout=60_000)
    light = _tick_lightness(page)
    assert len(light) == len(PLOT_CELLS) and all(v < 0.5 for v in light), light  # plotly's default: dark text
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    page.wait_for_selector("body[data-jp-theme-light='false']", state="attached", timeout=30_000)
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=30_000)
    page.wait_for_function("""() => [...window.jupyterapp.shell.currentWidget.node.querySelectorAll('.js-plotly-plot')]
        .every(gd => gd.layout.template && gd.layout.template.layout.paper_bgcolor === 'rgba(0,0,0,0)')""",
                           timeout=30_000)
    page.wait_for_timeout(500)
    dark = _tick_lightness(page)
    assert len(dark) == len(PLOT_CELLS) and all(v > 0.6 for v in dark), dark  # light text on the dark theme
    colorway = page.evaluate("""() => [...window.jupyterapp.shell.currentWidget.node
        .querySelectorAll('.js-plotly-plot')].map(gd => gd._fullLayout.colorway[0])""")
    assert colorway == ["#636efa"] * len(PLOT_CELLS)  # the figure's own colourway is kept
    page.locator(".jp-Notebook .js-plotly-plot").first.scroll_into_view_if_needed()
    _shot(page, "plots-dark")
    # a FigureWidget made while the theme is dark (what an explorer does there) takes it too, colourway kept
    page.evaluate("""async () => {
        const panel = window.jupyterapp.shell.currentWidget;
        panel.content.activeCellIndex = 1;
        await window.jupyterapp.commands.execute('notebook:run-cell');
      }""")
    page.wait_for_function("""() => /\\[3\\]/.test(window.jupyterapp.shell.currentWidget.node
        .querySelectorAll('.jp-InputArea-prompt')[1].textContent)""", timeout=120_000)
    page.wait_for_function("""() => {
        const gds = [...window.jupyterapp.shell.currentWidget.node.querySelectorAll('.js-plotly-plot')];
        return gds.length === 2 && gds.every(gd => gd._fullLayout && gd.layout.template
          && gd.layout.template.layout.paper_bgcolor === 'rgba(0,0,0,0)');
      }""", timeout=60_000)
    page.wait_for_timeout(1000)
    assert all(v > 0.6 for v in _tick_lightness(page))
    assert page.evaluate("""() => [...window.jupyterapp.shell.currentWidget.node
        .querySelectorAll('.js-plotly-plot')].map(gd => gd._fullLayout.colorway[0])""") == ["#636efa"] * 2
    _light_again(page)
    page.wait_for_function("""() => [...window.jupyterapp.shell.currentWidget.node.querySelectorAll('.js-plotly-plot')]
        .every(gd => !gd.layout.template || gd.layout.template.layout.paper_bgcolor !== 'rgba(0,0,0,0)')""",
                           timeout=30_000)
    page.wait_for_timeout(500)
    assert _tick_lightness(page) == light
