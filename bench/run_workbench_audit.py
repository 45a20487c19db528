"""One leakage audit of the benchmark data (run in its own process so peak memory is its own).

python bench/run_workbench_audit.py DATA_DIR --engine polars [--features total_spend,balance]

``--engine`` names the kind of input, and so where the audit runs (it runs where its inputs are):
``polars`` (the parquet paths, read by polars), ``duckdb-relations`` (every input a duckdb
relation over the parquet file: audited in duckdb), ``spark`` (every input ``spark.read.parquet``,
local[2]: audited in Spark; the session start is timed apart). Prints one JSON line: wall
seconds, engine and per-feature affected rows.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

from workbench.leakage import Source, asof, check_leakage, window

ALL = {
    "spend_to_date": window("events", "amount", agg="sum"),
    "total_spend": window("events", "amount", agg="sum"),
    "txn_count_7d": window("events", agg="count", window="7d"),
    "balance": asof("snapshots", "balance"),
}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("data", type=Path)
    p.add_argument("--engine", default="polars", choices=["polars", "duckdb-relations", "spark"])
    p.add_argument("--features", default=",".join(ALL))
    a = p.parse_args()
    features = {k: ALL[k] for k in a.features.split(",")}
    session_s = 0.0
    read = str
    if a.engine == "duckdb-relations":
        import duckdb

        read = duckdb.connect().read_parquet
    elif a.engine == "spark":
        from pyspark.sql import SparkSession

        t0 = time.perf_counter()
        spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
                 .config("spark.ui.showConsoleProgress", "false").config("spark.driver.memory", "8g")
                 .config("spark.sql.shuffle.partitions", "8").getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        session_s = time.perf_counter() - t0
        read = spark.read.parquet
    path = {name: str(a.data / f"{name}.parquet") for name in ("training", "events", "snapshots")}
    t0 = time.perf_counter()
    result = check_leakage(
        read(path["training"]), entity="customer_id", prediction_time="prediction_time", target="churned",
        sources={"events": Source(read(path["events"]), entity="customer_id", time="event_time",
                                  available_time="ingested_at"),
                 "snapshots": Source(read(path["snapshots"]), entity="customer_id", time="snapshot_time",
                                     available_time="written_at")},
        features=features)
    wall = time.perf_counter() - t0
    found = {f"{f.subject}:{f.kind}": f.metrics.get("affected_rows") for f in result.findings
             if f.kind in ("future_data", "non_asof_join", "late_arrival", "feature_mismatch")}
    print(json.dumps({"tool": "workbench", "engine": a.engine, "ran_on": result.parameters["engine"],
                      "session_s": round(session_s, 2), "features": list(features), "wall_s": round(wall, 2),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                      "rows": result.inputs[0].rows, "found": found}))


if __name__ == "__main__":
    main()
