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
``__rn``, its number among the entity's rows ordered by prediction time and then every declared
feature value (rows equal in all of those are interchangeable). Among source rows tied on every
clock, the largest value wins (nulls lowest): the same rule as the polars path.

Times are integers (microseconds since the Unix epoch) on every engine: ``__pt``, ``__cutoff``,
``__time``, ``__avail``. Lags come back in seconds (float).

Prepared inputs:
  labels: ``__entity, __rn, __pt, __cutoff, __train``
  events: ``__entity, __time, __avail (>= __time), __x``
Outputs: ``__entity, __rn, __pit, __status, __lag_s`` (as-of: also ``__age_s``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import narwhals as nw

from workbench.leakage.recompute import ABS_TOL, REL_TOL
from workbench.leakage.spec import AsOf, PointInTimeRule, Static, WindowAggregate

ROW = ["__entity", "__rn"]
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


def before(col: nw.Expr, rule: PointInTimeRule, cutoff: str = "__cutoff") -> nw.Expr:
    """``col`` is before the cutoff under ``rule`` (``<``, or ``<=`` when inclusive)."""
    return col <= nw.col(cutoff) if rule.inclusive else col < nw.col(cutoff)


def seconds(expr: nw.Expr) -> nw.Expr:
    """Microseconds as float seconds."""
    return expr.cast(nw.Float64) / US


# -- stacking and lookups --------------------------------------------------------------------------

def stack(labels: nw.LazyFrame, events: nw.LazyFrame, dtypes: dict[str, nw.dtypes.DType]) -> nw.LazyFrame:
    """Label rows (``__is_event`` 0) and source rows (1) in one frame with the columns ``dtypes``;
    a column a side lacks is null there."""
    def side(lf: nw.LazyFrame, is_event: int) -> nw.LazyFrame:
        have = set(lf.collect_schema().names())
        return lf.select(*[nw.col(c).cast(t) if c in have else nw.lit(None, t).alias(c) for c, t in dtypes.items()],
                         nw.lit(is_event, nw.Int64).alias("__is_event"))

    return nw.concat([side(labels, 0), side(events, 1)], how="vertical")


def with_order(lf: nw.LazyFrame, name: str, label_key: str, event_key: str, *, events_first: bool) -> nw.LazyFrame:
    """Add ``__k_<name>`` (the label's or the source row's time) and ``__f_<name>`` (which side
    comes first at equal times): the order a lookup reads the stacked rows in."""
    is_event = nw.col("__is_event") == 1
    flag = (1 - nw.col("__is_event")) if events_first else nw.col("__is_event")
    return lf.with_columns(nw.when(is_event).then(nw.col(event_key)).otherwise(nw.col(label_key)).alias(f"__k_{name}"),
                           flag.alias(f"__f_{name}"))


def running_sum(value: str, name: str, ties: tuple[str, ...] = ()) -> nw.Expr:
    """Cumulative sum of ``value`` (0 on label rows) in the order :func:`with_order` named ``name``."""
    return nw.col(value).cum_sum().over("__entity", order_by=[f"__k_{name}", f"__f_{name}", *ties])


def backward_row(labels: nw.LazyFrame, rows: nw.LazyFrame, *, label_key: str, row_key: str, strict: bool,
                 ties: tuple[str, ...], take: dict[str, str], label_cols: dict[str, nw.dtypes.DType],
                 row_cols: dict[str, nw.dtypes.DType], keep: Keep = None) -> nw.LazyFrame:
    """Attach to each label the columns ``take`` (source name -> new name) of its as-of row: the
    last of ``rows`` of its entity with ``row_key`` ``<`` (``strict``) or ``<=`` its ``label_key``,
    the last in ``ties`` order among equal keys; nulls when there is none."""
    cols = {**label_cols, **{c: t for c, t in row_cols.items() if c not in label_cols}}
    stacked = with_order(stack(labels, rows, cols), "b", label_key, row_key, events_first=not strict)
    numbered = stacked.with_columns(running_sum("__is_event", "b", ties).alias("__k"))
    numbered = keep(numbered) if keep else numbered  # read twice: for the labels and for the rows
    found = numbered.filter(nw.col("__is_event") == 1).select("__entity", "__k",
                                                             *[nw.col(c).alias(n) for c, n in take.items()])
    left = numbered.filter(nw.col("__is_event") == 0).select(*label_cols, "__k")
    return left.join(found, on=["__entity", "__k"], how="left").drop("__k")


def counts_at_cutoff(labels: nw.LazyFrame, events: nw.LazyFrame, rule: PointInTimeRule) -> nw.LazyFrame:
    """``ROW, __T_c, __A_c``: per label, the source rows that happened before its cutoff, and
    those that were also available before it (running counts)."""
    strict = not rule.inclusive
    i64 = nw.Int64
    cols = {"__entity": labels.collect_schema()["__entity"], "__rn": i64, "__cutoff": i64, "__time": i64,
            "__avail": i64, "__v": nw.Float64}
    ones = events.select("__entity", "__time", "__avail", nw.lit(1.0).alias("__v"))
    stacked = stack(labels.select(*ROW, "__cutoff", nw.lit(0.0).alias("__v")), ones, cols)
    stacked = with_order(stacked, "tc", "__cutoff", "__time", events_first=not strict)
    stacked = with_order(stacked, "ac", "__cutoff", "__avail", events_first=not strict)
    return (stacked.with_columns(running_sum("__v", "tc").alias("__T_c"), running_sum("__v", "ac").alias("__A_c"))
            .filter(nw.col("__is_event") == 0).select(*ROW, "__T_c", "__A_c"))


# -- window aggregates -------------------------------------------------------------------------------

def _event_value(decl: WindowAggregate) -> nw.Expr:
    """Per source row: 1 when counted (count), else the value (float, null kept)."""
    if decl.agg == "count":
        return nw.when(~nw.col("__x").is_null()).then(nw.lit(1.0)).otherwise(nw.lit(None, nw.Float64))
    return nw.col("__x").cast(nw.Float64)


def recompute_window(labels: nw.LazyFrame, events: nw.LazyFrame, decl: WindowAggregate, rule: PointInTimeRule,
                     *, cumulative: bool, keep: Keep = None) -> nw.LazyFrame:
    """Per-row classification of a window aggregate; ``cumulative`` (count, or a sum of values
    that are all >= 0) uses running sums instead of joining each label with its entity's rows."""
    base = labels.select(*ROW, "__pt", "__cutoff", nw.col("__train").cast(nw.Float64))
    if decl.window is not None:
        base = base.with_columns((nw.col("__pt") - us(decl.window)).alias("__lo"))
    ev = events.select("__entity", "__time", "__avail", _event_value(decl).alias("__v"))
    if cumulative:
        per_row = _window_cumulative(base, ev, decl, rule, keep or (lambda lf: lf))
    else:
        per_row = _window_joined(base, ev, decl, rule)
    return classify(per_row, numeric=True, rule=rule, future_kind="future_data")


def _window_cumulative(base: nw.LazyFrame, ev: nw.LazyFrame, decl: WindowAggregate, rule: PointInTimeRule,
                       keep: Callable[[nw.LazyFrame], nw.LazyFrame]) -> nw.LazyFrame:
    strict = not rule.inclusive
    i64, f64 = nw.Int64, nw.Float64
    entity_type = base.collect_schema()["__entity"]
    label_cols = {"__entity": entity_type, "__rn": i64, "__pt": i64, "__cutoff": i64, "__train": f64}
    if decl.window is not None:
        label_cols["__lo"] = i64
    stacked = stack(base, ev, {**label_cols, "__time": i64, "__avail": i64, "__v": f64})
    stacked = stacked.with_columns(nw.col("__v").fill_null(0.0))
    # running sums as of the cutoff by event time (T_c) and by available time (A_c), and as of
    # the window's start by event time (T_lo, always strict)
    stacked = with_order(stacked, "tc", "__cutoff", "__time", events_first=not strict)
    sums = {"__T_c": running_sum("__v", "tc")}
    if rule.use_available_time:
        stacked = with_order(stacked, "ac", "__cutoff", "__avail", events_first=not strict)
        sums["__A_c"] = running_sum("__v", "ac")
    if decl.window is not None:
        stacked = with_order(stacked, "lo", "__lo", "__time", events_first=False)
        sums["__T_lo"] = running_sum("__v", "lo")
    step = (stacked.with_columns(*[e.alias(n) for n, e in sums.items()]).filter(nw.col("__is_event") == 0)
            .select(*label_cols, *sums))
    if decl.window is not None and rule.use_available_time:
        step = step.join(_very_late(base, ev, decl, rule), on=ROW, how="left")
    else:
        step = step.with_columns(nw.lit(0.0).alias("__VL"))
    if decl.window is None:
        step = step.with_columns(nw.lit(0.0).alias("__T_lo"))
    step = step.with_columns(nw.col("__T_c", "__T_lo", "__VL").fill_null(0.0), nw.col("__train").fill_null(0.0))
    by_time = nw.max_horizontal(nw.col("__T_c") - nw.col("__T_lo"), nw.lit(0.0))
    available = nw.col("__A_c").fill_null(0.0) - nw.col("__T_lo") + nw.col("__VL")
    pit = available if rule.use_available_time else by_time
    # the running sums are read three times below (classification, later cutoffs, late lags)
    step = keep(step.with_columns(pit.alias("__pit"), by_time.alias("__by_time")))
    unexplained = ~same_value(nw.col("__train"), nw.col("__pit"), numeric=True)
    if rule.use_available_time:
        unexplained = unexplained & ~same_value(nw.col("__train"), nw.col("__by_time"), numeric=True)
    future = _later_cutoff(step.filter(unexplained), ev, decl, entity_type)
    per_row = step.join(future, on=ROW, how="left")
    if rule.use_available_time:
        per_row = per_row.join(_late_lags(step, ev, decl, rule), on=ROW, how="left")
    else:
        per_row = per_row.with_columns(nw.lit(None, nw.Float64).alias("__late_s"))
    return per_row


def _very_late(base: nw.LazyFrame, ev: nw.LazyFrame, decl: WindowAggregate, rule: PointInTimeRule) -> nw.LazyFrame:
    """Per row: sum over events before the window that were not yet available at the cutoff."""
    assert decl.window is not None
    min_lateness = us(decl.window) - us(rule.embargo)
    late = ev.filter(nw.col("__avail") - nw.col("__time") >= min_lateness)
    return (base.select(*ROW, "__lo", "__cutoff").join(late, on="__entity", how="inner")
            .filter((nw.col("__time") < nw.col("__lo")) & ~before(nw.col("__avail"), rule))
            .group_by(*ROW).agg(nw.col("__v").fill_null(0.0).sum().alias("__VL")))


def _later_cutoff(step: nw.LazyFrame, ev: nw.LazyFrame, decl: WindowAggregate, entity_type: nw.dtypes.DType
                  ) -> nw.LazyFrame:
    """``ROW, __future_t``: the earliest end of a tie group of source times at or after the search
    start whose window sum equals the training value (see :mod:`workbench.leakage.cumulative`)."""
    i64, f64 = nw.Int64, nw.Float64
    # only the entities with a row to explain (few, for an honest feature)
    searched = ev.join(step.select("__entity").unique(), on="__entity", how="semi")
    ends = (searched.group_by("__entity", "__time").agg(nw.col("__v").fill_null(0.0).sum().alias("__s"))
            .with_columns(nw.col("__s").cum_sum().over("__entity", order_by=["__time"]).alias("__cum")))
    start = nw.max_horizontal("__cutoff", "__lo") if decl.window is not None else nw.col("__cutoff")
    rows = step.select(*ROW, start.alias("__start"), (nw.col("__train") + nw.col("__T_lo")).alias("__target"))
    rows = rows.with_columns((nw.col("__target") - ABS_TOL).alias("__target_lo"),
                             nw.lit(SENTINEL_US, i64).alias("__time"), nw.lit(float("inf"), f64).alias("__cum"))
    dtypes = {"__entity": entity_type, "__rn": i64, "__start": i64, "__target": f64, "__target_lo": f64,
              "__time": i64, "__cum": f64}
    stacked = stack(rows, ends.select("__entity", "__time", "__cum"), dtypes)
    stacked = with_order(stacked, "b", "__start", "__time", events_first=False)
    stacked = with_order(stacked, "a", "__target_lo", "__cum", events_first=False)
    # forward lookups: the smallest time (and its running sum) among the rows from here on
    nxt = {"b": ["__k_b", "__f_b"], "a": ["__k_a", "__f_a"]}
    found = stacked.with_columns(
        nw.col("__time").cum_min(reverse=True).over("__entity", order_by=nxt["b"]).alias("__t_b"),
        nw.col("__cum").cum_min(reverse=True).over("__entity", order_by=nxt["b"]).alias("__cum_b"),
        nw.col("__time").cum_min(reverse=True).over("__entity", order_by=nxt["a"]).alias("__t_a"),
        nw.col("__cum").cum_min(reverse=True).over("__entity", order_by=nxt["a"]).alias("__cum_a"),
    ).filter(nw.col("__is_event") == 0)
    t_b = nw.when(nw.col("__t_b") < SENTINEL_US).then(nw.col("__t_b"))
    t_a = nw.when(nw.col("__t_a") < SENTINEL_US).then(nw.col("__t_a"))
    hit_b = (nw.col("__t_b") < SENTINEL_US) & same_value(nw.col("__cum_b"), nw.col("__target"), numeric=True)
    hit_a = ((nw.col("__t_a") < SENTINEL_US) & (nw.col("__cum_b") < nw.col("__target"))
             & same_value(nw.col("__cum_a"), nw.col("__target"), numeric=True))
    future = nw.when(hit_b).then(t_b).otherwise(nw.when(hit_a).then(t_a))
    return found.select(*ROW, future.cast(i64).alias("__future_t"))


def _late_lags(step: nw.LazyFrame, ev: nw.LazyFrame, decl: WindowAggregate, rule: PointInTimeRule) -> nw.LazyFrame:
    """``ROW, __late_s``: for rows whose training value is the event-time value but not the
    point-in-time one, the latest availability among their in-window late events."""
    late = step.filter(~same_value(nw.col("__train"), nw.col("__pit"), numeric=True)
                       & same_value(nw.col("__train"), nw.col("__by_time"), numeric=True))
    cond = before(nw.col("__time"), rule) & ~before(nw.col("__avail"), rule)
    if decl.window is not None:
        cond = cond & (nw.col("__time") >= nw.col("__lo"))
    cols = [*ROW, "__pt", "__cutoff"] + (["__lo"] if decl.window is not None else [])
    return (late.select(*cols).join(ev.select("__entity", "__time", "__avail"), on="__entity", how="inner")
            .filter(cond).group_by(*ROW).agg((nw.col("__avail") - nw.col("__pt")).max().alias("__late_us"))
            .select(*ROW, seconds(nw.col("__late_us")).alias("__late_s")))


def _window_joined(base: nw.LazyFrame, ev: nw.LazyFrame, decl: WindowAggregate,
                   rule: PointInTimeRule) -> nw.LazyFrame:
    """Any aggregate, by joining each label row with its entity's source rows in the window."""
    joined = base.join(ev, on="__entity", how="inner")
    if decl.window is not None:
        joined = joined.filter(nw.col("__time") >= nw.col("__lo"))
    by_time = before(nw.col("__time"), rule)
    legal = by_time & before(nw.col("__avail"), rule) if rule.use_available_time else by_time
    x = nw.col("__v")
    masked = joined.with_columns(
        nw.when(legal).then(x).otherwise(nw.lit(None, nw.Float64)).alias("__x_legal"),
        nw.when(by_time).then(x).otherwise(nw.lit(None, nw.Float64)).alias("__x_time"),
        nw.when(by_time & ~before(nw.col("__avail"), rule)).then(nw.col("__avail") - nw.col("__pt"))
        .otherwise(nw.lit(None, nw.Int64)).alias("__late_us"))
    grouped = masked.group_by(*ROW).agg(_aggregate(nw.col("__x_legal"), decl.agg).alias("__pit"),
                                        _aggregate(nw.col("__x_time"), decl.agg).alias("__by_time"),
                                        nw.col("__late_us").max().alias("__late_us"))
    # The running aggregate at the end of each tie group of source times in the window, for the
    # later-cutoff explanation (only tie-group ends at or after the cutoff are candidates).
    groups = joined.group_by(*ROW, "__time").agg(
        x.fill_null(0.0).sum().alias("__s"), x.count().alias("__c"),
        x.max().alias("__mx"), x.min().alias("__mn"))
    def running(expr: nw.Expr, how: str) -> nw.Expr:
        return getattr(expr, how)().over(*ROW, order_by=["__time"])

    if decl.agg in ("sum", "count"):
        cum = running(nw.col("__s"), "cum_sum")
    elif decl.agg == "mean":
        count = running(nw.col("__c"), "cum_sum")
        cum = nw.when(count > 0).then(running(nw.col("__s"), "cum_sum") / count)
    elif decl.agg == "max":
        cum = running(nw.col("__mx").fill_null(float("-inf")), "cum_max")
        cum = nw.when(cum > float("-inf")).then(cum)
    else:
        cum = running(nw.col("__mn").fill_null(float("inf")), "cum_min")
        cum = nw.when(cum < float("inf")).then(cum)
    train_rows = base.select(*ROW, "__cutoff", "__train")
    future = (groups.with_columns(cum.alias("__cum")).join(train_rows, on=ROW, how="inner")
              .filter((nw.col("__time") >= nw.col("__cutoff")) & ~nw.col("__cum").is_null()
                      & same_value(nw.col("__cum"), nw.col("__train"), numeric=True))
              .group_by(*ROW).agg(nw.col("__time").min().alias("__future_t")))
    per_row = (base.select(*ROW, "__pt", "__train").join(grouped, on=ROW, how="left")
               .join(future, on=ROW, how="left")
               .with_columns(seconds(nw.col("__late_us")).alias("__late_s")))
    if decl.agg in ("sum", "count"):
        per_row = per_row.with_columns(nw.col("__train", "__pit", "__by_time").fill_null(0.0))
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
    x_type = snapshots.collect_schema()["__x"]
    entity_type = labels.collect_schema()["__entity"]
    base = labels.select(*ROW, "__pt", "__cutoff", nw.col("__train").cast(x_type))
    label_cols = {"__entity": entity_type, "__rn": i64, "__pt": i64, "__cutoff": i64, "__train": x_type}
    snaps = snapshots.select("__entity", "__time", "__avail", "__x")
    if rule.use_available_time:
        # In write order, a snapshot at least as new as every one written before it is the as-of
        # state from then on: the legal snapshot at a cutoff is the last such one written before it.
        write_order = ["__avail", "__time", "__x"]
        states = (snaps.with_columns(nw.col("__time").cum_max().over("__entity", order_by=write_order)
                                     .alias("__newest"))
                  .filter(nw.col("__time") == nw.col("__newest")).drop("__newest"))
        step = backward_row(base, states, label_key="__cutoff", row_key="__avail", strict=strict,
                            ties=("__time", "__x"), take={"__x": "__pit", "__time": "__pit_t"},
                            label_cols=label_cols, row_cols={"__time": i64, "__avail": i64, "__x": x_type}, keep=keep)
    else:
        step = backward_row(base, snaps, label_key="__cutoff", row_key="__time", strict=strict,
                            ties=("__avail", "__x"), take={"__x": "__pit", "__time": "__pit_t"},
                            label_cols=label_cols, row_cols={"__time": i64, "__avail": i64, "__x": x_type}, keep=keep)
    by_time = backward_row(base, snaps, label_key="__cutoff", row_key="__time", strict=strict,
                           ties=("__avail", "__x"), take={"__x": "__by_time", "__avail": "__bt_avail"},
                           label_cols=label_cols, row_cols={"__time": i64, "__avail": i64, "__x": x_type}, keep=keep)
    later = ~before(nw.col("__time"), rule)
    future = (base.filter(~nw.col("__train").is_null()).select(*ROW, "__cutoff", nw.col("__train").alias("__x"))
              .join(snaps.select("__entity", "__x", "__time"), on=["__entity", "__x"], how="inner")
              .filter(later).group_by(*ROW).agg(nw.col("__time").min().alias("__future_t")))
    per_row = (step.join(by_time.select(*ROW, "__by_time", "__bt_avail"), on=ROW, how="left")
               .join(future, on=ROW, how="left")
               .with_columns(seconds(nw.col("__bt_avail") - nw.col("__pt")).alias("__late_s"),
                             seconds(nw.col("__pt") - nw.col("__pit_t")).alias("__age_s")))
    null_ok = None
    if decl.ttl is not None:
        null_ok = nw.col("__age_s").is_null() | (nw.col("__age_s") > decl.ttl.total_seconds())
    return classify(per_row, numeric=numeric, rule=rule, future_kind="non_asof_join", keep=["__age_s"],
                    null_ok=null_ok)


def recompute_static(labels: nw.LazyFrame, attributes: nw.LazyFrame, decl: Static, *,
                     numeric: bool) -> nw.LazyFrame:
    """Compare a static attribute with the source (by entity; of several rows, the largest value)."""
    x_type = attributes.collect_schema()["__x"]
    attrs = attributes.group_by("__entity").agg(nw.col("__x").max().alias("__pit"))
    per_row = (labels.select(*ROW, "__pt", nw.col("__train").cast(x_type)).join(attrs, on="__entity", how="left")
               .with_columns(nw.col("__pit").alias("__by_time"), nw.lit(None, nw.Float64).alias("__late_s"),
                             nw.lit(None, nw.Int64).alias("__future_t")))
    return classify(per_row, numeric=numeric, rule=None, future_kind="future_data")


# -- classification ---------------------------------------------------------------------------------

def classify(per_row: nw.LazyFrame, *, numeric: bool, rule: PointInTimeRule | None, future_kind: str,
             keep: list[str] | None = None, null_ok: nw.Expr | None = None) -> nw.LazyFrame:
    """``ROW, __pit, __status, __lag_s`` (and ``keep``) from ``__train, __pit, __by_time,
    __late_s, __future_t, __pt``; the statuses of ``recompute.classify``."""
    train, pit = nw.col("__train"), nw.col("__pit")
    differs = ~same_value(train, pit, numeric=numeric)
    if null_ok is not None:
        differs = differs & ~(train.is_null() & null_ok.fill_null(False))
    if rule is not None and rule.use_available_time:
        is_late = differs & same_value(train, nw.col("__by_time"), numeric=numeric)
    else:
        is_late = nw.lit(False)
    is_future = differs & ~is_late & ~nw.col("__future_t").is_null()
    status = (nw.when(~differs).then(nw.lit("ok"))
              .otherwise(nw.when(is_late).then(nw.lit("late_arrival"))
                         .otherwise(nw.when(is_future).then(nw.lit(future_kind))
                                    .otherwise(nw.lit("feature_mismatch")))))
    lag = nw.when(is_late).then(nw.col("__late_s")).otherwise(
        nw.when(is_future).then(seconds(nw.col("__future_t") - nw.col("__pt"))))
    return per_row.select(*ROW, pit.alias("__pit"), status.alias("__status"), lag.cast(nw.Float64).alias("__lag_s"),
                          *(keep or []))
