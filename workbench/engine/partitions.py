"""Partitioned datasets: parquet files under a folder or a glob, read as one frame even when their
schemas evolve (columns added, dropped, retyped or renamed between partitions), and the history of
those schema changes."""

from __future__ import annotations

import difflib
import glob
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from workbench.engine.inputs import schema_of, to_lazy
from workbench.errors import ConfigError, InputError


def one_schema(files: list[str], name: str) -> bool:
    """Whether every file has the first one's schema."""
    first = schema_of(pl.scan_parquet(files[0]), name=name)
    return all(schema_of(pl.scan_parquet(f), name=name) == first for f in files[1:])


def partition_files(path: str | Path) -> list[str]:
    """Parquet files under a directory (recursively, sorted) or matching a glob."""
    text = str(path)
    if Path(text).is_dir():
        return sorted(str(p) for p in Path(text).rglob("*.parquet"))
    if any(ch in text for ch in "*?["):
        return sorted(glob.glob(text, recursive=True))
    return [text]


def scan_partitions(path: str | Path, *, name: str) -> pl.LazyFrame:
    """The parquet files under ``path`` as one lazy frame: one scan when their schemas agree, else
    aligned by column name (missing columns null, types relaxed), a renamed column continuing
    under its new name."""
    files = partition_files(path)
    if len(files) == 1 and not Path(str(path)).is_dir():
        return to_lazy(str(path), name=name)
    if not files:
        raise InputError(f"{name}: no parquet file found under {str(path)!r}.")
    if not all(f.endswith((".parquet", ".pq")) for f in files):
        return to_lazy(str(path), name=name)
    scans = [pl.scan_parquet(f, hive_partitioning=True) for f in files]
    schemas = [schema_of(s, name=f"{name} ({f})") for s, f in zip(scans, files, strict=True)]
    if all(s == schemas[0] for s in schemas):
        return pl.scan_parquet(files, hive_partitioning=True)
    lf = pl.concat(scans, how="diagonal_relaxed")
    # a column renamed between partitions continues under its new name
    history = schema_history(path)
    for row in history.filter(pl.col("change") == "renamed").iter_rows(named=True):
        old, new = row["previous"], row["column"]
        lf_schema = lf.collect_schema()
        if old in lf_schema and new in lf_schema:
            lf = lf.with_columns(pl.coalesce(pl.col(new), pl.col(old)).alias(new)).drop(old)
    return lf


def hive_columns(path: str | Path) -> list[str]:
    """Partition keys encoded in the paths (``key=value`` folders) of a partitioned dataset."""
    keys: list[str] = []
    for f in partition_files(path):
        for part in Path(f).parent.parts:
            key, sep, _ = part.partition("=")
            if sep and key and key not in keys:
                keys.append(key)
    return keys


def name_similarity(a: str, b: str) -> float:
    """Similarity of two column names in [0, 1] (difflib ratio on lower-cased names with
    separators removed)."""
    def norm(s: str) -> str:
        return s.lower().replace("_", "").replace("-", "").replace(" ", "")

    return difflib.SequenceMatcher(None, norm(a), norm(b)).ratio()


def schema_history(path: str | Path) -> pl.DataFrame:
    """Schema changes across time-partitioned parquet files, in path order.

    ``path`` is a directory (searched recursively) or a glob. Each file's schema and per-column
    null counts are read; every change from one file to the next is a row
    ``(partition, column, change, reference_dtype, current_dtype, detail)`` where
    ``reference_dtype`` is the type in the previous file. Renames are proposed when a column
    disappears as another appears with the same type in the same file and a similar name.
    """
    if not isinstance(path, str | Path):
        raise ConfigError(f"The 'path' parameter of schema_history must be a directory or a glob of parquet files "
                          f"(a str or Path). Got {path!r}.")
    files = partition_files(path)
    if not files:
        raise InputError(f"no parquet files under {str(path)!r}.")
    rows: list[dict] = []
    prev_schema: pl.Schema | None = None
    prev_nulls: dict[str, int] = {}
    for f in files:
        try:
            lf = pl.scan_parquet(f, hive_partitioning=False)
            schema = lf.collect_schema()
            nulls = lf.select(pl.all().null_count()).collect().row(0, named=True) if schema else {}
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise InputError(f"could not read the partition {f!r}: {exc}") from exc
        if prev_schema is not None:
            rows += _partition_changes(f, prev_schema, schema, prev_nulls, nulls)
        prev_schema, prev_nulls = schema, nulls
    return pl.DataFrame([{**r, "previous": r.get("previous")} for r in rows],
                        schema={"partition": pl.String, "column": pl.String, "change": pl.String,
                                "reference_dtype": pl.String, "current_dtype": pl.String,
                                "detail": pl.String, "previous": pl.String})


def _partition_changes(f: str, old: pl.Schema, new: pl.Schema, old_nulls: Mapping[str, int],
                       new_nulls: Mapping[str, int]) -> list[dict]:
    rows: list[dict[str, str | None]] = []
    gone = [c for c in old if c not in new]
    came = [c for c in new if c not in old]
    renamed = set()
    for g in gone:
        best = max(came, key=lambda c: name_similarity(g, c), default=None)
        if best is not None and best not in renamed and old[g] == new[best] and name_similarity(g, best) >= 0.5:
            renamed.add(best)
            rows.append({"partition": f, "column": best, "change": "renamed", "reference_dtype": str(old[g]),
                         "current_dtype": str(new[best]), "detail": f"likely renamed from {g!r}", "previous": g})
        else:
            rows.append({"partition": f, "column": g, "change": "dropped", "reference_dtype": str(old[g]),
                         "current_dtype": None, "detail": "column no longer present"})
    for c in came:
        if c not in renamed:
            rows.append({"partition": f, "column": c, "change": "added", "reference_dtype": None,
                         "current_dtype": str(new[c]), "detail": "new column"})
    for c in new:
        if c in old and old[c] != new[c]:
            rows.append({"partition": f, "column": c, "change": "type_changed", "reference_dtype": str(old[c]),
                         "current_dtype": str(new[c]), "detail": f"{old[c]} → {new[c]}"})
        elif c in old and old_nulls.get(c, 0) == 0 and new_nulls.get(c, 0) > 0:
            rows.append({"partition": f, "column": c, "change": "nullability_changed",
                         "reference_dtype": str(old[c]), "current_dtype": str(new[c]),
                         "detail": f"had no nulls, now {new_nulls[c]:,}"})
    return rows
