"""The native polars path of the per-row classification (chosen per feature kind by
:class:`~.per_row.PerRow` for polars inputs): the label rows with polars datetimes, each event source
read and sorted once per clock and shared by every feature and the lateness profile, as-of
lookups with ``join_asof`` (:mod:`.cumulative`, :mod:`.recompute`). Results are keyed like the
labels (``__wb_rn``) and have the columns of the portable path (:mod:`.portable`)."""

from __future__ import annotations

import narwhals as nw
import polars as pl

from workbench.engine.frames import Frame
from workbench.engine.inputs import as_datetime
from workbench.leakage import cumulative
from workbench.leakage.inputs import Options, Prepared
from workbench.leakage.recompute import recompute_asof, recompute_static, recompute_window
from workbench.leakage.spec import AsOf, Source, Static, WindowAggregate
from workbench.leakage.summaries import epoch_to_datetime


class NativePath:
    """The polars recomputation of one audit's features and lateness counts; ``labels``: the label
    rows (:func:`~.per_row.labels_of`, in memory)."""

    def __init__(self, labels: nw.LazyFrame, prep: Prepared, opts: Options) -> None:
        self.prep, self.opts = prep, opts
        self.training = labels.to_native()
        self.labels = _polars_labels(labels, prep.time_zone)
        self._sorted: dict[str, cumulative.SortedEvents] = {}

    def window(self, name: str, decl: WindowAggregate) -> nw.LazyFrame:
        """Running sums for a count or a sum of values >= 0, else a join of each label row with its
        entity's events."""
        lab = self.labels.lazy().with_columns(self._values(name).cast(pl.Float64).alias("__wb_train"))
        events = self._sorted_events(decl.source)
        column = decl.column or "__wb_time"
        if cumulative.supports(decl, events.by_time, column):
            per_row = cumulative.recompute_window_cumulative(lab, events, decl, self.opts.rule, column=column)
        else:
            prepared = events.by_time.lazy().select("__wb_entity", "__wb_time", "__wb_avail",
                                                    pl.col(column).alias("__wb_x"))
            per_row = recompute_window(lab, prepared, decl, self.opts.rule)
        return _keyed(per_row.collect())

    def asof(self, name: str, decl: AsOf) -> nw.LazyFrame:
        source, src = self.prep.sources[decl.source]
        dtype = src.schema[decl.column]
        snapshots = _events(source, src, self.labels, self.prep.time_zone, [decl.column])
        lab = self.labels.lazy().with_columns(self._values(name).cast(dtype, strict=False).alias("__wb_train"))
        return _keyed(recompute_asof(lab, snapshots.rename({decl.column: "__wb_x"}), decl, self.opts.rule,
                                     numeric=dtype.is_float()).collect())

    def static(self, name: str, decl: Static) -> nw.LazyFrame:
        source, src = self.prep.sources[decl.source]
        dtype = src.schema[decl.column]
        lab = self.labels.lazy().with_columns(self._values(name).cast(dtype, strict=False).alias("__wb_train"))
        entity = pl.col(source.entity).cast(self.labels.schema["__wb_entity"])
        attrs = src.lf.to_native().select(entity.alias("__wb_entity"), pl.col(decl.column).alias("__wb_x"))
        return _keyed(recompute_static(lab, attrs, decl, numeric=dtype.is_numeric()).collect())

    def lateness(self, src_name: str) -> tuple[nw.LazyFrame, int, int]:
        """Lateness per event, and the (label, event) pairs with the event before the cutoff and
        those of them not yet available at it: running counts looked up as of each cutoff, shared
        with the count features of the same source."""
        strict = not self.opts.rule.inclusive
        events = self._sorted_events(src_name)
        late = events.by_time.lazy().select(
            (pl.col("__wb_avail") - pl.col("__wb_time")).dt.total_seconds(fractional=True).alias("__wb_late_s"))
        base = self.labels.lazy()
        happened = events.at_cutoff(base, "time", "count", "__wb_time", strict=strict)
        available = events.at_cutoff(base, "avail", "count", "__wb_time", strict=strict)
        both = happened.join(available, on="__wb_row", suffix="_a")
        h, u = both["__wb_sum"].sum(), (both["__wb_sum"] - both["__wb_sum_a"]).clip(0).sum()
        return nw.from_native(late), int(h), int(u)

    def _values(self, name: str) -> pl.Series:
        """A feature's training values in training order (the labels are in memory)."""
        return self.training.select(name).collect().to_series()

    def _sorted_events(self, src_name: str) -> cumulative.SortedEvents:
        """Each event source is read and sorted once, for every feature and the lateness profile."""
        if src_name not in self._sorted:
            source, src = self.prep.sources[src_name]
            declared = [d for d in self.opts.features.values() if isinstance(d, WindowAggregate)
                        and d.source == src_name]
            columns = sorted({d.column for d in declared if d.column})
            # running sums looked up at the cutoffs together: each window sum/count and the event count
            measures = sorted({(d.agg, d.column or "__wb_time") for d in declared if d.agg in ("sum", "count")}
                              | {("count", "__wb_time")})
            events = _events(source, src, self.labels, self.prep.time_zone, columns)
            self._sorted[src_name] = cumulative.SortedEvents.build(events, tuple(measures))
        return self._sorted[src_name]


def _polars_labels(labels: nw.LazyFrame, tz: str | None) -> pl.DataFrame:
    """``__wb_row, __wb_entity, __wb_pt, __wb_cutoff`` (datetimes in ``tz``)."""
    return labels.to_native().select(pl.col("__wb_rn").alias("__wb_row"), "__wb_entity",
                                     epoch_to_datetime(pl.col("__wb_pt"), tz).alias("__wb_pt"),
                                     epoch_to_datetime(pl.col("__wb_cutoff"), tz).alias("__wb_cutoff")).collect()


def _events(source: Source, src: Frame, labels: pl.DataFrame, tz: str | None, columns: list[str]) -> pl.LazyFrame:
    """A source's ``columns`` with ``__wb_entity, __wb_time, __wb_avail`` (datetimes in ``tz``; the
    available time never before the time)."""
    assert source.time is not None
    schema = src.schema
    t = as_datetime(source.time, schema[source.time], tz)
    avail = t if source.available_time is None else pl.max_horizontal(
        t, as_datetime(source.available_time, schema[source.available_time], tz))
    used = list(dict.fromkeys(c for c in (source.entity, source.time, source.available_time, *columns) if c))
    entity = pl.col(source.entity).cast(labels.schema["__wb_entity"])
    return src.lf.to_native().select(used).select(entity.alias("__wb_entity"), t.alias("__wb_time"),
                                                  avail.alias("__wb_avail"), *columns)


def _keyed(per_row: pl.DataFrame) -> nw.LazyFrame:
    """A per-row result keyed like the labels (``__wb_rn``, Int64)."""
    return nw.from_native(per_row.lazy().rename({"__wb_row": "__wb_rn"}).with_columns(pl.col("__wb_rn")
                                                                                       .cast(pl.Int64)))
