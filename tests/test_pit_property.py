"""Point-in-time recomputation equals a brute-force reference on random timelines.

The reference below restates the documented semantics row by row in plain Python: legal
rows, the window, the late-arrival and later-cutoff explanations and their lags, and the
tie rules. Timelines are small integers (hours) so ties, zero lateness and empty windows
are frequent.
"""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from workbench.leakage.cumulative import recompute_window_cumulative
from workbench.leakage.recompute import recompute_asof, recompute_window
from workbench.leakage.spec import AsOf, PointInTimeRule, WindowAggregate

BASE = dt.datetime(2025, 1, 1)
H = dt.timedelta(hours=1)

events_st = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 20), st.sampled_from([0, 0, 1, 3, 10]),
                               st.integers(0, 5)), max_size=25)
labels_st = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 26), st.sampled_from(["pit", "time", "later", "junk"]),
                               st.integers(0, 30)), min_size=1, max_size=12)
# snapshots may say null: a null value is a value, never filled from an older snapshot
snaps_st = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 20), st.sampled_from([0, 0, 1, 3, 10]),
                              st.sampled_from([None, 0, 1, 2, 3, 4, 5])), max_size=25)
rule_st = st.builds(PointInTimeRule, inclusive=st.booleans(),
                    embargo=st.sampled_from([dt.timedelta(0), 2 * H]), use_available_time=st.booleans())


def _before(v: float, cutoff: float, rule: PointInTimeRule) -> bool:
    return v <= cutoff if rule.inclusive else v < cutoff


def _agg(xs: list[float], agg: str) -> float | None:
    if agg in ("sum", "count"):
        return float(sum(xs)) if agg == "sum" else float(len(xs))
    if not xs:
        return None
    return {"mean": sum(xs) / len(xs), "max": max(xs), "min": min(xs)}[agg]


def _eq(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def ref_window(events, ent, pt, train, agg, window, rule):
    """Reference (pit, status, lag_hours) of one label row for a window aggregate."""
    cutoff = pt - rule.embargo.total_seconds() / 3600
    inwin = [(t, max(t, t + late), x) for e, t, late, x in events
             if e == ent and (window is None or t >= pt - window)]

    def xs(rows):
        return [x for _, _, x in rows] if agg != "count" else [1.0 for _ in rows]

    by_time_rows = [r for r in inwin if _before(r[0], cutoff, rule)]
    legal_rows = [r for r in by_time_rows if not rule.use_available_time or _before(r[1], cutoff, rule)]
    pit, by_time = _agg(xs(legal_rows), agg), _agg(xs(by_time_rows), agg)
    if agg in ("sum", "count") and train is None:
        train = 0.0
    if _eq(train, pit):
        return pit, "ok", None
    if rule.use_available_time and _eq(train, by_time):
        late = [a - pt for t, a, _ in by_time_rows if not _before(a, cutoff, rule)]
        return pit, "late_arrival", max(late) if late else None
    for T in sorted({t for t, _, _ in inwin if t >= cutoff}):
        if _eq(train, _agg(xs([r for r in inwin if r[0] <= T]), agg)):
            return pit, "future_data", T - pt
    return pit, "feature_mismatch", None


def ref_asof(snaps, ent, pt, train, rule):
    """Reference (pit, status, lag_hours) for an as-of snapshot feature (ties: time, avail, largest value)."""
    cutoff = pt - rule.embargo.total_seconds() / 3600
    rows = [(t, max(t, t + late), i, v) for i, (e, t, late, v) in enumerate(snaps) if e == ent]
    by_time = [r for r in rows if _before(r[0], cutoff, rule)]
    legal = [r for r in by_time if not rule.use_available_time or _before(r[1], cutoff, rule)]

    def pick(rs):  # nulls lowest among ties
        return max(rs, key=lambda r: (r[0], r[1], r[3] is not None, r[3] or 0)) if rs else None

    def value(r):
        return None if r is None or r[3] is None else float(r[3])

    p, b = pick(legal), pick(by_time)
    pit = value(p)
    if _eq(train, pit):
        return pit, "ok", None
    if rule.use_available_time and b is not None and _eq(train, value(b)):
        return pit, "late_arrival", b[1] - pt
    later = [r[0] for r in rows if (r[0] >= cutoff if not rule.inclusive else r[0] > cutoff)
             and train is not None and r[3] is not None and _eq(train, float(r[3]))]
    if later:
        return pit, "non_asof_join", min(later) - pt
    return pit, "feature_mismatch", None


def _frames(events, labels_rows, trains):
    ev = pl.DataFrame({
        "__wb_entity": [e for e, *_ in events], "__wb_time": [BASE + t * H for _, t, _, _ in events],
        "__wb_avail": [BASE + (t + late) * H for _, t, late, _ in events],
        "__wb_x": [None if x is None else float(x) for *_, x in events],
    }, schema={"__wb_entity": pl.Int64, "__wb_time": pl.Datetime("us"), "__wb_avail": pl.Datetime("us"),
               "__wb_x": pl.Float64})
    lab = pl.DataFrame({
        "__wb_row": list(range(len(labels_rows))), "__wb_entity": [e for e, *_ in labels_rows],
        "__wb_pt": [BASE + pt * H for _, pt, *_ in labels_rows], "__wb_train": trains,
    }, schema={"__wb_row": pl.UInt32, "__wb_entity": pl.Int64, "__wb_pt": pl.Datetime("us"), "__wb_train": pl.Float64})
    return ev, lab


def _train_values(labels_rows, reference):
    """Pick a training value per row: the point-in-time one, the time-only one, a later one or junk."""
    out = []
    for ent, pt, mode, junk in labels_rows:
        pit_rule = PointInTimeRule()
        time_rule = PointInTimeRule(use_available_time=False)
        if mode == "pit":
            out.append(reference(ent, pt, pit_rule))
        elif mode == "time":
            out.append(reference(ent, pt, time_rule))
        elif mode == "later":
            out.append(reference(ent, pt + 8, time_rule))
        else:
            out.append(float(junk) + 0.5)
    return out


def _check(result: pl.DataFrame, expected: list[tuple]) -> None:
    result = result.sort("__wb_row")
    for row, (pit, status, lag) in zip(result.iter_rows(named=True), expected, strict=True):
        assert _eq(row["__wb_pit"], pit), (row, pit, status)
        assert row["__wb_status"] == status, (row, pit, status, lag)
        got = None if row["__wb_lag_s"] is None else row["__wb_lag_s"] / 3600
        assert (got is None and lag is None) or math.isclose(got, lag), (row, lag)


def _check_window_method(method, events, labels_rows, agg, window, rule) -> None:
    """Run ``method(labels, events, decl, rule)`` on random data and compare every row with the reference."""
    def reference(ent, pt, r):
        return ref_window(events, ent, pt, None, agg, window, r)[0]

    trains = _train_values(labels_rows, reference)
    ev, lab = _frames(events, labels_rows, trains)
    decl = WindowAggregate("src", "x", agg, None if window is None else window * H)
    lab = lab.with_columns((pl.col("__wb_pt") - rule.embargo).alias("__wb_cutoff"))
    got = method(lab.lazy(), ev.lazy(), decl, rule).collect()
    expected = [ref_window(events, e, pt, tr, agg, window, rule)
                for (e, pt, *_), tr in zip(labels_rows, trains, strict=True)]
    _check(got, expected)


@settings(max_examples=150, deadline=None)
@given(events=events_st, labels_rows=labels_st, agg=st.sampled_from(["sum", "count", "mean", "max", "min"]),
       window=st.sampled_from([None, 5, 12]), rule=rule_st)
def test_window_recomputation_matches_brute_force(events, labels_rows, agg, window, rule):
    _check_window_method(recompute_window, events, labels_rows, agg, window, rule)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(events=events_st, labels_rows=labels_st, agg=st.sampled_from(["sum", "count"]),
       window=st.sampled_from([None, 1, 5, 12]), rule=rule_st)
def test_cumulative_window_method_matches_brute_force(events, labels_rows, agg, window, rule):
    _check_window_method(recompute_window_cumulative, events, labels_rows, agg, window, rule)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(snaps=snaps_st, labels_rows=labels_st, rule=rule_st)
@example(snaps=[(0, 1, 0, 3), (0, 5, 0, None)], labels_rows=[(0, 10, "pit", 0)],
         rule=PointInTimeRule())  # the newest snapshot says null: the point-in-time value is null, not 3
def test_asof_recomputation_matches_brute_force(snaps, labels_rows, rule):
    def reference(ent, pt, r):
        return ref_asof(snaps, ent, pt, None, r)[0]

    trains = _train_values(labels_rows, reference)
    ev, lab = _frames(snaps, labels_rows, trains)
    lab = lab.with_columns((pl.col("__wb_pt") - rule.embargo).alias("__wb_cutoff"))
    got = recompute_asof(lab.lazy(), ev.lazy(), AsOf("src", "x"), rule, numeric=True).collect()
    expected = [ref_asof(snaps, e, pt, tr, rule) for (e, pt, *_), tr in zip(labels_rows, trains, strict=True)]
    _check(got, expected)


# -- the engine-portable recomputation (narwhals window functions) against the same reference ----

def _on_engine(frame: pl.DataFrame, engine: str):
    """``frame`` with its datetimes as epoch microseconds, as a narwhals lazy frame on ``engine``."""
    import duckdb
    import narwhals as nw

    ints = frame.with_columns(pl.col(c).dt.epoch("us") for c, t in frame.schema.items() if t == pl.Datetime("us"))
    if engine == "duckdb":
        return nw.from_native(duckdb.default_connection().from_arrow(ints.to_arrow()))
    return nw.from_native(ints.lazy())


def _portable_labels(lab: pl.DataFrame, engine: str):
    return _on_engine(lab.with_columns(pl.col("__wb_row").cast(pl.Int64).alias("__wb_rn")).drop("__wb_row"), engine)


def _from_portable(out) -> pl.DataFrame:
    frame = out.collect("polars").to_native() if hasattr(out, "collect") else out
    return frame.with_columns(pl.col("__wb_rn").alias("__wb_row"))


@pytest.mark.slow
@settings(max_examples=120, deadline=None)
@given(events=events_st, labels_rows=labels_st, agg=st.sampled_from(["sum", "count", "mean", "max", "min"]),
       window=st.sampled_from([None, 1, 5, 12]), rule=rule_st, engine=st.sampled_from(["polars", "duckdb"]),
       cumulative=st.booleans())
def test_portable_window_recomputation_matches_brute_force(events, labels_rows, agg, window, rule, engine,
                                                           cumulative):
    from workbench.leakage import portable

    cumulative = cumulative and agg in ("sum", "count")  # sums of the generated values are never negative

    def method(labels, ev, decl, rule_):
        out = portable.recompute_window(_portable_labels(labels.collect(), engine), _on_engine(ev.collect(), engine),
                                        decl, rule_, cumulative=cumulative)
        return _from_portable(out).lazy()

    _check_window_method(method, events, labels_rows, agg, window, rule)


@pytest.mark.slow
@settings(max_examples=120, deadline=None)
@given(snaps=snaps_st, labels_rows=labels_st, rule=rule_st, engine=st.sampled_from(["polars", "duckdb"]))
@example(snaps=[(0, 1, 0, 3), (0, 5, 0, None)], labels_rows=[(0, 10, "pit", 0)], rule=PointInTimeRule(),
         engine="polars")  # the newest snapshot says null: the point-in-time value is null, not 3
def test_portable_asof_recomputation_matches_brute_force(snaps, labels_rows, rule, engine):
    from workbench.leakage import portable

    def reference(ent, pt, r):
        return ref_asof(snaps, ent, pt, None, r)[0]

    trains = _train_values(labels_rows, reference)
    ev, lab = _frames(snaps, labels_rows, trains)
    lab = lab.with_columns((pl.col("__wb_pt") - rule.embargo).alias("__wb_cutoff"))
    out = portable.recompute_asof(_portable_labels(lab, engine), _on_engine(ev, engine), AsOf("src", "x"), rule,
                                  numeric=True)
    expected = [ref_asof(snaps, e, pt, tr, rule) for (e, pt, *_), tr in zip(labels_rows, trains, strict=True)]
    _check(_from_portable(out), expected)
