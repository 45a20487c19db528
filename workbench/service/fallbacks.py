"""``fallback_rate_increase``, ``timeout_rate_increase`` and ``circuit_breaker_open``.

* Fallbacks: per dependency (the ``dependency`` of the rows with ``fallback == true``; ``unknown`` where it is
  null), the share of requests served with that dependency's fallback, per scope × window against the scope's
  baseline (:mod:`workbench.service.rates`).
* Timeouts: the share of requests with ``status == "timeout"``, the same way.
* Circuit breaker periods: per dependency, the rows with ``circuit_open == true`` in time order; two such rows
  more than ``gap`` apart start a new period. A period runs from its first to its last open row. Whether it
  helped is judged on what the breaker protects: the *protected requests* are the original requests (attempt 1:
  a client that retries its failures at once would count each failure five times) of the segment cells (one
  value of every ``by`` column) where the breaker short-circuited a request in the period, i.e. the requests
  that would have called the dependency. They are compared during the period and in as long a time just
  before it (at least ``gap``) on three measures: the timeout share and the failure share (``error`` or
  ``timeout``), each with Newcombe's interval of the difference, and the p95 latency with its
  distribution-free interval. A measure *fell* when its interval (of the difference; for the p95, the
  during-interval against the before-interval) lies wholly below zero, *rose* when wholly above. The breaker
  ``helped`` (``yes``) when one measure fell and none rose; it did ``no``t help when none fell and one rose or
  none moved downwards at all; else it is ``unclear`` (one fell and another rose, or the falls are not
  significant). Failures of other requests (another endpoint's errors, a client retrying an error that never
  succeeds) no longer drown the judgement.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import polars as pl

from workbench.findings.model import Finding
from workbench.service import columns as C
from workbench.service import rates
from workbench.service.log import Log
from workbench.service.quantiles import quantile_interval, rank
from workbench.service.words import CHECK, duration, rate_finding
from workbench.stats import two_proportions

UNKNOWN = "unknown"
FAILED = ("error", "timeout")


def dependencies(log: Log) -> list[str]:
    """The dependencies that fell back at least once (``unknown`` for a fallback without one), sorted."""
    fb = log.rows.filter(pl.col(C.internal("fallback")).fill_null(False))
    if not log.columns.has("dependency"):
        return [UNKNOWN] if fb.height else []
    return sorted(fb.get_column(C.internal("dependency")).fill_null(UNKNOWN).unique().to_list())


def _dependency_is(name: str, log: Log) -> pl.Expr:
    if not log.columns.has("dependency"):
        return pl.lit(True)
    dep = pl.col(C.internal("dependency"))
    return dep.is_null() if name == UNKNOWN else (dep == name).fill_null(False)


def rate_parts(log: Log, rule: rates.Rule, depth: int, last_window: int) -> tuple[dict[str, pl.DataFrame],
                                                                                  list[Finding]]:
    """Tables ``fallbacks`` and ``timeouts`` (scope × window) and their findings."""
    segs = list(log.columns.names)
    tables, findings = {}, []
    parts: list[tuple[str, str, pl.Expr]] = []
    if log.columns.has("fallback"):
        fallback = pl.col(C.internal("fallback")).fill_null(False)
        parts += [("fallback_rate_increase", dep, fallback & _dependency_is(dep, log)) for dep in dependencies(log)]
    parts.append(("timeout_rate_increase", "timeouts", pl.col(C.internal("status")) == "timeout"))
    frames: dict[str, list[pl.DataFrame]] = {}
    for kind, subject, event in parts:
        finest = rates.cells(log.rows, event, None, segs)
        rows = rates.scope_rows(finest, segs, depth, log.columns.names, rule.confidence, rule.min_support)
        rates.decide(rows, rule)
        name = "fallbacks" if kind == "fallback_rate_increase" else "timeouts"
        frames.setdefault(name, []).append(rates.table(rows, log.columns.names, subject=subject))
        for a in rates.alerts(rows, finest, rule):
            findings.append(_finding(kind, subject, a, log, rule, last_window))
    for name, parts_ in frames.items():
        tables[name] = pl.concat(parts_, how="vertical")
    return tables, findings


def _finding(kind: str, subject: str, a: dict[str, Any], log: Log, rule: rates.Rule, last_window: int) -> Finding:
    if kind == "fallback_rate_increase":
        what = f"Requests served with a fallback for {subject!r}"
        suggestion = (f"Check {subject!r}: its errors, latency and deployments in this span (the circuit_breaker "
                      "table shows whether its breaker opened); fallback answers are degraded answers.")
    else:
        what = "Timeouts per request"
        suggestion = ("Look at the slow stage (stage breakdown, when spans are given) and at the dependencies' "
                      "latency in this span; check the timeout budget against the p99 latency.")
    return rate_finding(kind, subject, a, what=what, unit="requests", every=log.every, last_window=last_window,
                        min_ratio=rule.min_ratio, names=log.columns.names, suggestion=suggestion)


def circuit_periods(log: Log, *, gap: dt.timedelta, confidence: float) -> tuple[pl.DataFrame, list[Finding]]:
    """Table ``circuit_breaker`` (one row per open period: dependency, start, end, duration, open rows, the
    failure share and p95 latency before and during, ``helped``) and one finding per period."""
    if not log.columns.has("circuit_open"):
        return _empty_periods(), []
    dep = (pl.col(C.internal("dependency")).fill_null(UNKNOWN) if log.columns.has("dependency")
           else pl.lit(UNKNOWN)).alias("dependency")
    open_rows = (log.rows.filter(pl.col(C.internal("circuit_open")).fill_null(False))
                 .select(dep, C.TS).sort("dependency", C.TS))
    if open_rows.height == 0:
        return _empty_periods(), []
    new = (pl.col(C.TS).diff().over("dependency") > gap).fill_null(True)
    periods = (open_rows.with_columns(new.cum_sum().over("dependency").alias("period"))
               .group_by("dependency", "period").agg(pl.col(C.TS).min().alias("start"),
                                                     pl.col(C.TS).max().alias("end"), pl.len().alias("open_rows"))
               .sort("start", "dependency"))
    rows, findings = [], []
    for p in periods.iter_rows(named=True):
        r = _helped(log, p["dependency"], p["start"], p["end"], gap, confidence)
        row = {"dependency": p["dependency"], "start": p["start"], "end": p["end"],
               "duration_s": (p["end"] - p["start"]).total_seconds(), "open_rows": p["open_rows"], **r}
        rows.append(row)
        findings.append(_period_finding(row, confidence))
    return pl.DataFrame(rows, schema=_PERIOD_SCHEMA), findings


_PERIOD_SCHEMA: dict[str, pl.DataType] = {
    "dependency": pl.String(), "start": pl.Datetime("us", "UTC"), "end": pl.Datetime("us", "UTC"),
    "duration_s": pl.Float64(), "open_rows": pl.Int64(), "protected_cells": pl.Int64(), "before_n": pl.Int64(),
    "during_n": pl.Int64(), "before_failed": pl.Float64(), "during_failed": pl.Float64(), "difference": pl.Float64(),
    "difference_low": pl.Float64(), "difference_high": pl.Float64(), "before_timeout": pl.Float64(),
    "during_timeout": pl.Float64(), "timeout_difference": pl.Float64(), "timeout_difference_low": pl.Float64(),
    "timeout_difference_high": pl.Float64(), "before_p95_ms": pl.Float64(), "before_p95_low": pl.Float64(),
    "before_p95_high": pl.Float64(), "during_p95_ms": pl.Float64(), "during_p95_low": pl.Float64(),
    "during_p95_high": pl.Float64(), "failed": pl.String(), "timeouts": pl.String(), "latency": pl.String(),
    "helped": pl.String()}
_MEASURES = ("failed", "timeouts", "latency")


def _empty_periods() -> pl.DataFrame:
    return pl.DataFrame(schema=_PERIOD_SCHEMA)


def _protected(log: Log, dependency: str, start: dt.datetime, end: dt.datetime) -> tuple[pl.DataFrame, int]:
    """The rows that would have called ``dependency``: original attempts of the segment cells where its breaker
    short-circuited a request between ``start`` and ``end``; and the number of those cells."""
    rows = log.rows
    if log.columns.has("attempt"):
        rows = rows.filter(pl.col(C.internal("attempt")) == 1)
    cells = list(log.columns.names)
    if not cells:
        return rows, 1
    dep = (pl.col(C.internal("dependency")).fill_null(UNKNOWN) if log.columns.has("dependency")
           else pl.lit(UNKNOWN))
    opened = (log.rows.filter(pl.col(C.internal("circuit_open")).fill_null(False) & (dep == dependency)
                              & pl.col(C.TS).is_between(start, end))
              .select(cells).unique())
    return rows.join(opened, on=cells, how="semi"), opened.height


def _helped(log: Log, dependency: str, start: dt.datetime, end: dt.datetime, gap: dt.timedelta,
            confidence: float) -> dict[str, Any]:
    """The protected requests before and during the period: failure and timeout shares with the interval of
    their difference, the p95 latency with its interval, what each measure did and the verdict ``helped``."""
    length = max(end - start, gap)
    rows, ncells = _protected(log, dependency, start, end)
    ts = pl.col(C.TS)
    status = pl.col(C.internal("status"))
    latency = (pl.col(C.internal("latency_ms")) if log.columns.has("latency_ms")
               else pl.lit(None, pl.Float64)).alias("latency")
    sides = {}
    for side, where in (("before", (ts >= start - length) & (ts < start)), ("during", ts.is_between(start, end))):
        part = rows.filter(where).select(status.is_in(FAILED).alias("failed"), (status == "timeout").alias("timeout"),
                                         latency)
        values = np.sort(part.get_column("latency").drop_nulls().drop_nans().to_numpy().astype(float))
        sides[side] = (part.height, int(part.get_column("failed").sum()), int(part.get_column("timeout").sum()),
                       values)
    (bn, bf, bt, bl), (dn, df, dt_, dl) = sides["before"], sides["during"]
    out: dict[str, Any] = {"protected_cells": ncells, "before_n": bn, "during_n": dn,
                           "before_failed": bf / bn if bn else math.nan, "during_failed": df / dn if dn else math.nan,
                           "before_timeout": bt / bn if bn else math.nan,
                           "during_timeout": dt_ / dn if dn else math.nan}
    diff, lo, hi, _ = two_proportions(bf, bn, df, dn, confidence)
    out |= {"difference": diff, "difference_low": lo, "difference_high": hi, "failed": _moved(diff, lo, hi)}
    diff, lo, hi, _ = two_proportions(bt, bn, dt_, dn, confidence)
    out |= {"timeout_difference": diff, "timeout_difference_low": lo, "timeout_difference_high": hi,
            "timeouts": _moved(diff, lo, hi)}
    for side, values in (("before", bl), ("during", dl)):
        p95 = float(values[rank(0.95, len(values)) - 1]) if len(values) else None
        low, high = quantile_interval(values, 0.95, confidence) if len(values) else (None, None)
        out |= {f"{side}_p95_ms": p95, f"{side}_p95_low": low, f"{side}_p95_high": high}
    if out["before_p95_ms"] is None or out["during_p95_ms"] is None:
        out["latency"] = "unknown"
    else:
        out["latency"] = ("fell" if out["during_p95_high"] < out["before_p95_low"] else
                          "rose" if out["during_p95_low"] > out["before_p95_high"] else
                          "lower" if out["during_p95_ms"] < out["before_p95_ms"] else "same")
    out["helped"] = _verdict([out[m] for m in _MEASURES]) if bn and dn else "unknown"
    return out


def _moved(diff: float, low: float, high: float) -> str:
    """What a difference did: ``fell`` or ``rose`` (its interval wholly below or above zero), else ``lower`` or
    ``same`` (its point estimate)."""
    if math.isnan(diff):
        return "unknown"
    return "fell" if high < 0 else "rose" if low > 0 else "lower" if diff < 0 else "same"


def _verdict(moves: list[str]) -> str:
    """``yes``: some measure fell and none rose; ``no``: none fell and one rose, or none is even lower;
    ``unclear`` otherwise."""
    fell, rose = "fell" in moves, "rose" in moves
    if fell and not rose:
        return "yes"
    if not fell and (rose or "lower" not in moves):
        return "no"
    return "unclear"


def _period_finding(r: dict[str, Any], confidence: float) -> Finding:
    span = duration(dt.timedelta(seconds=r["duration_s"])) if r["duration_s"] >= 60 else f"{r['duration_s']:.0f} s"
    numbers = (f"timeouts {r['before_timeout']:.1%} → {r['during_timeout']:.1%}, "
               f"failed {r['before_failed']:.1%} → {r['during_failed']:.1%}"
               + (f", p95 latency {r['before_p95_ms']:,.0f} → {r['during_p95_ms']:,.0f} ms"
                  if r["before_p95_ms"] is not None and r["during_p95_ms"] is not None else "")
               + f" against the same time before; n={r['during_n']:,} original requests in the "
               f"{r['protected_cells']:,} segment cell(s) it short-circuited")
    verdict = {"yes": f"it helped ({numbers})", "no": f"it did not help ({numbers})",
               "unclear": f"whether it helped is unclear ({numbers})",
               "unknown": "no requests before it to compare with"}[r["helped"]]
    message = (f"The circuit breaker for {r['dependency']!r} was open for {span} from {r['start']:%Y-%m-%d %H:%M} "
               f"UTC ({r['open_rows']:,} requests short-circuited); {verdict}.")
    suggestion = ({"no": "The breaker opened but neither timeouts, failures nor latency of the requests that need "
                         f"{r['dependency']!r} fell: check its threshold and what it guards; the fallback may fail "
                         "too."}
                  .get(r["helped"], f"Find why {r['dependency']!r} failed in this span; the breaker kept it from "
                                    "taking the service down, the fallbacks show what users got meanwhile."))
    return Finding(CHECK, "circuit_breaker_open", "warning", r["dependency"], message, suggestion,
                   {"value": r["during_failed"], "baseline": r["before_failed"], "effect": r["difference"],
                    "interval": [r["difference_low"], r["difference_high"]], "n": r["during_n"],
                    "baseline_n": r["before_n"], "affected_rows": r["open_rows"], "duration_s": r["duration_s"],
                    "timeout_share": r["during_timeout"], "baseline_timeout_share": r["before_timeout"],
                    "timeout_interval": [r["timeout_difference_low"], r["timeout_difference_high"]],
                    "p95_ms": r["during_p95_ms"], "baseline_p95_ms": r["before_p95_ms"],
                    "p95_interval": [r["during_p95_low"], r["during_p95_high"]],
                    "baseline_p95_interval": [r["before_p95_low"], r["before_p95_high"]],
                    "protected_cells": r["protected_cells"],
                    "measures": {m: r[m] for m in _MEASURES}, "helped": r["helped"], "confidence": confidence},
                   {"window": [r["start"].isoformat(), r["end"].isoformat()], "dependency": r["dependency"]})
