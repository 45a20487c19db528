"""The model behind a report, read from an MLflow tracking server: the run's name, experiment,
status, start time, parameters, metrics and user tags, recorded with the report run and shown in
its lineage. Needs ``mlflow-skinny`` (``pip install 'ml-reliability-workbench[mlflow]'``)."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from workbench.errors import ConfigError, InputError
from workbench.metadata import install_hint


def mlflow_model(run_id: str, tracking_uri: str | None = None) -> dict[str, Any]:
    """The MLflow run ``run_id`` (a run id or ``runs:/<id>/...``) as a flat mapping for the run
    record: ``mlflow_run_id``, ``mlflow_run_name``, ``mlflow_experiment``, ``mlflow_status``,
    ``mlflow_started`` (UTC, ISO 8601), ``mlflow_tracking_uri``, ``mlflow_artifact_uri`` and the
    run's ``params``, ``metrics`` (latest values) and ``tags`` (MLflow's own ``mlflow.*`` tags
    left out, except the source commit). ``tracking_uri`` defaults to ``MLFLOW_TRACKING_URI``.
    Raises :class:`InputError` when mlflow is missing or the run cannot be read."""
    try:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise InputError(f"--mlflow-run needs mlflow: {install_hint('mlflow')} (mlflow-skinny).") from None
    run_id = _run_id(run_id)
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    try:
        client = MlflowClient(tracking_uri=uri)
        run = client.get_run(run_id)
        experiment = client.get_experiment(run.info.experiment_id)
    except MlflowException as exc:
        raise InputError(f"MLflow run {run_id!r} could not be read from {uri or 'the default tracking URI'}: "
                         f"{str(exc).splitlines()[0]} Check the run id and --mlflow-tracking-uri "
                         "(or MLFLOW_TRACKING_URI).") from None
    except OSError as exc:
        raise InputError(f"MLflow tracking server {uri!r} is not reachable: {exc}.") from None
    tags = run.data.tags
    return {
        "mlflow_run_id": run.info.run_id,
        "mlflow_run_name": run.info.run_name,
        "mlflow_experiment": experiment.name if experiment else run.info.experiment_id,
        "mlflow_status": run.info.status,
        "mlflow_started": dt.datetime.fromtimestamp(run.info.start_time / 1000, dt.UTC).isoformat(timespec="seconds")
        if run.info.start_time else None,
        "mlflow_tracking_uri": client.tracking_uri,
        "mlflow_artifact_uri": run.info.artifact_uri,
        "mlflow_source_commit": tags.get("mlflow.source.git.commit"),
        "params": dict(sorted(run.data.params.items())),
        "metrics": dict(sorted(run.data.metrics.items())),
        "tags": {k: v for k, v in sorted(tags.items()) if not k.startswith("mlflow.")},
    }


def _run_id(text: str) -> str:
    """The run id out of ``<id>`` or ``runs:/<id>/<path>``."""
    text = text.strip()
    if text.startswith("runs:/"):
        text = text.removeprefix("runs:/").split("/", 1)[0]
    if not text:
        raise ConfigError("--mlflow-run: give a run id (32 hex characters) or runs:/<id>/<path>.")
    return text
