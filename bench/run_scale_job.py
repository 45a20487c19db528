"""One drift job on one engine, in one process (timed from outside by bench_scale.py).

    python bench/run_scale_job.py polars|duckdb|spark DATA_DIR

Fits the reference profile and compares current (``workbench.check_drift``) reading
DATA_DIR/reference.parquet and DATA_DIR/current.parquet on the engine named: polars (paths,
streaming), duckdb (``read_parquet`` relations, 2 threads) or Spark (local[2],
``spark.read.parquet``). Prints one JSON line: the columns flagged (warning or critical), the
engine, and for Spark the session start time, the drift time and the JVM's peak RSS (the JVM is
not this process's child, so its peak is read from /proc before it stops).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> None:
    engine, data = sys.argv[1], Path(sys.argv[2])
    ref, cur = str(data / "reference.parquet"), str(data / "current.parquet")
    from workbench.drift import check_drift

    extra: dict = {}
    if engine == "polars":
        reference, current = ref, cur
    elif engine == "duckdb":
        import duckdb

        con = duckdb.connect()
        con.execute("SET threads = 2")
        reference, current = con.read_parquet(ref), con.read_parquet(cur)
    else:
        from pyspark.sql import SparkSession

        start = time.perf_counter()
        spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
                 .config("spark.ui.showConsoleProgress", "false").config("spark.driver.memory", "4g")
                 .config("spark.sql.shuffle.partitions", "2").getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        extra["session_start_s"] = round(time.perf_counter() - start, 2)
        reference, current = spark.read.parquet(ref), spark.read.parquet(cur)
    start = time.perf_counter()
    result = check_drift(reference, current)
    extra["drift_s"] = round(time.perf_counter() - start, 2)
    if engine == "spark":
        pid = spark.sparkContext._gateway.proc.pid  # the JVM
        status = Path(f"/proc/{pid}/status").read_text()
        extra["jvm_peak_mb"] = round(int(next(line.split()[1] for line in status.splitlines()
                                              if line.startswith("VmHWM"))) / 1024)
        spark.stop()
    flagged = sorted({f.subject for f in result.at_least("warning") if f.kind == "distribution_drift"})
    print(json.dumps({"job": engine, "engine": result.parameters["engine"], "flagged": flagged, **extra}))


if __name__ == "__main__":
    main()
