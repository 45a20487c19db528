"""Window sums and counts from cumulative sums and as-of lookups, without a labels × events join.

Same results as :func:`workbench.leakage.recompute.recompute_window` for ``sum`` (of
non-negative values) and ``count``, in O((labels + events) log) time. With ``c`` the cutoff,
``lo = prediction_time - window`` and prefix sums looked up as of a time:

* ``A(c)``  sum over events available before ``c`` (those also happened before ``c``);
* ``T(c)``  sum over events that happened before ``c``; ``T(lo)`` those before the window;
* ``VL``    sum over events before the window that became available only at/after ``c``
            (lateness longer than the window; found by a join restricted to such events).

Then ``pit = A(c) - T(lo) + VL`` (``T(c) - T(lo)`` when available times are ignored) and the
time-only value is ``max(T(c) - T(lo), 0)``. A later cutoff ``T*`` explains the training
value ``v`` when ``T_incl(T*) = v + T(lo)`` (all events tied at ``T*`` included); prefix sums
never decrease, so the earliest such ``T* >= c`` is found with two forward as-of lookups.
The lag of late arrivals is computed only for the rows classified late.
"""

from __future__ import annotations

import polars as pl

from workbench.leakage.asof import Engine, asof_lookup
from workbench.leakage.recompute import _classify, same_value
from workbench.leakage.spec import PointInTimeRule, WindowAggregate

ABS_TOL = 1e-9


def supports(decl: WindowAggregate, events: pl.LazyFrame) -> bool:
    """True when the cumulative method applies: count, or sum of values that are all >= 0."""
    if decl.agg == "count":
        return True
    if decl.agg != "sum":
        return False
    lowest = events.select(pl.col("__x").min()).collect().item()
    return lowest is None or lowest >= 0


def recompute_window_cumulative(labels: pl.LazyFrame, events: pl.LazyFrame, decl: WindowAggregate,
                                rule: PointInTimeRule, *, engine: Engine = "polars") -> pl.LazyFrame:
    """Per-row classification of a window sum/count; see the module docstring for the method."""
    x = pl.lit(1.0) if decl.agg == "count" else pl.col("__x").cast(pl.Float64)
    ev = (events.filter(pl.col("__x").is_not_null()) if decl.agg == "count" else events) \
        .select("__entity", "__time", "__avail", x.fill_null(0.0).alias("__v"))
    strict = not rule.inclusive
    base = labels.select("__row", "__entity", "__pt", "__cutoff", "__train")
    if decl.window is not None:
        base = base.with_columns((pl.col("__pt") - decl.window).alias("__lo"))

    by_time = ev.sort(["__entity", "__time"], maintain_order=True).select(
        "__entity", "__time", pl.col("__v").cum_sum().over("__entity").alias("__cum"))
    step = asof_lookup(base, by_time.select("__entity", pl.col("__time").alias("__k_tc"),
                                            pl.col("__cum").alias("__T_c")),
                       by="__entity", left_on="__cutoff", right_on="__k_tc", strict=strict, engine=engine)
    if rule.use_available_time:
        by_avail = ev.sort(["__entity", "__avail"], maintain_order=True).select(
            "__entity", pl.col("__avail").alias("__k_ac"), pl.col("__v").cum_sum().over("__entity").alias("__A_c"))
        step = asof_lookup(step, by_avail, by="__entity", left_on="__cutoff", right_on="__k_ac", strict=strict,
                           engine=engine)
    if decl.window is not None:
        step = asof_lookup(step, by_time.select("__entity", pl.col("__time").alias("__k_lo"),
                                                pl.col("__cum").alias("__T_lo")),
                           by="__entity", left_on="__lo", right_on="__k_lo", strict=True, engine=engine)
        very_late = _very_late(base, ev, decl, rule)
        step = step.join(very_late, on="__row", how="left")
    else:
        step = step.with_columns(pl.lit(0.0).alias("__T_lo"), pl.lit(0.0).alias("__VL"))
    step = step.with_columns(pl.col("__T_c", "__T_lo", "__VL").fill_null(0.0))
    if rule.use_available_time:
        step = step.with_columns(pl.col("__A_c").fill_null(0.0))
        pit = pl.col("__A_c") - pl.col("__T_lo") + pl.col("__VL")
    else:
        pit = pl.max_horizontal(pl.col("__T_c") - pl.col("__T_lo"), 0.0)
    step = step.with_columns(pit.alias("__pit"),
                             pl.max_horizontal(pl.col("__T_c") - pl.col("__T_lo"), 0.0).alias("__by_time"),
                             pl.col("__train").fill_null(0.0))
    step = _later_cutoff(step, by_time, engine)
    per_row = step.with_columns(pl.lit(None, pl.Duration("us")).alias("__late_lag"))
    classified = _classify(per_row, numeric=True, rule=rule, future_kind="future_data").collect()
    return _late_lags(classified, base, ev, decl, rule).lazy()


def _very_late(base: pl.LazyFrame, ev: pl.LazyFrame, decl: WindowAggregate, rule: PointInTimeRule) -> pl.LazyFrame:
    """Per row: sum over events before the window that were not yet available at the cutoff."""
    assert decl.window is not None
    min_lateness = decl.window - rule.embargo
    late = ev.filter(pl.col("__avail") - pl.col("__time") >= min_lateness)
    unavailable = pl.col("__avail") >= pl.col("__cutoff") if not rule.inclusive else \
        pl.col("__avail") > pl.col("__cutoff")
    return (base.select("__row", "__entity", "__lo", "__cutoff").join(late, on="__entity", how="inner")
            .filter((pl.col("__time") < pl.col("__lo")) & unavailable)
            .group_by("__row").agg(pl.col("__v").sum().alias("__VL")))


def _later_cutoff(step: pl.LazyFrame, by_time: pl.LazyFrame, engine: Engine) -> pl.LazyFrame:
    """Attach ``__future_t``: the earliest tie-group end time >= cutoff whose window sum equals the training value."""
    last_of_tie = (pl.col("__time") != pl.col("__time").shift(-1).over("__entity")).fill_null(True)
    ends = (by_time.filter(last_of_tie)
            .select("__entity", "__time", "__cum"))
    # First tie-group end at or after the cutoff (forward: negate times to reuse the backward lookup).
    first_after = ends.select("__entity", (-pl.col("__time").dt.epoch("us")).alias("__k_b"),
                              pl.col("__time").alias("__t_b"), pl.col("__cum").alias("__cum_b"))
    start = pl.max_horizontal("__cutoff", "__lo") if "__lo" in step.collect_schema() else pl.col("__cutoff")
    step = step.with_columns((-start.dt.epoch("us")).alias("__neg_c"),
                             (pl.col("__train") + pl.col("__T_lo")).alias("__target"))
    step = asof_lookup(step, first_after, by="__entity", left_on="__neg_c", right_on="__k_b", strict=False,
                       engine=engine)
    # First tie-group end whose cumulative sum reaches the target (first of equal sums).
    firsts = ends.unique(["__entity", "__cum"], keep="first", maintain_order=True)
    reach = firsts.select("__entity", (-pl.col("__cum")).alias("__k_a"), pl.col("__time").alias("__t_a"),
                          pl.col("__cum").alias("__cum_a"))
    step = step.with_columns((-(pl.col("__target") - ABS_TOL)).alias("__neg_target"))
    step = asof_lookup(step, reach, by="__entity", left_on="__neg_target", right_on="__k_a", strict=False,
                       engine=engine)
    hit_b = same_value(pl.col("__cum_b"), pl.col("__target"), numeric=True)
    hit_a = (pl.col("__cum_b") < pl.col("__target")) & same_value(pl.col("__cum_a"), pl.col("__target"), numeric=True)
    future = pl.when(hit_b).then(pl.col("__t_b")).when(hit_a).then(pl.col("__t_a"))
    return step.with_columns(future.alias("__future_t"))


def _late_lags(classified: pl.DataFrame, base: pl.LazyFrame, ev: pl.LazyFrame, decl: WindowAggregate,
               rule: PointInTimeRule) -> pl.DataFrame:
    """Fill ``__lag_s`` of late rows: latest availability among their in-window late events."""
    late_rows = classified.filter(pl.col("__status") == "late_arrival").select("__row")
    if late_rows.height == 0:
        return classified
    before_t = pl.col("__time") <= pl.col("__cutoff") if rule.inclusive else pl.col("__time") < pl.col("__cutoff")
    unavailable = pl.col("__avail") > pl.col("__cutoff") if rule.inclusive else \
        pl.col("__avail") >= pl.col("__cutoff")
    rows = base.join(late_rows.lazy(), on="__row", how="semi")
    cond = before_t & unavailable
    if decl.window is not None:
        cond = cond & (pl.col("__time") >= pl.col("__pt") - decl.window)
    lags = (rows.join(ev, on="__entity", how="inner").filter(cond).group_by("__row")
            .agg((pl.col("__avail") - pl.col("__pt")).max().dt.total_seconds(fractional=True).alias("__late_s"))
            .collect())
    return (classified.join(lags, on="__row", how="left")
            .with_columns(pl.coalesce("__late_s", "__lag_s").alias("__lag_s")).drop("__late_s"))
