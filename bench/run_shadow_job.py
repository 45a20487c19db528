"""One shadow-comparison job in one process (timed from outside by bench_shadow.py).

    python bench/run_shadow_job.py floor|workbench|pandas DATA_DIR

floor: polars joins the two logs on request_id and computes agreement, both sides' p95 latency
and error rates, and accuracy on the labels — the minimum any comparison does, with no retry
handling, no validation and no statistics.
workbench: ``check_shadow`` in shadow mode with labels and one segment column (reconcile with
the retry rule, validation, agreement + kappa, score deltas, latency intervals, paired error
and accuracy tests per segment, the verdict).
duckdb, spark: the same ``check_shadow`` with the logs read by duckdb (out of core) or by Spark
(local[2]); prints the session start and the comparison's time.
pandas: what a notebook typically does — pandas merge, then the same metrics with numpy and
statsmodels' McNemar (no retry handling, no per-segment tests).
Prints one JSON line: the job and its headline result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl


def main() -> None:
    job, data = sys.argv[1], Path(sys.argv[2])
    prod, cand, labels = (data / f"{n}.parquet" for n in ("production", "candidate", "labels"))
    if job == "floor":
        p, c = pl.scan_parquet(prod), pl.scan_parquet(cand)
        m = p.join(c, on="request_id", suffix="_c").join(pl.scan_parquet(labels), on="request_id", how="left")
        row = m.select((pl.col("prediction") == pl.col("prediction_c")).mean().alias("agreement"),
                       pl.col("latency_ms").quantile(0.95).alias("p95"),
                       pl.col("latency_ms_c").quantile(0.95).alias("p95_c"),
                       pl.col("error").mean(), pl.col("error_c").mean(),
                       (pl.col("prediction") == pl.col("label")).mean().alias("acc"),
                       (pl.col("prediction_c") == pl.col("label")).mean().alias("acc_c")).collect()
        print(json.dumps({"job": job, "agreement": row["agreement"].item()}))
    elif job == "workbench":
        from workbench.shadow import check_shadow

        result = check_shadow(str(prod), str(cand), id="request_id", timestamp="ts", prediction="prediction",
                              score="score", latency="latency_ms", error="error", by="region", labels=str(labels))
        print(json.dumps({"job": job, "verdict": result.verdict.decision,
                          "breached": sorted(f"{c.guardrail}:{c.scope}" for c in result.verdict.checks
                                             if c.status == "breached")}))
    elif job in ("duckdb", "spark"):  # the same comparison with the logs on another engine (issue 6)
        import time

        from workbench.shadow import check_shadow

        start = time.perf_counter()
        if job == "duckdb":
            import duckdb

            con = duckdb.connect()
            frames = [con.read_parquet(str(f)) for f in (prod, cand, labels)]
        else:
            from pyspark.sql import SparkSession

            spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
                     .config("spark.driver.memory", "4g").config("spark.sql.shuffle.partitions", "8").getOrCreate())
            spark.sparkContext.setLogLevel("ERROR")
            frames = [spark.read.parquet(str(f)) for f in (prod, cand, labels)]
        session = time.perf_counter() - start
        result = check_shadow(frames[0], frames[1], id="request_id", timestamp="ts", prediction="prediction",
                              score="score", latency="latency_ms", error="error", by="region", labels=frames[2])
        print(json.dumps({"job": job, "verdict": result.verdict.decision, "session_s": round(session, 1),
                          "compare_s": round(time.perf_counter() - start - session, 1),
                          "breached": sorted(f"{c.guardrail}:{c.scope}" for c in result.verdict.checks
                                             if c.status == "breached")}))
    elif job == "pandas":
        import numpy as np
        import pandas as pd
        from statsmodels.stats.contingency_tables import mcnemar

        p, c, lab = pd.read_parquet(prod), pd.read_parquet(cand), pd.read_parquet(labels)
        m = p.merge(c, on="request_id", suffixes=("", "_c")).merge(lab, on="request_id", how="left")
        agreement = float((m["prediction"] == m["prediction_c"]).mean())
        np.percentile(m["latency_ms"], 95), np.percentile(m["latency_ms_c"], 95)
        m["error"].mean(), m["error_c"].mean()
        lm = m[m["label"].notna()]
        rp, rc = lm["prediction"] == lm["label"], lm["prediction_c"] == lm["label"]
        table = [[int((rp & rc).sum()), int((rp & ~rc).sum())], [int((~rp & rc).sum()), int((~rp & ~rc).sum())]]
        mcnemar(table, exact=True)
        print(json.dumps({"job": job, "agreement": agreement}))
    else:
        raise SystemExit(f"unknown job {job!r}")


if __name__ == "__main__":
    main()
