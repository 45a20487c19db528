"""Folding narrower alerts into the wider ones of the same incident, ranking by impact, and the
findings' words (the rule: :mod:`workbench.localize`)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from workbench.findings.model import Finding
from workbench.localize.metrics import Metric


@dataclass(frozen=True)
class Wording:
    """What the findings of one localized search are: ``check`` and ``kind`` (e.g. "performance",
    "performance_drop"), ``subject`` (the target or the quantity), the ``suggestion`` a person acts
    on, ``change`` (the noun in "It also explains the drop seen on ...") and ``extra(alert)``:
    further metrics for a finding (merged after the standard ones)."""

    check: str
    kind: str
    subject: str
    suggestion: str
    change: str | None = None  # "the drop seen on all traffic" (default: "rise" when higher is worse, else "drop")
    extra: Callable[[dict[str, Any]], dict[str, Any]] | None = None


def fold(alerts: list[dict[str, Any]], metric: Metric) -> list[dict[str, Any]]:
    """Alerts kept after folding, widest scopes first, each with ``also_in`` (the narrower scopes
    it covers) and ``worst_in`` (the narrower alerts clearly worse than it, kept and named)."""
    kept: list[dict[str, Any]] = []
    for a in sorted(alerts, key=lambda a: a["depth"]):
        a["also_in"], a["worst_in"] = [], []
        items = set(a["segment"].items())
        # the wider alerts whose span overlaps this one: the same incident seen on a wider scope
        parents = [p for p in kept if set(p["segment"].items()) < items
                   and p["first"] <= a["last"] and a["first"] <= p["last"]]
        worse = all(metric.clearly_worse(a, p) for p in parents)
        if parents and not worse:
            for p in parents:
                p["also_in"].append(a["scope"])
            continue
        for p in parents:
            p["worst_in"].append(a)
        kept.append(a)
    return kept


def findings(alerts: list[dict[str, Any]], metric: Metric, wording: Wording, *, margin: float, confidence: float,
             every: dt.timedelta, zone: str | None, last: int, names: dict[str, str]) -> list[Finding]:
    """One finding per folded alert, largest impact (rows × difference) first."""
    out = []
    for a in sorted(fold(alerts, metric), key=lambda a: -a["n"] * abs(a["difference"])):
        start, end = window_start(a["first"], every, zone), window_start(a["last"] + 1, every, zone)
        also = a["also_in"]
        scope: dict[str, Any] = {"window": [start.isoformat(), end.isoformat()]}
        if a["segment"]:
            scope["segment"] = {names[k]: v for k, v in a["segment"].items()}
        out.append(Finding(
            wording.check, wording.kind, "critical" if metric.severe(a, margin) else "warning", wording.subject,
            _message(a, metric, wording.change or ("rise" if metric.higher_is_worse else "drop"), start, end, last),
            wording.suggestion,
            {"value": a["value"], "baseline": a["baseline"], "effect": a["difference"],
             "interval": [a["difference_low"], a["difference_high"]], "q_value": a["q_value"], "n": a["n"],
             "affected_rows": a["n"], "impact": a["n"] * abs(a["difference"]), "windows": a["windows"],
             "confidence": confidence, "also_in": also, "explains": a.get("explains", []),
             **(wording.extra(a) if wording.extra else {})}, scope))
    return out


def _message(a: dict[str, Any], metric: Metric, change: str, start: dt.datetime, end: dt.datetime, last: int) -> str:
    """The alert in words: what changed where and when with its numbers, the narrower scopes it
    covers, the alerts it explains, the narrower alerts clearly worse than it."""
    hours = (end - start).total_seconds() / 3600
    span = f"{hours:g} hour{'s' if hours != 1 else ''}" if hours < 48 else f"{hours / 24:g} days"
    when = f"in the last {span}" if a["last"] == last else f"in the {span} from {start:%Y-%m-%d %H:%M}"
    where = "all traffic" if a["scope"] == "all" else a["scope"]
    if a.get("since"):
        where += f" since {a['since']}"
    conf = 1 - a["q_value"]
    conf_text = "99.9%" if conf >= 0.999 else f"{math.floor(conf * 1000) / 10:.1f}%"
    also = a["also_in"]
    message = metric.sentence(a, where, when, conf_text) + "." + (
        f" Covers {len(also)} narrower scope(s): {', '.join(also[:3])}{', …' if len(also) > 3 else ''}."
        if also else "")
    if a.get("explains"):
        message += f" It also explains the {change} seen on {', '.join(a['explains'][:3])}" + (
            ", …" if len(a["explains"]) > 3 else "") + "."
    worst = sorted(a["worst_in"], key=metric.worst_order)
    if worst:
        message += " Worst in " + ", ".join(metric.part(c) for c in worst[:3]) + "."
    return message


def window_start(index: int, every: dt.timedelta, zone: str | None) -> dt.datetime:
    """Start of window ``index`` (windows aligned on the Unix epoch), in ``zone`` or naive."""
    start = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + int(index) * every
    if zone is None:
        return start.replace(tzinfo=None)
    return start.astimezone(ZoneInfo(zone))
