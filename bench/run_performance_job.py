"""One performance job in one process (timed from outside by bench_performance.py).

    python bench/run_performance_job.py floor|workbench|fairlearn DATA_DIR

floor: polars reads the log and counts rows and correct predictions per hour × region × device ×
plan — the cells stage alone, no statistics.
workbench: ``check_performance()`` with labels inline, a score, three segment columns (pairs included),
hourly windows over the week, calibration against a labelled reference (the first 1M rows).
fairlearn: ``MetricFrame`` (accuracy, precision, recall) per region × device × plan — segment
metrics only: no windows, no intervals, no tests.
Prints one JSON line: the job and its headline result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl


def main() -> None:
    job, data = sys.argv[1], Path(sys.argv[2])
    path = data / "predictions.parquet"
    if job == "floor":
        cells = pl.scan_parquet(path).group_by(pl.col("ts").dt.truncate("1h"), "region", "device", "plan").agg(
            pl.len(), (pl.col("prediction") == pl.col("label")).sum()).collect(engine="streaming")
        print(json.dumps({"job": job, "cells": cells.height}))
    elif job == "workbench":
        from workbench.performance import check_performance

        reference = data / "reference.parquet"
        if not reference.exists():
            pl.scan_parquet(path).head(1_000_000).sink_parquet(reference)
        result = check_performance(str(path), target="label", prediction="prediction", score="score",
                                   by=["region", "device", "plan"], timestamp="ts", window="1h",
                                   reference=str(reference))
        print(json.dumps({"job": job, "alerts": sorted(f"{f.kind}:{f.scope.get('segment')}" for f in result.findings
                                                       if f.severity == "critical")[:6]}))
    elif job == "fairlearn":
        from fairlearn.metrics import MetricFrame
        from sklearn.metrics import accuracy_score, precision_score, recall_score

        df = pl.read_parquet(path, columns=["region", "device", "plan", "prediction", "label"]).to_pandas()
        metrics = {"accuracy": accuracy_score, "precision": precision_score, "recall": recall_score}
        mf = MetricFrame(metrics=metrics, y_true=df["label"], y_pred=df["prediction"],
                         sensitive_features=df[["region", "device", "plan"]])
        print(json.dumps({"job": job, "groups": len(mf.by_group)}))
    else:
        raise SystemExit(f"unknown job {job!r}")


if __name__ == "__main__":
    main()
