"""The Jupyter server extension behind the Reliability sidebar: authentication and XSRF on every
endpoint, paths confined to the server's root, parameters validated before a run starts, runs in
background processes recorded in the same history as CLI runs, and the bad states (a broken
template, a run started twice, a corrupt or older history, a run whose process died)."""

from __future__ import annotations

import inspect
import json
import os
import shutil
import time
from pathlib import Path

import pytest
import tornado
from pytest_jupyter.jupyter_core import *  # noqa: F403  (fixtures only here: they are autouse and set up an event loop)
from pytest_jupyter.jupyter_server import *  # noqa: F403  (jp_serverapp, jp_fetch, http_server_client, ...)
from tornado.httpclient import HTTPClientError

from workbench.reports import list_runs

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"workbench": True}}}


@pytest.fixture
def root(jp_root_dir: Path) -> Path:
    """The server's root, with the shadow sample data (the template's default paths)."""
    shutil.copytree(ROOT / "sample_data" / "shadow", jp_root_dir / "sample_data" / "shadow")
    return jp_root_dir


def on_server_loop(fn):
    """Run an async test on the test server's event loop (pytest-jupyter's loop, without loading
    its plugin for the whole suite)."""
    signature = inspect.signature(fn)
    loop_param = inspect.Parameter("jp_asyncio_loop", inspect.Parameter.KEYWORD_ONLY)

    def test(**kwargs):
        loop = kwargs.pop("jp_asyncio_loop")
        return loop.run_until_complete(fn(**kwargs))

    test.__signature__ = signature.replace(parameters=[*signature.parameters.values(), loop_param])
    test.__name__, test.__doc__ = fn.__name__, fn.__doc__
    return test


async def call(jp_fetch, method: str, *path: str, body: dict | None = None, **params: str):
    """The endpoint's status and JSON body (errors too)."""
    kwargs = {"method": method, "params": params}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    try:
        response = await jp_fetch("workbench", "api", *path, **kwargs)
    except HTTPClientError as exc:
        return exc.code, json.loads(exc.response.body) if exc.response and exc.response.body else {}
    return response.code, json.loads(response.body)


async def wait_for(jp_fetch, predicate, timeout: float = 120.0, **params: str) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, state = await call(jp_fetch, "GET", "runs", **params)
        if predicate(state):
            return state
        await tornado.gen.sleep(0.5)
    raise AssertionError(f"timed out; last state: {state}")


@on_server_loop
async def test_every_endpoint_requires_authentication_and_xsrf(jp_serverapp, http_server_client, jp_base_url):
    base = f"{jp_base_url}workbench/api/"

    async def fetch(path: str, **kwargs):
        return await http_server_client.fetch(base + path, raise_error=False, allow_nonstandard_methods=True,
                                              **kwargs)

    for method, path, body in (("GET", "templates", None), ("GET", "runs", None), ("GET", "alerts", None),
                               ("POST", "runs", "{}"), ("DELETE", "runs/shadow-abc", None),
                               ("POST", "notebooks", "{}")):
        assert (await fetch(path, method=method, body=body)).code == 403, (method, path)
    # a browser session (cookie, no token) must send the XSRF token with a POST
    token = jp_serverapp.identity_provider.token
    login = await http_server_client.fetch(f"{jp_base_url}?token={token}", follow_redirects=False,
                                           raise_error=False)
    cookies = "; ".join(c.split(";")[0] for c in login.headers.get_list("Set-Cookie"))
    assert "username-" in cookies
    assert (await fetch("templates", headers={"Cookie": cookies})).code == 200
    assert (await fetch("notebooks", method="POST", body="{}", headers={"Cookie": cookies})).code == 403
    xsrf = "workbench-test-xsrf"
    passed = await fetch("notebooks", method="POST", body='{"template": "nope"}',
                         headers={"Cookie": f"{cookies}; _xsrf={xsrf}", "X-XSRFToken": xsrf})
    assert passed.code == 404  # past authentication and XSRF: the template is unknown


@on_server_loop
async def test_templates_list_their_parameters_and_a_broken_one_says_why(jp_fetch, root):
    broken = root / "notebooks" / "reports"
    broken.mkdir(parents=True)
    nb = json.loads((ROOT / "notebooks" / "reports" / "drift.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    cell["source"] = "reference_path = 'a.parquet'\nwindow = (1d"
    (broken / "broken.ipynb").write_text(json.dumps(nb))
    status, body = await call(jp_fetch, "GET", "templates")
    assert status == 200
    found = {t["name"]: t for t in body["templates"]}
    assert {"drift", "leakage", "performance", "shadow", "model_health", "broken"} <= set(found)
    assert found["shadow"]["parameters"]["looks"] == {"default": 1, "type": "int",
                                                     "help": "how many times this candidate will be checked"}
    assert found["shadow"]["error"] is None
    assert found["broken"]["parameters"] == {}
    assert "parameters cell of 'broken.ipynb' cannot be read: line 2" in found["broken"]["error"]


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"template": "shadow", "out": "../outside"}, 403, "output folder '../outside' is not allowed"),
    ({"template": "shadow", "out": "/tmp/elsewhere"}, 403, "is not allowed"),
    ({"template": "shadow", "out": "escape/reports"}, 403, "leads outside the server's root"),
    ({"template": "shadow", "parameters": {"labels_path": "../../etc/passwd"}}, 403, "parameter labels_path"),
    ({"template": "../shadow"}, 404, "unknown template '../shadow'"),
    ({"template": "shadow", "parameters": {"looks": "two"}}, 400, "parameter 'looks' of template 'shadow' must be int"),
    ({"template": "shadow", "parameters": {"lookz": 2}}, 400, "has no parameter 'lookz'"),
    ({"template": "shadow", "parameters": {"labels_path": "sample_data/shadow/nope.parquet"}}, 400,
     "no such file or directory"),
    ({"template": "shadow", "fail_on": "sometimes"}, 400, "fail_on must be one of"),
])
@on_server_loop
async def test_bad_requests_are_refused_before_a_run_starts(jp_fetch, root, tmp_path, body, status, message):
    (root / "escape").symlink_to(tmp_path, target_is_directory=True)  # a symlink out of the root
    got, reply = await call(jp_fetch, "POST", "runs", body=body)
    assert got == status and message in reply["message"]
    assert not (root / "reports" / ".requests").exists() or not list((root / "reports" / ".requests").glob("*.json"))


@on_server_loop
async def test_a_run_executes_in_the_background_and_is_recorded_like_a_cli_run(jp_fetch, root):
    status, request = await call(jp_fetch, "POST", "runs", body={"template": "shadow", "parameters": {"looks": 2},
                                                                  "fail_on": "none"})
    assert status == 202 and request["pid"]
    assert os.getsid(request["pid"]) != os.getsid(0)  # its own session: it outlives the browser and the server
    again, reply = await call(jp_fetch, "POST", "runs", body={"template": "shadow"})
    assert again == 409 and "already in progress" in reply["message"]
    state = await wait_for(jp_fetch, lambda s: s["runs"] and s["runs"][0]["status"] != "running")
    run = state["runs"][0]
    assert run["status"] == "ok" and run["template"] == "shadow" and state["requests"] == []
    deadline = time.monotonic() + 20  # the worker forgets its request once run_report has returned
    while list((root / "reports" / ".requests").iterdir()) and time.monotonic() < deadline:
        await tornado.gen.sleep(0.2)
    assert not list((root / "reports" / ".requests").iterdir())  # the record says everything: no request left
    assert run["findings"]["counts"]["critical"] >= 1  # the sample's planted regressions
    assert (root / run["html"]).is_file() and (root / run["notebook"]).is_file()
    assert [r["run_id"] for r in list_runs(root / "reports")] == [run["run_id"]]  # the CLI's history
    status, alerts = await call(jp_fetch, "GET", "alerts")
    assert status == 200 and alerts["alerts"] and alerts["alerts"][0]["html"] == run["html"]


@on_server_loop
async def test_a_cancelled_run_stops_and_is_recorded_as_cancelled(jp_fetch, root):
    _, request = await call(jp_fetch, "POST", "runs", body={"template": "shadow"})
    state = await wait_for(jp_fetch, lambda s: any(r["status"] == "running" for r in s["runs"]))
    key = next(r["key"] for r in state["runs"] if r["status"] == "running")
    status, run = await call(jp_fetch, "DELETE", "runs", key)
    assert status == 200 and run["status"] == "cancelled"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _alive(request["pid"]):
        await tornado.gen.sleep(0.2)
    assert not _alive(request["pid"])
    _, state = await call(jp_fetch, "GET", "runs")
    assert [r["status"] for r in state["runs"]] == ["cancelled"]
    assert state["requests"] == []  # listed once: the run names its request
    assert state["runs"][0]["html"] is None and state["runs"][0]["notebook"] is None  # it wrote no report
    status, reply = await call(jp_fetch, "DELETE", "runs", key)
    assert status == 409 and "is not running" in reply["message"]


@on_server_loop
async def test_a_corrupt_history_is_kept_and_rebuilt_from_the_run_folders(jp_fetch, root):
    out = root / "reports"
    run_dir = out / "shadow-0123abcd"
    run_dir.mkdir(parents=True)
    record = {"run_id": "0123abcd", "template": "shadow", "status": "ok", "started_at": "2026-11-01T10:00:00",
              "html": str(run_dir / "report.html"), "findings": {"files": [], "counts": {"critical": 2}},
              "exit_code": 1}
    (run_dir / "run.json").write_text(json.dumps(record))
    (out / "index.json").write_text('{"shadow-0123abcd": {"run_id": ')  # cut off mid-write
    status, state = await call(jp_fetch, "GET", "runs")
    assert status == 200 and "could not be read" in state["warning"]
    assert [r["key"] for r in state["runs"]] == ["shadow-0123abcd"]
    assert state["runs"][0]["findings"]["counts"] == {"info": 0, "warning": 0, "critical": 2}
    kept = list(out.glob("index.corrupt-*.json"))
    assert len(kept) == 1 and kept[0].read_text() == '{"shadow-0123abcd": {"run_id": '  # nothing lost


@on_server_loop
async def test_older_entries_and_runs_whose_process_died_show_a_clear_state(jp_fetch, root):
    out = root / "reports"
    (out / ".requests").mkdir(parents=True)
    older = {"shadow-aa11": {"run_id": "aa11", "template": "shadow", "status": "ok", "started_at": "2026-10-01"},
             "drift-bb22": {"run_id": "bb22", "template": "drift", "status": "running", "pid": 2**22 + 7,
                            "started_at": "2026-10-02"}}
    (out / "index.json").write_text(json.dumps(older))
    lost = {"id": "f" * 32, "template": "leakage", "status": "running", "pid": 2**22 + 9, "requested_at": "2026-10-03"}
    (out / ".requests" / f"{'f' * 32}.json").write_text(json.dumps(lost))
    (out / ".requests" / f"{'f' * 32}.log").write_text("Traceback ...\nMemoryError: out of memory\n")
    _, state = await call(jp_fetch, "GET", "runs")
    runs = {r["key"]: r for r in state["runs"]}
    assert runs["shadow-aa11"]["findings"]["counts"] == {"info": 0, "warning": 0, "critical": 0}
    assert runs["drift-bb22"]["status"] == "failed" and runs["drift-bb22"]["error"]["name"] == "Killed"
    (request,) = state["requests"]
    assert request["status"] == "failed" and "MemoryError: out of memory" in request["error"]["message"]


@on_server_loop
async def test_a_glob_or_a_folder_in_a_data_path_cannot_read_outside_the_root(jp_fetch, root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(root / "sample_data" / "shadow" / "production.parquet", outside / "production.parquet")
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "[e]scape").mkdir()  # a literal folder: the path exists, but the run reads it as the glob "escape"
    shutil.copy(root / "sample_data" / "shadow" / "production.parquet", root / "[e]scape" / "production.parquet")
    status, reply = await call(jp_fetch, "POST", "runs", body={
        "template": "shadow", "parameters": {"production_path": "[e]scape/production.parquet"}})
    assert status == 403 and "escape/production.parquet" in reply["message"] and "outside" in reply["message"]
    (root / "data").mkdir()
    (root / "data" / "production.parquet").symlink_to(outside / "production.parquet")
    status, reply = await call(jp_fetch, "POST", "runs", body={
        "template": "shadow", "parameters": {"production_path": "data"}})  # a folder holding a link out
    assert status == 403 and "leads outside the server's root" in reply["message"]
    assert not (root / "reports" / ".requests").exists() or not list((root / "reports" / ".requests").glob("*"))


@on_server_loop
async def test_alerts_and_runs_never_read_findings_outside_the_root(jp_fetch, root, tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"findings": [{"severity": "critical", "kind": "x", "message": "the secret"}]}))
    out = root / "reports"
    run_dir = out / "shadow-0123abcd"
    (run_dir / "findings").mkdir(parents=True)
    (run_dir / "findings" / "linked.json").symlink_to(secret)
    inside = {"run_id": "0123abcd", "template": "shadow", "status": "ok", "started_at": "2026-11-01T10:00:00",
              "findings": {"files": [str(run_dir / "findings" / "linked.json")], "counts": {"critical": 1}}}
    named = {"run_id": "4567abcd", "template": "drift", "status": "ok", "started_at": "2026-11-01T11:00:00",
             "findings": {"files": [str(secret)], "counts": {"critical": 1}}}
    (out / "index.json").write_text(json.dumps({"shadow-0123abcd": inside, "drift-4567abcd": named}))
    status, state = await call(jp_fetch, "GET", "runs")
    assert status == 200 and [r["key"] for r in state["runs"]] == ["shadow-0123abcd"]
    assert "drift-4567abcd: a findings file" in state["warning"] and "set aside" in state["warning"]
    status, body = await call(jp_fetch, "GET", "alerts")
    assert status == 200 and "the secret" not in json.dumps(body)
    (alert,) = body["alerts"]
    assert alert["kind"] == "unreadable_findings" and "leads outside" in alert["message"]


@on_server_loop
async def test_malformed_history_entries_are_set_aside_not_a_server_error(jp_fetch, root):
    out = root / "reports"
    out.mkdir()
    entries = {"shadow-aa11": {"run_id": "aa11", "template": "shadow", "status": "ok", "started_at": 5},
               "shadow-bb22": {"run_id": "bb22", "template": "shadow", "status": "ok",
                               "findings": {"counts": {"fatal": 1}}},
               "shadow-cc33": {"run_id": "cc33", "template": ["shadow"], "status": "ok"},
               "shadow-dd44": {"run_id": "dd44", "template": "shadow", "status": "ok", "started_at": "2026-11-01"}}
    (out / "index.json").write_text(json.dumps(entries))
    status, state = await call(jp_fetch, "GET", "runs")
    assert status == 200 and [r["key"] for r in state["runs"]] == ["shadow-dd44"]
    assert "3 entries of the run history" in state["warning"]
    status, body = await call(jp_fetch, "GET", "alerts")
    assert status == 200 and body == {"alerts": []}


@on_server_loop
async def test_a_request_body_over_the_limit_is_refused_with_413_before_it_is_parsed(jp_fetch, root):
    from workbench.server.handlers import MAX_BODY

    def body_of(size: int) -> str:
        head = '{"template": "nope", "padding": "'
        return head + "x" * (size - len(head) - 2) + '"}'

    for path in (("runs",), ("notebooks",)):
        try:
            await jp_fetch("workbench", "api", *path, method="POST", body=body_of(MAX_BODY + 1))
            raise AssertionError("accepted")
        except HTTPClientError as exc:
            assert exc.code == 413
            reply = json.loads(exc.response.body)
            assert reply["kind"] == "PayloadTooLarge" and f"at most {MAX_BODY}" in reply["message"]
        status, reply = await call(jp_fetch, "POST", *path, body=json.loads(body_of(MAX_BODY)))
        assert len(json.dumps(json.loads(body_of(MAX_BODY)))) == MAX_BODY
        assert status == 404 and "unknown template 'nope'" in reply["message"]  # at the limit: read and answered


@on_server_loop
async def test_a_new_audit_notebook_is_copied_from_a_template(jp_fetch, root):
    status, reply = await call(jp_fetch, "POST", "notebooks", body={"template": "drift"})
    assert status == 201 and reply["path"].startswith("audits/drift-") and (root / reply["path"]).is_file()
    _, second = await call(jp_fetch, "POST", "notebooks", body={"template": "drift"})
    assert second["path"] != reply["path"]
    status, _ = await call(jp_fetch, "POST", "notebooks", body={"template": "drift", "folder": "../x"})
    assert status == 403


@on_server_loop
async def test_a_new_notebook_runs_top_to_bottom_where_it_is_created(jp_fetch, root):
    """The kernel of a new notebook starts in its folder (audits/): the template's data paths, relative to the
    server root, are rewritten to name the same files from there, and the notebook runs as created."""
    import nbformat
    from nbclient import NotebookClient

    status, reply = await call(jp_fetch, "POST", "notebooks", body={"template": "shadow"})
    assert status == 201
    path = root / reply["path"]
    notebook = nbformat.read(path, as_version=4)
    parameters = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    assert 'production_path = "../sample_data/shadow/production.parquet"' in parameters.source
    assert 'labels_path = "../sample_data/shadow/labels.parquet"' in parameters.source
    template = (ROOT / "notebooks" / "reports" / "shadow.ipynb").read_text()
    assert 'production_path = \\"sample_data/shadow/production.parquet\\"' in template  # the template is unchanged
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    await client.async_execute()
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors == []


@on_server_loop
async def test_a_report_page_is_served_for_a_tab_of_its_own_and_only_inside_the_root(
        jp_serverapp, http_server_client, jp_base_url, root, tmp_path):
    """``/workbench/report/<path>``: authenticated; an .html file under the root, sandboxed (its scripts
    run in an origin of their own); nothing outside the root, no '..', no symlink out, nothing else."""
    page = "<html><body><script>document.title = 'drawn'</script><p>Verdict</p></body></html>"
    (root / "reports" / "shadow-0123abcd").mkdir(parents=True)
    (root / "reports" / "shadow-0123abcd" / "report.html").write_text(page)
    (root / "reports" / ".staging").mkdir()
    (root / "reports" / ".staging" / "report.html").write_text(page)
    secret = tmp_path / "secret.html"
    secret.write_text("<p>the secret</p>")
    (root / "reports" / "linked.html").symlink_to(secret)
    token = jp_serverapp.identity_provider.token
    base = f"{jp_base_url}workbench/report/"

    async def get(path: str, *, auth: bool = True):
        headers = {"Authorization": f"token {token}"} if auth else {}
        return await http_server_client.fetch(base + path, headers=headers, raise_error=False,
                                              follow_redirects=False)

    served = await get("reports/shadow-0123abcd/report.html")
    assert served.code == 200 and served.body.decode() == page
    assert served.headers["Content-Type"].startswith("text/html")
    assert "sandbox allow-scripts" in served.headers["Content-Security-Policy"]
    assert "allow-same-origin" not in served.headers["Content-Security-Policy"]
    unauthenticated = await get("reports/shadow-0123abcd/report.html", auth=False)
    assert unauthenticated.code in (302, 403) and page.encode() not in unauthenticated.body
    for path, status, reason in (
            ("reports/%2E%2E/%2E%2E/etc/passwd.html", 403, "without '..'"),
            ("reports/shadow-0123abcd/%2E%2E/%2E%2E/x.html", 403, "without '..'"),
            ("%2Fetc%2Fpasswd.html", 403, "without '..'"),
            ("reports/linked.html", 403, "leads outside the server's root"),
            ("sample_data/shadow/production.parquet", 403, "not an HTML page"),
            ("reports/.staging/report.html", 404, "no report"),
            ("reports/missing.html", 404, "no report")):
        refused = await get(path)
        assert refused.code == status, path
        assert reason in refused.body.decode() and "the secret" not in refused.body.decode(), path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) is not running
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_a_run_survives_a_server_restart_and_is_listed_by_the_next_server(tmp_path):
    """Start a run through one Jupyter server, stop that server mid-run, start another on the same
    root: the run finishes on its own and the new server lists it as ok."""
    import secrets
    import signal
    import subprocess
    import sys
    import urllib.request

    root = tmp_path / "root"
    shutil.copytree(ROOT / "sample_data" / "shadow", root / "sample_data" / "shadow")
    token = secrets.token_hex(16)

    def serve(port: int) -> subprocess.Popen:
        env = os.environ | {"JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
                            "JUPYTER_RUNTIME_DIR": str(tmp_path / f"runtime-{port}")}
        proc = subprocess.Popen([sys.executable, "-m", "jupyter", "server", "--no-browser", "--allow-root",
                                 "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
                                 f"--ServerApp.root_dir={root}"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                api(port, "GET", "templates")
                return proc
            except OSError:
                time.sleep(0.3)
        raise AssertionError("the Jupyter server did not start")

    def api(port: int, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/workbench/api/{path}", method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    first_port, second_port = _free_port(), _free_port()
    first = serve(first_port)
    request = api(first_port, "POST", "runs", {"template": "shadow", "fail_on": "none"})
    os.killpg(first.pid, signal.SIGKILL)  # the server dies mid-run
    first.wait(timeout=10)
    assert _alive(request["pid"])  # the run goes on without it
    second = serve(second_port)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            state = api(second_port, "GET", "runs")
            if state["runs"] and state["runs"][0]["status"] != "running":
                break
            time.sleep(0.5)
        assert [r["status"] for r in state["runs"]] == ["ok"] and state["requests"] == []
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(timeout=20)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
