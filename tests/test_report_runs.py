"""Report runs that fail, are cancelled or are killed never damage the good run they would replace;
the history stays consistent (processes identified by pid and start time, zombies reaped, folders
swapped in one step and put back after a kill); unusable history entries are set aside; the
latest alerts survive a failed run, marked stale; data paths may be globs or folders."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _tiny_report import write_tiny

from workbench.cli import main
from workbench.reports import history, latest_alerts, list_runs, process, run_report, templates
from workbench.reports import run as run_module
from workbench.server import runs as server

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- processes


def test_a_zombie_and_a_reused_pid_are_not_a_running_process():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = process.start_time(child.pid)
    assert started is not None and process.alive(child.pid, started)
    deadline = time.monotonic() + 20
    while Path(f"/proc/{child.pid}/stat").read_text().split(") ")[1][0] != "Z" and time.monotonic() < deadline:
        time.sleep(0.05)  # exited, not reaped: a zombie, which os.kill(pid, 0) still finds
    os.kill(child.pid, 0)
    assert not process.alive(child.pid, started) and not process.alive(child.pid)
    child.wait()
    me = process.me()
    assert process.alive(me["pid"], me["pid_start"]) and not process.alive(me["pid"], me["pid_start"] + 1)


def test_a_running_entry_whose_pid_was_reused_is_recorded_as_killed(tmp_path):
    me = process.me()
    entry = {"run_id": "0123", "template": "tiny", "status": "running", "started_at": "2026-01-01T00:00:00",
             "pid": me["pid"], "pid_start": me["pid_start"] - 1}  # this pid, but another process's start time
    (tmp_path / "index.json").write_text(json.dumps({"tiny-0123": entry}))
    (run,) = list_runs(tmp_path)
    assert run["status"] == "failed" and run["error"]["name"] == "Killed" and run["pid"] is None


# ---------------------------------------------------------------- malformed history


def _good_entry(out: Path, key: str = "tiny-0123abcd") -> dict:
    folder = out / key
    (folder / "findings").mkdir(parents=True)
    (folder / "report.html").write_text("<html>good</html>")
    (folder / "findings" / "tiny.json").write_text(json.dumps(
        {"findings": [{"severity": "critical", "kind": "tiny", "message": "the good alert"}]}))
    return {"run_id": key.split("-")[1], "template": "tiny", "status": "ok", "started_at": "2026-01-01T00:00:00",
            "html": str(folder / "report.html"), "findings": {"files": [str(folder / "findings" / "tiny.json")],
                                                              "counts": {"critical": 1}}}


@pytest.mark.parametrize(("change", "reason"), [
    ({"findings": {"files": ["/etc/passwd"], "counts": {}}}, "a findings file '/etc/passwd' is not in the run's own"),
    ({"findings": {"files": ["../tiny-0123abcd/findings/../../../secret.json"]}}, "is not in the run's own folder"),
    ({"html": "/etc/hostname"}, "html '/etc/hostname' is not in the run's own folder"),
    ({"findings": {"files": [], "counts": {"catastrophic": 2}}}, "unknown severity 'catastrophic'"),
    ({"findings": {"files": [], "counts": {"critical": "many"}}}, "findings.counts.critical is 'many'"),
    ({"findings": "all of them"}, "findings is 'all of them'"),
    ({"started_at": 1767225600}, "started_at is 1767225600"),
    ({"template": {"name": "tiny"}}, "template is"),
    ({"status": "exploded"}, "status 'exploded' is not one of"),
    ({"exit_code": "1"}, "exit_code is '1'"),
    ({"pid": True}, "pid is True"),
])
def test_an_unusable_history_entry_is_set_aside_and_the_others_listed(change, reason, tmp_path, capsys):
    good = _good_entry(tmp_path)
    bad = _good_entry(tmp_path, "tiny-4567abcd") | change
    (tmp_path / "index.json").write_text(json.dumps({"tiny-0123abcd": good, "tiny-4567abcd": bad}))
    assert main(["report", "list", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "1 entry of the run history" in captured.err and reason in captured.err
    assert "tiny-4567abcd" not in json.loads((tmp_path / "index.json").read_text())
    (kept,) = tmp_path.glob("index.invalid-*.json")
    assert json.loads(kept.read_text())["tiny-4567abcd"]["entry"] == json.loads(json.dumps(bad))
    assert [r["key"] for r in list_runs(tmp_path)] == ["tiny-0123abcd"]
    assert [a["message"] for a in latest_alerts(tmp_path)] == ["the good alert"]


def test_paths_of_a_moved_output_folder_are_read_from_the_run_folder(tmp_path):
    entry = _good_entry(tmp_path) | {"html": "old/place/tiny-0123abcd/report.html",
                                     "findings": {"files": ["/old/place/tiny-0123abcd/findings/tiny.json"]}}
    (tmp_path / "index.json").write_text(json.dumps({"tiny-0123abcd": entry}))
    (run,) = list_runs(tmp_path)
    assert run["html"] == str(tmp_path.resolve() / "tiny-0123abcd" / "report.html")
    assert [a["message"] for a in latest_alerts(tmp_path)] == ["the good alert"]


@pytest.mark.parametrize("content", ['{"findings": [{"severity": "catastrophic", "kind": "x", "message": "m"}]}',
                                     '{"findings": "none"}', "not json", '{"findings": [{"severity": "critical"}]}'])
def test_a_findings_file_that_cannot_be_read_is_an_alert_not_a_crash(content, tmp_path, capsys):
    entry = _good_entry(tmp_path)
    Path(entry["findings"]["files"][0]).write_text(content)
    (tmp_path / "index.json").write_text(json.dumps({"tiny-0123abcd": entry}))
    (alert,) = latest_alerts(tmp_path)
    assert alert["kind"] == "unreadable_findings" and "'tiny.json' of run tiny-0123abcd cannot be read" \
        in alert["message"]
    assert main(["report", "list", "--out", str(tmp_path)]) == 0


def test_a_findings_file_symlinked_out_of_the_output_folder_is_not_read(tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"findings": [{"severity": "critical", "kind": "x", "message": "the secret"}]}))
    out = tmp_path / "out"
    entry = _good_entry(out)
    Path(entry["findings"]["files"][0]).unlink()
    Path(entry["findings"]["files"][0]).symlink_to(secret)
    (out / "index.json").write_text(json.dumps({"tiny-0123abcd": entry}))
    (alert,) = latest_alerts(out)
    assert "the secret" not in json.dumps(alert) and "leads outside" in alert["message"]


# ---------------------------------------------------------------- stale alerts (no kernel)


def test_after_a_failed_run_the_last_successful_runs_alerts_stay_marked_stale(tmp_path, capsys):
    good = _good_entry(tmp_path)
    failed = {"run_id": "4567abcd", "template": "tiny", "status": "failed", "started_at": "2026-01-02T00:00:00",
              "error": {"name": "RuntimeError", "message": "boom"}, "exit_code": 4}
    (tmp_path / "index.json").write_text(json.dumps({"tiny-0123abcd": good, "tiny-4567abcd": failed}))
    (alert,) = latest_alerts(tmp_path)
    assert alert["message"] == "the good alert" and alert["stale"] is True and alert["from_run"] == "0123abcd"
    assert alert["latest_run"] == {"key": "tiny-4567abcd", "status": "failed", "started_at": "2026-01-02T00:00:00"}
    assert main(["report", "list", "--out", str(tmp_path)]) == 0
    assert ("[critical] tiny: the good alert (stale: from run 0123abcd; the latest run, tiny-4567abcd, failed)"
            in capsys.readouterr().out)
    recovered = good | {"run_id": "89abcdef", "started_at": "2026-01-03T00:00:00", "findings": None, "html": None}
    history.update(tmp_path, lambda runs: runs.__setitem__("tiny-89abcdef", recovered))
    assert latest_alerts(tmp_path) == []  # the latest run succeeded with nothing to say


# ---------------------------------------------------------------- bad folders (no kernel)


def test_a_run_folder_replaced_by_a_file_or_a_lock_that_is_a_folder_is_a_clear_error(tmp_path, capsys):
    path = write_tiny(tmp_path)
    merged = templates.check(path, {})
    key = f"tiny-{run_module._run_id(path, {**merged, '__model': {}}, {})}"
    out = tmp_path / "out"
    out.mkdir()
    (out / key).write_text("not a folder")
    assert main(["report", "run", str(path), "--out", str(out)]) == 2
    assert f"the run folder '{out / key}' is a file, not a folder" in capsys.readouterr().err
    (out / key).unlink()
    (out / ".tiny.lock").unlink()
    (out / ".tiny.lock").mkdir()
    assert main(["report", "run", str(path), "--out", str(out)]) == 2
    assert f"the run lock '{out / '.tiny.lock'}' is a folder" in capsys.readouterr().err
    (out / ".tiny.lock").rmdir()
    (out / ".index.lock").mkdir()
    (out / "index.json").write_text("{}")
    assert main(["report", "list", "--out", str(out)]) == 2
    assert "the history lock" in capsys.readouterr().err
    assert not (out / key).exists()


# ---------------------------------------------------------------- globs and folders as data paths


def _data_template(tmp_path: Path) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('data_path = "data/*.csv"  # a file, folder or glob')
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "data_tpl.ipynb"
    nbformat.write(nb, path)
    return path


def test_a_data_path_may_be_a_glob_or_a_folder_and_every_matched_file_is_fingerprinted(tmp_path):
    path = _data_template(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(templates.MissingData, match=r"data_path='.*\*.csv': no such file or directory, or no file"):
        templates.check(path, {"data_path": str(data / "*.csv")})
    for name in ("a.csv", "b.csv", "c.txt"):
        (data / name).write_text(f"x\n{name}\n")
    merged = templates.check(path, {"data_path": str(data / "*.csv")})
    fingerprint = run_module._fingerprint(templates.data_files(merged)["data_path"])
    assert fingerprint["files"] == 2 and fingerprint["bytes"] == 2 * len("x\na.csv\n")
    (data / "b.csv").write_text("x\nchanged\n")  # the second match, not the first
    assert run_module._fingerprint(templates.data_files(merged)["data_path"])["sha1"] != fingerprint["sha1"]
    (data / "c.txt").write_text("not matched")
    folder = run_module._fingerprint(data)
    assert folder["files"] == 3
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(templates.MissingData):
        templates.check(path, {"data_path": str(empty)})
    with pytest.raises(templates.MissingData):
        run_report(path, {"data_path": str(tmp_path / "never" / "*.csv")}, out=tmp_path / "out", retries=0)


def test_a_relative_glob_is_expanded_in_the_base_folder_not_read_as_one(tmp_path):
    base = tmp_path / "root [1]"  # the base's own brackets are not a pattern
    (base / "data").mkdir(parents=True)
    (base / "data" / "a.csv").write_text("x\n1\n")
    assert templates.matches(base / "data" / "*.csv", base=base) == [base / "data" / "a.csv"]


# ---------------------------------------------------------------- the swap, killed at every step (no kernel)


def _record(out: Path, key: str, attempt: str, status: str, html: str) -> dict:
    """A finished record in ``folder`` with a report whose text is ``html``."""
    folder = out / key
    (folder / "findings").mkdir(parents=True, exist_ok=True)
    (folder / "report.html").write_text(html)
    (folder / "report.ipynb").write_text("{}")
    record = {"run_id": "0123456789ab", "key": key, "attempt": attempt, "template": "tiny", "status": status,
              "started_at": f"2026-01-01T00:00:0{len(html)}", "html": str(folder.resolve() / "report.html"),
              "notebook": str(folder.resolve() / "report.ipynb"), "findings": {"files": [], "counts": {}},
              "exit_code": 0 if status == "ok" else 4, "error": None if status == "ok" else {"name": "E"}}
    (folder / "run.json").write_text(json.dumps(record))
    return record


def _finish_in_a_child(out: Path, status: str, kill_at: int) -> bool:
    """Finish a new attempt of run tiny-0123456789ab in a forked process that SIGKILLs itself
    before its ``kill_at``-th rename, replace or rmtree; True when it was killed."""
    pid = os.fork()
    if pid == 0:  # the child: a run finishing
        try:
            steps = iter(range(10**6))

            def fatal(fn):
                def step(*args, **kwargs):
                    if next(steps) == kill_at:
                        os.kill(os.getpid(), signal.SIGKILL)
                    return fn(*args, **kwargs)
                return step

            key, attempt = "tiny-0123456789ab", "feedbeef"
            staging = out / ".staging" / f"{key}.{attempt}"
            record = _record(out / ".staging", f"{key}.{attempt}", attempt, status, "new!")
            running = record | {"status": "running", **process.me(), "html": None, "notebook": None}
            history.update(out, lambda runs: runs.__setitem__(f"{key}.{attempt}", history.entry(running)))
            Path.rename, Path.replace, shutil.rmtree = fatal(Path.rename), fatal(Path.replace), fatal(shutil.rmtree)
            run_module._finish(out, key, staging, record)
        finally:
            os._exit(0)
    _, status_code = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status_code)


@pytest.mark.parametrize("status", ["ok", "failed"])
def test_a_run_killed_at_any_step_of_its_swap_leaves_a_consistent_history_and_the_good_report(status, tmp_path):
    for kill_at in range(20):
        out = tmp_path / f"{status}-{kill_at}"
        (out / ".staging").mkdir(parents=True)
        good = _record(out, "tiny-0123456789ab", "0badc0de", "ok", "old")
        history.update(out, lambda runs, good=good: runs.__setitem__("tiny-0123456789ab", history.entry(good)))
        killed = _finish_in_a_child(out, status, kill_at)
        runs = {r["key"]: r for r in list_runs(out)}  # reconciles
        assert all(r["status"] != "running" for r in runs.values())
        main_run = runs["tiny-0123456789ab"]
        assert main_run["status"] == "ok"
        on_disk = json.loads((out / "tiny-0123456789ab" / "run.json").read_text())
        assert on_disk["attempt"] == main_run["attempt"]
        expected = "new!" if main_run["attempt"] == "feedbeef" else "old"
        assert Path(main_run["html"]).read_text() == expected
        if status == "failed":
            assert expected == "old"  # a failed run never replaces a good one
        for key, run in runs.items():
            if run["html"]:
                assert Path(run["html"]).is_file() and (out / key / "run.json").is_file(), key
        assert not list((out / ".staging").iterdir()), kill_at
        if not killed:
            assert kill_at >= 3 and runs["tiny-0123456789ab" if status == "ok" else
                                       "tiny-0123456789ab.feedbeef"]["attempt"] == "feedbeef"
            break
    else:
        raise AssertionError("the finish never completed")


def test_a_run_cancelled_just_before_it_finishes_stays_cancelled_and_replaces_nothing(tmp_path):
    out = tmp_path
    (out / ".staging").mkdir()
    good = _record(out, "tiny-0123456789ab", "0badc0de", "ok", "old")
    key, attempt = "tiny-0123456789ab", "feedbeef"
    record = _record(out / ".staging", f"{key}.{attempt}", attempt, "ok", "new!") | {"duration_s": 1.5}
    cancelled = record | {"status": "cancelled", "html": None, "notebook": None, "exit_code": 4,
                          "error": {"name": "Cancelled", "message": "cancelled from JupyterLab"}}
    history.update(out, lambda runs: runs.update({key: history.entry(good),
                                                  f"{key}.{attempt}": history.entry(cancelled)}))
    done = run_module._finish(out, key, out / ".staging" / f"{key}.{attempt}", record)
    assert done["status"] == "cancelled" and done["exit_code"] == 4 and done["duration_s"] == 1.5
    assert done["html"] is None and (out / key / "report.html").read_text() == "old"
    assert not list((out / ".staging").iterdir())
    assert {r["key"]: r["status"] for r in list_runs(out)} == {key: "ok", f"{key}.{attempt}": "cancelled"}


# ---------------------------------------------------------------- with a kernel


def _wait(predicate, timeout: float = 120.0, what: str = "a condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_a_failed_rerun_keeps_the_good_report_and_its_alerts(tmp_path, monkeypatch, capsys):
    path = write_tiny(tmp_path)
    out = tmp_path / "out"
    good = run_report(path, out=out, fail_on="none")
    assert good["status"] == "ok" and good["key"] == f"tiny-{good['run_id']}"
    html, notebook = Path(good["html"]).read_bytes(), Path(good["notebook"]).read_bytes()
    monkeypatch.setenv("TINY_FAIL", "1")
    failed = run_report(path, out=out, fail_on="none")
    assert failed["status"] == "failed" and failed["run_id"] == good["run_id"] and failed["exit_code"] == 4
    assert failed["key"] == f"{good['key']}.{failed['attempt']}" and "asked to fail" in failed["error"]["message"]
    assert Path(failed["html"]).is_file() and Path(failed["html"]).parent.name == failed["key"]
    assert Path(good["html"]).read_bytes() == html and Path(good["notebook"]).read_bytes() == notebook
    assert [r["key"] for r in list_runs(out)] == [failed["key"], good["key"]]
    (alert,) = latest_alerts(out)
    assert alert["message"] == "tiny alert a" and alert["stale"] and alert["from_run"] == good["run_id"]
    monkeypatch.delenv("TINY_FAIL")
    again = run_report(path, out=out, fail_on="none")
    assert again["key"] == good["key"] and [r["key"] for r in list_runs(out)] == [good["key"]]
    assert not (out / failed["key"]).exists()  # the failed attempt is replaced by the success
    assert latest_alerts(out)[0]["stale"] is False


def _runs(root: Path) -> dict:
    return server.runs(root, "reports")


@pytest.mark.slow
def test_cancelling_a_rerun_keeps_the_good_report_and_the_run_is_listed_once(tmp_path, monkeypatch):
    write_tiny(tmp_path)
    good = run_report(tmp_path / "notebooks" / "reports" / "tiny.ipynb", out=tmp_path / "reports", fail_on="none")
    html = Path(good["html"]).read_bytes()
    monkeypatch.setenv("TINY_PAUSE", "60")
    request = server.start_run(tmp_path, "tiny", {}, out="reports", fail_on="none")
    running = _wait(lambda: [r for r in _runs(tmp_path)["runs"] if r["status"] == "running"], what="the run")
    (run,) = running
    assert _runs(tmp_path)["requests"] == []  # the run names its request: listed once
    cancelled = server.cancel(tmp_path, run["key"], "reports")
    assert cancelled["status"] == "cancelled"
    _wait(lambda: not process.alive(request["pid"], request["pid_start"]), 30, "the worker to end")
    state = _runs(tmp_path)
    assert [(r["key"], r["status"]) for r in state["runs"]] == [(run["key"], "cancelled"), (good["key"], "ok")]
    assert state["runs"][0]["html"] is None and state["runs"][0]["notebook"] is None  # no button to nowhere
    assert state["runs"][1]["html"] == f"reports/{good['key']}/report.html"
    assert state["requests"] == [] and not list((tmp_path / "reports" / ".requests").iterdir())
    assert Path(good["html"]).read_bytes() == html
    (alert,) = latest_alerts(tmp_path / "reports")
    assert alert["message"] == "tiny alert a" and alert["stale"] and alert["latest_run"]["status"] == "cancelled"
    assert not list((tmp_path / "reports" / ".staging").iterdir())


@pytest.mark.slow
def test_a_killed_worker_is_reaped_and_the_next_run_of_its_template_is_accepted(tmp_path, monkeypatch):
    write_tiny(tmp_path)
    monkeypatch.setenv("TINY_PAUSE", "60")
    request = server.start_run(tmp_path, "tiny", {}, out="reports", fail_on="none")
    _wait(lambda: [r for r in _runs(tmp_path)["runs"] if r["status"] == "running"], what="the run")
    os.kill(request["pid"], signal.SIGKILL)
    _wait(lambda: not Path(f"/proc/{request['pid']}").exists(), 10, "the worker to be reaped")
    state = _runs(tmp_path)
    assert [r["status"] for r in state["runs"]] == ["failed"] and state["runs"][0]["error"]["name"] == "Killed"
    assert state["requests"] == []
    monkeypatch.setenv("TINY_PAUSE", "0")
    second = server.start_run(tmp_path, "tiny", {}, out="reports", fail_on="none")  # not 409
    _wait(lambda: not process.alive(second["pid"], second["pid_start"]), 120, "the second run")
    assert [r["status"] for r in _runs(tmp_path)["runs"]] == ["ok"]


def _consistent(out: Path) -> dict:
    """The history of ``out`` after runs were killed: nothing running, every listed report there and
    its folder's run.json agreeing with the entry, no staging left; returns the runs by key."""
    runs = {r["key"]: r for r in list_runs(out)}
    for key, run in runs.items():
        assert run["status"] in ("ok", "failed"), (key, run["status"])
        if run["html"]:
            on_disk = json.loads((out / key / "run.json").read_text())
            assert Path(run["html"]).is_file() and on_disk["attempt"] == run["attempt"], key
    assert not list((out / ".staging").iterdir())
    return runs


@pytest.mark.slow
def test_workers_killed_at_random_points_never_damage_the_good_report(tmp_path, monkeypatch):
    """20 runs killed with SIGKILL at seeded random points, 10 started as the server starts them and
    10 from the CLI, each a re-run of the same good run; then the next run succeeds."""
    rng = random.Random(20261124)
    write_tiny(tmp_path)
    template = tmp_path / "notebooks" / "reports" / "tiny.ipynb"
    out = tmp_path / "reports"
    good = run_report(template, out=out, fail_on="none")
    html = Path(good["html"]).read_bytes()
    monkeypatch.setenv("TINY_PAUSE", "0.5")
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    delays = [rng.uniform(0.0, 8.0) for _ in range(20)]  # 5 under 1.5 s: surely before the run could finish
    unfinished, current = 0, good["attempt"]
    for i, delay in enumerate(delays):
        if i % 2:  # as the server starts it (a worker in its own session, reaped by a thread)
            proc = None
            pid = server.start_run(tmp_path, "tiny", {}, out="reports", fail_on="none")["pid"]
        else:
            proc = subprocess.Popen([sys.executable, "-m", "workbench.cli", "report", "run", str(template), "--out",
                                     str(out), "--fail-on", "none"], env=env, cwd=tmp_path, start_new_session=True,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            pid = proc.pid
        time.sleep(delay)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        if proc is not None:
            proc.wait(timeout=20)
        _wait(lambda pid=pid: not Path(f"/proc/{pid}").exists(), 20, "the killed run to be reaped")
        runs = _consistent(out)
        main_run = runs[good["key"]]
        assert main_run["status"] == "ok"
        if main_run["attempt"] == current:
            assert Path(main_run["html"]).read_bytes() == html  # untouched
            unfinished += 1
        else:  # a re-run that completed before it was killed replaced it: a complete report
            assert Path(main_run["html"]).read_text().rstrip().endswith("</html>")
            assert main_run["findings"]["counts"]["critical"] == 1
            assert [a["message"] for a in latest_alerts(out)] == ["tiny alert a"]
            current, html = main_run["attempt"], Path(main_run["html"]).read_bytes()
    assert unfinished >= sum(d < 1.5 for d in delays) == 5
    monkeypatch.setenv("TINY_PAUSE", "0")
    final = run_report(template, out=out, fail_on="none")
    assert final["status"] == "ok" and final["key"] == good["key"]
    runs = _consistent(out)
    assert list(runs) == [good["key"]] and runs[good["key"]]["attempt"] == final["attempt"]
