from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import settings

from workbench.leakage import check_leakage
from workbench.leakage.config import load_audit_config

ROOT = Path(__file__).resolve().parents[1]
CHURN = ROOT / "sample_data" / "churn"


def pytest_configure(config):
    """Under pytest-xdist each worker gets its share of the cores for OpenMP (scikit-learn's gradient boosting):
    a pool of every core in each worker oversubscribes them, and the boosting then mostly waits at barriers."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))


@pytest.fixture(scope="session")
def planted() -> dict:
    return json.loads((CHURN / "planted.json").read_text())


def run_config(name: str, **overrides):
    kwargs = load_audit_config(CHURN / name)
    kwargs.update(overrides)
    return check_leakage(kwargs.pop("training"), **kwargs)


@pytest.fixture(scope="session")
def churn_result():
    return run_config("audit.yaml")


@pytest.fixture(scope="session")
def clean_result():
    return run_config("audit_clean.yaml")


@pytest.fixture(scope="session")
def spark():
    """One local Spark session (2 cores) shared by every engine test."""
    from pyspark.sql import SparkSession  # a dev dependency: the engine tests must not skip silently

    session = (SparkSession.builder.master("local[2]").appName("workbench-tests")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2").config("spark.driver.memory", "2g")
               .config("spark.sql.session.timeZone", "America/New_York")  # results must not depend on it
               .config("spark.sql.timestampType", "TIMESTAMP_NTZ")  # naive datetimes stay naive
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


# CI runs the property tests on hypothesis' fixed example sequence, so a run is reproducible; locally they
# explore new examples on every run
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
