"""Per-row point-in-time classification of each declared feature, and the lateness counts of each
source, on the input's engine.

One method per kind of feature (:meth:`PerRow.window`, :meth:`PerRow.asof`, :meth:`PerRow.static`)
and one for the lateness profile (:meth:`PerRow.lateness`) pick the path:

* polars inputs take the native path: each event source read and sorted once per clock and shared
  by every feature and the lateness profile, as-of lookups with ``join_asof``
  (:mod:`.cumulative`, :mod:`.recompute`). On 1M label rows and a 10M-row event log it took 14 s,
  the portable path on polars 27.7 s (BENCHMARKS.md);
* duckdb relations and Spark DataFrames take the portable path (:mod:`.portable`: narwhals window
  functions, as neither engine has an as-of join in narwhals), computed where the data is and
  kept there (:class:`~workbench.engine.frames.Store`).

Both paths are checked against the same brute-force reference (``tests/test_pit_property.py``) and
give the same audit (``tests/test_engines.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import narwhals as nw
import polars as pl

from workbench.engine.failures import engine_errors
from workbench.engine.frames import Frame, Store, collect_on, with_epoch
from workbench.leakage import portable
from workbench.leakage.inputs import CHECK_NAME, Options, Prepared
from workbench.leakage.native import NativePath
from workbench.leakage.spec import AsOf, FeatureDecl, Source, Static, WindowAggregate


class PerRow:
    """The label rows of one audit on its engine (``labels``: one row per training row, see
    :func:`labels_of`; ``n`` of them), and the per-row results computed from them."""

    def __init__(self, prep: Prepared, store: Store, opts: Options) -> None:
        self.prep, self.store, self.opts = prep, store, opts
        self.engine = prep.engine
        self.labels = self._keep(labels_of(prep.training, opts), "training")
        self.n = int(collect_on(self.labels.select(nw.len().alias("__wb_n")), self.engine, "training",
                                check=CHECK_NAME).item())
        on_polars = self.engine == "polars"
        # the native path, and a label row's key and its position in the training input (polars only)
        self._native = NativePath(self.labels, prep, opts) if on_polars else None
        self._key = ["__wb_rn"] if on_polars else portable.ROW
        self._row = nw.col("__wb_rn") if on_polars else nw.lit(None, nw.Int64)

    def feature(self, name: str, decl: FeatureDecl) -> nw.LazyFrame:
        """``__wb_status, __wb_lag_s, __wb_pit`` (as-of: and ``__wb_age_s``) of every label row, with
        its display columns ``__wb_entity``, ``__wb_pt`` (epoch microseconds), ``__wb_value`` (the
        training value) and ``__wb_row`` (its position in the training input, null where rows have
        no order)."""
        per_row = RECOMPUTE[type(decl)](self, name, decl)
        display = self.labels.select(*dict.fromkeys([*self._key, "__wb_entity"]), "__wb_pt",
                                     nw.col(name).alias("__wb_value"), self._row.alias("__wb_row"))
        return per_row.join(display, on=self._key, how="left")

    # -- one method per kind: the native polars path or the portable one ---------------------------

    def window(self, name: str, decl: WindowAggregate) -> nw.LazyFrame:
        """A window aggregate: running sums for a count or a sum of values >= 0, else a join of each
        label row with its entity's events."""
        if self._native is not None:
            return self._native.window(name, decl)
        source, src = self.prep.sources[decl.source]
        with self._errors(f"feature {name!r}"):
            events = events_of(source, src, decl.column)
            per_row = portable.recompute_window(self._labels_with(name), events, decl, self.opts.rule,
                                                cumulative=_cumulative_applies(decl, events, src),
                                                keep=lambda lf: self._keep(lf, f"feature {name!r}"))
            return self._keep(per_row, f"feature {name!r}")

    def asof(self, name: str, decl: AsOf) -> nw.LazyFrame:
        """An as-of snapshot: the latest legal snapshot of each label row (and the latest by time)."""
        if self._native is not None:
            return self._native.asof(name, decl)
        source, src = self.prep.sources[decl.source]
        with self._errors(f"feature {name!r}"):
            per_row = portable.recompute_asof(self._labels_with(name), events_of(source, src, decl.column), decl,
                                              self.opts.rule, numeric=src.schema[decl.column].is_float())
            return self._keep(per_row, f"feature {name!r}")

    def static(self, name: str, decl: Static) -> nw.LazyFrame:
        """A static attribute, compared with the source's value of its entity."""
        if self._native is not None:
            return self._native.static(name, decl)
        source, src = self.prep.sources[decl.source]
        attributes = src.lf.select(_entity(source.entity, src.schema[source.entity]).alias("__wb_entity"),
                                   nw.col(decl.column).alias("__wb_x"))
        with self._errors(f"feature {name!r}"):
            per_row = portable.recompute_static(self._labels_with(name), attributes, decl,
                                                numeric=src.schema[decl.column].is_numeric())
            return self._keep(per_row, f"feature {name!r}")

    def lateness(self, src_name: str) -> tuple[nw.LazyFrame, int, int]:
        """Lateness per event of a source with an available time (``__wb_late_s``, seconds), and the
        (label row, event) pairs with the event before the cutoff, and those of them not yet
        available at it (running counts as of each cutoff)."""
        if self._native is not None:
            return self._native.lateness(src_name)
        source, src = self.prep.sources[src_name]
        with self._errors(f"source {src_name!r}"):
            events = events_of(source, src, None)
            per_label = portable.counts_at_cutoff(self.labels.select(*portable.ROW, "__wb_cutoff"), events,
                                                  self.opts.rule)
            unavailable = nw.max_horizontal(nw.col("__wb_T_c") - nw.col("__wb_A_c"), nw.lit(0.0))
            totals = collect_on(per_label.select(nw.col("__wb_T_c").sum().alias("__wb_h"),
                                                 unavailable.sum().alias("__wb_u")),
                                self.engine, f"source {src_name!r}", check=CHECK_NAME)
            late = events.select(portable.seconds(nw.col("__wb_avail") - nw.col("__wb_time")).alias("__wb_late_s"))
        return late, int(totals["__wb_h"][0] or 0), int(totals["__wb_u"][0] or 0)

    # -- helpers -----------------------------------------------------------------------------------

    def _keep(self, lf: nw.LazyFrame, name: str) -> nw.LazyFrame:
        """``store.keep``, reporting a failing source by name."""
        with engine_errors(name, self.engine, check=CHECK_NAME, doing="compute its summaries"):
            return self.store.keep(lf)

    def _errors(self, name: str) -> AbstractContextManager[None]:
        """Engine errors while building the queries of ``name`` (a feature or a source), naming it."""
        return engine_errors(name, self.engine, check=CHECK_NAME)

    def _labels_with(self, name: str) -> nw.LazyFrame:
        """The label rows with a feature's training value as ``__wb_train``, for the portable path."""
        return self.labels.select(*portable.ROW, "__wb_pt", "__wb_cutoff", nw.col(name).alias("__wb_train"))


# the method of each kind of declaration
RECOMPUTE: dict[type, Callable[[PerRow, str, Any], nw.LazyFrame]] = {
    WindowAggregate: PerRow.window, AsOf: PerRow.asof, Static: PerRow.static}


# -- labels and events on every engine ------------------------------------------------------------

def _only(frame: Frame, columns: list[str | None]) -> Frame:
    """``frame`` with only ``columns`` (None and repeats left out), before helper columns are added."""
    keep = list(dict.fromkeys(c for c in columns if c is not None))
    return Frame(frame.lf.select(keep), frame.engine, pl.Schema({c: frame.schema[c] for c in keep}), frame.name,
                 {c: t for c, t in frame.unsupported.items() if c in keep})


def _entity(column: str, dtype: pl.DataType) -> nw.Expr:
    """Entity keys joinable across inputs: every integer type as Int64."""
    return nw.col(column).cast(nw.Int64) if dtype.is_integer() else nw.col(column)


def labels_of(frame: Frame, opts: Options) -> nw.LazyFrame:
    """One row per training row: ``__wb_entity, __wb_rn`` (its key, see :mod:`.portable`), ``__wb_pt`` and
    ``__wb_cutoff`` (epoch microseconds), each feature's training value under its own name, each
    feature timestamp as ``__wb_ts<i>`` (epoch microseconds) and the split as text (``__wb_split``)."""
    features, stamps_in, split = list(opts.features), opts.feature_timestamps, opts.split
    frame = _only(frame, [opts.entity, opts.prediction_time, *features, *stamps_in.values(), split])
    lf = with_epoch(frame, opts.prediction_time, "__wb_pt")
    for i, col in enumerate(stamps_in.values()):
        lf = with_epoch(frame.with_lf(lf), col, f"__wb_ts{i}")
    stamps = [f"__wb_ts{i}" for i in range(len(stamps_in))]
    lf = lf.select(_entity(opts.entity, frame.schema[opts.entity]).alias("__wb_entity"), "__wb_pt",
                   (nw.col("__wb_pt") - portable.us(opts.rule.embargo)).alias("__wb_cutoff"), *features, *stamps,
                   *([nw.col(split).cast(nw.String).alias("__wb_split")] if split else []))
    if frame.engine == "polars":
        return nw.from_native(lf.to_native().with_row_index("__wb_rn").with_columns(pl.col("__wb_rn").cast(pl.Int64)))
    # rows equal in prediction time and every feature value are interchangeable: number them in any order
    number = nw.col("__wb_one").cum_sum().over("__wb_entity", order_by=["__wb_pt", *features])
    return lf.with_columns(nw.lit(1, nw.Int64).alias("__wb_one")).with_columns(number.alias("__wb_rn")).drop("__wb_one")


def events_of(source: Source, src: Frame, column: str | None) -> nw.LazyFrame:
    """A source's ``__wb_entity, __wb_time, __wb_avail`` (epoch microseconds; available time never
    before the time) and ``__wb_x`` (``column``; the time when None), for the portable path."""
    assert source.time is not None
    src = _only(src, [source.entity, source.time, source.available_time, column])
    lf = with_epoch(src, source.time, "__wb_time")
    avail = nw.col("__wb_time")
    if source.available_time is not None:
        lf = with_epoch(src.with_lf(lf), source.available_time, "__wb_avail_raw")
        avail = nw.max_horizontal(nw.col("__wb_time"), nw.col("__wb_avail_raw").fill_null(nw.col("__wb_time")))
    x = nw.col(column) if column is not None else nw.col("__wb_time")
    return lf.select(_entity(source.entity, src.schema[source.entity]).alias("__wb_entity"), "__wb_time",
                     avail.alias("__wb_avail"), x.alias("__wb_x"))


def _cumulative_applies(decl: WindowAggregate, events: nw.LazyFrame, src: Frame) -> bool:
    """Running sums serve a count, or a sum of values that are all >= 0."""
    if decl.agg == "count":
        return True
    if decl.agg != "sum":
        return False
    lowest = collect_on(events.select(nw.col("__wb_x").cast(nw.Float64).min().alias("__wb_m")), src.engine, src.name,
                        check=CHECK_NAME).item()
    return lowest is None or lowest >= 0
