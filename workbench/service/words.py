"""Findings in words: time spans, confidences and the finding of a rate that rose (shared by the retry,
fallback and timeout parts)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from workbench.findings.model import Finding, Severity

CHECK = "service"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def window_start(index: int, every: dt.timedelta) -> dt.datetime:
    """Start of window ``index`` (windows aligned on the Unix epoch), in UTC."""
    return EPOCH + int(index) * every


def span_scope(first: int, last: int, every: dt.timedelta, segment: dict[str, Any] | None = None,
               names: dict[str, str] | None = None) -> dict[str, Any]:
    """A finding's scope: the window span ``[start, end)`` as ISO text and the segment values by user name."""
    scope: dict[str, Any] = {"window": [window_start(first, every).isoformat(),
                                        window_start(last + 1, every).isoformat()]}
    if segment:
        scope["segment"] = {(names or {}).get(k, k): v for k, v in segment.items()}
    return scope


def when(first: int, last: int, every: dt.timedelta, last_window: int) -> str:
    """``in the last 2 hours`` or ``in the 35 minutes from 2026-03-08 14:05`` (a span reaching past the data's
    last window, a coarse window, ends with it)."""
    last = min(last, last_window)
    start, end = window_start(first, every), window_start(last + 1, every)
    return f"in the last {duration(end - start)}" if last == last_window else \
        f"in the {duration(end - start)} from {start:%Y-%m-%d %H:%M} UTC"


def duration(td: dt.timedelta) -> str:
    seconds = td.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and (seconds % size == 0 or unit == "minute"):
            value = round(seconds / size, 1) if unit != "minute" else round(seconds / size)
            return f"{value:g} {unit}{'s' if value != 1 else ''}"
    return f"{seconds:.0f} seconds"


def confidence_text(q_value: float) -> str:
    conf = 1 - q_value
    return "99.9%" if conf >= 0.999 else f"{math.floor(conf * 1000) / 10:.1f}%"


def rate_finding(kind: str, subject: str, a: dict[str, Any], *, what: str, unit: str, every: dt.timedelta,
                 last_window: int, min_ratio: float, names: dict[str, str], suggestion: str,
                 percent: bool = True, extra: dict[str, Any] | None = None) -> Finding:
    """The finding of one rate alert (:func:`workbench.service.rates.alerts`): ``what`` rose (e.g. ``Fallbacks
    per request``) on its scope over its span, with the rates, the ratio and its interval, the exposure in
    ``unit`` and the confidence; critical when the ratio's interval lies wholly above ``min_ratio``."""
    where = "all traffic" if a["scope"] == "all" else a["scope"]
    fmt = (lambda v: f"{v:.1%}") if percent else (lambda v: f"{v:.3g}")
    rise = f"{a['ratio']:.1f}x" if math.isfinite(a["ratio"]) else "from none"
    message = (f"{what} rose {rise} on {where} {when(a['first'], a['last'], every, last_window)} "
               f"({fmt(a['baseline_rate'])} → {fmt(a['rate'])}, n={a['n']:,} {unit}; "
               f"{confidence_text(a['q_value'])} confidence).")
    if a.get("worst_in"):
        message += f" Worst in {', '.join(a['worst_in'][:3])}."
    if a.get("explains"):
        message += f" It explains the rise seen on {', '.join(_names(a['explains'])[:3])}."
    if a.get("also_in"):
        message += f" Covers {len(a['also_in'])} narrower scope(s): {', '.join(a['also_in'][:3])}."
    severity: Severity = "critical" if a["ratio_low"] >= min_ratio else "warning"
    metrics = {**(extra or {}), "value": a["rate"], "baseline": a["baseline_rate"], "effect": a["difference"],
               "interval": [a["difference_low"], a["difference_high"]], "ratio": a["ratio"],
               "ratio_interval": [a["ratio_low"], a["ratio_high"]], "p_value": a["p_value"], "q_value": a["q_value"],
               "n": a["n"], "baseline_n": a["baseline_n"], "events": a["k"], "baseline_events": a["baseline_k"],
               "affected_rows": a["k"], "windows": a["windows"], "explains": a.get("explains", []),
               "also_in": a.get("also_in", []), "worst_in": a.get("worst_in", [])}
    return Finding(CHECK, kind, severity, subject, message, suggestion, metrics,
                   span_scope(a["first"], min(a["last"], last_window), every, a["segment"], names))


def _names(scopes: list[str]) -> list[str]:
    return ["all traffic" if s == "all" else s for s in scopes]
