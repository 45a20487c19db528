"""The one place that knows engines (polars, duckdb, Spark).

Checks reach their data through this package only: :func:`open_frame` is the input boundary (paths,
globs, partition folders with evolving schemas, polars / pandas / arrow frames, duckdb relations,
Spark DataFrames), :class:`Frame` the frame protocol over narwhals' lazy API, :func:`collect` runs a
summary where the data is and returns a small polars frame. Exact order statistics live in
:mod:`.ranks`, one row per key (retries resolved by a stated order) in :mod:`.keys`, fingerprints
in :mod:`.fingerprints`, SQL text in :mod:`.sql`; each backend's own needs in a private module
(``_polars``, ``_duckdb``, ``_spark``). Nothing here imports a check.
"""

from workbench.engine.fingerprints import summarize_input
from workbench.engine.frames import (
    Engine,
    Frame,
    collect,
    collect_on,
    count,
    engine_of,
    epoch_us,
    frame_summary,
    open_frame,
    polars_frame,
    read_once,
    refuse_nested,
    same_connection,
    with_epoch,
    with_window,
)
from workbench.engine.inputs import FrameLike, require_columns, schema_of, to_lazy
from workbench.engine.keys import KeyCounts, OrderKey, first_per_key
from workbench.engine.partitions import partition_files, scan_partitions, schema_history

__all__ = ["Engine", "Frame", "FrameLike", "KeyCounts", "OrderKey", "collect", "collect_on", "count", "engine_of",
           "epoch_us", "first_per_key", "frame_summary", "open_frame", "partition_files", "polars_frame", "read_once",
           "refuse_nested", "require_columns", "same_connection", "scan_partitions", "schema_history", "schema_of",
           "summarize_input", "to_lazy", "with_epoch", "with_window"]
