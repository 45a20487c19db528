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

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from workbench.leakage.asof import asof_lookup
from workbench.leakage.recompute import ABS_TOL, before, classify, same_value
from workbench.leakage.spec import PointInTimeRule, WindowAggregate


@dataclass(frozen=True)
class SortedEvents:
    """An event source sorted once per clock, shared by every feature and check that reads it.

    ``by_time`` is sorted by ``(__wb_entity, __wb_time)`` and ``by_avail`` by ``(__wb_entity, __wb_avail)``;
    both hold ``__wb_entity, __wb_time, __wb_avail`` and the source's value columns. The order among
    ties is not kept (a stable sort costs twice as much): every lookup reads the last row of a
    tie group, where a running sum or count is complete whatever the order.
    """

    by_time: pl.DataFrame
    by_avail: pl.DataFrame
    # (agg, column) pairs whose running sums are looked up at the cutoffs together, in one
    # as-of lookup per clock; others are looked up on their own when asked for.
    measures: tuple[tuple[str, str], ...] = ()
    # Running sums and their lookups at the label cutoffs, shared by the features of one audit.
    _cache: dict[tuple, pl.DataFrame] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, events: pl.LazyFrame, measures: tuple[tuple[str, str], ...] = ()) -> SortedEvents:
        frame = events.collect()
        return cls(frame.sort(["__wb_entity", "__wb_time"]), frame.sort(["__wb_entity", "__wb_avail"]), tuple(measures))

    @staticmethod
    def _value(agg: str, column: str) -> pl.Expr:
        """Per event: 1 if counted (count), else the summed value with nulls as 0."""
        if agg == "count":
            return pl.col(column).is_not_null().cast(pl.Float64)  # "__wb_time" is never null: counts every event
        return pl.col(column).cast(pl.Float64).fill_null(0.0)

    def running(self, clock: str, agg: str, column: str) -> pl.DataFrame:
        """``__wb_entity, __wb_time, __wb_avail, __v, __cum``: each event's value (1 per counted event, or the
        summed value with nulls as 0) and its running sum per entity in ``clock`` order."""
        key = ("running", clock, agg, column)
        if key not in self._cache:
            frame = self.by_time if clock == "time" else self.by_avail
            value = self._value(agg, column).alias("__wb_v")
            self._cache[key] = frame.select("__wb_entity", "__wb_time", "__wb_avail", value) \
                .with_columns(pl.col("__wb_v").cum_sum().over("__wb_entity").alias("__wb_cum"))
        return self._cache[key]

    def at_cutoff(self, labels: pl.LazyFrame, clock: str, agg: str, column: str, *, strict: bool) -> pl.DataFrame:
        """``__wb_row, __sum``: running sum in ``clock`` order as of each label's cutoff (0 if none)."""
        wanted = (agg, column)
        measures = self.measures if wanted in self.measures else (wanted,)
        key = ("cutoff", clock, measures, strict)
        if key not in self._cache:
            frame = self.by_time if clock == "time" else self.by_avail
            names = [f"__wb_m{i}" for i in range(len(measures))]
            right = frame.select("__wb_entity",
                                 pl.col("__wb_time" if clock == "time" else "__wb_avail").alias("__wb_k"),
                                 *[self._value(a, c).cum_sum().over("__wb_entity").alias(n)
                                   for (a, c), n in zip(measures, names, strict=True)])
            found = asof_lookup(labels.select("__wb_row", "__wb_entity", "__wb_cutoff"), right.lazy(), by="__wb_entity",
                                left_on="__wb_cutoff", right_on="__wb_k", strict=strict, presorted=True)
            self._cache[key] = found.select("__wb_row", pl.col(names).fill_null(0.0)).collect()
        name = f"__wb_m{measures.index(wanted)}"
        return self._cache[key].select("__wb_row", pl.col(name).alias("__wb_sum"))


def supports(decl: WindowAggregate, events: pl.LazyFrame | pl.DataFrame, column: str = "__wb_x") -> bool:
    """True when the cumulative method applies: count, or sum of values that are all >= 0."""
    if decl.agg == "count":
        return True
    if decl.agg != "sum":
        return False
    lowest = events.lazy().select(pl.col(column).min()).collect().item()
    return lowest is None or lowest >= 0


def recompute_window_cumulative(labels: pl.LazyFrame, events: pl.LazyFrame | SortedEvents, decl: WindowAggregate,
                                rule: PointInTimeRule, *, column: str = "__wb_x") -> pl.LazyFrame:
    """Per-row classification of a window sum/count; see the module docstring for the method.

    ``events``: prepared events (``__wb_entity, __wb_time, __wb_avail`` and ``column``), or the same
    already sorted with :meth:`SortedEvents.build`.
    """
    sorted_events = events if isinstance(events, SortedEvents) else SortedEvents.build(events)
    by_time = sorted_events.running("time", decl.agg, column)
    ev = by_time.lazy()
    strict = not rule.inclusive
    base = labels.select("__wb_row", "__wb_entity", "__wb_pt", "__wb_cutoff", "__wb_train")
    if decl.window is not None:
        base = base.with_columns((pl.col("__wb_pt") - decl.window).alias("__wb_lo"))

    def lookup(left: pl.LazyFrame, right: pl.DataFrame, left_on: str, strict_: bool,
               direction: str = "backward") -> pl.LazyFrame:
        return asof_lookup(left, right.lazy(), by="__wb_entity", left_on=left_on, right_on=right.columns[1],
                           strict=strict_, direction=direction, presorted=True)

    def at_cutoff(clock: str, name: str) -> pl.LazyFrame:
        found = sorted_events.at_cutoff(labels, clock, decl.agg, column, strict=strict)
        return found.lazy().rename({"__wb_sum": name})

    step = base.join(at_cutoff("time", "__wb_T_c"), on="__wb_row", how="left")
    if rule.use_available_time:
        step = step.join(at_cutoff("avail", "__wb_A_c"), on="__wb_row", how="left")
    if decl.window is not None:
        step = lookup(step, by_time.select("__wb_entity", pl.col("__wb_time").alias("__wb_k_lo"),
                                           pl.col("__wb_cum").alias("__wb_T_lo")), "__wb_lo", True)
        step = step.join(_very_late(base, ev, decl, rule), on="__wb_row", how="left")
    else:
        step = step.with_columns(pl.lit(0.0).alias("__wb_T_lo"), pl.lit(0.0).alias("__wb_VL"))
    step = step.with_columns(pl.col("__wb_T_c", "__wb_T_lo", "__wb_VL").fill_null(0.0))
    if rule.use_available_time:
        step = step.with_columns(pl.col("__wb_A_c").fill_null(0.0))
        pit = pl.col("__wb_A_c") - pl.col("__wb_T_lo") + pl.col("__wb_VL")
    else:
        pit = pl.max_horizontal(pl.col("__wb_T_c") - pl.col("__wb_T_lo"), 0.0)
    step = step.with_columns(pit.alias("__wb_pit"),
                             pl.max_horizontal(pl.col("__wb_T_c") - pl.col("__wb_T_lo"), 0.0).alias("__wb_by_time"),
                             pl.col("__wb_train").fill_null(0.0))
    # Only rows that differ from the point-in-time value and are not late arrivals need the
    # later-cutoff search (none, for an honest feature).
    collected = step.collect()
    unexplained = ~same_value(pl.col("__wb_train"), pl.col("__wb_pit"), numeric=True)
    if rule.use_available_time:
        unexplained = unexplained & ~same_value(pl.col("__wb_train"), pl.col("__wb_by_time"), numeric=True)
    searched = _later_cutoff(collected.lazy().filter(unexplained), by_time, lookup).select("__wb_row", "__wb_future_t")
    per_row = (collected.lazy().join(searched, on="__wb_row", how="left")
               .with_columns(pl.lit(None, pl.Duration("us")).alias("__wb_late_lag")))
    classified = classify(per_row, numeric=True, rule=rule, future_kind="future_data").collect()
    return _late_lags(classified, base, ev, decl, rule).lazy()


def _very_late(base: pl.LazyFrame, ev: pl.LazyFrame, decl: WindowAggregate, rule: PointInTimeRule) -> pl.LazyFrame:
    """Per row: sum over events before the window that were not yet available at the cutoff."""
    assert decl.window is not None
    min_lateness = decl.window - rule.embargo
    late = ev.filter(pl.col("__wb_avail") - pl.col("__wb_time") >= min_lateness).select("__wb_entity", "__wb_time",
                                                                                        "__wb_avail",
                                                                                   "__wb_v")
    unavailable = ~before(pl.col("__wb_avail"), rule)
    return (base.select("__wb_row", "__wb_entity", "__wb_lo", "__wb_cutoff").join(late, on="__wb_entity", how="inner")
            .filter((pl.col("__wb_time") < pl.col("__wb_lo")) & unavailable)
            .group_by("__wb_row").agg(pl.col("__wb_v").sum().alias("__wb_VL")))


def _later_cutoff(step: pl.LazyFrame, by_time: pl.DataFrame, lookup: Callable[..., pl.LazyFrame]) -> pl.LazyFrame:
    """Attach ``__wb_future_t``: the earliest tie-group end >= cutoff whose window sum equals the training value."""
    last_of_tie = (pl.col("__wb_time") != pl.col("__wb_time").shift(-1).over("__wb_entity")).fill_null(True)
    ends = by_time.filter(last_of_tie).select("__wb_entity", "__wb_time", "__wb_cum")
    start = pl.max_horizontal("__wb_cutoff", "__wb_lo") if "__wb_lo" in step.collect_schema() else pl.col("__wb_cutoff")
    step = step.with_columns(start.alias("__wb_start"),
                             (pl.col("__wb_train") + pl.col("__wb_T_lo")).alias("__wb_target"))
    # First tie-group end at or after the start of the search.
    step = lookup(step, ends.select("__wb_entity", pl.col("__wb_time").alias("__wb_t_b"),
                                    pl.col("__wb_cum").alias("__wb_cum_b")),
                  "__wb_start", False, "forward")
    # First tie-group end whose cumulative sum reaches the target (sums never decrease within an
    # entity, so `ends` is also sorted by them; keep the first of equal sums).
    first_of_sum = (pl.col("__wb_cum") != pl.col("__wb_cum").shift(1).over("__wb_entity")).fill_null(True)
    reach = ends.filter(first_of_sum).select("__wb_entity", pl.col("__wb_cum").alias("__wb_cum_a"),
                                             pl.col("__wb_time").alias("__wb_t_a"))
    step = step.with_columns((pl.col("__wb_target") - ABS_TOL).alias("__wb_target_lo"))
    step = lookup(step, reach, "__wb_target_lo", False, "forward")
    hit_b = same_value(pl.col("__wb_cum_b"), pl.col("__wb_target"), numeric=True)
    hit_a = (pl.col("__wb_cum_b") < pl.col("__wb_target")) & same_value(pl.col("__wb_cum_a"), pl.col("__wb_target"),
                                                                        numeric=True)
    future = pl.when(hit_b).then(pl.col("__wb_t_b")).when(hit_a).then(pl.col("__wb_t_a"))
    return step.with_columns(future.alias("__wb_future_t"))


def _late_lags(classified: pl.DataFrame, base: pl.LazyFrame, ev: pl.LazyFrame, decl: WindowAggregate,
               rule: PointInTimeRule) -> pl.DataFrame:
    """Fill ``__wb_lag_s`` of late rows: latest availability among their in-window late events."""
    late_rows = classified.filter(pl.col("__wb_status") == "late_arrival").select("__wb_row")
    if late_rows.height == 0:
        return classified
    rows = base.join(late_rows.lazy(), on="__wb_row", how="semi")
    cond = before(pl.col("__wb_time"), rule) & ~before(pl.col("__wb_avail"), rule)
    if decl.window is not None:
        cond = cond & (pl.col("__wb_time") >= pl.col("__wb_pt") - decl.window)
    lags = (rows.join(ev.select("__wb_entity", "__wb_time", "__wb_avail"), on="__wb_entity", how="inner").filter(cond)
            .group_by("__wb_row")
            .agg((pl.col("__wb_avail") - pl.col("__wb_pt")).max().dt.total_seconds(fractional=True)
                 .alias("__wb_late_s"))
            .collect())
    return (classified.join(lags, on="__wb_row", how="left")
            .with_columns(pl.coalesce("__wb_late_s", "__wb_lag_s").alias("__wb_lag_s")).drop("__wb_late_s"))
