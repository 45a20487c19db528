"""``queue_backpressure``: a queue that grows faster than it drains, and when it starts rejecting.

Reads per queue and interval (built by :func:`workbench.service.metrics.queue_frame`): ``depth``
(``queue_depth``, items), ``arrival_rate`` and ``service_rate`` (items per second: the rates of the counters
``queue_arrivals_total`` and ``queue_served_total``) and ``rejected`` (the increase of
``queue_rejected_total``).

Rule. A window of length ``window`` (default 10 minutes) ending at each sample is *growing* when

* the depth's robust trend (the Theil–Sen slope, the median of the slopes between every two samples, with
  its ``confidence`` interval by Sen's method; default 99%) has a lower bound above zero,
* the trend adds at least ``min_growth`` items over the window (default 20: a practical threshold), and
* arrivals exceeded what was served on average over the window (when both rates are known);
* the data cover the window (at least 90% of it, six samples): the first minutes of a series are not judged.

Overlapping growing windows make one period, from the last lowest depth of its first window to the highest
depth before its last sample (where the growth stopped).
A brief spike that drains again is not growth: the median slope of a window ignores a rise that covers a
small part of it. Rejections (``rejected`` above zero; runs less than ``window`` apart are one) that begin
during a period or within ``window`` after it belong to it; rejections without growth before them are a
finding of their own. With a ``capacity`` (items; one number, or per queue name), the finding says how long
the queue had left before it filled up when the growth was first seen, at the trend since the growth began.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from workbench import params
from workbench.errors import ConfigError
from workbench.findings.model import Finding
from workbench.stats import format_duration
from workbench.stats.tails import norm_ppf

DEPTH, ARRIVALS, SERVED, REJECTED = "queue_depth", "queue_arrivals_total", "queue_served_total", "queue_rejected_total"
METRICS = (DEPTH, ARRIVALS, SERVED, REJECTED)
TS = "timestamp"
OWNER = "queue_findings"


def queue_findings(table: pl.DataFrame, keys: Sequence[str], interval: dt.timedelta, *,
                   window: str | dt.timedelta = "10m", confidence: float = 0.99, min_growth: float = 20.0,
                   capacity: float | Mapping[str, float] | None = None,
                   queue: str | None = "queue") -> tuple[pl.DataFrame, list[Finding]]:
    """The table with ``growing`` per interval (the window ending there grows) and the findings (see the
    module docstring). ``queue``: the key column holding the queue's name (for a per-queue ``capacity``)."""
    span = params.positive_duration(window, name="window", owner=OWNER)
    level = params.open_unit(confidence, name="confidence", owner=OWNER)
    growth = params.positive_number(min_growth, name="min_growth", owner=OWNER)
    caps = _capacities(capacity)
    if table.height == 0 or "depth" not in table.columns:
        return table, []
    keys = list(keys)
    table = table.sort([*keys, TS], nulls_last=True)
    parts, findings = [], []
    groups = table.group_by(keys, maintain_order=True) if keys else [((), table)]
    for key_values, part in groups:
        scope = {k: v for k, v in zip(keys, key_values, strict=True) if v is not None}
        cap = _capacity_of(caps, scope.get(queue) if queue else None)
        flags, windows = _growing(part, span, level, growth)
        parts.append(part.with_columns(pl.Series("growing", flags)))
        periods = _merge(windows, part)
        runs = _rejection_runs(part, span)
        findings += _findings(part, scope, periods, runs, span, level, cap, interval)
    return pl.concat(parts), findings


def _capacities(capacity: float | Mapping[str, float] | None) -> float | dict[str, float] | None:
    if capacity is None:
        return None
    if isinstance(capacity, Mapping):
        return {str(k): params.positive_number(v, name=f"capacity[{k!r}]", owner=OWNER) for k, v in capacity.items()}
    if isinstance(capacity, bool) or not isinstance(capacity, int | float):
        raise ConfigError(f"The 'capacity' parameter of {OWNER} must be a number of items or a mapping of queue "
                          f"name to items. Got {capacity!r}.")
    return params.positive_number(capacity, name="capacity", owner=OWNER)


def _capacity_of(caps: float | dict[str, float] | None, name: str | None) -> float | None:
    if isinstance(caps, dict):
        return caps.get(str(name)) if name is not None else None
    return caps


def _seconds(part: pl.DataFrame) -> np.ndarray:
    return part[TS].dt.epoch("us").to_numpy().astype(float) / 1e6


def _growing(part: pl.DataFrame, span: dt.timedelta, level: float,
             growth: float) -> tuple[list[bool], list[tuple[int, int, float, float, float]]]:
    """Per sample, whether the window ending there grows; and the growing windows as (first index, last index,
    slope, low, high). Cheap tests first, on every window at once (net growth, the increments' mean), the
    Theil–Sen slope only where they pass."""
    t, depth = _seconds(part), part["depth"].to_numpy().astype(float)
    inflow = (part["arrival_rate"] - part["service_rate"]).to_numpy().astype(float)
    first = np.searchsorted(t, t - span.total_seconds(), side="right")
    ends = np.arange(len(t))
    z = _increment_z(depth, first)
    net = depth - depth[first]
    full = t - t[first] >= 0.9 * span.total_seconds()  # a window the data covers (not the first minutes)
    candidates = ends[full & (ends - first >= 5) & (net >= growth) & (z > norm_ppf(level))]
    flags = [False] * len(t)
    windows = []
    for i in candidates:
        j = int(first[i])
        ok = ~np.isnan(depth[j:i + 1])
        slope, _, low, high = theil_sen(depth[j:i + 1][ok], t[j:i + 1][ok], level)
        rates = inflow[j:i + 1][~np.isnan(inflow[j:i + 1])]
        if low > 0 and slope * span.total_seconds() >= growth and (rates.size == 0 or rates.mean() > 0):
            flags[i] = True
            windows.append((j, int(i), slope, low, high))
    return flags, windows


def _increment_z(depth: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Per window (``first[i]`` .. ``i``), the mean of the depth's increments over its standard error: a queue's
    depth moves like a random walk, whose increments (arrivals minus departures per interval) are close to
    independent where its levels are not. NaN where undefined."""
    step = np.diff(depth, prepend=np.nan)
    step = np.where(np.isnan(step), 0.0, step)
    known = np.concatenate([[0.0], ~np.isnan(np.diff(depth))]).astype(float)
    c1, c2, cn = (np.concatenate([[0.0], np.cumsum(v)]) for v in (step, step * step, known))
    ends = np.arange(len(depth)) + 1
    starts = first + 1  # the increments inside the window: after its first sample
    n = cn[ends] - cn[starts]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (c1[ends] - c1[starts]) / n
        var = ((c2[ends] - c2[starts]) - n * mean * mean) / (n - 1)
        return np.where(n >= 3, mean / np.sqrt(var / n), np.nan)


def theil_sen(y: np.ndarray, x: np.ndarray, confidence: float) -> tuple[float, float, float, float]:
    """The Theil–Sen slope of ``y`` on ``x`` (the median of the slopes between every two points with different
    ``x``) and its ``confidence`` interval by Sen (1968, eq. 2.6, with ties), as ``scipy.stats.theilslopes``
    computes them: (slope, intercept, low, high); the intercept is ``median(y) - slope * median(x)``."""
    dx = x[:, None] - x
    dy = y[:, None] - y
    slopes = np.sort(dy[dx > 0] / dx[dx > 0])
    if slopes.size == 0:
        return math.nan, math.nan, math.nan, math.nan
    slope = float(np.median(slopes))
    z = norm_ppf((1 - confidence) / 2)

    def repeats(v: np.ndarray) -> float:
        counts = np.unique(v, return_counts=True)[1]
        counts = counts[counts > 1].astype(float)
        return float(np.sum(counts * (counts - 1) * (2 * counts + 5)))

    n = len(y)
    sigma = math.sqrt((n * (n - 1) * (2 * n + 5) - repeats(x) - repeats(y)) / 18)
    upper = min(round((slopes.size - z * sigma) / 2), slopes.size - 1)
    lower = max(round((slopes.size + z * sigma) / 2) - 1, 0)
    return slope, float(np.median(y) - slope * np.median(x)), float(slopes[lower]), float(slopes[upper])


def _merge(windows: list[tuple[int, int, float, float, float]], part: pl.DataFrame) -> list[dict[str, Any]]:
    """Overlapping growing windows as periods: onset (the lowest depth of the first window), last index, and
    the first window (the detection)."""
    depth = part["depth"].to_numpy().astype(float)
    periods: list[dict[str, Any]] = []
    for j, i, slope, low, high in windows:
        if periods and j <= periods[-1]["last"]:
            periods[-1]["last"] = i
            continue
        window = depth[j:i + 1]
        onset = i - int(np.nanargmin(window[::-1]))  # the last time the window was at its lowest
        periods.append({"onset": onset, "last": i, "detected": i, "slope": slope, "low": low, "high": high})
    return periods


def _rejection_runs(part: pl.DataFrame, span: dt.timedelta) -> list[dict[str, Any]]:
    rejected = part["rejected"].fill_null(0).to_numpy().astype(float)
    t = part[TS].to_list()
    runs: list[dict[str, Any]] = []
    for i in np.flatnonzero(rejected > 0):
        if runs and t[i] - runs[-1]["end"] < span:
            runs[-1]["end"], runs[-1]["count"] = t[i], runs[-1]["count"] + rejected[i]
        else:
            runs.append({"start": t[i], "end": t[i], "count": rejected[i]})
    return runs


def _findings(part: pl.DataFrame, scope: dict[str, Any], periods: list[dict[str, Any]], runs: list[dict[str, Any]],
              span: dt.timedelta, level: float, cap: float | None, interval: dt.timedelta) -> list[Finding]:
    t = part[TS].to_list()
    out, used = [], set()
    for p in periods:
        start, end = t[p["onset"]], t[p["last"]] + interval
        mine = [k for k, r in enumerate(runs) if start <= r["start"] <= end + span]
        used |= set(mine)
        out.append(_growth_finding(part, scope, p, [runs[k] for k in mine], level, cap, interval))
    out += [_rejection_finding(part, scope, r, interval) for k, r in enumerate(runs) if k not in used]
    return out


def _where(scope: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in scope.items()) or "queue"


def _name(scope: dict[str, Any]) -> str:
    return f"Queue {_where(scope)}" if scope else "The queue"


def _growth_finding(part: pl.DataFrame, scope: dict[str, Any], p: dict[str, Any], runs: list[dict[str, Any]],
                    level: float, cap: float | None, interval: dt.timedelta) -> Finding:
    t, depth = _seconds(part), part["depth"].to_numpy().astype(float)
    a = p["onset"]
    b = a + int(np.nanargmax(depth[a:p["last"] + 1])) + 1  # up to the highest depth: where the growth stopped
    ok = ~np.isnan(depth[a:b])
    slope, _, low, high = theil_sen(depth[a:b][ok], t[a:b][ok], level)
    times = part[TS].to_list()
    start, end = times[a], times[b - 1] + interval
    arrivals = _mean(part["arrival_rate"][a:b])
    served = _mean(part["service_rate"][a:b])
    detected, at_detection = times[p["detected"]], float(depth[p["detected"]])
    since = slice(a, p["detected"] + 1)  # the rate at detection: the trend since the growth began
    known = ~np.isnan(depth[since])
    rate = theil_sen(depth[since][known], t[since][known], level)[0] if known.sum() >= 3 else p["slope"]
    left = (cap - at_detection) / rate if cap is not None and rate > 0 else None
    rejected = sum(r["count"] for r in runs)
    where = _where(scope)
    text = (f"{_name(scope)} grew {slope * 60:.3g} items/min for {format_duration(end - start)} from "
            f"{start:%Y-%m-%d %H:%M} ({level:.0%} interval {low * 60:.3g}–{high * 60:.3g}/min, n={int(ok.sum())} "
            f"samples; depth {depth[a]:,.0f} → {np.nanmax(depth[a:b]):,.0f}; arrivals {arrivals:.3g}/s vs served "
            f"{served:.3g}/s)")
    if left is not None:
        text += (f"; at {detected:%H:%M} it had {format_duration(max(left, 0.0))} left before it filled up "
                 f"({cap:,.0f} items) at that rate")
    if runs:
        text += f"; rejections began at {runs[0]['start']:%Y-%m-%d %H:%M} ({rejected:,.0f} rejected)"
    last = max([end, *(r["end"] + interval for r in runs)])
    metrics = {"value": slope, "baseline": 0.0, "effect": slope, "interval": [low, high], "confidence": level,
               "n": int(ok.sum()), "unit": "items/s", "arrival_rate": arrivals, "service_rate": served,
               "depth_start": float(depth[a]), "depth_max": float(np.nanmax(depth[a:b])),
               "detected_at": detected, "depth_at_detection": at_detection, "rate_at_detection": rate, "capacity": cap,
               "seconds_to_full": left, "rejected": rejected,
               "rejections_start": runs[0]["start"] if runs else None, "window_start": start, "window_end": last}
    return Finding("service", "queue_backpressure", "critical" if runs else "warning", where, text + ".",
                   _SUGGESTION, metrics, {**({"segment": scope} if scope else {}),
                                          "window": [start.isoformat(), last.isoformat()]})


def _rejection_finding(part: pl.DataFrame, scope: dict[str, Any], run: dict[str, Any],
                       interval: dt.timedelta) -> Finding:
    start, end = run["start"], run["end"] + interval
    rows = part.filter(pl.col(TS).is_between(start, end, closed="left"))
    where = _where(scope)
    text = (f"{_name(scope)} rejected {run['count']:,.0f} items in {format_duration(end - start)} from "
            f"{start:%Y-%m-%d %H:%M} (n={rows.height} samples; depth up to {_max(rows['depth']):,.0f}; arrivals "
            f"{_mean(rows['arrival_rate']):.3g}/s vs served {_mean(rows['service_rate']):.3g}/s), without a "
            "sustained growth before.")
    metrics = {"value": float(run["count"]), "baseline": 0.0, "effect": float(run["count"]),
               "interval": [float(run["count"])] * 2,  # an exact count
               "n": rows.height, "rejected": float(run["count"]), "rejections_start": start,
               "arrival_rate": _mean(rows["arrival_rate"]), "service_rate": _mean(rows["service_rate"]),
               "window_start": start, "window_end": end}
    return Finding("service", "queue_backpressure", "critical", where, text, _SUGGESTION, metrics,
                   {**({"segment": scope} if scope else {}), "window": [start.isoformat(), end.isoformat()]})


_SUGGESTION = ("Arrivals exceed what the queue serves: add capacity (replicas, workers) or shed load before it fills, "
               "and find what slowed service or raised arrivals when the period began (a slow dependency, retries).")


def _mean(values: pl.Series) -> float:
    value = values.drop_nulls().mean()
    return math.nan if value is None else float(value)  # type: ignore[arg-type]


def _max(values: pl.Series) -> float:
    value = values.drop_nulls().max()
    return math.nan if value is None else float(value)  # type: ignore[arg-type]
