"""Point-in-time recomputation written once with narwhals' lazy API, so that it runs where the
data is: a duckdb relation, a Spark DataFrame (or a polars frame, used to cross-check it).

Same semantics and outputs as :mod:`workbench.leakage.recompute` and
:mod:`workbench.leakage.cumulative`, with every as-of lookup written as a window function over
the label rows and the source rows stacked in one frame (neither Spark nor narwhals has an
as-of join):

* a running sum "as of" a label's time is the cumulative sum, over the stacked rows of its
  entity ordered by time, of the source values (label rows add 0). Which side comes first at
  equal times decides ``<`` (labels first) or ``<=`` (sources first);
* the as-of *row* of a label is found by numbering the source rows in that order: the label
  gets the number of source rows before it, and an equi-join on (entity, number) fetches the
  row (a value may be null: it is never forward-filled);
* a forward lookup (the first later row) is a reverse cumulative minimum; label rows carry a
  sentinel above every value, because a cumulative minimum is null on a null row.

Rows have no order on these engines, so a label row is identified by ``ROW``: its entity and
``__wb_rn``, its number among the entity's rows ordered by prediction time and then every declared
feature value (rows equal in all of those are interchangeable). Among source rows tied on every
clock, the largest value wins (nulls lowest): the same rule as the polars path.

Times are integers (microseconds since the Unix epoch) on every engine: ``__wb_pt``, ``__wb_cutoff``,
``__wb_time``, ``__wb_avail``. Lags come back in seconds (float).

Prepared inputs:
  labels: ``__wb_entity, __rn, __wb_pt, __cutoff, __train``
  events: ``__wb_entity, __wb_time, __wb_avail (>= __wb_time), __x``
Outputs: ``__wb_entity, __rn, __pit, __status, __lag_s`` (as-of: also ``__wb_age_s``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import narwhals as nw

from workbench.leakage.recompute import ABS_TOL, REL_TOL
from workbench.leakage.spec import AsOf, PointInTimeRule, Static, WindowAggregate

if TYPE_CHECKING:
    from narwhals.typing import IntoDType

ROW = ["__wb_entity", "__wb_rn"]
# Keeps an intermediate result where the data is, for results read more than once (the engine
# would otherwise compute it again for every read); None computes it again.
Keep = Callable[[nw.LazyFrame], nw.LazyFrame] | None
SENTINEL_US = 2**62  # above every epoch in microseconds: "no later row"
US = 1_000_000


def us(delta: dt.timedelta) -> int:
    """A duration in whole microseconds."""
    return round(delta.total_seconds() * US)


def same_value(a: nw.Expr, b: nw.Expr, *, numeric: bool) -> nw.Expr:
    """Null-safe equality; numbers compare within a relative and absolute tolerance."""
    both_null = a.is_null() & b.is_null()
    close = (a - b).abs() <= ABS_TOL + REL_TOL * b.abs() if numeric else a == b
    return both_null | close.fill_null(False)


def before(col: nw.Expr, rule: PointInTimeRule, cutoff: str = "__wb_cutoff") -> nw.Expr:
    """``col`` is before the cutoff under ``rule`` (``<``, or ``<=`` when inclusive)."""
    return col <= nw.col(cutoff) if rule.inclusive else col < nw.col(cutoff)


def seconds(expr: nw.Expr) -> nw.Expr:
    """Microseconds as float seconds."""
    return expr.cast(nw.Float64) / US


# -- stacking and lookups --------------------------------------------------------------------------

def stack(labels: nw.LazyFrame, events: nw.LazyFrame, dtypes: Mapping[str, IntoDType]) -> nw.LazyFrame:
    """Label rows (``__wb_is_event`` 0) and source rows (1) in one frame with the columns ``dtypes``;
    a column a side lacks is null there."""
    def side(lf: nw.LazyFrame, is_event: int) -> nw.LazyFrame:
        have = set(lf.collect_schema().names())
        return lf.select(*[nw.col(c).cast(t) if c in have else nw.lit(None, t).alias(c) for c, t in dtypes.items()],
                         nw.lit(is_event, nw.Int64).alias("__wb_is_event"))

    return nw.concat([side(labels, 0), side(events, 1)], how="vertical")


def with_order(lf: nw.LazyFrame, name: str, label_key: str, event_key: str, *, events_first: bool) -> nw.LazyFrame:
    """Add ``__wb_k_<name>`` (the label's or the source row's time) and ``__wb_f_<name>`` (which side
    comes first at equal times): the order a lookup reads the stacked rows in."""
    is_event = nw.col("__wb_is_event") == 1
    flag = (1 - nw.col("__wb_is_event")) if events_first else nw.col("__wb_is_event")
    key = nw.when(is_event).then(nw.col(event_key)).otherwise(nw.col(label_key))
    return lf.with_columns(key.alias(f"__wb_k_{name}"), flag.alias(f"__wb_f_{name}"))


def running_sum(value: str, name: str, ties: tuple[str, ...] = ()) -> nw.Expr:
    """Cumulative sum of ``value`` (0 on label rows) in the order :func:`with_order` named ``name``."""
    return nw.col(value).cum_sum().over("__wb_entity", order_by=[f"__wb_k_{name}", f"__wb_f_{name}", *ties])


def backward_row(labels: nw.LazyFrame, rows: nw.LazyFrame, *, label_key: str, row_key: str, strict: bool,
                 ties: tuple[str, ...], take: Mapping[str, str], label_cols: Mapping[str, IntoDType],
                 row_cols: Mapping[str, IntoDType], keep: Keep = None) -> nw.LazyFrame:
    """Attach to each label the columns ``take`` (source name -> new name) of its as-of row: the
    last of ``rows`` of its entity with ``row_key`` ``<`` (``strict``) or ``<=`` its ``label_key``,
    the last in ``ties`` order among equal keys; nulls when there is none."""
    cols: dict[str, IntoDType] = {**label_cols, **{c: t for c, t in row_cols.items() if c not in label_cols}}
    stacked = with_order(stack(labels, rows, cols), "b", label_key, row_key, events_first=not strict)
    numbered = stacked.with_columns(running_sum("__wb_is_event", "b", ties).alias("__wb_k"))
    numbered = keep(numbered) if keep else numbered  # read twice: for the labels and for the rows
    found = numbered.filter(nw.col("__wb_is_event") == 1).select("__wb_entity", "__wb_k",
                                                             *[nw.col(c).alias(n) for c, n in take.items()])
    left = numbered.filter(nw.col("__wb_is_event") == 0).select(*label_cols, "__wb_k")
    return left.join(found, on=["__wb_entity", "__wb_k"], how="left").drop("__wb_k")


def counts_at_cutoff(labels: nw.LazyFrame, events: nw.LazyFrame, rule: PointInTimeRule) -> nw.LazyFrame:
    """``ROW, __T_c, __A_c``: per label, the source rows that happened before its cutoff, and
    those that were also available before it (running counts)."""
    strict = not rule.inclusive
    i64 = nw.Int64
    cols: dict[str, IntoDType] = {"__wb_entity": labels.collect_schema()["__wb_entity"], "__wb_rn": i64,
                                  "__wb_cutoff": i64, "__wb_time": i64, "__wb_avail": i64, "__wb_v": nw.Float64}
    ones = events.select("__wb_entity", "__wb_time", "__wb_avail", nw.lit(1.0).alias("__wb_v"))
    stacked = stack(labels.select(*ROW, "__wb_cutoff", nw.lit(0.0).alias("__wb_v")), ones, cols)
    stacked = with_order(stacked, "tc", "__wb_cutoff", "__wb_time", events_first=not strict)
    stacked = with_order(stacked, "ac", "__wb_cutoff", "__wb_avail", events_first=not strict)
    return (stacked.with_columns(running_sum("__wb_v", "tc").alias("__wb_T_c"), running_sum("__wb_v",
                                                                                            "ac").alias("__wb_A_c"))
            .filter(nw.col("__wb_is_event") == 0).select(*ROW, "__wb_T_c", "__wb_A_c"))


# -- window aggregates -------------------------------------------------------------------------------

def _event_value(decl: WindowAggregate) -> nw.Expr:
    """Per source row: 1 when counted (count), else the value (float, null kept)."""
    if decl.agg == "count":
        return nw.when(~nw.col("__wb_x").is_null()).then(nw.lit(1.0)).otherwise(nw.lit(None, nw.Float64))
    return nw.col("__wb_x").cast(nw.Float64)


def recompute_window(labels: nw.LazyFrame, events: nw.LazyFrame, decl: WindowAggregate, rule: PointInTimeRule,
                     *, cumulative: bool, keep: Keep = None) -> nw.LazyFrame:
    """Per-row classification of a window aggregate; ``cumulative`` (count, or a sum of values
    that are all >= 0) uses running sums instead of joining each label with its entity's rows."""
    base = labels.select(*ROW, "__wb_pt", "__wb_cutoff", nw.col("__wb_train").cast(nw.Float64))
    if decl.window is not None:
        base = base.with_columns((nw.col("__wb_pt") - us(decl.window)).alias("__wb_lo"))
    ev = events.select("__wb_entity", "__wb_time", "__wb_avail", _event_value(decl).alias("__wb_v"))
    if cumulative:
        per_row = _window_cumulative(base, ev, decl, rule, keep or (lambda lf: lf))
    else:
        per_row = _window_joined(base, ev, decl, rule)
    return classify(per_row, numeric=True, rule=rule, future_kind="future_data")


def _window_cumulative(base: nw.LazyFrame, ev: nw.LazyFrame, decl: WindowAggregate, rule: PointInTimeRule,
                       keep: Callable[[nw.LazyFrame], nw.LazyFrame]) -> nw.LazyFrame:
    strict = not rule.inclusive
    i64, f64 = nw.Int64, nw.Float64
    entity_type = base.collect_schema()["__wb_entity"]
    label_cols: dict[str, IntoDType] = {"__wb_entity": entity_type, "__wb_rn": i64, "__wb_pt": i64, "__wb_cutoff": i64,
                                        "__wb_train": f64}
    if decl.window is not None:
        label_cols["__wb_lo"] = i64
    stacked = stack(base, ev, {**label_cols, "__wb_time": i64, "__wb_avail": i64, "__wb_v": f64})
    stacked = stacked.with_columns(nw.col("__wb_v").fill_null(0.0))
    # running sums as of the cutoff by event time (T_c) and by available time (A_c), and as of
    # the window's start by event time (T_lo, always strict)
    stacked = with_order(stacked, "tc", "__wb_cutoff", "__wb_time", events_first=not strict)
    sums = {"__wb_T_c": running_sum("__wb_v", "tc")}
    if rule.use_available_time:
        stacked = with_order(stacked, "ac", "__wb_cutoff", "__wb_avail", events_first=not strict)
        sums["__wb_A_c"] = running_sum("__wb_v", "ac")
    if decl.window is not None:
        stacked = with_order(stacked, "lo", "__wb_lo", "__wb_time", events_first=False)
        sums["__wb_T_lo"] = running_sum("__wb_v", "lo")
    step = (stacked.with_columns(*[e.alias(n) for n, e in sums.items()]).filter(nw.col("__wb_is_event") == 0)
            .select(*label_cols, *sums))
    if decl.window is not None and rule.use_available_time:
        step = step.join(_very_late(base, ev, decl, rule), on=ROW, how="left")
    else:
        step = step.with_columns(nw.lit(0.0).alias("__wb_VL"))
    if decl.window is None:
        step = step.with_columns(nw.lit(0.0).alias("__wb_T_lo"))
    step = step.with_columns(nw.col("__wb_T_c", "__wb_T_lo", "__wb_VL").fill_null(0.0),
                             nw.col("__wb_train").fill_null(0.0))
    by_time = nw.max_horizontal(nw.col("__wb_T_c") - nw.col("__wb_T_lo"), nw.lit(0.0))
    available = nw.col("__wb_A_c").fill_null(0.0) - nw.col("__wb_T_lo") + nw.col("__wb_VL")
    pit = available if rule.use_available_time else by_time
    # the running sums are read three times below (classification, later cutoffs, late lags)
    step = keep(step.with_columns(pit.alias("__wb_pit"), by_time.alias("__wb_by_time")))
    unexplained = ~same_value(nw.col("__wb_train"), nw.col("__wb_pit"), numeric=True)
    if rule.use_available_time:
        unexplained = unexplained & ~same_value(nw.col("__wb_train"), nw.col("__wb_by_time"), numeric=True)
    future = _later_cutoff(step.filter(unexplained), ev, decl, entity_type)
    per_row = step.join(future, on=ROW, how="left")
    if rule.use_available_time:
        per_row = per_row.join(_late_lags(step, ev, decl, rule), on=ROW, how="left")
    else:
        per_row = per_row.with_columns(nw.lit(None, nw.Float64).alias("__wb_late_s"))
    return per_row


def _very_late(base: nw.LazyFrame, ev: nw.LazyFrame, decl: WindowAggregate, rule: PointInTimeRule) -> nw.LazyFrame:
    """Per row: sum over events before the window that were not yet available at the cutoff."""
    assert decl.window is not None
    min_lateness = us(decl.window) - us(rule.embargo)
    late = ev.filter(nw.col("__wb_avail") - nw.col("__wb_time") >= min_lateness)
    return (base.select(*ROW, "__wb_lo", "__wb_cutoff").join(late, on="__wb_entity", how="inner")
            .filter((nw.col("__wb_time") < nw.col("__wb_lo")) & ~before(nw.col("__wb_avail"), rule))
            .group_by(*ROW).agg(nw.col("__wb_v").fill_null(0.0).sum().alias("__wb_VL")))


def _later_cutoff(step: nw.LazyFrame, ev: nw.LazyFrame, decl: WindowAggregate, entity_type: nw.dtypes.DType
                  ) -> nw.LazyFrame:
    """``ROW, __wb_future_t``: the earliest end of a tie group of source times at or after the search
    start whose window sum equals the training value (see :mod:`workbench.leakage.cumulative`)."""
    i64, f64 = nw.Int64, nw.Float64
    # only the entities with a row to explain (few, for an honest feature)
    searched = ev.join(step.select("__wb_entity").unique(), on="__wb_entity", how="semi")
    ends = (searched.group_by("__wb_entity", "__wb_time").agg(nw.col("__wb_v").fill_null(0.0).sum().alias("__wb_s"))
            .with_columns(nw.col("__wb_s").cum_sum().over("__wb_entity", order_by=["__wb_time"]).alias("__wb_cum")))
    start = nw.max_horizontal("__wb_cutoff", "__wb_lo") if decl.window is not None else nw.col("__wb_cutoff")
    rows = step.select(*ROW, start.alias("__wb_start"),
                       (nw.col("__wb_train") + nw.col("__wb_T_lo")).alias("__wb_target"))
    rows = rows.with_columns((nw.col("__wb_target") - ABS_TOL).alias("__wb_target_lo"),
                             nw.lit(SENTINEL_US, i64).alias("__wb_time"), nw.lit(float("inf"), f64).alias("__wb_cum"))
    dtypes: dict[str, IntoDType] = {"__wb_entity": entity_type, "__wb_rn": i64, "__wb_start": i64, "__wb_target": f64,
                                    "__wb_target_lo": f64, "__wb_time": i64, "__wb_cum": f64}
    stacked = stack(rows, ends.select("__wb_entity", "__wb_time", "__wb_cum"), dtypes)
    stacked = with_order(stacked, "b", "__wb_start", "__wb_time", events_first=False)
    stacked = with_order(stacked, "a", "__wb_target_lo", "__wb_cum", events_first=False)
    # forward lookups: the smallest time (and its running sum) among the rows from here on
    nxt = {"b": ["__wb_k_b", "__wb_f_b"], "a": ["__wb_k_a", "__wb_f_a"]}
    found = stacked.with_columns(
        nw.col("__wb_time").cum_min(reverse=True).over("__wb_entity", order_by=nxt["b"]).alias("__wb_t_b"),
        nw.col("__wb_cum").cum_min(reverse=True).over("__wb_entity", order_by=nxt["b"]).alias("__wb_cum_b"),
        nw.col("__wb_time").cum_min(reverse=True).over("__wb_entity", order_by=nxt["a"]).alias("__wb_t_a"),
        nw.col("__wb_cum").cum_min(reverse=True).over("__wb_entity", order_by=nxt["a"]).alias("__wb_cum_a"),
    ).filter(nw.col("__wb_is_event") == 0)
    t_b = nw.when(nw.col("__wb_t_b") < SENTINEL_US).then(nw.col("__wb_t_b"))
    t_a = nw.when(nw.col("__wb_t_a") < SENTINEL_US).then(nw.col("__wb_t_a"))
    hit_b = (nw.col("__wb_t_b") < SENTINEL_US) & same_value(nw.col("__wb_cum_b"), nw.col("__wb_target"), numeric=True)
    hit_a = ((nw.col("__wb_t_a") < SENTINEL_US) & (nw.col("__wb_cum_b") < nw.col("__wb_target"))
             & same_value(nw.col("__wb_cum_a"), nw.col("__wb_target"), numeric=True))
    future = nw.when(hit_b).then(t_b).otherwise(nw.when(hit_a).then(t_a))
    return found.select(*ROW, future.cast(i64).alias("__wb_future_t"))


def _late_lags(step: nw.LazyFrame, ev: nw.LazyFrame, decl: WindowAggregate, rule: PointInTimeRule) -> nw.LazyFrame:
    """``ROW, __wb_late_s``: for rows whose training value is the event-time value but not the
    point-in-time one, the latest availability among their in-window late events."""
    late = step.filter(~same_value(nw.col("__wb_train"), nw.col("__wb_pit"), numeric=True)
                       & same_value(nw.col("__wb_train"), nw.col("__wb_by_time"), numeric=True))
    cond = before(nw.col("__wb_time"), rule) & ~before(nw.col("__wb_avail"), rule)
    if decl.window is not None:
        cond = cond & (nw.col("__wb_time") >= nw.col("__wb_lo"))
    cols = [*ROW, "__wb_pt", "__wb_cutoff"] + (["__wb_lo"] if decl.window is not None else [])
    return (late.select(*cols).join(ev.select("__wb_entity", "__wb_time", "__wb_avail"), on="__wb_entity", how="inner")
            .filter(cond).group_by(*ROW).agg((nw.col("__wb_avail") - nw.col("__wb_pt")).max().alias("__wb_late_us"))
            .select(*ROW, seconds(nw.col("__wb_late_us")).alias("__wb_late_s")))


def _window_joined(base: nw.LazyFrame, ev: nw.LazyFrame, decl: WindowAggregate,
                   rule: PointInTimeRule) -> nw.LazyFrame:
    """Any aggregate, by joining each label row with its entity's source rows in the window."""
    joined = base.join(ev, on="__wb_entity", how="inner")
    if decl.window is not None:
        joined = joined.filter(nw.col("__wb_time") >= nw.col("__wb_lo"))
    by_time = before(nw.col("__wb_time"), rule)
    legal = by_time & before(nw.col("__wb_avail"), rule) if rule.use_available_time else by_time
    x = nw.col("__wb_v")
    masked = joined.with_columns(
        nw.when(legal).then(x).otherwise(nw.lit(None, nw.Float64)).alias("__wb_x_legal"),
        nw.when(by_time).then(x).otherwise(nw.lit(None, nw.Float64)).alias("__wb_x_time"),
        nw.when(by_time & ~before(nw.col("__wb_avail"), rule)).then(nw.col("__wb_avail") - nw.col("__wb_pt"))
        .otherwise(nw.lit(None, nw.Int64)).alias("__wb_late_us"))
    grouped = masked.group_by(*ROW).agg(_aggregate(nw.col("__wb_x_legal"), decl.agg).alias("__wb_pit"),
                                        _aggregate(nw.col("__wb_x_time"), decl.agg).alias("__wb_by_time"),
                                        nw.col("__wb_late_us").max().alias("__wb_late_us"))
    # The running aggregate at the end of each tie group of source times in the window, for the
    # later-cutoff explanation (only tie-group ends at or after the cutoff are candidates).
    groups = joined.group_by(*ROW, "__wb_time").agg(
        x.fill_null(0.0).sum().alias("__wb_s"), x.count().alias("__wb_c"),
        x.max().alias("__wb_mx"), x.min().alias("__wb_mn"))
    def running(expr: nw.Expr, how: str) -> nw.Expr:
        return getattr(expr, how)().over(*ROW, order_by=["__wb_time"])

    if decl.agg in ("sum", "count"):
        cum = running(nw.col("__wb_s"), "cum_sum")
    elif decl.agg == "mean":
        count = running(nw.col("__wb_c"), "cum_sum")
        cum = nw.when(count > 0).then(running(nw.col("__wb_s"), "cum_sum") / count)
    elif decl.agg == "max":
        cum = running(nw.col("__wb_mx").fill_null(float("-inf")), "cum_max")
        cum = nw.when(cum > float("-inf")).then(cum)
    else:
        cum = running(nw.col("__wb_mn").fill_null(float("inf")), "cum_min")
        cum = nw.when(cum < float("inf")).then(cum)
    train_rows = base.select(*ROW, "__wb_cutoff", "__wb_train")
    future = (groups.with_columns(cum.alias("__wb_cum")).join(train_rows, on=ROW, how="inner")
              .filter((nw.col("__wb_time") >= nw.col("__wb_cutoff")) & ~nw.col("__wb_cum").is_null()
                      & same_value(nw.col("__wb_cum"), nw.col("__wb_train"), numeric=True))
              .group_by(*ROW).agg(nw.col("__wb_time").min().alias("__wb_future_t")))
    per_row = (base.select(*ROW, "__wb_pt", "__wb_train").join(grouped, on=ROW, how="left")
               .join(future, on=ROW, how="left")
               .with_columns(seconds(nw.col("__wb_late_us")).alias("__wb_late_s")))
    if decl.agg in ("sum", "count"):
        per_row = per_row.with_columns(nw.col("__wb_train", "__wb_pit", "__wb_by_time").fill_null(0.0))
    return per_row


def _aggregate(x: nw.Expr, agg: str) -> nw.Expr:
    if agg in ("sum", "count"):
        return x.sum()
    return {"mean": x.mean(), "max": x.max(), "min": x.min()}[agg]


# -- as-of snapshots and static attributes ------------------------------------------------------------

def recompute_asof(labels: nw.LazyFrame, snapshots: nw.LazyFrame, decl: AsOf, rule: PointInTimeRule,
                   *, numeric: bool, keep: Keep = None) -> nw.LazyFrame:
    """Per-row classification of an as-of snapshot feature (see ``recompute.recompute_asof``)."""
    strict = not rule.inclusive
    i64 = nw.Int64
    x_type = snapshots.collect_schema()["__wb_x"]
    entity_type = labels.collect_schema()["__wb_entity"]
    base = labels.select(*ROW, "__wb_pt", "__wb_cutoff", nw.col("__wb_train").cast(x_type))
    label_cols: dict[str, IntoDType] = {"__wb_entity": entity_type, "__wb_rn": i64, "__wb_pt": i64, "__wb_cutoff": i64,
                                        "__wb_train": x_type}
    snaps = snapshots.select("__wb_entity", "__wb_time", "__wb_avail", "__wb_x")
    if rule.use_available_time:
        # In write order, a snapshot at least as new as every one written before it is the as-of
        # state from then on: the legal snapshot at a cutoff is the last such one written before it.
        write_order = ["__wb_avail", "__wb_time", "__wb_x"]
        states = (snaps.with_columns(nw.col("__wb_time").cum_max().over("__wb_entity", order_by=write_order)
                                     .alias("__wb_newest"))
                  .filter(nw.col("__wb_time") == nw.col("__wb_newest")).drop("__wb_newest"))
        step = backward_row(base, states, label_key="__wb_cutoff", row_key="__wb_avail", strict=strict,
                            ties=("__wb_time", "__wb_x"), take={"__wb_x": "__wb_pit", "__wb_time": "__wb_pit_t"},
                            label_cols=label_cols, row_cols={"__wb_time": i64, "__wb_avail": i64,
                                                             "__wb_x": x_type}, keep=keep)
    else:
        step = backward_row(base, snaps, label_key="__wb_cutoff", row_key="__wb_time", strict=strict,
                            ties=("__wb_avail", "__wb_x"), take={"__wb_x": "__wb_pit", "__wb_time": "__wb_pit_t"},
                            label_cols=label_cols, row_cols={"__wb_time": i64, "__wb_avail": i64,
                                                             "__wb_x": x_type}, keep=keep)
    by_time = backward_row(base, snaps, label_key="__wb_cutoff", row_key="__wb_time", strict=strict,
                           ties=("__wb_avail", "__wb_x"), take={"__wb_x": "__wb_by_time",
                                                                "__wb_avail": "__wb_bt_avail"},
                           label_cols=label_cols, row_cols={"__wb_time": i64, "__wb_avail": i64,
                                                            "__wb_x": x_type}, keep=keep)
    later = ~before(nw.col("__wb_time"), rule)
    future = (base.filter(~nw.col("__wb_train").is_null()).select(*ROW, "__wb_cutoff",
                                                                  nw.col("__wb_train").alias("__wb_x"))
              .join(snaps.select("__wb_entity", "__wb_x", "__wb_time"), on=["__wb_entity", "__wb_x"], how="inner")
              .filter(later).group_by(*ROW).agg(nw.col("__wb_time").min().alias("__wb_future_t")))
    per_row = (step.join(by_time.select(*ROW, "__wb_by_time", "__wb_bt_avail"), on=ROW, how="left")
               .join(future, on=ROW, how="left")
               .with_columns(seconds(nw.col("__wb_bt_avail") - nw.col("__wb_pt")).alias("__wb_late_s"),
                             seconds(nw.col("__wb_pt") - nw.col("__wb_pit_t")).alias("__wb_age_s")))
    null_ok = None
    if decl.ttl is not None:
        null_ok = nw.col("__wb_age_s").is_null() | (nw.col("__wb_age_s") > decl.ttl.total_seconds())
    return classify(per_row, numeric=numeric, rule=rule, future_kind="non_asof_join", keep=["__wb_age_s"],
                    null_ok=null_ok)


def recompute_static(labels: nw.LazyFrame, attributes: nw.LazyFrame, decl: Static, *,
                     numeric: bool) -> nw.LazyFrame:
    """Compare a static attribute with the source (by entity; of several rows, the largest value)."""
    x_type = attributes.collect_schema()["__wb_x"]
    attrs = attributes.group_by("__wb_entity").agg(nw.col("__wb_x").max().alias("__wb_pit"))
    per_row = (labels.select(*ROW, "__wb_pt", nw.col("__wb_train").cast(x_type)).join(attrs, on="__wb_entity",
                                                                                      how="left")
               .with_columns(nw.col("__wb_pit").alias("__wb_by_time"), nw.lit(None, nw.Float64).alias("__wb_late_s"),
                             nw.lit(None, nw.Int64).alias("__wb_future_t")))
    return classify(per_row, numeric=numeric, rule=None, future_kind="future_data")


# -- classification ---------------------------------------------------------------------------------

def classify(per_row: nw.LazyFrame, *, numeric: bool, rule: PointInTimeRule | None, future_kind: str,
             keep: list[str] | None = None, null_ok: nw.Expr | None = None) -> nw.LazyFrame:
    """``ROW, __pit, __status, __lag_s`` (and ``keep``) from ``__wb_train, __pit, __by_time,
    __wb_late_s, __wb_future_t, __wb_pt``; the statuses of ``recompute.classify``."""
    train, pit = nw.col("__wb_train"), nw.col("__wb_pit")
    differs = ~same_value(train, pit, numeric=numeric)
    if null_ok is not None:
        differs = differs & ~(train.is_null() & null_ok.fill_null(False))
    if rule is not None and rule.use_available_time:
        is_late = differs & same_value(train, nw.col("__wb_by_time"), numeric=numeric)
    else:
        is_late = nw.lit(False)
    is_future = differs & ~is_late & ~nw.col("__wb_future_t").is_null()
    status = (nw.when(~differs).then(nw.lit("ok"))
              .otherwise(nw.when(is_late).then(nw.lit("late_arrival"))
                         .otherwise(nw.when(is_future).then(nw.lit(future_kind))
                                    .otherwise(nw.lit("feature_mismatch")))))
    lag = nw.when(is_late).then(nw.col("__wb_late_s")).otherwise(
        nw.when(is_future).then(seconds(nw.col("__wb_future_t") - nw.col("__wb_pt"))))
    return per_row.select(*ROW, pit.alias("__wb_pit"), status.alias("__wb_status"),
                          lag.cast(nw.Float64).alias("__wb_lag_s"),
                          *(keep or []))
