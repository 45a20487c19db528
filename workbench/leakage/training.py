"""Summaries of the training table itself, computed on its engine: the label counts per value of
every column (target proxy), the entities and prediction-time ranges of the split's sides, and
the duplicate rows and keys. Only these small tables come back; the statistics and findings are
computed from them (:mod:`.statistics`, :mod:`.checks`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import narwhals as nw
import numpy as np
import polars as pl

from workbench.engine.frames import Engine, Frame, collect_on, count
from workbench.engine.ranks import order_statistics
from workbench.leakage.inputs import CHECK_NAME, distinct_values

_NESTED = (pl.List, pl.Struct, pl.Array)
PROXY_MAX_GROUPS = 100_000  # numbers with more distinct values are counted per quantile bin


# -- target proxy ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ColumnCounts:
    """The label counts of one candidate column.

    ``counts``: ``score, pos, neg, value`` by increasing score (:func:`proxy_counts`), None for a
    column scored only by its presence (``presence_only``: dates, times, identifier-like text);
    ``null_pos`` / ``null_neg``: the positives and negatives among its missing rows; ``numeric``: a
    number (its values are ordered); ``exact``: one group per value (not quantile bins)."""

    feature: str
    counts: pl.DataFrame | None
    null_pos: int
    null_neg: int
    numeric: bool
    exact: bool

    @property
    def presence_only(self) -> bool:
        return self.counts is None


@dataclass(frozen=True)
class ProxySummary:
    """The label's positives and negatives, and the counts of every candidate column."""

    positives: int
    negatives: int
    columns: tuple[ColumnCounts, ...]


def proxy_summary(frame: Frame, y: nw.Expr, keys: set[str | None]) -> ProxySummary:
    """The per-value label counts of every column but ``keys`` (and nested ones), ``y`` being the label
    as 1 (positive) / 0 / null.

    Numbers and categories are counted per value; date, time and identifier-like text columns only
    by their presence (null or not). A NaN is missing like a null: left out of a number's counts
    and counted among its missing rows.
    """
    presence_types = (pl.Datetime, pl.Duration)
    candidates = [(col, dtype) for col, dtype in frame.schema.items()
                  if not (col in keys or col in frame.unsupported or isinstance(dtype, _NESTED))]
    lf = frame.lf.select(*[missing_as_null(c, dtype) for c, dtype in candidates], y.alias("__wb_y"))
    is_pos, is_neg = nw.col("__wb_y") == 1, nw.col("__wb_y") == 0
    # label totals, and distinct values (null counted as one), nulls and nulls per class of every column, in one pass
    stats = collect_on(lf.select(
        count(is_pos).alias("__wb_P"), count(is_neg).alias("__wb_N"),
        *[nw.col(c).n_unique().alias(f"__wb_d{i}") for i, (c, _) in enumerate(candidates)],
        *[count(nw.col(c).is_null()).alias(f"__wb_z{i}") for i, (c, _) in enumerate(candidates)],
        *[count(nw.col(c).is_null() & is_pos).alias(f"__wb_zp{i}") for i, (c, _) in enumerate(candidates)],
        *[count(nw.col(c).is_null() & is_neg).alias(f"__wb_zn{i}") for i, (c, _) in enumerate(candidates)]),
        frame.engine, "training", check=CHECK_NAME).row(0, named=True)
    total_pos, total_neg = int(stats["__wb_P"] or 0), int(stats["__wb_N"] or 0)
    columns = []
    for i, (col, dtype) in enumerate(candidates):
        distinct = int(stats[f"__wb_d{i}"])
        null_pos, null_neg = int(stats[f"__wb_zp{i}"] or 0), int(stats[f"__wb_zn{i}"] or 0)
        numeric = dtype.is_numeric() or dtype == pl.Boolean
        if (isinstance(dtype, presence_types) or dtype in (pl.Date, pl.Time)
                or (not numeric and distinct > max(0.5 * (total_pos + total_neg), 50))):
            columns.append(ColumnCounts(col, None, null_pos, null_neg, numeric, exact=False))
            continue
        distinct -= int(bool(stats[f"__wb_z{i}"]))  # the numbers' distinct values: nulls are left out
        counts = proxy_counts(lf, col, "__wb_y", dtype, engine=frame.engine, distinct=distinct)
        if numeric:  # numbers leave their nulls out of the counts: they are weighed as presence
            columns.append(ColumnCounts(col, counts, null_pos, null_neg, True, exact=distinct <= PROXY_MAX_GROUPS))
        else:  # a category's nulls are a value of its counts
            columns.append(ColumnCounts(col, counts, 0, 0, False, exact=True))
    return ProxySummary(total_pos, total_neg, tuple(columns))


def missing_as_null(column: str, dtype: pl.DataType) -> nw.Expr:
    """``column`` with NaN as null (floats): NaN and null are both missing in this project."""
    value = nw.col(column)
    return nw.when(~value.is_nan()).then(value).alias(column) if dtype.is_float() else value


def proxy_counts(training: pl.LazyFrame | nw.LazyFrame, feature: str, target: str, dtype: pl.DataType,
                 max_groups: int = PROXY_MAX_GROUPS, *, engine: Engine = "polars", name: str = "training",
                 distinct: int | None = None) -> pl.DataFrame:
    """Positive/negative label counts per feature value: the summary the AUC is computed from,
    counted on the input's engine.

    Returns ``score, pos, neg, value`` ordered by score (``value``: the feature value; null for
    a null category and for the bins of a binned number). Numeric features with more than
    ``max_groups`` distinct values are counted per quantile bin (1,000 bins, edges at the
    nearest-rank quantiles; ties within a bin count one half, so the AUC is then a slight
    underestimate); rows with a missing number (null or NaN) are left out. Categorical values (null included,
    as its own value) are scored by their smoothed positive rate (prior weight 10 rows).
    ``distinct``: the number of distinct non-null values, when already known (saves a pass).
    """
    lf = training if isinstance(training, nw.LazyFrame) else nw.from_native(training)
    y = nw.col(target).cast(nw.Int64)
    value = nw.col(feature)
    numeric = dtype.is_numeric() or dtype == pl.Boolean
    binned = False  # numbers with more than max_groups distinct values are counted per bin
    if numeric:  # numbers are their own score; missing ones (null, NaN) are left out
        lf = lf.with_columns(missing_as_null(feature, dtype))
        lf = lf.filter(~value.is_null())
        value = value.cast(nw.Float64)
        if distinct is None:
            distinct = int(collect_on(lf.select(value.n_unique().alias("__wb_d")), engine, name,
                                      check=CHECK_NAME).item())
        binned = distinct > max_groups
        if binned:
            n = int(collect_on(lf.select(nw.len().alias("__wb_n")), engine, name, check=CHECK_NAME).item())
            ranks = sorted({round(p * (n - 1)) + 1 for p in np.linspace(0, 1, 1001)[1:-1]})
            edges = order_statistics(lf.select(value.alias("__wb_v")), engine, "__wb_v", ranks, name=name,
                                     check=CHECK_NAME, n=n)
            value = _bisect_right(value, np.unique(edges[~np.isnan(edges)]).tolist(), 0, None).cast(nw.Float64)
    counts = collect_on(lf.group_by(value.alias("__wb_v")).agg(y.sum().alias("__wb_pos"),
                                                               (1 - y).sum().alias("__wb_neg")),
                        engine, name, check=CHECK_NAME).rename({"__wb_v": "v", "__wb_pos": "pos", "__wb_neg": "neg"})
    counts = counts.with_columns(pl.col("pos", "neg").fill_null(0).cast(pl.Int64))
    if numeric:
        shown = pl.lit(None) if binned else (pl.col("v") == 1) if dtype == pl.Boolean else pl.col("v")
        return counts.select(pl.col("v").cast(pl.Float64).alias("score"), "pos", "neg", shown.alias("value")) \
            .sort("score")
    total_pos, total_neg = int(counts["pos"].sum()), int(counts["neg"].sum())  # Int64 columns: int sums
    prior = total_pos / max(total_pos + total_neg, 1)
    rate = (pl.col("pos") + 10 * prior) / (pl.col("pos") + pl.col("neg") + 10)
    return counts.with_columns(rate.alias("score")).sort("score", "v", nulls_last=False) \
        .select("score", "pos", "neg", pl.col("v").alias("value"))


def _bisect_right(v: nw.Expr, cuts: list[float], lo: int, hi: int | None) -> nw.Expr:
    """The number of ``cuts`` (sorted) at or below ``v``, as a balanced tree of comparisons."""
    hi = len(cuts) if hi is None else hi
    if lo >= hi:
        return nw.lit(lo, nw.Int64)
    mid = (lo + hi) // 2
    return nw.when(v < cuts[mid]).then(_bisect_right(v, cuts, lo, mid)).otherwise(_bisect_right(v, cuts, mid + 1, hi))


# -- split contamination ------------------------------------------------------------------------------

@dataclass(frozen=True)
class SplitSummary:
    """The split's two sides: ``counts`` (entities, rows and how much of each side the other covers,
    see :func:`split_summary`), or None when a side has no rows, with some of the split's values
    (``seen``)."""

    counts: dict[str, Any] | None
    seen: list[Any]


def split_summary(labels: nw.LazyFrame, frame: Frame, split: str, train: str, test: str, tz: str | None
                  ) -> SplitSummary:
    """Entities and prediction-time ranges of the two sides, and how much of each the other covers."""
    engine = frame.engine
    sides = labels.select("__wb_entity", "__wb_pt", "__wb_split")
    tr = sides.filter(nw.col("__wb_split") == train)
    te = sides.filter(nw.col("__wb_split") == test)

    def summary(lf: nw.LazyFrame, label: str) -> nw.LazyFrame:
        return lf.select(nw.lit(label).alias("__wb_side"), nw.col("__wb_pt").min().alias("__wb_lo"),
                         nw.col("__wb_pt").max().alias("__wb_hi"), nw.len().cast(nw.Int64).alias("__wb_rows"),
                         nw.col("__wb_entity").n_unique().cast(nw.Int64).alias("__wb_entities"))

    ranges = collect_on(nw.concat([summary(tr, "train"), summary(te, "test")], how="vertical"), engine, "training",
                        check=CHECK_NAME)
    r = {row["__wb_side"]: row for row in ranges.to_dicts()}
    if not r["train"]["__wb_rows"] or not r["test"]["__wb_rows"]:
        return SplitSummary(None, distinct_values(frame, split))
    shared = te.join(tr.select("__wb_entity").unique(), on="__wb_entity", how="semi")
    start, end = max(r["train"]["__wb_lo"], r["test"]["__wb_lo"]), min(r["train"]["__wb_hi"], r["test"]["__wb_hi"])
    overlap = start <= end
    in_range = (nw.col("__wb_pt") >= start) & (nw.col("__wb_pt") <= end)
    inside = count(in_range).cast(nw.Int64) if overlap else nw.lit(0, nw.Int64)
    counts = collect_on(nw.concat([
        shared.select(nw.lit("shared").alias("__wb_what"),
                      nw.col("__wb_entity").n_unique().cast(nw.Int64).alias("__wb_e"),
                      nw.len().cast(nw.Int64).alias("__wb_n")),
        *[lf.select(nw.lit(what).alias("__wb_what"), nw.lit(0, nw.Int64).alias("__wb_e"), inside.alias("__wb_n"))
          for what, lf in (("test", te), ("train", tr))],
    ], how="vertical"), engine, "training", check=CHECK_NAME)
    c = {row["__wb_what"]: row for row in counts.to_dicts()}
    start_time, end_time = (_as_time(start, tz), _as_time(end, tz)) if overlap else (None, None)
    return SplitSummary({
        "train_entities": int(r["train"]["__wb_entities"]), "test_entities": int(r["test"]["__wb_entities"]),
        "shared_entities": int(c["shared"]["__wb_e"] or 0), "test_rows_shared": int(c["shared"]["__wb_n"] or 0),
        "test_rows": int(r["test"]["__wb_rows"]), "train_rows": int(r["train"]["__wb_rows"]),
        "overlap_start": start_time, "overlap_end": end_time,
        "test_rows_in_overlap": int(c["test"]["__wb_n"] or 0), "train_rows_in_overlap": int(c["train"]["__wb_n"] or 0),
    }, [])


def _as_time(us: int, tz: str | None) -> dt.datetime:
    """Microseconds since the epoch as a datetime in ``tz`` (naive when None)."""
    value = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(us))
    return value.astimezone(ZoneInfo(tz)) if tz else value.replace(tzinfo=None)


# -- duplicates -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DuplicateCounts:
    """Exact duplicate rows and repeated keys, see :func:`duplicate_counts`."""

    exact_extra: int
    cross_split: int
    key_extra: int
    left_out: tuple[str, ...]


def duplicate_counts(frame: Frame, entity: str, prediction_time: str, split: str | None, *, train_value: str,
                     test_value: str) -> DuplicateCounts:
    """Exact duplicate rows (all columns but the split) and repeated (entity, prediction time) keys.

    ``exact_extra``: of each group of identical rows, the copies beyond the first; ``cross_split``:
    those of them whose group has a row in ``train_value`` and one in ``test_value`` (the split read
    as text), each counted once; ``key_extra``: the rows repeating a key beyond the exact
    duplicates (an exact duplicate repeats its key too); ``left_out``: the nested columns left out
    of the row comparison.
    """
    content = [c for c in frame.schema if c != split and c not in frame.unsupported]
    side = nw.col(split).cast(nw.String) if split else None
    groups = frame.lf.group_by(*content).agg(
        nw.len().alias("__wb_copies"),
        *([count(side == train_value).alias("__wb_train"), count(side == test_value).alias("__wb_test")]
          if side is not None else [nw.lit(0, nw.Int64).alias("__wb_train"), nw.lit(0, nw.Int64).alias("__wb_test")]))
    spans = (nw.col("__wb_train") > 0) & (nw.col("__wb_test") > 0)
    exact = groups.select((nw.col("__wb_copies") - 1).sum().alias("__wb_extra"),
                          nw.when(spans).then(nw.col("__wb_copies") - 1).otherwise(0).sum().alias("__wb_cross"))
    keys = frame.lf.group_by(entity, prediction_time).agg(nw.len().alias("__wb_c")).select((nw.col("__wb_c") - 1).sum()
                                                                                      .alias("__wb_extra"))
    exact_row = collect_on(exact, frame.engine, "training", check=CHECK_NAME).row(0, named=True)
    key_extra = int(collect_on(keys, frame.engine, "training", check=CHECK_NAME).item() or 0)
    exact_extra = int(exact_row["__wb_extra"] or 0)
    return DuplicateCounts(exact_extra, int(exact_row["__wb_cross"] or 0), key_extra - exact_extra,
                           tuple(sorted(frame.unsupported)))
