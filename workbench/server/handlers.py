"""REST endpoints of the JupyterLab extension, under ``/workbench/api``. Every one requires
Jupyter's authentication; those that change something (POST, DELETE) also its XSRF check.
Paths are relative to the server's root and confined to it (:func:`workbench.server.runs.confine`).

- ``GET  templates``            report templates and their parameters
- ``GET  runs?out=reports``     run history, requests without a run yet, a repair warning
- ``POST runs``                 start a run: ``{"template", "parameters", "out", "fail_on"}``
- ``DELETE runs/<key>?out=``    cancel a run (history key) or a request (id)
- ``GET  alerts?out=&severity=``  findings of the latest successful run of each template (``stale`` when
  a later run did not succeed)
- ``POST notebooks``            a new audit notebook from a template: ``{"template", "folder"}``

and, outside the API, ``GET /workbench/report/<path>``: a report's HTML page (an ``.html`` file
under the root) for a browser tab of its own, where its charts' scripts run (JupyterLab's HTML
viewer blocks them); like Jupyter's ``/files/``, the page runs sandboxed in an origin of its own
(``Content-Security-Policy: sandbox allow-scripts``), so its scripts cannot call the server.

A request body larger than :data:`MAX_BODY` (1 MB) is refused with 413 and a JSON message before
any of it is read (the body is streamed, not buffered by Tornado up to its own, much larger, limit).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tornado
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from tornado.http1connection import HTTP1Connection

from workbench.errors import WorkbenchError
from workbench.reports.run import latest_alerts
from workbench.server import runs

PREFIX = "workbench/api"
REPORT = "workbench/report"
MAX_BODY = 1 << 20  # bytes: a run request is a few hundred


@tornado.web.stream_request_body
class _Handler(APIHandler):
    _chunks: list[bytes]

    async def prepare(self) -> None:  # type: ignore[override]
        """Authentication and XSRF (Jupyter's), then the body's size, before any of it is read."""
        self._chunks = []
        await super().prepare()
        if self._finished:
            return
        declared = self.request.headers.get("Content-Length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
            self.reply({"message": f"the request body is {declared} bytes; at most {MAX_BODY} are accepted.",
                        "kind": "PayloadTooLarge"}, 413)
            return
        connection = self.request.connection
        if isinstance(connection, HTTP1Connection):
            connection.set_max_body_size(MAX_BODY)  # a chunked body without a length: cut off there

    def data_received(self, chunk: bytes) -> None:
        self._chunks.append(chunk)

    @property
    def root(self) -> Path:
        return Path(self.settings["server_root_dir"]).expanduser().resolve()

    def body(self) -> dict[str, Any]:
        try:
            data = json.loads(b"".join(self._chunks) or b"{}")
        except ValueError as exc:
            raise runs.InputError(f"the request body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise runs.InputError("the request body must be a JSON object.")
        return data

    def reply(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload, default=str))

    def fail(self, exc: WorkbenchError) -> None:
        status = (403 if isinstance(exc, runs.Forbidden) else 404 if isinstance(exc, runs.NotFound)
                  else 409 if isinstance(exc, runs.Conflict) else 400)
        self.reply({"message": str(exc), "kind": type(exc).__name__}, status)


def _explained(method: Callable[..., None]) -> Callable[..., Any]:
    """Authenticated; a refusal (:class:`WorkbenchError`) becomes its HTTP status and message."""

    @functools.wraps(method)
    def wrapper(self: _Handler, *args: str) -> None:
        try:
            method(self, *args)
        except WorkbenchError as exc:
            self.fail(exc)

    return tornado.web.authenticated(wrapper)


class TemplatesHandler(_Handler):
    @_explained
    def get(self) -> None:
        self.reply({"templates": runs.list_templates(self.root)})


class RunsHandler(_Handler):
    @_explained
    def get(self) -> None:
        self.reply(runs.runs(self.root, self.get_argument("out", "reports")))

    @_explained
    def post(self) -> None:
        data = self.body()
        request = runs.start_run(self.root, str(data.get("template", "")), data.get("parameters") or {},
                                 out=data.get("out") or "reports", fail_on=data.get("fail_on") or "critical")
        self.reply(request, 202)


class RunHandler(_Handler):
    @_explained
    def delete(self, key: str) -> None:
        self.reply(runs.cancel(self.root, key, self.get_argument("out", "reports")))


class AlertsHandler(_Handler):
    @_explained
    def get(self) -> None:
        out = runs.confine(self.root, self.get_argument("out", "reports"), what="the output folder")
        severity = self.get_argument("severity", "warning")
        if severity not in ("info", "warning", "critical"):
            raise runs.InputError(f"severity must be info, warning or critical, got {severity!r}.")
        alerts = [a | {"html": runs.relative(self.root, a.get("html"))} for a in latest_alerts(out, severity)]
        self.reply({"alerts": alerts})


class NotebooksHandler(_Handler):
    @_explained
    def post(self) -> None:
        data = self.body()
        path = runs.new_notebook(self.root, str(data.get("template", "")), data.get("folder") or "audits")
        self.reply({"path": path}, 201)


class ReportHandler(JupyterHandler):
    """A report's HTML page (authenticated, read permission on contents, confined to the root)."""

    auth_resource = "contents"

    @property
    def content_security_policy(self) -> str:
        # the report's scripts (plotly) run, in a unique origin: they cannot act on the Jupyter server
        return super().content_security_policy + "; sandbox allow-scripts"

    @tornado.web.authenticated
    @authorized
    def get(self, path: str) -> None:
        root = Path(self.settings["server_root_dir"]).expanduser().resolve()
        try:
            page = runs.report_page(root, path)
        except WorkbenchError as exc:
            status = 403 if isinstance(exc, runs.Forbidden) else 404
            self.set_status(status)
            self.set_header("Content-Type", "text/plain; charset=UTF-8")
            self.finish(str(exc))
            return
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(page.read_bytes())


def handlers(base_url: str) -> list[tuple[str, type]]:
    from jupyter_server.utils import url_path_join

    def url(*parts: str) -> str:
        return url_path_join(base_url, PREFIX, *parts)

    return [(url("templates"), TemplatesHandler), (url("runs"), RunsHandler),
            (url("runs", r"([^/]+)"), RunHandler), (url("alerts"), AlertsHandler),
            (url("notebooks"), NotebooksHandler),
            (url_path_join(base_url, REPORT, "(.+)"), ReportHandler)]
