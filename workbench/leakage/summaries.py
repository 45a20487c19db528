"""Small summaries of the per-row results, computed on their engine: per feature the rows of each
status with their lag quantiles, lag histograms and example rows (and the stale rows of a
feature with a TTL), per feature timestamp the rows at or after the cutoff, per source the
lateness profile. Only these small tables come back from the engine; the findings are built from
them (:mod:`.checks`)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import narwhals as nw
import polars as pl

from workbench.engine.frames import Engine, collect_on, count
from workbench.engine.ranks import order_statistics
from workbench.leakage.inputs import CHECK_NAME
from workbench.leakage.portable import seconds
from workbench.leakage.spec import VIOLATION_KINDS

# Lag / lateness histogram edges in seconds; labels say the bin in words.
LAG_EDGES = (0.0, 60.0, 3600.0, 6 * 3600.0, 86400.0, 7 * 86400.0, 30 * 86400.0, 90 * 86400.0,
             365 * 86400.0, math.inf)
LAG_LABELS = ("<1m", "1m-1h", "1h-6h", "6h-1d", "1d-7d", "7d-30d", "30d-90d", "90d-1y", ">1y")
QUANTILES = (0.5, 0.9, 0.99)


@dataclass(frozen=True)
class Rows:
    """Label rows of one kind (a violation kind of a feature, or its stale rows): how many, the
    quantiles (p50/p90/p99/max, seconds) of their lag (or, for stale rows, their snapshot's age), the
    lag histogram (:func:`histogram_of`; None for stale rows), the first ``max_examples`` rows by
    prediction time (:func:`examples_of`) and the first and last prediction time among them."""

    rows: int
    seconds: dict[str, float | None]
    histogram: pl.DataFrame | None
    examples: pl.DataFrame
    first: dt.datetime | None = None
    last: dt.datetime | None = None


@dataclass(frozen=True)
class FeatureSummary:
    """One declared feature: its rows per status (``ok`` and each violation kind), the rows of each
    violation kind found (in :data:`VIOLATION_KINDS` order), and with a TTL (``ttl_seconds``) the
    rows whose set training value comes from a snapshot older than it (None when there is none)."""

    feature: str
    declaration: str
    statuses: dict[str, int]
    violations: dict[str, Rows]
    ttl_seconds: float | None = None
    stale: Rows | None = None


@dataclass(frozen=True)
class TimestampSummary:
    """A feature timestamp column: the rows where it is not before the cutoff, and their lags."""

    feature: str
    column: str
    rows: int
    seconds: dict[str, float | None] | None
    histogram: pl.DataFrame | None


@dataclass(frozen=True)
class LatenessSummary:
    """A source with an available time: its events, those arriving after their time (``late``),
    the lateness quantiles (seconds) and histogram; the (label row, event) pairs with the event
    before the cutoff (``happened``) and those of them not yet available at it (``unavailable``)."""

    source: str
    events: int
    late: int
    seconds: dict[str, float | None]
    histogram: pl.DataFrame
    happened: int
    unavailable: int


def feature_summary(per_row: nw.LazyFrame, engine: Engine, *, feature: str, declaration: str,
                    ttl_seconds: float | None, time_zone: str | None, max_examples: int,
                    name: str = "training") -> FeatureSummary:
    """Summarize one feature's per-row classification (:meth:`~.per_row.PerRow.feature`) on its engine."""
    per_kind = per_row.group_by("__wb_status").agg(nw.len().alias("__wb_rows"),
                                                   nw.col("__wb_lag_s").count().alias("__wb_lags"))
    stats = collect_on(per_kind, engine, name, check=CHECK_NAME)
    statuses = dict(zip(stats["__wb_status"].to_list(), stats["__wb_rows"].to_list(), strict=True))
    lag_counts = dict(zip(stats["__wb_status"].to_list(), stats["__wb_lags"].to_list(), strict=True))
    violations = {}
    for kind in VIOLATION_KINDS:
        k = int(statuses.get(kind, 0))
        if k == 0:
            continue
        rows = per_row.filter(nw.col("__wb_status") == kind)
        q = quantiles_of(rows, engine, "__wb_lag_s", n=int(lag_counts[kind]), name=name)
        shown = examples_of(rows, engine, max_examples, time_zone, name)
        violations[kind] = Rows(k, q, histogram_of(rows, engine, "__wb_lag_s", name=name), shown)
    stale = None if ttl_seconds is None else _stale_rows(per_row, engine, ttl_seconds, time_zone=time_zone,
                                                         max_examples=max_examples, name=name)
    return FeatureSummary(feature, declaration, {k: int(v) for k, v in statuses.items()}, violations,
                          ttl_seconds, stale)


def _stale_rows(per_row: nw.LazyFrame, engine: Engine, ttl_s: float, *, time_zone: str | None,
                max_examples: int, name: str) -> Rows | None:
    """The label rows whose point-in-time snapshot (``__wb_age_s`` seconds old) is older than the TTL
    (``ttl_s`` seconds) while the training value (``__wb_value``) is set; None when there is none."""
    stale = per_row.filter((nw.col("__wb_age_s") > ttl_s) & ~nw.col("__wb_value").is_null())
    found = collect_on(stale.select(nw.len().alias("__wb_k"), nw.col("__wb_pt").min().alias("__wb_first"),
                                    nw.col("__wb_pt").max().alias("__wb_last")),
                       engine, name, check=CHECK_NAME).row(0, named=True)
    k = int(found["__wb_k"])
    if k == 0:
        return None
    q = quantiles_of(stale, engine, "__wb_age_s", n=k, name=name)
    first, last = pl.select(epoch_to_datetime(pl.lit(found["__wb_first"], pl.Int64), time_zone).alias("a"),
                            epoch_to_datetime(pl.lit(found["__wb_last"], pl.Int64), time_zone).alias("b")).row(0)
    shown = examples_of(stale, engine, max_examples, time_zone, name, age=True)
    return Rows(k, q, None, shown, first, last)


def timestamp_summary(labels: nw.LazyFrame, engine: Engine, *, index: int, feature: str, column: str,
                      strict: bool, name: str = "training") -> TimestampSummary:
    """The label rows whose feature timestamp (``__wb_ts<index>``) is at or after the cutoff
    (``strict``) or after it, with their lags (timestamp - cutoff, seconds)."""
    lags = labels.select(seconds(nw.col(f"__wb_ts{index}") - nw.col("__wb_cutoff")).alias("__wb_lag_s"))
    lag = nw.col("__wb_lag_s")
    leaking = lags.filter(lag >= 0 if strict else lag > 0)
    k = int(collect_on(leaking.select(nw.len().alias("__wb_k")), engine, name, check=CHECK_NAME).item())
    if k == 0:
        return TimestampSummary(feature, column, 0, None, None)
    q = quantiles_of(leaking, engine, "__wb_lag_s", n=k, name=name)
    return TimestampSummary(feature, column, k, q, histogram_of(leaking, engine, "__wb_lag_s", name=name))


def lateness_summary(source: str, engine: Engine, lateness: nw.LazyFrame, happened: int, unavailable: int
                     ) -> LatenessSummary:
    """The lateness profile of a source from ``lateness`` (``__wb_late_s`` = available - event time
    per event, seconds) and the pair counts of :meth:`~.per_row.PerRow.lateness`."""
    name = f"source {source!r}"
    late = nw.col("__wb_late_s")
    totals = collect_on(lateness.select(late.count().alias("__wb_n"), count(late > 0).alias("__wb_late")),
                        engine, name, check=CHECK_NAME).row(0, named=True)
    n = int(totals["__wb_n"])
    q = quantiles_of(lateness, engine, "__wb_late_s", n=n, name=name)
    hist = histogram_of(lateness, engine, "__wb_late_s", name=name)
    return LatenessSummary(source, n, int(totals["__wb_late"] or 0), q, hist, happened, unavailable)


# -- building blocks ------------------------------------------------------------------------------

def quantiles_of(lf: nw.LazyFrame, engine: Engine, column: str, *, n: int, name: str, check: str = CHECK_NAME
                 ) -> dict[str, float | None]:
    """p50/p90/p99 (linearly interpolated) and the max of ``column`` (``n`` non-null values; all
    None when 0), computed on its engine from the order statistics around them."""
    if n == 0:
        return {"p50": None, "p90": None, "p99": None, "max": None}
    spots = {q: q * (n - 1) for q in QUANTILES}
    ranks = sorted({r for h in spots.values() for r in (math.floor(h) + 1, math.ceil(h) + 1)} | {n})
    values = dict(zip(ranks, order_statistics(lf, engine, column, ranks, name=name, check=check, n=n), strict=True))
    out: dict[str, float | None] = {}
    for q, h in spots.items():
        lo, hi = values[math.floor(h) + 1], values[math.ceil(h) + 1]
        out[f"p{int(q * 100)}"] = float(lo + (h - math.floor(h)) * (hi - lo))
    out["max"] = float(values[n])
    return out


def histogram_of(lf: nw.LazyFrame, engine: Engine, column: str, *, name: str, check: str = CHECK_NAME
                 ) -> pl.DataFrame:
    """Counts of ``column`` (seconds; below 0 counted as 0) in the fixed lag bins, one row per bin,
    counted on its engine."""
    v = nw.col(column)
    index = nw.lit(len(LAG_LABELS) - 1, nw.Int64)
    for i in range(len(LAG_EDGES) - 2, 0, -1):  # the first interior edge above the value
        index = nw.when(v < LAG_EDGES[i]).then(nw.lit(i - 1, nw.Int64)).otherwise(index)
    counts = collect_on(lf.filter(~v.is_null()).group_by(index.alias("__wb_bin")).agg(nw.len().alias("__wb_rows")),
                        engine, name, check=check)
    found = dict(zip(counts["__wb_bin"].to_list(), counts["__wb_rows"].to_list(), strict=True))
    return pl.DataFrame({
        "bin": list(LAG_LABELS),
        "lo_hours": [e / 3600 for e in LAG_EDGES[:-1]],
        "hi_hours": [e / 3600 if math.isfinite(e) else None for e in LAG_EDGES[1:]],
        "rows": [int(found.get(i, 0)) for i in range(len(LAG_LABELS))],
    }, schema={"bin": pl.String, "lo_hours": pl.Float64, "hi_hours": pl.Float64, "rows": pl.Int64})


def examples_of(rows: nw.LazyFrame, engine: Engine, limit: int, time_zone: str | None, name: str, *,
                age: bool = False) -> pl.DataFrame:
    """The first ``limit`` rows by prediction time, entity and training value (the same rows on
    every engine), for display; ``age_hours`` is the snapshot's age (from ``__wb_age_s``) with
    ``age``, else null."""
    extra = ["__wb_age_s"] if age else []
    picked = collect_on(rows.sort("__wb_pt", "__wb_entity", "__wb_value", nulls_last=False).head(limit)
                        .select("__wb_entity", "__wb_pt", "__wb_value", "__wb_pit", "__wb_lag_s", *extra, "__wb_row"),
                        engine, name, check=CHECK_NAME, counts=False)
    return picked.select(
        pl.col("__wb_entity").alias("entity"), epoch_to_datetime(pl.col("__wb_pt"), time_zone).alias("prediction_time"),
        _as_text(pl.col("__wb_value"), picked.schema["__wb_value"]).alias("training_value"),
        _as_text(pl.col("__wb_pit"), picked.schema["__wb_pit"]).alias("point_in_time_value"),
        (pl.col("__wb_lag_s") / 3600).alias("lag_hours"),
        ((pl.col("__wb_age_s") / 3600) if age else pl.lit(None, pl.Float64)).alias("age_hours"),
        pl.col("__wb_row").cast(pl.Int64).alias("row"))


def epoch_to_datetime(us: pl.Expr, time_zone: str | None) -> pl.Expr:
    """Microseconds since the epoch as a datetime in ``time_zone`` (naive when None)."""
    out = pl.from_epoch(us, time_unit="us")
    return out.dt.replace_time_zone("UTC").dt.convert_time_zone(time_zone) if time_zone else out


def _as_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Values as text for display; floats rounded to 9 decimals so sums read as 1214.79, not 1214.7900000000002."""
    return (expr.round(9) if dtype.is_float() else expr).cast(pl.String)
