"""``gpu_underutilized``: an accelerator that is busy with traffic but not with work, and why.

Reads per GPU and interval (built by :func:`workbench.service.metrics.gpu_frame`): ``utilization``
(``gpu_utilization``, 0..1), ``memory_share`` (``gpu_memory_used_bytes / gpu_memory_total_bytes``),
``wait_share`` (seconds the data loader kept the GPU waiting per second: ``dataloader_wait_seconds`` per
interval divided by the interval, or the rate of that counter), ``throughput`` (items/s) and ``traffic``
(the machine's ``requests_total`` per second; null without that counter, e.g. for a training job).

Rule, on each series smoothed by a rolling mean over ``smooth`` (default one minute):

* **idle**: traffic at most ``idle_share`` (5%) of the GPU's 90th percentile of traffic (without a request
  count: throughput at most 5% of its 90th percentile while the loader is not what it waits for). Idle without
  traffic is not an alert, whatever the utilization;
* **input-bound**: utilization below ``low_utilization`` (0.4) while the loader wait share is at least
  ``wait_share`` (0.3), with work to do (traffic over the last five ``smooth`` windows at least ``busy_share``,
  25%, of its 90th percentile: at low traffic a GPU waits for requests, not for its loader): the GPU waits for
  input;
* **memory-bound**: the same with memory at least ``memory_share`` (0.9) of the total instead of the wait:
  the batch cannot grow, throughput stays flat;
* low utilization otherwise is low load (the GPU has spare capacity), not an alert.

A finding needs the cause to last ``min_duration`` (5 minutes); breaks shorter than ``smooth`` do not end it
(they are counted in it). It gives the period, the
mean utilization with a 95% interval (batch means over ``smooth`` blocks, so that neighbouring samples do
not pass for independent ones), the GPU's usual utilization under traffic (the baseline) and the evidence
of the cause (wait share, memory share, throughput against its usual level).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from workbench import params
from workbench.findings.model import Finding
from workbench.stats import format_duration
from workbench.stats.tails import betainc

UTILIZATION, MEMORY_USED, MEMORY_TOTAL = "gpu_utilization", "gpu_memory_used_bytes", "gpu_memory_total_bytes"
WAIT, THROUGHPUT, REQUESTS = "dataloader_wait_seconds", "throughput", "requests_total"
METRICS = (UTILIZATION, MEMORY_USED, MEMORY_TOTAL, WAIT, THROUGHPUT)
TS = "timestamp"
CAUSES = ("input_bound", "memory_bound")
TRAFFIC_SPAN = 5  # the work-to-do test averages the requests over this many smoothing windows
OWNER = "gpu_findings"


def gpu_findings(table: pl.DataFrame, keys: Sequence[str], interval: dt.timedelta, *,
                 min_duration: str | dt.timedelta = "5m", low_utilization: float = 0.4, wait_share: float = 0.3,
                 memory_share: float = 0.9, idle_share: float = 0.05, busy_share: float = 0.25,
                 smooth: str | dt.timedelta = "1m") -> tuple[pl.DataFrame, list[Finding]]:
    """The table with a ``state`` per interval (``idle``, ``busy``, ``low_load``, ``input_bound``,
    ``memory_bound``) and the ``gpu_underutilized`` findings (see the module docstring)."""
    least = params.positive_duration(min_duration, name="min_duration", owner=OWNER)
    window = params.positive_duration(smooth, name="smooth", owner=OWNER)
    thresholds = {"low_utilization": params.open_unit(low_utilization, name="low_utilization", owner=OWNER),
                  "wait_share": params.open_unit(wait_share, name="wait_share", owner=OWNER),
                  "memory_share": params.open_unit(memory_share, name="memory_share", owner=OWNER),
                  "idle_share": params.open_unit(idle_share, name="idle_share", owner=OWNER),
                  "busy_share": params.open_unit(busy_share, name="busy_share", owner=OWNER)}
    if table.height == 0 or "utilization" not in table.columns:
        return table, []
    keys = list(keys)
    table = _states(table, keys, window, thresholds)
    periods = _bridge(_periods(table, keys, interval).filter(pl.col("state").is_in(CAUSES)), keys, window)
    periods = periods.filter(pl.col("seconds") >= least.total_seconds())
    blocks = max(1, round(window / interval))
    findings = [_finding(p, table, keys, blocks, thresholds) for p in periods.iter_rows(named=True)]
    return table, findings


def per(expr: pl.Expr, keys: list[str]) -> pl.Expr:
    """``expr`` per GPU (``over(keys)``), or over the whole table when there is one GPU and no key."""
    return expr.over(keys) if keys else expr


def _states(table: pl.DataFrame, keys: list[str], window: dt.timedelta, t: dict[str, float]) -> pl.DataFrame:
    def smooth(c: str, times: int = 1) -> pl.Expr:
        return per(pl.col(c).rolling_mean_by(TS, window_size=f"{round(window.total_seconds() * 1e6) * times}us"), keys)

    u, w, m = smooth("utilization"), smooth("wait_share"), smooth("memory_share")
    requests, done = smooth("traffic"), smooth("throughput")
    has_requests = per(pl.col("traffic").is_not_null().any(), keys)
    usual_requests = per(pl.col("traffic").quantile(0.9), keys)
    usual_done = per(pl.col("throughput").quantile(0.9), keys)
    # idle: no requests; without a request count, no work done while the loader is not the reason
    idle = pl.when(has_requests).then(requests <= t["idle_share"] * usual_requests).otherwise(
        (done <= t["idle_share"] * usual_done) & (w.fill_null(0) < t["wait_share"])).fill_null(False)
    # a cause needs work to do: at least busy_share of the usual requests (a GPU that waits for input at night,
    # when little comes in, waits for requests, not for its loader)
    recent = smooth("traffic", TRAFFIC_SPAN)  # requests are sparse: judged over a longer span
    loaded = pl.when(has_requests).then(recent >= t["busy_share"] * usual_requests).otherwise(True).fill_null(False)
    low = u < t["low_utilization"]
    state = (pl.when(idle).then(pl.lit("idle"))
             .when(low & loaded & (w >= t["wait_share"])).then(pl.lit("input_bound"))
             .when(low & loaded & (m >= t["memory_share"])).then(pl.lit("memory_bound"))
             .when(low).then(pl.lit("low_load"))
             .when(u.is_not_null()).then(pl.lit("busy")))
    return table.sort([*keys, TS], nulls_last=True).with_columns(state.alias("state"))


def _periods(table: pl.DataFrame, keys: list[str], interval: dt.timedelta) -> pl.DataFrame:
    """Runs of one state per GPU: consecutive intervals (no missing interval between them)."""
    step = interval.total_seconds()
    gap = per(pl.col(TS).diff().dt.total_microseconds() / 1e6 > 1.5 * step, keys)
    change = per(pl.col("state") != pl.col("state").shift(), keys)
    run = (gap.fill_null(True) | change.fill_null(True)).cum_sum().alias("run")
    return (table.with_columns(run).group_by([*keys, "run", "state"], maintain_order=True)
            .agg(pl.col(TS).min().alias("start"), (pl.col(TS).max() + interval).alias("end"), pl.len().alias("n"))
            .with_columns(((pl.col("end") - pl.col("start")).dt.total_microseconds() / 1e6).alias("seconds")))


def _bridge(periods: pl.DataFrame, keys: list[str], gap: dt.timedelta) -> pl.DataFrame:
    """Periods of one cause on one GPU less than ``gap`` apart as one (a sample that flickers across a threshold
    does not cut a period in two)."""
    periods = periods.sort([*keys, "state", "start"], nulls_last=True)
    apart = (pl.col("start") - pl.col("end").shift()).over([*keys, "state"]) > gap
    return (periods.with_columns(apart.fill_null(True).cum_sum().alias("run"))
            .group_by([*keys, "state", "run"], maintain_order=True)
            .agg(pl.col("start").min(), pl.col("end").max(), pl.col("n").sum())
            .with_columns(((pl.col("end") - pl.col("start")).dt.total_microseconds() / 1e6).alias("seconds")))


def batch_mean_interval(values: np.ndarray, block: int, confidence: float = 0.95) -> tuple[float, float]:
    """A ``confidence`` interval of the mean of an autocorrelated series: the t-interval of the means of
    consecutive blocks of ``block`` samples (NaN bounds with fewer than two blocks)."""
    values = values[~np.isnan(values)]
    k = len(values) // block
    if k < 2:
        return math.nan, math.nan
    means = values[: k * block].reshape(k, block).mean(axis=1)
    half = t_quantile(0.5 + confidence / 2, k - 1) * float(means.std(ddof=1)) / math.sqrt(k)
    centre = float(values.mean())
    return centre - half, centre + half


def t_quantile(q: float, dof: int) -> float:
    """Quantile ``q`` (in (0.5, 1)) of Student's t with ``dof`` degrees of freedom, by bisection on its
    distribution function ``1 - I_{dof/(dof+t²)}(dof/2, 1/2) / 2`` (no scipy import on the hot path)."""
    low, high = 0.0, 1.0
    while 1 - betainc(dof / 2, 0.5, dof / (dof + high * high)) / 2 < q:
        high *= 2
    for _ in range(100):
        mid = (low + high) / 2
        if 1 - betainc(dof / 2, 0.5, dof / (dof + mid * mid)) / 2 < q:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _finding(p: dict[str, Any], table: pl.DataFrame, keys: list[str], block: int,
             t: dict[str, float]) -> Finding:
    mine = pl.all_horizontal([pl.col(k).eq_missing(p[k]) for k in keys] or [pl.lit(True)])
    scope_rows = table.filter(mine)
    rows = scope_rows.filter(pl.col(TS).is_between(p["start"], p["end"], closed="left"))
    busy = scope_rows.filter(pl.col("state") == "busy")
    util = rows["utilization"].to_numpy().astype(float)
    mean = float(np.nanmean(util))
    samples = int((~np.isnan(util)).sum())
    low, high = batch_mean_interval(util, block)
    baseline = float(busy["utilization"].mean()) if busy.height else math.nan  # type: ignore[arg-type]
    evidence = {c: _mean(rows, c) for c in ("wait_share", "memory_share", "throughput", "traffic")}
    usual = {c: _mean(busy, c) for c in ("wait_share", "memory_share", "throughput")}
    segment = {k: p[k] for k in keys if p[k] is not None}
    where = ", ".join(f"{k}={v}" for k, v in segment.items()) or "gpu"
    name = f"GPU {where}" if segment else "The GPU"
    span = format_duration(p["seconds"])
    cause = p["state"]
    if cause == "input_bound":
        why = (f"the data loader kept it waiting {evidence['wait_share']:.0%} of the time "
               f"(usually {usual['wait_share']:.0%})")
        todo = ("It waits for input: add data-loader workers or prefetching, move preprocessing off the request "
                "path or onto the GPU, check the storage or feature source it reads; look at what changed in the "
                "input pipeline when the period began.")
    else:
        why = (f"memory was {evidence['memory_share']:.0%} full (usually {usual['memory_share']:.0%}) and "
               f"throughput {evidence['throughput']:.3g}/s (usually {usual['throughput']:.3g}/s)")
        todo = ("Memory is nearly full while the GPU idles: batches cannot grow. Lower the memory per request "
                "(batch size, sequence length, cache limits, quantization) or look for a leak that grew until the "
                "period began.")
    base = f" vs {baseline:.0%} usually under traffic" if not math.isnan(baseline) else ""
    message = (f"{name} was {cause.replace('_', '-')} for {span} from {p['start']:%Y-%m-%d %H:%M}: "
               f"utilization {mean:.0%}{base} (95% interval {low:.0%}–{high:.0%}, n={samples} samples); {why}.")
    metrics = {"value": mean, "baseline": baseline, "effect": mean - baseline,
               "relative_effect": (mean - baseline) / baseline if baseline else math.nan,
               "interval": [low, high], "n": samples, "cause": cause, "seconds": p["seconds"],
               **{f"{c}_mean": v for c, v in evidence.items()}, **{f"usual_{c}": v for c, v in usual.items()},
               "thresholds": dict(t), "window_start": p["start"], "window_end": p["end"]}
    return Finding("service", "gpu_underutilized", "warning", where, message, todo, metrics,
                   {**({"segment": segment} if segment else {}),
                    "window": [p["start"].isoformat(), p["end"].isoformat()]})


def _mean(frame: pl.DataFrame, column: str) -> float:
    value = frame[column].mean() if frame.height else None
    return math.nan if value is None else float(value)  # type: ignore[arg-type]
