"""Declarations for the leakage auditor: sources, features and the point-in-time rule.

A *source* is a table keyed by an entity with up to two clocks: ``time`` (when the fact
happened: event time, or a snapshot's valid time) and ``available_time`` (when it became
available to the system: ingestion or write time). A *feature declaration* says how a
training column is meant to be computed from a source:

* :func:`window` – an aggregate (sum, count, mean, min, max) of an event log over the
  events before the prediction time, optionally within a look-back window;
* :func:`asof` – the value of the latest snapshot before the prediction time, optionally
  only if it is younger than a TTL;
* :func:`static` – an attribute of the entity with no clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from workbench import params
from workbench.errors import ConfigError
from workbench.stats.durations import format_duration

AGGREGATIONS = ("sum", "count", "mean", "min", "max")
# How a training value can break the rule: the per-row statuses besides "ok" (see workbench.leakage.checks)
TIMING_KINDS = ("future_data", "non_asof_join", "late_arrival")  # violations with a timing explanation
VIOLATION_KINDS = (*TIMING_KINDS, "feature_mismatch")


def parse_duration(value: str | dt.timedelta | None, *, what: str) -> dt.timedelta | None:
    """Parse '90d', '6h', '15m', '30s', '2w' (or a timedelta, or seconds, or None) into a timedelta
    strictly greater than zero (windows, TTLs); ``0s`` and negative durations are refused."""
    return params.optional_positive_duration(value, name=what)


@dataclass(frozen=True)
class Source:
    """A table keyed by ``entity`` with optional clocks.

    ``data``: any supported input (polars/pandas/arrow frame, duckdb relation, parquet/CSV path).
    ``time``: when each fact happened (event time, or a snapshot's valid time); None for
    static attributes. ``available_time``: when each row became available (ingestion or
    write time); None when rows are available as soon as they happen.
    """

    data: Any
    entity: str
    time: str | None = None
    available_time: str | None = None

    def __repr__(self) -> str:  # never print the data itself
        return f"Source(entity={self.entity!r}, time={self.time!r}, available_time={self.available_time!r})"


@dataclass(frozen=True)
class WindowAggregate:
    """``agg`` of ``column`` over a source's events with time in ``[prediction - window, cutoff)``."""

    source: str
    column: str | None
    agg: str = "sum"
    window: dt.timedelta | None = None
    kind: Literal["window"] = "window"

    def describe(self) -> str:
        span = f"last {format_duration(self.window)}" if self.window else "all history"
        target = self.column or "events"
        return f"{self.agg}({target}) over {self.source}, {span}"


@dataclass(frozen=True)
class AsOf:
    """Value of ``column`` in the latest snapshot of a source before the cutoff (within ``ttl``)."""

    source: str
    column: str
    ttl: dt.timedelta | None = None
    kind: Literal["asof"] = "asof"

    def describe(self) -> str:
        ttl = f", ttl {format_duration(self.ttl)}" if self.ttl else ""
        return f"as-of {self.column} from {self.source}{ttl}"


@dataclass(frozen=True)
class Static:
    """An attribute ``column`` of the entity from a source with no time clock."""

    source: str
    column: str
    kind: Literal["static"] = "static"

    def describe(self) -> str:
        return f"static {self.column} from {self.source}"


FeatureDecl = WindowAggregate | AsOf | Static


def window(source: str, column: str | None = None, *, agg: str = "sum",
           window: str | dt.timedelta | None = None) -> WindowAggregate:
    """Declare a window aggregate; ``column=None`` with ``agg='count'`` counts events."""
    if agg not in AGGREGATIONS:
        raise ConfigError(f"agg must be one of {list(AGGREGATIONS)}, got {agg!r}.")
    if column is None and agg != "count":
        raise ConfigError(f"agg={agg!r} needs a column; only agg='count' may omit it.")
    return WindowAggregate(source, column, agg, parse_duration(window, what="window"))


def asof(source: str, column: str, *, ttl: str | dt.timedelta | None = None) -> AsOf:
    """Declare an as-of snapshot feature."""
    return AsOf(source, column, parse_duration(ttl, what="ttl"))


def static(source: str, column: str) -> Static:
    """Declare a static attribute."""
    return Static(source, column)


@dataclass(frozen=True)
class PointInTimeRule:
    """When a source row may be used for a prediction made at time ``t``.

    With ``cutoff = t - embargo``, a row is legal iff ``time < cutoff`` and (when
    ``use_available_time``) ``available_time < cutoff``; ``inclusive=True`` turns both ``<``
    into ``<=``. A row's available time is never earlier than its time (``max`` of the two).
    ``use_available_time=False`` is the rule of feature stores that compare only the feature
    time (e.g. Feast's ``feature_ts <= entity_ts`` with ``inclusive=True``): late-arriving
    rows are then not violations.
    """

    inclusive: bool = False
    embargo: dt.timedelta = dt.timedelta(0)
    use_available_time: bool = True

    def condition(self) -> str:
        """The legality condition, e.g. ``time and available_time < prediction_time``."""
        op = "<=" if self.inclusive else "<"
        cutoff = "prediction_time" if not self.embargo else f"prediction_time - {format_duration(self.embargo)}"
        clocks = "time and available_time" if self.use_available_time else "time only (available_time ignored)"
        return f"{clocks} {op} {cutoff}"

    def describe(self) -> str:
        return f"legal iff {self.condition()}"

    def to_dict(self) -> dict[str, Any]:
        return {"inclusive": self.inclusive, "embargo_seconds": self.embargo.total_seconds(),
                "use_available_time": self.use_available_time, "statement": self.describe()}


def make_rule(*, inclusive: bool = False, embargo: str | dt.timedelta | None = None,
              use_available_time: bool = True) -> PointInTimeRule:
    """Build a :class:`PointInTimeRule` from friendly values."""
    embargo_td = dt.timedelta(0) if embargo is None else params.non_negative_duration(embargo, name="embargo")
    return PointInTimeRule(params.boolean(inclusive, name="inclusive"), embargo_td,
                           params.boolean(use_available_time, name="use_available_time"))
