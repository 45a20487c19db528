"""Evidently 0.7 ``Report([DataDriftPreset()])`` on the benchmark files (runs in its own virtualenv).

    bench/.venv-evidently/bin/python bench/run_evidently_drift.py DATA_DIR

Evidently's defaults choose the test per column (above 1,000 rows: normed Wasserstein for numeric,
Jensen-Shannon for categorical, threshold 0.1). Prints one JSON line with the columns it flags.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset


def main() -> None:
    data = Path(sys.argv[1])
    ref = pd.read_parquet(data / "reference.parquet")
    cur = pd.read_parquet(data / "current.parquet")
    num = [c for c in ref.columns if c.startswith("num_")]
    cat = [c for c in ref.columns if c.startswith("cat_")]
    dd = DataDefinition(numerical_columns=num, categorical_columns=cat)
    snapshot = Report([DataDriftPreset(columns=num + cat)]).run(Dataset.from_pandas(cur, data_definition=dd),
                                                                Dataset.from_pandas(ref, data_definition=dd))
    flagged = []
    for metric in snapshot.dict()["metrics"]:
        name = str(metric.get("metric_name", ""))
        if name.startswith("ValueDrift"):
            cfg = metric["config"]
            value, threshold = float(metric["value"]), cfg.get("threshold")
            method = str(cfg.get("method", ""))
            # p-value tests drift below the threshold, distances above it
            is_p = "p_value" in method.lower() or "test" in method.lower()
            if threshold is not None and ((value < threshold) if is_p else (value >= threshold)):
                flagged.append(cfg["column"])
    print(json.dumps({"job": "evidently", "flagged": sorted(flagged)}))


if __name__ == "__main__":
    main()
