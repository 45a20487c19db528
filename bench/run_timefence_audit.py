"""Timefence (PyPI ``timefence``) auditing the benchmark training set; runs in its own virtualenv.

python bench/run_timefence_audit.py DATA_DIR   (with the timefence venv's python)
Timefence rebuilds a feature from a feature table (entity, feature_time, value) with an as-of
join and compares. What it can express here: the all-history spend features (a running sum
keyed by ingestion time) and the as-of balance (keyed by write time). A window relative to the
prediction time (txn_count_7d) cannot be written as such a table, so it is not audited.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import timefence as tf

RUNNING_SUM = ("SELECT customer_id, ingested_at AS feature_time, SUM(amount) OVER (PARTITION BY customer_id "
               "ORDER BY ingested_at RANGE UNBOUNDED PRECEDING) AS {name} FROM {{source}}")


def main() -> None:
    data = Path(sys.argv[1])
    events = tf.Source(path=data / "events.parquet", keys="customer_id", timestamp="ingested_at", name="events")
    snaps = tf.Source(path=data / "snapshots.parquet", keys="customer_id", timestamp="written_at", name="snapshots")
    features = [tf.Feature(events, sql=RUNNING_SUM.format(name=n), name=n) for n in ("spend_to_date", "total_spend")]
    features.append(tf.Feature(snaps, columns=["balance"], name="balance"))
    t0 = time.perf_counter()
    report = tf.audit(str(data / "training.parquet"), features=features, keys="customer_id",
                      label_time="prediction_time")
    wall = time.perf_counter() - t0
    found = {name: d.leaky_row_count for name, d in report.features.items() if not d.clean}
    print(json.dumps({"tool": "timefence", "engine": "duckdb", "features": [f.name for f in features],
                      "wall_s": round(wall, 2),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                      "found": found}))


if __name__ == "__main__":
    main()
