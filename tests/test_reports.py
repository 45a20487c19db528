"""Report runs: papermill template -> executed notebook, offline HTML, findings JSON, run record;
re-runs replace, failures are kept and recorded, bad input is refused before any kernel starts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_lab_browser import CHROMIUM, CHROMIUM_ARGS

from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.findings import validate_findings
from workbench.present.plot import bundle_loader
from workbench.reports import list_runs, run_report

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def drift_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    return out, run_report("drift", {"window": "2d"}, out=out)


def test_a_run_writes_notebook_offline_html_findings_and_a_complete_record(drift_run):
    out, record = drift_run
    assert record["status"] == "ok" and record["exit_code"] == 1  # the sample has critical drift
    run_dir = out / f"drift-{record['run_id']}"
    saved = json.loads((run_dir / "run.json").read_text())
    for key in ("run_id", "template", "parameters", "data", "workbench_version", "git_commit", "started_at",
                "finished_at", "duration_s", "status", "findings", "exit_code"):
        assert key in saved, key
    assert saved["parameters"]["window"] == "2d" and saved["data"]["current_path"]["files"] == 7
    (findings,) = saved["findings"]["files"]
    validate_findings(json.loads(Path(findings).read_text()))
    assert saved["findings"]["counts"]["critical"] >= 1
    html = (run_dir / "report.html").read_text()
    assert not re.findall(r'<script[^>]*src="https?://', html)  # nothing fetched from a CDN
    assert html.count("Plotly.newPlot") >= 2 and "distribution_drift" in html
    assert "reference_path =" not in html and "emit(result)" not in html  # the code is hidden
    assert (run_dir / "report.ipynb").exists()


def _assert_small_with_one_bundle(html: Path, notebook: Path) -> None:
    """The page carries one copy of the minified plotly.js bundle (gzipped, base64) and stays under 2 MB; the notebook
    keeps its figures as plotly JSON and carries no bundle."""
    page = html.read_text()
    assert html.stat().st_size < 2_000_000, html.stat().st_size
    assert page.count(bundle_loader()) == 1 and page.count("window.wbPlotly=") == 1  # the packed bundle, once
    saved = notebook.read_text()
    assert notebook.stat().st_size < 500_000 and "window.Plotly" not in saved
    assert '"application/vnd.plotly.v1+json"' in saved


def test_the_page_is_small_offline_and_its_charts_draw_in_chromium_from_a_file_url(drift_run):
    from playwright.sync_api import sync_playwright  # a dev dependency: the browser test must not skip

    out, record = drift_run
    run_dir = out / f"drift-{record['run_id']}"
    _assert_small_with_one_bundle(run_dir / "report.html", run_dir / "report.ipynb")
    notebook = json.loads((run_dir / "report.ipynb").read_text())
    figures = sum("application/vnd.plotly.v1+json" in o.get("data", {}) for c in notebook["cells"]
                  for o in c.get("outputs", []))
    assert figures >= 2
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto((run_dir / "report.html").resolve().as_uri())
        page.wait_for_function("n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n", arg=figures,
                               timeout=60_000)
        drawn = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].map(d => d.data.length)")
        browser.close()
    assert len(drawn) == figures and all(n >= 1 for n in drawn)  # every figure drawn, with its traces
    assert all(url.startswith(("file:", "data:", "blob:", "about:")) for url in requests), requests


def test_the_same_template_parameters_and_data_replace_the_run(drift_run):
    out, first = drift_run
    again = run_report("drift", {"window": "2d"}, out=out)
    assert again["run_id"] == first["run_id"]
    assert [p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")] == [first["key"]]
    assert not list((out / ".staging").iterdir())  # the re-run's staging folder became the run folder
    other = run_report("drift", {"window": "3d"}, out=out, fail_on="none")
    assert other["run_id"] != first["run_id"] and other["exit_code"] == 0
    assert [r["run_id"] for r in list_runs(out)] == [other["run_id"], first["run_id"]]


def test_a_failing_cell_keeps_the_notebook_marks_the_run_failed_and_exits_4(tmp_path):
    record = run_report("drift", {"target": "no_such_column"}, out=tmp_path)
    assert record["status"] == "failed" and record["exit_code"] == 4
    assert record["error"]["name"] == "InputError" and "no_such_column" in record["error"]["message"]
    notebook = json.loads(Path(record["notebook"]).read_text())
    assert any(o.get("output_type") == "error" for c in notebook["cells"] for o in c.get("outputs", []))
    assert Path(record["html"]).exists()


def test_a_killed_run_is_recorded_as_failed_on_the_next_start(drift_run, tmp_path):
    index = tmp_path / "index.json"
    index.write_text(json.dumps({"drift-dead": {"run_id": "dead", "template": "drift", "status": "running",
                                                "started_at": "2026-01-01T00:00:00+00:00", "pid": 2**22 + 7}}))
    run_report("drift", {"window": "2d"}, out=tmp_path, fail_on="none")
    dead = next(r for r in list_runs(tmp_path) if r["run_id"] == "dead")
    assert dead["status"] == "failed" and dead["error"]["name"] == "Killed"


@pytest.mark.parametrize(
    ("template", "params", "message"),
    [
        ("drfit", {}, r"unknown template 'drfit'; available: \[.*'drift'.*\]"),
        ("drift", {"windoww": "1d"}, r"has no parameter 'windoww'; valid: reference_path \(str\)"),
        ("drift", {"window": 5}, r"parameter 'window' of template 'drift' must be str"),
        ("drift", {"current_path": "nowhere/current"}, r"parameter current_path='nowhere/current': no such file"),
    ],
)
def test_bad_input_is_refused_before_any_kernel_starts(template, params, message, tmp_path):
    with pytest.raises(WorkbenchError, match=message):
        run_report(template, params, out=tmp_path)
    assert not list(tmp_path.iterdir())  # nothing was run


def test_an_output_folder_that_cannot_be_created_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(WorkbenchError, match=r"output folder .* cannot be created"):
        run_report("drift", {}, out=blocker / "reports")


def test_report_cli_runs_lists_and_reports_errors(drift_run, capsys):
    out, _ = drift_run
    assert main(["report", "run", "drift", "-p", "window", "2d", "--out", str(out)]) == 1
    ran = capsys.readouterr().out
    assert ran.startswith("FAIL: drift run ") and "findings at or above --fail-on critical" in ran  # not "OK", exit 1
    assert main(["report", "list", "--out", str(out)]) == 0
    listing = capsys.readouterr().out
    assert "runs, newest first:" in listing and "latest alerts" in listing
    assert "[critical] drift: latency_ms drifted" in listing
    assert main(["report", "run", "drift", "-p", "bins", "3", "--out", str(out)]) == 2
    assert "has no parameter 'bins'" in capsys.readouterr().err


@pytest.mark.parametrize(("template", "kind"), [("leakage", "future_data"), ("performance", "performance_drop"),
                                                ("shadow", "latency_regression"), ("model_health", "overconfident"),
                                                ("service_health", "queue_backpressure")])
def test_every_template_runs_on_its_sample_with_charts_offline(template, kind, tmp_path):
    record = run_report(template, {}, out=tmp_path, fail_on="none")
    assert record["status"] == "ok", record.get("error")
    kinds = set()
    for path in record["findings"]["files"]:
        doc = json.loads(Path(path).read_text())
        validate_findings(doc)
        kinds |= {f["kind"] for f in doc["findings"]}
    assert kind in kinds
    html = Path(record["html"]).read_text()
    assert "Plotly.newPlot" in html and not re.findall(r'<script[^>]*src="https?://', html)
    _assert_small_with_one_bundle(Path(record["html"]), Path(record["notebook"]))
    if template == "shadow":  # the verdict block once (the result's own display carries it)
        assert html.count("ROLLBACK") == 1, html.count("ROLLBACK")
    if template == "service_health":  # the timeline, stages, rates, queues and GPUs, and the capacity passed on
        assert "Incident timeline" in html and "Queue depth" in html and "GPU utilization" in html
        assert "left before it filled up (3,000 items)" in html


def test_two_runs_of_one_template_into_one_folder_never_overlap(tmp_path):
    import fcntl

    from workbench.reports.run import RunInProgress

    tmp_path.mkdir(exist_ok=True)
    with (tmp_path / ".drift.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a run in progress
        with pytest.raises(RunInProgress, match="already in progress"):
            run_report("drift", {}, out=tmp_path)
        assert main(["report", "run", "drift", "--out", str(tmp_path)]) == 5
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]


def test_a_data_path_not_written_yet_is_retried_with_backoff(tmp_path, monkeypatch):
    import shutil

    from workbench.reports import run as run_module

    late = tmp_path / "current"
    waits = []

    def fake_sleep(seconds):  # the file "arrives" during the second wait
        waits.append(seconds)
        if len(waits) == 2:
            shutil.copytree("sample_data/monitoring/current", late)

    monkeypatch.setattr(run_module, "_sleep", fake_sleep)
    record = run_report("drift", {"current_path": str(late)}, out=tmp_path / "out", retries=3, backoff=2,
                        fail_on="none")
    assert record["status"] == "ok" and waits == [2, 4]
    with pytest.raises(WorkbenchError, match="no such file"):
        run_report("drift", {"current_path": str(tmp_path / "never")}, out=tmp_path / "out", retries=1, backoff=0)


def test_alerts_are_posted_to_a_webhook_and_a_failed_delivery_never_fails_the_run(tmp_path):
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        record = run_report("drift", {"window": "2d"}, out=tmp_path, notify=url)
    finally:
        server.shutdown()
    assert record["notification"]["status"] == "sent"
    (message,) = received
    assert message["text"].startswith("workbench report drift") and "latency_ms drifted" in message["text"]
    assert record["html"] in message["text"]
    unreachable = run_report("drift", {"window": "2d"}, out=tmp_path, notify="http://127.0.0.1:9/nowhere")
    assert unreachable["status"] == "ok" and unreachable["notification"]["status"] == "failed"
    assert json.loads((Path(unreachable["notebook"]).parent / "run.json").read_text())["notification"]["status"] \
        == "failed"


def test_schedules_are_added_listed_and_removed_keeping_other_crontab_lines(tmp_path):
    import subprocess

    from workbench.reports import schedule

    crontab = tmp_path / "crontab"
    crontab.write_text("MAILTO=ops@example.com\n30 2 * * * /usr/bin/backup\n")
    out = tmp_path / "reports"
    assert main(["report", "schedule", "add", "hourly", "--cron", "0 * * * *", "--crontab-file", str(crontab), "--",
                 "drift", "-p", "window", "2d", "--out", str(out), "--fail-on", "none"]) == 0
    schedule.add("daily", "5 0 * * *", ["shadow", "--out", str(out)], crontab_file=crontab)
    data = Path("sample_data/monitoring").resolve()
    schedule.add("hourly", "15 * * * *", ["drift", "-p", "reference_path", str(data / "reference.parquet"), "-p",
                                          "current_path", str(data / "current"), "--out", str(out)],
                 crontab_file=crontab, workdir=tmp_path)  # replaces the first one
    entries = schedule.installed(crontab_file=crontab)
    assert list(entries) == ["daily", "hourly"] and entries["hourly"].startswith("15 * * * * cd ")
    assert schedule.remove("daily", crontab_file=crontab) and not schedule.remove("daily", crontab_file=crontab)
    text = crontab.read_text()
    assert text.startswith("MAILTO=ops@example.com\n30 2 * * * /usr/bin/backup\n") and "daily" not in text
    # the installed line runs as cron would run it: a shell in the schedule's folder, no terminal
    command = entries["hourly"].split(" ", 5)[5]
    done = subprocess.run(["/bin/sh", "-c", command], timeout=120)
    assert done.returncode == 1  # the sample's critical drift, as the run's exit status says
    assert [r["template"] for r in list_runs(out)] == ["drift"]
    assert "critical" in (tmp_path / "workbench-cron.log").read_text().lower()


@pytest.mark.parametrize(("args", "message"), [
    (["add", "x", "--cron", "every hour"], "expected five fields"),
    (["add", "bad name", "--cron", "0 * * * *"], "schedule name 'bad name'"),
    (["remove", "nothing"], "no schedule named 'nothing'"),
])
def test_bad_schedules_are_refused(args, message, tmp_path, capsys):
    argv = ["report", "schedule", *args, "--crontab-file", str(tmp_path / "ct")]
    if args[0] == "add":
        argv += ["--", "drift"]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_the_model_card_is_recorded_and_shown_in_the_lineage(tmp_path):
    card = tmp_path / "card.yaml"
    card.write_text("name: churn-model\nversion: '3.2'\nmlflow_run_id: 8f2c1d\n")
    record = run_report("drift", {"window": "2d"}, out=tmp_path / "out", model_card=card, fail_on="none")
    assert record["model"] == {"name": "churn-model", "version": "3.2", "mlflow_run_id": "8f2c1d"}
    html = Path(record["html"]).read_text()
    assert "churn-model" in html and "8f2c1d" in html and "fingerprint" in html
    # 2-day windows are aligned on the Unix epoch: the first one starts on 2026-02-28
    assert "Time analysed" in html and "drift: 2026-02-28 00:00:00+00:00 to 2026-03-08 00:00:00+00:00" in html
    if record["git_commit"]:
        assert record["git_commit"] in html
    plain = run_report("drift", {"window": "2d"}, out=tmp_path / "out", fail_on="none")
    assert plain["run_id"] != record["run_id"]  # another model is another run
    card.write_text("- just a list\n")
    with pytest.raises(WorkbenchError, match="expected a mapping"):
        run_report("drift", {}, out=tmp_path / "out", model_card=card)


def test_latest_alerts_come_from_the_latest_run_of_each_template(drift_run):
    from workbench.reports import latest_alerts

    out, _ = drift_run
    alerts = latest_alerts(out)
    latest = list_runs(out)[0]
    assert alerts and {a["run_id"] for a in alerts} == {latest["run_id"]}
    assert [a["severity"] for a in alerts] == sorted((a["severity"] for a in alerts),
                                                     key=lambda s: {"critical": 0, "warning": 1}[s])


def test_a_leakage_run_fingerprints_the_tables_its_declaration_names(tmp_path):
    import shutil

    from workbench.reports import templates
    from workbench.reports.run import _fingerprint, _run_id

    shutil.copytree("sample_data/churn", tmp_path / "churn")
    config = tmp_path / "churn" / "audit.yaml"
    path = templates.find("leakage")
    merged = templates.check(path, {"config_path": str(config)})
    files = templates.data_files(merged)
    assert set(files) == {"config_path", "config_path:training", "config_path:sources.transactions",
                          "config_path:sources.snapshots", "config_path:sources.customers"}
    assert files["config_path:sources.snapshots"] == tmp_path / "churn" / "snapshots.parquet"

    def run_id() -> str:
        return _run_id(path, merged, {k: _fingerprint(p) for k, p in templates.data_files(merged).items()})

    before = run_id()
    with (tmp_path / "churn" / "snapshots.parquet").open("ab") as fh:
        fh.write(b"\0")  # new data behind an unchanged declaration is another run
    assert run_id() != before
    (tmp_path / "churn" / "customers.parquet").unlink()
    with pytest.raises(templates.MissingData, match=r"sources.customers declared in config_path=.*no such file"):
        templates.check(path, {"config_path": str(config)})


def test_an_mlflow_run_is_read_before_the_kernel_and_shown_in_the_lineage(tmp_path, monkeypatch):
    import mlflow  # a dev dependency (mlflow-skinny)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # the file store needs no server or database
    uri = (tmp_path / "mlruns").as_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("churn")
    with mlflow.start_run(run_name="churn-gbm-v3") as run:
        mlflow.log_params({"max_depth": 6, "learning_rate": 0.05})
        mlflow.log_metric("val_auc", 0.8312)
        mlflow.set_tag("owner", "risk-ml")
    run_id = run.info.run_id
    card = tmp_path / "card.yaml"
    card.write_text("name: churn-model\n")
    assert main(["report", "run", "drift", "-p", "window", "2d", "--out", str(tmp_path / "out"), "--fail-on",
                 "none", "--model-card", str(card), "--mlflow-run", f"runs:/{run_id}/model",
                 "--mlflow-tracking-uri", uri]) == 0
    record = json.loads((Path(list_runs(tmp_path / "out")[0]["html"]).parent / "run.json").read_text())
    model = record["model"]
    assert model["name"] == "churn-model" and model["mlflow_run_id"] == run_id
    assert model["mlflow_run_name"] == "churn-gbm-v3" and model["mlflow_experiment"] == "churn"
    assert model["params"] == {"learning_rate": "0.05", "max_depth": "6"}
    assert model["metrics"] == {"val_auc": 0.8312} and model["tags"] == {"owner": "risk-ml"}
    html = Path(record["html"]).read_text()
    assert "churn-gbm-v3" in html and "val_auc = 0.8312" in html and "max_depth = 6" in html
    with pytest.raises(WorkbenchError, match=r"MLflow run '0123abcd' could not be read from file://"):
        run_report("drift", {}, out=tmp_path / "other", mlflow_run="0123abcd", mlflow_tracking_uri=uri)
    assert not (tmp_path / "other").exists()  # refused before anything ran


def _record_runs(out: str, template: str, n: int) -> None:
    from workbench.reports import history

    for i in range(n):
        record = {"run_id": f"{i:04x}", "template": template, "status": "ok", "started_at": f"2026-11-27T00:00:{i}"}
        history.update(Path(out), lambda runs, r=record: runs.__setitem__(f"{r['template']}-{r['run_id']}",
                                                                          history.entry(r)))


def test_runs_of_different_templates_recorded_at_once_all_stay_in_the_history(tmp_path):
    """Two processes writing the history at the same time (two templates finishing together): the
    lock keeps every entry."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_record_runs, args=(str(tmp_path), t, 150)) for t in ("drift", "shadow")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    from workbench.reports import list_runs

    assert len(list_runs(tmp_path)) == 300  # without the lock about half were lost
