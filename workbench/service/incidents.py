"""The incident timeline: findings that start together are one incident, with its probable first cause.

A service usually fails with one cause and five symptoms: a dependency goes down, features fall back to
defaults, clients retry, a queue grows, latency rises. :func:`incidents` puts the findings of every part of
the service check (and of any other check whose findings carry a time window) on one axis.

When a finding happened: its ``scope["window"]`` (``[start, end]``, ISO times: the convention of every
check), else its ``metrics["window_start"]`` / ``metrics["window_end"]``. Findings without either are left out.

Grouping, by chaining: findings sorted by start; a finding joins the current incident when it starts within
``tolerance`` (default 15 minutes) of the start or the end of any finding already in it — it began together with
a symptom, or when one changed (a flare-up when the circuit breaker closes again; a timeout rise that starts as
the breaker's period ends) — else it opens the next incident. An incident thus grows along a chain of findings
however long it lasts, not only for ``tolerance`` after its first start. A finding that merely overlaps a long
one without starting near any start or end of the incident's findings is a separate incident: an input-bound GPU
at 10:00 during a three-hour duplicated-processing bug (09:00–12:00) is a second problem, not a symptom.

Probable first cause: the finding that started first. Starts less than ``tie`` apart (default 5 minutes:
checks that count requests in windows see a start only to the window) count as a tie, broken by the causal
order :data:`CAUSAL_ORDER` (a dependency outage causes fallbacks, which cause timeouts and retries, which
fill queues, which raise latency), then by severity, then by the earlier start. Kinds not in the list come
after it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from workbench import params
from workbench.findings.model import SEVERITY_RANK, Finding

CAUSAL_ORDER = (
    "dependency_outage",
    "circuit_breaker_open",
    "fallback_rate_increase",
    "timeout_rate_increase",
    "retry_storm",
    "idempotency_violation",
    "queue_backpressure",
    "gpu_underutilized",
    "stage_latency_regression",
    "latency_regression",
    "error_rate_regression",
    "metrics_gap",
)
"""Kinds from most upstream (a cause) to most downstream (a symptom), used to break ties."""

OWNER = "incidents"
COLUMNS: dict[str, Any] = {"incident": pl.Int64, "start": pl.Datetime("us", "UTC"), "end": pl.Datetime("us", "UTC"),
           "first_cause": pl.String, "first_cause_subject": pl.String, "first_cause_scope": pl.String,
           "first_cause_id": pl.String, "severity": pl.String, "findings": pl.Int64,
           "kinds": pl.List(pl.String), "ids": pl.List(pl.String)}


def window_of(finding: Finding) -> tuple[dt.datetime, dt.datetime] | None:
    """The finding's time window as UTC datetimes (naive times are read as UTC), or None."""
    window = finding.scope.get("window")
    bounds: list[Any] = list(window) if isinstance(window, list | tuple) and len(window) == 2 else [
        finding.metrics.get("window_start"), finding.metrics.get("window_end")]
    if bounds[0] is None:
        return None
    start = _utc(bounds[0])
    end = _utc(bounds[1]) if bounds[1] is not None else start
    return start, max(start, end)


def _utc(value: Any) -> dt.datetime:
    moment = params.datetime_value(value, name="window", owner=OWNER)
    assert moment is not None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _rank(kind: str) -> int:
    return CAUSAL_ORDER.index(kind) if kind in CAUSAL_ORDER else len(CAUSAL_ORDER)


def incidents(findings: Iterable[Finding], *, tolerance: str | dt.timedelta = "15m",
              tie: str | dt.timedelta = "5m") -> pl.DataFrame:
    """One row per incident: ``incident`` (1, 2, ... by start), ``start``, ``end`` (UTC), the probable
    ``first_cause`` (its kind, ``first_cause_subject``, ``first_cause_scope`` as text, ``first_cause_id``), the
    worst ``severity``, the number of ``findings`` and their ``kinds`` and ``ids`` (in the order they started).
    See the module docstring for the rules; only findings at warning or worse take part (info findings are
    context, not symptoms)."""
    close = params.positive_duration(tolerance, name="tolerance", owner=OWNER)
    ties = params.non_negative_duration(tie, name="tie", owner=OWNER)
    timed = []
    for f in findings:
        window = window_of(f)
        if window is not None and SEVERITY_RANK[f.severity] >= SEVERITY_RANK["warning"]:
            timed.append((window[0], window[1], f))
    timed.sort(key=lambda x: (x[0], _rank(x[2].kind), x[2].kind, x[2].subject))
    groups: list[list[tuple[dt.datetime, dt.datetime, Finding]]] = []
    for item in timed:
        if groups and _chained(item[0], groups[-1], close):
            groups[-1].append(item)
        else:
            groups.append([item])
    rows = [_row(n, group, ties) for n, group in enumerate(groups, start=1)]
    return pl.DataFrame(rows, schema=COLUMNS)


def _chained(start: dt.datetime, group: list[tuple[dt.datetime, dt.datetime, Finding]],
             close: dt.timedelta) -> bool:
    """Whether a finding starting at ``start`` (not before any of ``group``) starts within ``close`` of the start or
    the end of one of the group's findings."""
    return any(abs(start - moment) <= close for s, e, _ in group for moment in (s, e))


def _row(number: int, group: list[tuple[dt.datetime, dt.datetime, Finding]], tie: dt.timedelta) -> dict[str, Any]:
    first = group[0][0]
    tied = [item for item in group if item[0] - first <= tie]
    cause = min(tied, key=lambda x: (_rank(x[2].kind), -SEVERITY_RANK[x[2].severity], x[0]))[2]
    worst = max(group, key=lambda x: SEVERITY_RANK[x[2].severity])[2].severity
    return {"incident": number, "start": first, "end": max(item[1] for item in group),
            "first_cause": cause.kind, "first_cause_subject": cause.subject,
            "first_cause_scope": _scope_text(cause.scope), "first_cause_id": cause.id, "severity": worst,
            "findings": len(group), "kinds": [item[2].kind for item in group], "ids": [item[2].id for item in group]}


def _scope_text(scope: Mapping[str, Any]) -> str:
    """The scope without its window: segment filters and any other key (e.g. ``dependency``), as ``k=v, ...``."""
    segment = scope.get("segment") or {}
    items = dict(segment) if isinstance(segment, Mapping) else {"segment": segment}
    items |= {k: v for k, v in scope.items() if k not in ("segment", "window")}
    return ", ".join(f"{k}={v}" for k, v in items.items()) or "all"
