"""Point-in-time recomputation of declared features and per-row classification.

Every function here takes prepared lazy frames with fixed internal column names and
returns one row per label row with:

* ``__wb_row``    – the label row index;
* ``__wb_pit``    – the point-in-time correct value under the rule;
* ``__wb_status`` – ``ok``, ``future_data``, ``non_asof_join``, ``late_arrival`` or ``feature_mismatch``;
* ``__wb_lag_s``  – for violations, how far past the prediction time the leaking data lies
                 (seconds; for late arrivals: when the late row became available);
* ``__wb_age_s``  – (as-of features) age of the point-in-time snapshot at prediction time.

Prepared inputs:
  labels: ``__wb_row, __entity, __pt (datetime), __cutoff (datetime), __train``
  events/snapshots: ``__wb_entity, __time, __avail (>= __time), __x`` (the source column)
"""

from __future__ import annotations

import polars as pl

from workbench.leakage.asof import asof_lookup
from workbench.leakage.spec import AsOf, PointInTimeRule, Static, WindowAggregate

REL_TOL = 1e-9
ABS_TOL = 1e-9


def same_value(a: pl.Expr, b: pl.Expr, *, numeric: bool) -> pl.Expr:
    """Null-safe equality; numbers compare within a relative and absolute tolerance."""
    both_null = a.is_null() & b.is_null()
    close = (a - b).abs() <= ABS_TOL + REL_TOL * b.abs() if numeric else a == b
    return both_null | (close.fill_null(False))


def before(col: pl.Expr, rule: PointInTimeRule) -> pl.Expr:
    """``col`` is before the cutoff under ``rule`` (``<``, or ``<=`` when inclusive)."""
    cutoff = pl.col("__wb_cutoff")
    return col <= cutoff if rule.inclusive else col < cutoff


def _cumulative(x: pl.Expr, agg: str) -> pl.Expr:
    if agg in ("sum", "count"):
        return x.fill_null(0).cum_sum()
    if agg == "mean":
        return x.fill_null(0).cum_sum() / x.is_not_null().cast(pl.Float64).cum_sum()
    if agg == "max":
        return x.cum_max()
    return x.cum_min()


def _aggregate(x: pl.Expr, agg: str) -> pl.Expr:
    if agg in ("sum", "count"):
        return x.sum()
    return {"mean": x.mean(), "max": x.max(), "min": x.min()}[agg]


def recompute_window(labels: pl.LazyFrame, events: pl.LazyFrame, decl: WindowAggregate,
                     rule: PointInTimeRule) -> pl.LazyFrame:
    """Recompute a window aggregate for every label row and classify the training value.

    Legal events: same entity, ``time >= prediction_time - window`` (when a window is set),
    and legal under ``rule``. ``sum``/``count`` of no events is 0 (a null training value is
    read as 0 for these); ``mean``/``min``/``max`` of no events is null.
    """
    t, avail = pl.col("__wb_time"), pl.col("__wb_avail")
    x = pl.col("__wb_x").cast(pl.Float64)
    if decl.agg == "count":
        x = pl.when(t.is_not_null() & pl.col("__wb_x").is_not_null()).then(pl.lit(1.0))
    joined = labels.join(events, on="__wb_entity", how="inner")
    if decl.window is not None:
        joined = joined.filter(t >= pl.col("__wb_pt") - decl.window)
    by_time = before(t, rule)
    legal = by_time & before(avail, rule) if rule.use_available_time else by_time
    train = pl.col("__wb_train").first()
    ordered_x, ordered_t = x.sort_by(t), t.sort_by(t)
    cumulative = _cumulative(ordered_x, decl.agg)
    # A later cutoff includes every event tied at its time: only test prefixes ending a tie group.
    matches_later = (same_value(cumulative, train, numeric=True) & cumulative.is_not_null()
                     & ordered_t.is_last_distinct()
                     & (ordered_t >= pl.col("__wb_cutoff").first()))
    grouped = joined.group_by("__wb_row").agg(
        _aggregate(x.filter(legal), decl.agg).alias("__wb_pit"),
        _aggregate(x.filter(by_time), decl.agg).alias("__wb_by_time"),
        (avail - pl.col("__wb_pt")).filter(by_time & ~before(avail, rule)).max().alias("__wb_late_lag"),
        ordered_t.filter(matches_later).min().alias("__wb_future_t"),
    )
    # Label rows without any event in the window are kept: their aggregate is empty.
    per_row = labels.select("__wb_row", "__wb_pt", "__wb_train").join(grouped, on="__wb_row", how="left")
    if decl.agg in ("sum", "count"):
        per_row = per_row.with_columns(pl.col("__wb_train", "__wb_pit", "__wb_by_time").fill_null(0.0))
    return classify(per_row, numeric=True, rule=rule, future_kind="future_data")


def recompute_asof(labels: pl.LazyFrame, snapshots: pl.LazyFrame, decl: AsOf, rule: PointInTimeRule,
                   *, numeric: bool) -> pl.LazyFrame:
    """Look up the as-of snapshot for every label row and classify the training value.

    The legal snapshot is the one with the latest ``time`` among snapshots legal under
    ``rule`` (with ``use_available_time``: also written before the cutoff, so a backfill
    written after the prediction is not legal even if its ``time`` is earlier). The
    training value is a ``non_asof_join`` when it equals a snapshot taken at or after the
    cutoff, a ``late_arrival`` when it equals the latest snapshot by ``time`` that was
    written only after the cutoff.
    """
    strict = not rule.inclusive
    # Ties: the latest time wins, then the latest available time, then the largest value (nulls
    # lowest): a rule every engine applies alike, where rows have no order.
    snaps = snapshots.select("__wb_entity", "__wb_time", "__wb_avail", "__wb_x")
    by_time_order = snaps.sort(["__wb_entity", "__wb_time", "__wb_avail", "__wb_x"])
    if rule.use_available_time:
        # In write order, the running latest snapshot time and its value: the legal as-of state.
        # The state's row is forward-filled, not its value: a snapshot may say null.
        written = (snaps.sort(["__wb_entity", "__wb_avail", "__wb_time", "__wb_x"]).with_row_index("__wb_i")
                   .with_columns(pl.col("__wb_time").cum_max().over("__wb_entity").alias("__wb_pit_t"))
                   .with_columns(pl.when(pl.col("__wb_time") == pl.col("__wb_pit_t")).then(pl.col("__wb_i"))
                                 .forward_fill().over("__wb_entity").alias("__wb_pit_i"))
                   .select("__wb_entity", pl.col("__wb_avail").alias("__wb_pit_key"), "__wb_pit_t",
                           pl.col("__wb_x").gather(pl.col("__wb_pit_i")).alias("__wb_pit")))
    else:
        written = by_time_order.select("__wb_entity", pl.col("__wb_time").alias("__wb_pit_key"),
                                       pl.col("__wb_time").alias("__wb_pit_t"), pl.col("__wb_x").alias("__wb_pit"))
    by_time = by_time_order.select("__wb_entity", pl.col("__wb_time").alias("__wb_bt_key"),
                           pl.col("__wb_x").alias("__wb_by_time"), pl.col("__wb_avail").alias("__wb_bt_avail"))
    base = labels.select("__wb_row", "__wb_entity", "__wb_pt", "__wb_cutoff", "__wb_train")
    # Both right sides are sorted by (entity, key) above, ties in the order the rule names.
    step = asof_lookup(base, written, by="__wb_entity", left_on="__wb_cutoff", right_on="__wb_pit_key",
                       strict=strict, presorted=True)
    step = asof_lookup(step, by_time, by="__wb_entity", left_on="__wb_cutoff", right_on="__wb_bt_key",
                       strict=strict, presorted=True)
    later_cond = ~before(pl.col("__wb_time"), rule)
    train_cast = pl.col("__wb_train").cast(snapshots.collect_schema()["__wb_x"], strict=False)
    future = (base.with_columns(train_cast.alias("__wb_x")).drop_nulls("__wb_x")
              .join(snaps.select("__wb_entity", "__wb_x", "__wb_time"), on=["__wb_entity", "__wb_x"], how="inner")
              .filter(later_cond).group_by("__wb_row").agg(pl.col("__wb_time").min().alias("__wb_future_t")))
    per_row = (step.join(future, on="__wb_row", how="left")
               .with_columns((pl.col("__wb_bt_avail") - pl.col("__wb_pt")).alias("__wb_late_lag"),
                             (pl.col("__wb_pt") - pl.col("__wb_pit_t")).dt.total_seconds(fractional=True)
                             .alias("__wb_age_s")))
    # Under a TTL, a missing training value is correct where the as-of snapshot has expired.
    expired = None
    if decl.ttl is not None:
        expired = pl.col("__wb_age_s").is_null() | (pl.col("__wb_age_s") > decl.ttl.total_seconds())
    return classify(per_row, numeric=numeric, rule=rule, future_kind="non_asof_join", keep=["__wb_age_s"],
                     null_ok=expired)


def recompute_static(labels: pl.LazyFrame, attributes: pl.LazyFrame, decl: Static, *,
                     numeric: bool) -> pl.LazyFrame:
    """Compare a static attribute with the source (by entity; of several rows, the largest value);
    differences are mismatches."""
    attrs = attributes.group_by("__wb_entity").agg(pl.col("__wb_x").max().alias("__wb_pit"))
    per_row = (labels.select("__wb_row", "__wb_entity", "__wb_pt", "__wb_train").join(attrs, on="__wb_entity",
                                                                                      how="left")
               .with_columns(pl.col("__wb_pit").alias("__wb_by_time"),
                             pl.when(pl.lit(False)).then(pl.col("__wb_pt") - pl.col("__wb_pt")).alias("__wb_late_lag"),
                             pl.when(pl.lit(False)).then(pl.col("__wb_pt")).alias("__wb_future_t")))
    return classify(per_row, numeric=numeric, rule=None, future_kind="future_data")


def classify(per_row: pl.LazyFrame, *, numeric: bool, rule: PointInTimeRule | None, future_kind: str,
              keep: list[str] | None = None, null_ok: pl.Expr | None = None) -> pl.LazyFrame:
    train, pit = pl.col("__wb_train"), pl.col("__wb_pit")
    differs = ~same_value(train, pit, numeric=numeric)
    if null_ok is not None:
        differs = differs & ~(train.is_null() & null_ok)
    late_possible = rule is not None and rule.use_available_time
    is_late = differs & same_value(train, pl.col("__wb_by_time"), numeric=numeric) if late_possible else pl.lit(False)
    is_future = differs & ~is_late & pl.col("__wb_future_t").is_not_null()
    status = (pl.when(~differs).then(pl.lit("ok"))
              .when(is_late).then(pl.lit("late_arrival"))
              .when(is_future).then(pl.lit(future_kind))
              .otherwise(pl.lit("feature_mismatch")))
    future_lag = pl.col("__wb_future_t") - pl.col("__wb_pt")
    lag = (pl.when(is_late).then(pl.col("__wb_late_lag").dt.total_seconds(fractional=True))
           .when(is_future).then(future_lag.dt.total_seconds(fractional=True)))
    return per_row.select("__wb_row", pit.alias("__wb_pit"), status.alias("__wb_status"), lag.alias("__wb_lag_s"),
                          *(keep or []))
