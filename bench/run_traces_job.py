"""One span-reading job in this process (bench/bench_traces.py runs each in a fresh one):

    python bench/run_traces_job.py {otlp,parquet,floor} DATA_DIR

otlp: ``read_spans(export.jsonl)``; parquet: ``read_spans(spans.parquet)`` (the same spans, flattened);
floor: ``polars.read_parquet(spans.parquet)`` (reading the columns, no checks). Prints one JSON line:
the read time in seconds (after the imports) and the row count.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import polars as pl

from workbench.telemetry import read_spans


def main() -> None:
    job, data = sys.argv[1], Path(sys.argv[2])
    start = time.perf_counter()
    if job == "otlp":
        df = read_spans(data / "export.jsonl")
    elif job == "parquet":
        df = read_spans(data / "spans.parquet")
    else:
        df = pl.read_parquet(data / "spans.parquet")
    print(json.dumps({"read_s": round(time.perf_counter() - start, 3), "rows": df.height}))


if __name__ == "__main__":
    main()
