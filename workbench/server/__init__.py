"""The Jupyter server extension behind the JupyterLab Reliability sidebar: REST endpoints for
report templates, runs and their history (:mod:`workbench.server.handlers`)."""

from __future__ import annotations

from typing import Any


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from workbench.server.handlers import handlers

    web_app = serverapp.web_app
    web_app.add_handlers(".*$", handlers(web_app.settings["base_url"]))
    serverapp.log.info("workbench: report endpoints at %sworkbench/api", web_app.settings["base_url"])


load_jupyter_server_extension = _load_jupyter_server_extension  # the older entry point name
