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

from workbench.leakage.asof import Engine, asof_lookup
from workbench.leakage.recompute import ABS_TOL, before, classify, same_value
from workbench.leakage.spec import PointInTimeRule, WindowAggregate


@dataclass(frozen=True)
class SortedEvents:
    """An event source sorted once per clock, shared by every feature and check that reads it.

    ``by_time`` is sorted by ``(__entity, __time)`` and ``by_avail`` by ``(__entity, __avail)``;
    both hold ``__entity, __time, __avail`` and the source's value columns. The order among
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
        return cls(frame.sort(["__entity", "__time"]), frame.sort(["__entity", "__avail"]), tuple(measures))

    @staticmethod
    def _value(agg: str, column: str) -> pl.Expr:
        """Per event: 1 if counted (count), else the summed value with nulls as 0."""
        if agg == "count":
            return pl.col(column).is_not_null().cast(pl.Float64)  # "__time" is never null: counts every event
        return pl.col(column).cast(pl.Float64).fill_null(0.0)

    def running(self, clock: str, agg: str, column: str) -> pl.DataFrame:
        """``__entity, __time, __avail, __v, __cum``: each event's value (1 per counted event, or the
        summed value with nulls as 0) and its running sum per entity in ``clock`` order."""
        key = ("running", clock, agg, column)
        if key not in self._cache:
            frame = self.by_time if clock == "time" else self.by_avail
            self._cache[key] = frame.select("__entity", "__time", "__avail", self._value(agg, column).alias("__v")) \
                .with_columns(pl.col("__v").cum_sum().over("__entity").alias("__cum"))
        return self._cache[key]

    def at_cutoff(self, labels: pl.LazyFrame, clock: str, agg: str, column: str, *, strict: bool,
                  engine: Engine) -> pl.DataFrame:
        """``__row, __sum``: running sum in ``clock`` order as of each label's cutoff (0 if none)."""
        wanted = (agg, column)
        measures = self.measures if wanted in self.measures else (wanted,)
        key = ("cutoff", clock, measures, strict, engine)
        if key not in self._cache:
            frame = self.by_time if clock == "time" else self.by_avail
            names = [f"__m{i}" for i in range(len(measures))]
            right = frame.select("__entity", pl.col("__time" if clock == "time" else "__avail").alias("__k"),
                                 *[self._value(a, c).cum_sum().over("__entity").alias(n)
                                   for (a, c), n in zip(measures, names, strict=True)])
            found = asof_lookup(labels.select("__row", "__entity", "__cutoff"), right.lazy(), by="__entity",
                                left_on="__cutoff", right_on="__k", strict=strict, engine=engine, presorted=True)
            self._cache[key] = found.select("__row", pl.col(names).fill_null(0.0)).collect()
        name = f"__m{measures.index(wanted)}"
        return self._cache[key].select("__row", pl.col(name).alias("__sum"))


def supports(decl: WindowAggregate, events: pl.LazyFrame | pl.DataFrame, column: str = "__x") -> bool:
    """True when the cumulative method applies: count, or sum of values that are all >= 0."""
    if decl.agg == "count":
        return True
    if decl.agg != "sum":
        return False
    lowest = events.lazy().select(pl.col(column).min()).collect().item()
    return lowest is None or lowest >= 0


def recompute_window_cumulative(labels: pl.LazyFrame, events: pl.LazyFrame | SortedEvents, decl: WindowAggregate,
                                rule: PointInTimeRule, *, engine: Engine = "polars",
                                column: str = "__x") -> pl.LazyFrame:
    """Per-row classification of a window sum/count; see the module docstring for the method.

    ``events``: prepared events (``__entity, __time, __avail`` and ``column``), or the same
    already sorted with :meth:`SortedEvents.build`.
    """
    sorted_events = events if isinstance(events, SortedEvents) else SortedEvents.build(events)
    by_time = sorted_events.running("time", decl.agg, column)
    ev = by_time.lazy()
    strict = not rule.inclusive
    base = labels.select("__row", "__entity", "__pt", "__cutoff", "__train")
    if decl.window is not None:
        base = base.with_columns((pl.col("__pt") - decl.window).alias("__lo"))

    def lookup(left: pl.LazyFrame, right: pl.DataFrame, left_on: str, strict_: bool,
               direction: str = "backward") -> pl.LazyFrame:
        return asof_lookup(left, right.lazy(), by="__entity", left_on=left_on, right_on=right.columns[1],
                           strict=strict_, engine=engine, direction=direction, presorted=True)

    def at_cutoff(clock: str, name: str) -> pl.LazyFrame:
        found = sorted_events.at_cutoff(labels, clock, decl.agg, column, strict=strict, engine=engine)
        return found.lazy().rename({"__sum": name})

    step = base.join(at_cutoff("time", "__T_c"), on="__row", how="left")
    if rule.use_available_time:
        step = step.join(at_cutoff("avail", "__A_c"), on="__row", how="left")
    if decl.window is not None:
        step = lookup(step, by_time.select("__entity", pl.col("__time").alias("__k_lo"),
                                           pl.col("__cum").alias("__T_lo")), "__lo", True)
        step = step.join(_very_late(base, ev, decl, rule), on="__row", how="left")
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
    # Only rows that differ from the point-in-time value and are not late arrivals need the
    # later-cutoff search (none, for an honest feature).
    step = step.collect()
    unexplained = ~same_value(pl.col("__train"), pl.col("__pit"), numeric=True)
    if rule.use_available_time:
        unexplained = unexplained & ~same_value(pl.col("__train"), pl.col("__by_time"), numeric=True)
    searched = _later_cutoff(step.lazy().filter(unexplained), by_time, lookup).select("__row", "__future_t")
    per_row = (step.lazy().join(searched, on="__row", how="left")
               .with_columns(pl.lit(None, pl.Duration("us")).alias("__late_lag")))
    classified = classify(per_row, numeric=True, rule=rule, future_kind="future_data").collect()
    return _late_lags(classified, base, ev, decl, rule).lazy()


def _very_late(base: pl.LazyFrame, ev: pl.LazyFrame, decl: WindowAggregate, rule: PointInTimeRule) -> pl.LazyFrame:
    """Per row: sum over events before the window that were not yet available at the cutoff."""
    assert decl.window is not None
    min_lateness = decl.window - rule.embargo
    late = ev.filter(pl.col("__avail") - pl.col("__time") >= min_lateness).select("__entity", "__time", "__avail",
                                                                                   "__v")
    unavailable = ~before(pl.col("__avail"), rule)
    return (base.select("__row", "__entity", "__lo", "__cutoff").join(late, on="__entity", how="inner")
            .filter((pl.col("__time") < pl.col("__lo")) & unavailable)
            .group_by("__row").agg(pl.col("__v").sum().alias("__VL")))


def _later_cutoff(step: pl.LazyFrame, by_time: pl.DataFrame, lookup: Callable[..., pl.LazyFrame]) -> pl.LazyFrame:
    """Attach ``__future_t``: the earliest tie-group end >= cutoff whose window sum equals the training value."""
    last_of_tie = (pl.col("__time") != pl.col("__time").shift(-1).over("__entity")).fill_null(True)
    ends = by_time.filter(last_of_tie).select("__entity", "__time", "__cum")
    start = pl.max_horizontal("__cutoff", "__lo") if "__lo" in step.collect_schema() else pl.col("__cutoff")
    step = step.with_columns(start.alias("__start"), (pl.col("__train") + pl.col("__T_lo")).alias("__target"))
    # First tie-group end at or after the start of the search.
    step = lookup(step, ends.select("__entity", pl.col("__time").alias("__t_b"), pl.col("__cum").alias("__cum_b")),
                  "__start", False, "forward")
    # First tie-group end whose cumulative sum reaches the target (sums never decrease within an
    # entity, so `ends` is also sorted by them; keep the first of equal sums).
    first_of_sum = (pl.col("__cum") != pl.col("__cum").shift(1).over("__entity")).fill_null(True)
    reach = ends.filter(first_of_sum).select("__entity", pl.col("__cum").alias("__cum_a"),
                                             pl.col("__time").alias("__t_a"))
    step = step.with_columns((pl.col("__target") - ABS_TOL).alias("__target_lo"))
    step = lookup(step, reach, "__target_lo", False, "forward")
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
    rows = base.join(late_rows.lazy(), on="__row", how="semi")
    cond = before(pl.col("__time"), rule) & ~before(pl.col("__avail"), rule)
    if decl.window is not None:
        cond = cond & (pl.col("__time") >= pl.col("__pt") - decl.window)
    lags = (rows.join(ev.select("__entity", "__time", "__avail"), on="__entity", how="inner").filter(cond)
            .group_by("__row")
            .agg((pl.col("__avail") - pl.col("__pt")).max().dt.total_seconds(fractional=True).alias("__late_s"))
            .collect())
    return (classified.join(lags, on="__row", how="left")
            .with_columns(pl.coalesce("__late_s", "__lag_s").alias("__lag_s")).drop("__late_s"))
