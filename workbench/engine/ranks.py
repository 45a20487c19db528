"""Exact order statistics of one column on its engine: only the values at the wanted ranks
come back, never the column.

- polars sorts the column and gathers the ranks;
- duckdb asks ``quantile_disc`` (one sort for every rank) at probabilities that land on them;
- Spark cannot sort a column cheaply in one place, and its exact percentiles keep every distinct
  value of a partition in memory, so it ranks in three passes: approximate quantiles split the
  values into ``SPARK_BINS`` bins of about equal counts; a count per bin (with its min and max)
  tells which bin holds each wanted rank and its rank within the bin; then only those bins are
  ranked, each on its own, by a window function. A bin of one repeated value needs no ranking.

Nulls are left out; NaN ranks above every number, as on all three engines.

:func:`lower_quantiles` gives polars' ``lower`` quantiles (NaN left out too) of several columns on any
engine: polars computes them itself; elsewhere a frame of at most ``local_rows`` rows comes to polars,
a larger one is ranked where it is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import narwhals as nw
import numpy as np
import polars as pl

from workbench.engine.frames import Engine, collect_on, count
from workbench.engine.reserved import PREFIX

SPARK_BINS = 256  # bins of the Spark ranking pass: each holds about 1/256 of the values
ROWS = f"{PREFIX}rows"  # the row count beside the columns' value counts (lower_quantiles)
SPARK_ACCURACY = 10_000  # percentile_approx's accuracy for the bin edges (relative rank error 1e-4)


def order_statistics(lf: nw.LazyFrame, engine: Engine, column: str, ranks: Sequence[int], *, name: str,
                     check: str, n: int | None = None) -> np.ndarray:
    """Values (float64) of ``column`` at the 1-based ``ranks`` among its non-null values, in the
    order given. ``ranks`` must lie in ``[1, n]`` (``n``: the non-null count; pass it when known,
    duckdb then skips counting). ``name`` and ``check`` name the input and the check in errors."""
    if not ranks:
        return np.empty(0)
    if engine == "polars":
        out = lf.to_native().select(pl.col(column).drop_nulls().sort().gather([r - 1 for r in ranks])).collect()
        return out[column].cast(pl.Float64).to_numpy()
    valid = lf.select(nw.col(column).cast(nw.Float64).alias("v")).filter(~nw.col("v").is_null())
    if engine == "duckdb":
        if n is None:
            n = int(collect_on(valid.select(nw.len().alias("n")), engine, name, check=check).item())
        # the SQL standard's discrete quantile is the value at 0-based rank ceil(p·n) − 1: p = (r − ½) / n
        probs = ", ".join(repr((r - 0.5) / n) for r in ranks)
        rel = valid.to_native().aggregate(f"quantile_disc(v, [{probs}]) AS q")
        return np.asarray(_run(lambda: rel.fetchall()[0][0], engine, name, check), dtype=float)
    return _spark_order_statistics(valid.to_native(), ranks, name=name, check=check)


def polars_lower_quantiles(lf: pl.LazyFrame, columns: Sequence[str], probs: Sequence[float]) -> pl.LazyFrame:
    """One row: per column, the list of its ``lower`` quantiles at ``probs`` (NaN left out; polars' own)."""
    return lf.select(pl.col(c).cast(pl.Float64).fill_nan(None).quantile(list(probs), "lower").alias(c)
                     for c in columns)


def lower_quantiles(lf: nw.LazyFrame, engine: Engine, columns: Sequence[str], probs: Sequence[float], *,
                    name: str, check: str, local_rows: int) -> pl.DataFrame:
    """One row: per column, the list of polars' ``lower`` quantiles at ``probs`` of its non-null, non-NaN
    values (the value at 0-based rank floor(p·(n − 1))), or nulls when it has none; exact on every engine.
    A duckdb or Spark frame of at most ``local_rows`` rows comes to polars (one pass, every column at once);
    a larger one stays where it is (:func:`order_statistics` per column)."""
    if engine == "polars":
        return collect_on(nw.from_native(polars_lower_quantiles(lf.to_native(), columns, probs)), engine, name,
                          check=check, counts=False)
    valid = {c: nw.when(~nw.col(c).cast(nw.Float64).is_nan()).then(nw.col(c).cast(nw.Float64)) for c in columns}
    sizes = collect_on(lf.select(nw.len().alias(ROWS), *(count(~v.is_null()).alias(c) for c, v in valid.items())),
                       engine, name, check=check).row(0, named=True)
    if int(sizes[ROWS]) <= local_rows:
        rows = collect_on(lf.select(list(columns)), engine, name, check=check, counts=False)
        return polars_lower_quantiles(rows.lazy(), columns, probs).collect()
    out = {}
    for c, v in valid.items():
        n = int(sizes[c] or 0)
        ranks = [math.floor(p * (n - 1)) + 1 for p in probs] if n else []
        values = order_statistics(lf.select(v.alias(c)), engine, c, ranks, name=name, check=check, n=n)
        out[c] = [[float(x) for x in values] if n else [None] * len(probs)]
    return pl.DataFrame(out, schema={c: pl.List(pl.Float64) for c in columns})


def _spark_order_statistics(sdf: Any, ranks: Sequence[int], *, name: str, check: str) -> np.ndarray:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    levels = [k / SPARK_BINS for k in range(1, SPARK_BINS)]
    approx = sdf.where(~F.isnan("v")).select(F.percentile_approx("v", levels, SPARK_ACCURACY).alias("e"))
    edges = sorted(set(_run(lambda: approx.first()["e"], "spark", name, check) or []))
    binned = sdf.withColumn("bin", _bisect_left(F.col("v"), edges, 0, len(edges)))
    per_bin = _run(lambda: binned.groupBy("bin").agg(F.count("*").alias("n"), F.min("v").alias("lo"),
                                                     F.max("v").alias("hi")).orderBy("bin").collect(),
                   "spark", name, check)
    bins = np.array([r["bin"] for r in per_bin], dtype=np.int64)
    cum = np.cumsum([r["n"] for r in per_bin])
    lo = np.array([r["lo"] for r in per_bin], dtype=float)
    hi = np.array([r["hi"] for r in per_bin], dtype=float)
    at = np.searchsorted(cum, np.asarray(ranks), side="left")  # the bin holding each rank
    within = np.asarray(ranks) - np.concatenate([[0], cum])[at]  # its 1-based rank inside the bin
    values = np.full(len(ranks), np.nan)
    tied = (lo[at] == hi[at]) | (np.isnan(lo[at]) & np.isnan(hi[at]))
    values[tied] = lo[at][tied]  # a bin of one repeated value: nothing to rank
    wanted = sorted({(int(bins[b]), int(w)) for b, w, t in zip(at, within, tied, strict=True) if not t})
    if wanted:
        spark = sdf.sparkSession
        targets = F.broadcast(spark.createDataFrame(wanted, "bin INT, rank INT"))
        ranked = binned.where(F.col("bin").isin(sorted({b for b, _ in wanted}))).withColumn(
            "rank", F.row_number().over(Window.partitionBy("bin").orderBy(F.col("v").asc())))
        rows = _run(lambda: ranked.join(targets, on=["bin", "rank"]).select("bin", "rank", "v").collect(),
                    "spark", name, check)
        found = {(r["bin"], r["rank"]): r["v"] for r in rows}
        for i, (b, w, t) in enumerate(zip(at, within, tied, strict=True)):
            if not t:
                values[i] = found[(int(bins[b]), int(w))]
    return values


def _bisect_left(v: Any, edges: list[float], lo: int, hi: int) -> Any:
    """Spark expression of the number of ``edges`` below ``v`` (a binary search of depth
    log2(len(edges)), so each row makes ~8 comparisons, not 255). NaN falls in the last bin."""
    from pyspark.sql import functions as F

    if lo >= hi:
        return F.lit(lo)
    mid = (lo + hi) // 2
    return F.when(v <= F.lit(edges[mid]), _bisect_left(v, edges, lo, mid)).otherwise(
        _bisect_left(v, edges, mid + 1, hi))


def _run(thunk: Any, engine: str, name: str, check: str) -> Any:
    """Run an engine action, reporting its failure as an InputError naming the input."""
    from workbench.engine._spark import error_line
    from workbench.errors import InputError

    try:
        return thunk()
    except Exception as exc:  # each engine raises its own error types
        raise InputError(f"{name}: {check} could not compute its order statistics on {engine}: "
                         f"{error_line(exc)}") from None
