"""The metrics series of a model service: read, validate, counters into per-interval increases, gaps found.

Input: a long table with one row per sample, ``timestamp`` (datetime), ``metric`` (text), ``value``
(number) and label columns (``host``, ``gpu``, ``queue``, ...: every other column, or ``labels=``). A
*series* is one metric with one combination of label values. Two kinds of metric:

* **counters** (names ending in ``_total``, and those listed in ``counters=``): cumulative counts that only go
  up, except when the process restarts and the counter starts again from zero. The increase over an
  interval is ``value - previous``, or ``value`` itself when the value went down (a reset: the counter
  counted ``value`` since it restarted), as Prometheus' ``increase()`` reads it. The rate is the
  increase divided by the seconds between the two samples;
* **gauges** (everything else): a level at the sample time (utilization, memory, queue depth).

A **gap** is a stretch of at least one missing sample (two samples of a series more than 1.5 of its sample
intervals apart, or a series that stops before the end of the data). Missing samples are never read as
zeros: a counter's increase over a gap is the increase between the samples around it, spread over the
gap; a gauge has no value there. Each gap is a ``metrics_gap`` finding.

:func:`metrics_findings` is the entry the service check calls: gaps, then the GPU
(:mod:`workbench.service.gpu`) and queue (:mod:`workbench.service.queues`) findings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from workbench import params
from workbench.engine.inputs import FrameLike, check_time_column, require_columns, schema_of, to_lazy
from workbench.engine.reserved import PREFIX, refuse_reserved
from workbench.errors import InputError
from workbench.findings.model import Finding
from workbench.service import gpu as gpu_part
from workbench.service import queues as queue_part
from workbench.stats import format_duration

TS, METRIC, VALUE = "timestamp", "metric", "value"
DT, INCREASE, RESET, RATE = "interval_s", "increase", "reset", "rate"
COUNTER_SUFFIX = "_total"
GAP_FACTOR = 1.5  # samples further apart than this many intervals have at least one sample missing between them
OWNER = "metrics_findings"


@dataclass(frozen=True)
class MetricSeries:
    """The validated series: ``frame`` has ``timestamp`` (UTC or naive, µs), ``metric``, ``value``, the
    label columns (text, null where a metric does not carry the label), ``interval_s`` (seconds since the
    series' previous sample), and for counters ``increase``, ``reset`` (the value went down) and ``rate``
    (increase per second); sorted by series, then time. ``interval``: the sample interval; ``end``: the
    last timestamp of the data; ``interval_given``: the interval was given, not measured."""

    frame: pl.DataFrame
    labels: tuple[str, ...]
    counters: frozenset[str]
    interval: dt.timedelta
    end: dt.datetime
    interval_given: bool = False

    @property
    def interval_s(self) -> float:
        return self.interval.total_seconds()


def read_metrics(metrics: FrameLike, *, timestamp: str = TS, metric: str = METRIC, value: str = VALUE,
                 labels: Sequence[str] | None = None, counters: Iterable[str] | None = None,
                 interval: str | dt.timedelta | None = None, owner: str = OWNER) -> MetricSeries:
    """Read and validate a long metrics table (see the module docstring).

    ``labels``: the label columns (default: every column but the three roles); ``counters``: metric
    names read as counters besides the names ending in ``_total`` (e.g. ``["dataloader_wait_seconds"]`` when it
    is a cumulative count of seconds); ``interval``: the sample interval
    (default: the median spacing of consecutive samples). Rows with a null or NaN value are dropped
    (missing samples, found as gaps). Raises :class:`InputError` on a missing column, a non-datetime
    time, a non-numeric value, a negative counter or two samples of one series at the same time.
    """
    roles = {role: str(params.column_name(column, name=role, owner=owner, optional=False))
             for role, column in (("timestamp", timestamp), ("metric", metric), ("value", value))}
    lf = to_lazy(metrics, name="metrics", check=owner)
    schema = schema_of(lf, name="metrics")
    require_columns(schema, roles, name="metrics")
    label_cols = _labels(schema, roles, labels, owner)
    used: dict[str, str | None] = {**roles, **{c: c for c in label_cols}}
    refuse_reserved(used, name="metrics")
    check_time_column(schema, timestamp, name="metrics", role="timestamp")
    if not schema[value].is_numeric():
        raise InputError(f"metrics: value column {value!r} must be numeric, got {schema[value]}. "
                         f"Cast it, e.g. pl.col({value!r}).cast(pl.Float64).")
    frame = lf.select(pl.col(timestamp).cast(pl.Datetime("us", getattr(schema[timestamp], "time_zone", None)))
                      .alias(TS), pl.col(metric).cast(pl.String).alias(METRIC),
                      pl.col(value).cast(pl.Float64).alias(VALUE),
                      *(pl.col(c).cast(pl.String) for c in label_cols)).collect()
    frame = frame.filter(pl.col(VALUE).is_not_null() & pl.col(VALUE).is_not_nan() & pl.col(TS).is_not_null())
    if frame.height == 0:
        raise InputError("metrics: no samples (the table is empty, or every value is null).")
    counter_set = _counters(frame, counters, owner)
    keys = [METRIC, *label_cols]
    frame = _with_increases(frame.sort([*keys, TS], nulls_last=True), keys, counter_set)
    _refuse_duplicates(frame, keys)
    step = _interval(frame, interval, owner)
    return MetricSeries(frame, tuple(label_cols), counter_set, step, frame[TS].max(),  # type: ignore[arg-type]
                        interval is not None)


def _labels(schema: Mapping[str, Any], roles: Mapping[str, str], labels: Sequence[str] | None,
            owner: str) -> list[str]:
    if labels is None:
        return [c for c in schema if c not in roles.values() and not c.startswith(PREFIX)]
    names = params.column_names(labels, name="labels", owner=owner)
    require_columns(schema, {f"labels[{i}]": c for i, c in enumerate(names)}, name="metrics")
    clash = sorted(set(names) & ({TS, METRIC, VALUE, DT, INCREASE, RESET, RATE} | set(roles.values())))
    if clash:
        raise InputError(f"metrics: label column(s) {clash} clash with a role or a computed column; rename them.")
    return names


def _counters(frame: pl.DataFrame, counters: Iterable[str] | None, owner: str) -> frozenset[str]:
    names = set(frame[METRIC].unique().drop_nulls().to_list())
    chosen = {n for n in names if n.endswith(COUNTER_SUFFIX)}
    if counters is not None:
        chosen |= set(params.column_names(list(counters), name="counters", owner=owner))
    negative = frame.filter(pl.col(METRIC).is_in(sorted(chosen)) & (pl.col(VALUE) < 0))
    if negative.height:
        row = negative.row(0, named=True)
        raise InputError(f"metrics: counter {row[METRIC]!r} has a negative value ({row[VALUE]}) at {row[TS]}; a "
                         "counter counts from zero. Names ending in "
                         f"'{COUNTER_SUFFIX}' and those in counters= are read as counters: if it is a level, rename it "
                         "or leave it out of counters=.")
    return frozenset(chosen)


def _refuse_duplicates(frame: pl.DataFrame, keys: list[str]) -> None:
    dup = frame.filter(pl.col(DT) == 0)  # sorted by series and time: a repeated time is 0 s after the one before
    if dup.height:
        row = dup.row(0, named=True)
        where = ", ".join(f"{k}={row[k]}" for k in keys[1:] if row[k] is not None) or "no labels"
        raise InputError(f"metrics: {dup.height} sample(s) repeat the series and time of another, e.g. {row[METRIC]!r} "
                         f"({where}) at {row[TS]}. Keep one sample per series and time (e.g. .unique() or "
                         "aggregate), or add the label that tells them apart to labels=.")


def _with_increases(frame: pl.DataFrame, keys: list[str], counters: frozenset[str]) -> pl.DataFrame:
    delta = pl.col(VALUE).diff().over(keys)
    is_counter = pl.col(METRIC).is_in(sorted(counters))
    seconds = (pl.col(TS).diff().over(keys).dt.total_microseconds() / 1e6).alias(DT)
    reset = pl.when(is_counter).then(delta < 0)
    increase = pl.when(is_counter).then(pl.when(delta < 0).then(pl.col(VALUE)).otherwise(delta))
    return frame.with_columns(seconds, reset.alias(RESET), increase.alias(INCREASE)).with_columns(
        (pl.col(INCREASE) / pl.col(DT)).alias(RATE))


def _interval(frame: pl.DataFrame, interval: str | dt.timedelta | None, owner: str) -> dt.timedelta:
    if interval is not None:
        return params.positive_duration(interval, name="interval", owner=owner,
                                        hint="Leave it out to use the median spacing of the samples.")
    spacing = frame[DT].drop_nulls()
    spacing = spacing.filter(spacing > 0)
    if spacing.len() == 0:
        raise InputError("metrics: no series has two samples, so the sample interval is unknown; give "
                         "interval= (e.g. '10s') or a longer series.")
    return dt.timedelta(seconds=float(spacing.median()))  # type: ignore[arg-type]


# -- gaps ------------------------------------------------------------------------------------------------------
def gaps(series: MetricSeries) -> pl.DataFrame:
    """One row per gap of one series: ``metric``, the labels, ``gap_from`` (last sample before), ``gap_to`` (first
    sample after, or the end of the data when the series stopped: ``open``), ``missing`` (samples missing,
    rounded) and ``seconds``. Each series is judged at its own sample interval (the median spacing of its
    samples; a series scraped every minute beside ones every 10 s has no gap every minute), or at ``interval=``
    when one was given."""
    keys = [METRIC, *series.labels]
    own = pl.col(DT).filter(pl.col(DT) > 0).median().over(keys)
    step = pl.lit(series.interval_s) if series.interval_given else own.fill_null(series.interval_s)
    frame = series.frame.with_columns(step.alias("__step"))
    inner = frame.filter(pl.col(DT) > GAP_FACTOR * pl.col("__step")).select(
        *keys, (pl.col(TS) - pl.duration(microseconds=(pl.col(DT) * 1e6).cast(pl.Int64))).alias("gap_from"),
        pl.col(TS).alias("gap_to"), pl.lit(False).alias("open"), "__step")
    last = frame.group_by(keys).agg(pl.col(TS).max().alias("gap_from"), pl.col("__step").first())
    trailing = last.filter((pl.lit(series.end) - pl.col("gap_from")).dt.total_microseconds() / 1e6
                           > GAP_FACTOR * pl.col("__step")).with_columns(pl.lit(series.end).alias("gap_to"),
                                                                         pl.lit(True).alias("open"))
    out = pl.concat([inner, trailing.select(inner.columns)])
    seconds = (pl.col("gap_to") - pl.col("gap_from")).dt.total_microseconds() / 1e6
    missing = (seconds / pl.col("__step")).round().cast(pl.Int64) - pl.when(pl.col("open")).then(0).otherwise(1)
    return out.with_columns(missing.alias("missing"), seconds.alias("seconds")).drop("__step").sort(
        [*keys, "gap_from"], nulls_last=True)


def gap_findings(table: pl.DataFrame, by: Sequence[str]) -> list[Finding]:
    """``metrics_gap`` findings: the gaps of ``table`` (:func:`gaps`) that share their ``by`` labels and their
    from/to times, one finding each (a host that stops reporting is one finding, not one per series)."""
    out = []
    keys = [*by, "gap_from", "gap_to", "open"]
    for (*scope_values, start, end, is_open), rows in table.group_by(keys, maintain_order=True):
        segment = {k: v for k, v in zip(by, scope_values, strict=True) if v is not None}
        series = [_series_name(r, table.columns) for r in rows.iter_rows(named=True)]
        where = ", ".join(f"{k}={v}" for k, v in segment.items()) or "all hosts"
        subject = series[0] if len(series) == 1 else f"{len(series)} series"
        missing = int(rows["missing"].max())  # type: ignore[arg-type]
        span = format_duration(float(rows["seconds"].max()))  # type: ignore[arg-type]
        tail = " and has not reported since" if is_open else ""
        message = (f"No samples from {subject} on {where} for {span} ({start:%Y-%m-%d %H:%M:%S} → "
                   f"{end:%Y-%m-%d %H:%M:%S}, {missing} missing sample(s)){tail}; the checks skip the gap instead "
                   "of reading it as zeros.")
        out.append(Finding(
            "service", "metrics_gap", "warning", subject, message,
            f"Check the exporter or the scrape of {where} at that time (a restart, a network problem, a full "
            "disk); counters that restarted are read from zero again.",
            {"value": float(rows["seconds"].max()), "missing_samples": missing,  # type: ignore[arg-type]
             "series": series, "n": len(series), "open": bool(is_open), "window_start": start, "window_end": end},
            {**({"segment": segment} if segment else {}), "window": [start.isoformat(), end.isoformat()]}))
    return out


def _series_name(row: Mapping[str, Any], columns: Sequence[str]) -> str:
    labels = [f"{k}={row[k]}" for k in columns if k not in (METRIC, "gap_from", "gap_to", "open", "missing",
                                                             "seconds") and row[k] is not None]
    return f"{row[METRIC]}{{{', '.join(labels)}}}" if labels else str(row[METRIC])


# -- one row per scope and interval -------------------------------------------------------------------------
def wide(series: MetricSeries, names: Iterable[str], keys: Sequence[str]) -> pl.DataFrame:
    """The ``names`` metrics side by side, one row per ``keys`` × interval (timestamps cut to the sample
    interval): a gauge's mean value under its name; a counter's increase (``<name>_increase``) and its rate
    per second (``<name>_rate``, the increase over the seconds its samples cover). A metric without a sample
    in an interval is null there, never zero. Rows whose ``keys`` are null for that metric are left out."""
    wanted = sorted(set(names))
    step = f"{round(series.interval_s * 1e6)}us"
    sub = series.frame.filter(pl.col(METRIC).is_in(wanted) & pl.all_horizontal(
        [pl.col(k).is_not_null() for k in keys] or [pl.lit(True)])).with_columns(pl.col(TS).dt.truncate(step))
    group = [*keys, TS, METRIC]
    gauges = sub.filter(~pl.col(METRIC).is_in(sorted(series.counters))).group_by(group).agg(pl.col(VALUE).mean())
    counts = sub.filter(pl.col(METRIC).is_in(sorted(series.counters))).group_by(group).agg(
        pl.col(INCREASE).sum().alias("i"), pl.col(DT).filter(pl.col(INCREASE).is_not_null()).sum().alias("s"))
    counts = counts.filter(pl.col("s") > 0)
    long = pl.concat([
        gauges,
        counts.select(*group[:-1], (pl.col(METRIC) + "_increase").alias(METRIC), pl.col("i").alias(VALUE)),
        counts.select(*group[:-1], (pl.col(METRIC) + "_rate").alias(METRIC), (pl.col("i") / pl.col("s")).alias(VALUE)),
    ])
    if long.height == 0:
        return pl.DataFrame(schema={**{k: pl.String for k in keys}, TS: series.frame.schema[TS]})
    return long.pivot(METRIC, index=[*keys, TS], values=VALUE).sort([*keys, TS])


# -- the entry the service check calls ----------------------------------------------------------------------
def metrics_findings(
    metrics: FrameLike,
    *,
    by: str | Sequence[str] = ("host",),
    timestamp: str = TS,
    metric: str = METRIC,
    value: str = VALUE,
    labels: Sequence[str] | None = None,
    counters: Iterable[str] | None = None,
    interval: str | dt.timedelta | None = None,
    gpu: str = "gpu",
    queue: str = "queue",
    capacity: float | Mapping[str, float] | None = None,
    min_duration: str | dt.timedelta = "5m",
    low_utilization: float = 0.4,
    wait_share: float = 0.3,
    memory_share: float = 0.9,
    growth_window: str | dt.timedelta = "10m",
    growth_confidence: float = 0.99,
    min_growth: float = 20.0,
) -> tuple[dict[str, pl.DataFrame], list[Finding]]:
    """Gaps, GPU and queue findings of a long metrics series (metric names of docs/vocabulary.md: see
    :mod:`workbench.service.gpu` and :mod:`workbench.service.queues`).

    ``by``: the labels of one machine (``requests_total`` is joined to a GPU by them); ``gpu`` and ``queue``:
    the labels that tell a machine's GPUs and queues apart (used when they are label columns).
    ``min_duration``, ``low_utilization``, ``wait_share``, ``memory_share``: the GPU rule (how long, below what
    utilization, with what loader wait share or memory share). ``growth_window``, ``growth_confidence``,
    ``min_growth`` (items per window) and ``capacity`` (items; one number, or per queue name): the queue rule
    (named apart from the request checks' ``window`` and ``confidence``; its false-alert rate is measured at
    these defaults).
    Returns the tables ``metric_gaps``, ``gpu`` (per GPU and interval), ``queues`` (per queue and interval)
    and the findings (``metrics_gap``, ``gpu_underutilized``, ``queue_backpressure``).
    """
    by_cols = params.column_names(by, name="by", owner=OWNER)
    growth_window = params.positive_duration(growth_window, name="growth_window", owner=OWNER)
    growth_confidence = params.open_unit(growth_confidence, name="growth_confidence", owner=OWNER)
    min_duration = params.positive_duration(min_duration, name="min_duration", owner=OWNER)
    shares = {"low_utilization": low_utilization, "wait_share": wait_share, "memory_share": memory_share}
    shares = {n: params.open_unit(v, name=n, owner=OWNER) for n, v in shares.items()}
    series = read_metrics(metrics, timestamp=timestamp, metric=metric, value=value, labels=labels,
                          counters=counters, interval=interval)
    missing = [c for c in by_cols if c not in series.labels]
    if missing:
        raise InputError(f"metrics: by={missing} are not label columns of the metrics; its labels are "
                         f"{list(series.labels)}.")
    gap_table = gaps(series)
    findings = gap_findings(gap_table, by_cols)
    gpu_table = gpu_frame(series, by_cols, gpu)
    gpu_keys = [*by_cols, *([gpu] if gpu in series.labels else [])]
    gpu_table, gpu_found = gpu_part.gpu_findings(
        gpu_table, gpu_keys, series.interval, min_duration=min_duration, low_utilization=shares["low_utilization"],
        wait_share=shares["wait_share"], memory_share=shares["memory_share"])
    queue_table = queue_frame(series, by_cols, queue)
    queue_keys = [*by_cols, *([queue] if queue in series.labels else [])]
    queue_table, queue_found = queue_part.queue_findings(
        queue_table, queue_keys, series.interval, window=growth_window, confidence=growth_confidence,
        min_growth=min_growth, capacity=capacity, queue=queue if queue in series.labels else None)
    tables = {"metric_gaps": gap_table, "gpu": gpu_table, "queues": queue_table}
    return tables, [*findings, *gpu_found, *queue_found]


def gpu_frame(series: MetricSeries, by: Sequence[str], gpu: str) -> pl.DataFrame:
    """Per GPU and interval, the columns :func:`workbench.service.gpu.gpu_findings` reads (see there)."""
    keys = [*by, *([gpu] if gpu in series.labels else [])]
    names = gpu_part.METRICS
    table = wide(series, names, keys)
    if gpu_part.UTILIZATION not in table.columns:
        return pl.DataFrame(schema={**{k: pl.String for k in keys}, TS: series.frame.schema[TS]})
    step = series.interval_s

    def col(name: str) -> pl.Expr:
        return pl.col(name) if name in table.columns else pl.lit(None, pl.Float64)

    wait = gpu_part.WAIT
    wait_share = col(f"{wait}_rate") if wait in series.counters else col(wait) / step
    traffic = wide(series, [gpu_part.REQUESTS], by)
    rate = f"{gpu_part.REQUESTS}_rate"
    if rate in traffic.columns:
        table = table.join(traffic.select(*by, TS, rate), on=[*by, TS], how="left", nulls_equal=True)
    return table.select(
        *keys, TS, col(gpu_part.UTILIZATION).alias("utilization"),
        (col(gpu_part.MEMORY_USED) / col(gpu_part.MEMORY_TOTAL)).alias("memory_share"),
        wait_share.alias("wait_share"), col(gpu_part.THROUGHPUT).alias("throughput"),
        col(rate).alias("traffic"))


def queue_frame(series: MetricSeries, by: Sequence[str], queue: str) -> pl.DataFrame:
    """Per queue and interval, the columns :func:`workbench.service.queues.queue_findings` reads (see there)."""
    keys = [*by, *([queue] if queue in series.labels else [])]
    table = wide(series, queue_part.METRICS, keys)
    if queue_part.DEPTH not in table.columns:
        return pl.DataFrame(schema={**{k: pl.String for k in keys}, TS: series.frame.schema[TS]})

    def col(name: str) -> pl.Expr:
        return pl.col(name) if name in table.columns else pl.lit(None, pl.Float64)

    return table.select(*keys, TS, col(queue_part.DEPTH).alias("depth"),
                        col(f"{queue_part.ARRIVALS}_rate").alias("arrival_rate"),
                        col(f"{queue_part.SERVED}_rate").alias("service_rate"),
                        col(f"{queue_part.REJECTED}_increase").alias("rejected"))
