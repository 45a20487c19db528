"""Usage spikes per API key, user and segment value, each against its own history.

For every value of an entity column (``api_key``, ``user_id``, each segment column) with at least
``min_windows`` active windows (windows with requests), the per-window totals ``T`` of its tokens
(and of its cost) are read on a log scale, where heavy-tailed usage is close to symmetric. Its
baseline is the median ``m`` of ``log T`` over its active windows, its spread ``s`` the scaled
median absolute deviation (1.4826 · MAD, at least ``MIN_SPREAD``): both robust to the spike itself
and to a few odd windows. Every run of ``k`` consecutive active windows (``k`` = 1 … ``MAX_SPAN``)
is a test: ``z = (mean log T over the run − m) / (s / √k)``, one-sided normal p-value. The runs of
one value are one scan test (its p-value the smallest run p-value times the number of runs,
Bonferroni), with Benjamini–Hochberg at ``fdr`` across the values of one entity column. A value
alerts when significant and its strongest run (largest z among the runs significant on their own)
used at least ``spike_factor`` times its usual per-window total (``exp(m)``), with an extra
(the run's total minus its usual total) of at least ``min_share`` of all traffic's mean usage
per window times the run's length (a practical threshold: a light user tripling a few cents of
use is not an alert): a naturally heavy user is compared with itself and stays quiet; a key jumping 20x for
three hours alerts.

``token_spike`` when the tokens spiked; ``cost_increase`` when the cost did and the tokens of the
same value and span did not (a switch to a pricier model). The extra cost is the span's cost minus
its usual cost per window (the median of the value's per-window costs) times the span's windows.
An alert on a wider entity (a user, a region) whose span overlaps an alert on a narrower one (an
API key) is explained by it when the narrower alert's extra tokens make at least half of its own:
listed in the narrower finding's ``explains``, not repeated.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy.special import ndtr

from workbench.findings.model import Finding, Severity
from workbench.localize import WINDOW, window_start
from workbench.stats import benjamini_hochberg
from workbench.stats.tails import norm_ppf

MIN_SPREAD = 0.1  # the smallest spread on the log scale: a perfectly steady value is not infinitely sensitive
MAX_SPAN = 24  # the longest run of windows tested
MAD_SCALE = 1.4826


@dataclass(frozen=True)
class Spikes:
    min_windows: int
    spike_factor: float
    fdr: float
    every: dt.timedelta
    zone: str | None
    currency: str
    confidence: float
    min_share: float  # the smallest share of all traffic's usage in a run's windows that its extra must make
    traffic: dict[str, float]  # quantity -> all traffic's mean total per window


def _runs(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every run of consecutive positions: start, length, mean of ``x``."""
    cum = np.concatenate([[0.0], np.cumsum(x)])
    starts, lengths = [], []
    for k in range(1, min(MAX_SPAN, len(x)) + 1):
        s = np.arange(0, len(x) - k + 1)
        starts.append(s)
        lengths.append(np.full(len(s), k))
    start, length = np.concatenate(starts), np.concatenate(lengths)
    return start, length, (cum[start + length] - cum[start]) / length


def scan_value(totals: np.ndarray) -> dict[str, Any]:
    """The scan test of one value's per-window totals (active windows, in time order): its scan
    p-value, the strongest run (start, length, z) and the baseline (median total)."""
    x = np.log(totals)
    m = float(np.median(x))
    s = max(MAD_SCALE * float(np.median(np.abs(x - m))), MIN_SPREAD)
    start, length, means = _runs(x)
    z = (means - m) / (s / np.sqrt(length))
    p = ndtr(-z)  # the one-sided normal p-value, elementwise
    return {"p_scan": min(1.0, float(p.min()) * len(p)), "z": z, "p": p, "start": start, "length": length,
            "runs": len(p), "median_log": m, "spread": s}


def spikes(usage: dict[str, pl.DataFrame], names: dict[str, str], quantity: str,
           o: Spikes) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The alerts of one quantity (``tokens`` or ``cost``) over every entity column of ``usage``
    (internal name -> entity × window totals; ``names``: internal -> user name), and a row per
    tested value (its entity, value, active windows, usual total per window, spread, scan p- and
    q-value)."""
    alerts, tested = [], []
    for entity, frame in usage.items():
        if quantity not in frame.columns:
            continue
        active = frame.filter(pl.col(quantity) > 0).sort(entity, WINDOW)
        family = []
        for (value,), rows in active.group_by(entity, maintain_order=True):
            if rows.height < o.min_windows:
                continue
            totals = rows[quantity].to_numpy().astype(float)
            scan = scan_value(totals)
            family.append((value, rows, totals, scan))
        if not family:
            continue
        q = benjamini_hochberg(np.array([f[3]["p_scan"] for f in family]))
        for (value, rows, totals, scan), q_value in zip(family, q, strict=True):
            tested.append({"quantity": quantity, "entity": names[entity], "value": str(value),
                           "active_windows": rows.height, "usual_per_window": math.exp(scan["median_log"]),
                           "log_spread": scan["spread"], "runs": scan["runs"], "p_scan": scan["p_scan"],
                           "q_value": float(q_value)})
            if q_value > o.fdr:
                continue
            alert = _strongest_run(value, rows, totals, scan, float(q_value), quantity, o)
            if alert is not None:
                alerts.append(alert | {"entity": names[entity], "quantity": quantity, "value_name": str(value),
                                       "tested_values": len(family)})
    return alerts, tested


def _strongest_run(value: Any, rows: pl.DataFrame, totals: np.ndarray, scan: dict[str, Any], q_value: float,
                   quantity: str, o: Spikes) -> dict[str, Any] | None:
    """The run with the largest z among those that pass the scan's Bonferroni bound at this
    family's level, used at least ``spike_factor`` times the usual total, and whose extra makes at
    least ``min_share`` of all traffic's mean usage per window times the run's length."""
    usual = math.exp(scan["median_log"])
    sums = np.concatenate([[0.0], np.cumsum(totals)])
    span_total = sums[scan["start"] + scan["length"]] - sums[scan["start"]]
    factor = span_total / (usual * scan["length"])
    extra = span_total - usual * scan["length"]
    ok = ((scan["p"] * scan["runs"] <= o.fdr) & (factor >= o.spike_factor)
          & (extra >= o.min_share * o.traffic[quantity] * scan["length"]))
    if not ok.any():
        return None
    best = int(np.argmax(np.where(ok, scan["z"], -np.inf)))
    first, k = int(scan["start"][best]), int(scan["length"][best])
    windows = rows[WINDOW].to_list()
    shift = float(scan["z"][best]) * scan["spread"] / math.sqrt(k)  # mean log total over the run minus the median
    half = norm_ppf(0.5 + o.confidence / 2) * scan["spread"] / math.sqrt(k)
    cost = rows["cost"].to_numpy().astype(float) if "cost" in rows.columns else None
    usual_cost = float(np.median(cost)) if cost is not None else math.nan
    span_cost = float(cost[first:first + k].sum()) if cost is not None else math.nan
    return {"value": value, "first": windows[first], "last": windows[first + k - 1], "windows": k,
            "span_windows": windows[first:first + k], "total": float(span_total[best]), "usual": usual,
            "factor": float(factor[best]), "interval": [math.exp(shift - half), math.exp(shift + half)],
            "z": float(scan["z"][best]), "q_value": q_value,
            "span_cost": span_cost, "extra_cost": span_cost - usual_cost * k if cost is not None else math.nan,
            "extra": float(span_total[best]) - usual * k, "requests": int(rows["requests"][first:first + k].sum()),
            "active_windows": rows.height}


def word(alerts: list[dict[str, Any]], token_alerts: list[dict[str, Any]], o: Spikes, last: int) -> list[Finding]:
    """``token_spike`` and ``cost_increase`` findings (a cost alert whose value and span also
    spiked in tokens is left to the token finding), explained ones folded."""
    cost_only = [a for a in alerts if a["quantity"] == "cost" and not any(
        t["entity"] == a["entity"] and t["value"] == a["value"] and t["first"] <= a["last"] and a["first"] <= t["last"]
        for t in token_alerts)]
    kept = _explain(token_alerts) + _explain(cost_only)
    out = []
    for a in sorted(kept, key=lambda a: -a["extra"]):
        out.append(_finding(a, o, last))
    return out


def _explain(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alerts ordered narrowest entity first (as given: api_key, user_id, segments); a later one
    overlapping a kept one that makes at least half of its extra is explained by it."""
    order = {e: i for i, e in enumerate(dict.fromkeys(a["entity"] for a in alerts))}
    kept: list[dict[str, Any]] = []
    for a in sorted(alerts, key=lambda a: (order[a["entity"]], -a["extra"])):
        a["explains"] = []
        by = next((k for k in kept if k["entity"] != a["entity"] and k["first"] <= a["last"]
                   and a["first"] <= k["last"] and k["extra"] >= 0.5 * a["extra"]), None)
        if by is not None:
            by["explains"].append(f"{a['entity']}={a['value_name']}")
        else:
            kept.append(a)
    return kept


def _finding(a: dict[str, Any], o: Spikes, last: int) -> Finding:
    start, end = window_start(a["first"], o.every, o.zone), window_start(a["last"] + 1, o.every, o.zone)
    hours = (end - start).total_seconds() / 3600
    span = f"{hours:g} hour{'s' if hours != 1 else ''}" if hours < 48 else f"{hours / 24:g} days"
    when = f"in the last {span}" if a["last"] == last else f"in the {span} from {start:%Y-%m-%d %H:%M}"
    per = "per window" if o.every != dt.timedelta(hours=1) else "per hour"
    who = f"{a['entity']}={a['value_name']}"
    conf = 1 - a["q_value"]
    conf_text = "99.9%" if conf >= 0.999 else f"{math.floor(conf * 1000) / 10:.1f}%"
    extra_cost = "" if math.isnan(a["extra_cost"]) else f"; extra cost {_money(a['extra_cost'], o.currency)}"
    if a["quantity"] == "tokens":
        kind = "token_spike"
        text = (f"{who} used {a['factor']:.1f}x its usual tokens {when} ({_count(a['total'] / a['windows'])} vs "
                f"{_count(a['usual'])} {per}, {a['requests']:,} requests{extra_cost}; {conf_text} confidence).")
        suggestion = ("Look at this caller's requests in the span (a loop, a retry storm, a prompt that grew, a leaked "
                      "key); rate-limit or revoke the key if it is not expected.")
    else:
        kind = "cost_increase"
        text = (f"{who} cost {a['factor']:.1f}x its usual {when} ({_money(a['total'] / a['windows'], o.currency)} vs "
                f"{_money(a['usual'], o.currency)} {per}{extra_cost}; its tokens did not spike; {conf_text} "
                "confidence).")
        suggestion = ("Check which models this traffic used in the span (a switch to a pricier model or a price "
                      "change) and whether the change was intended.")
    if a["explains"]:
        text += f" It also explains the spike seen on {', '.join(a['explains'][:3])}."
    scope: dict[str, Any] = {"window": [start.isoformat(), end.isoformat()], "segment": {a["entity"]: a["value"]}}
    metrics = {"value": a["total"] / a["windows"], "baseline": a["usual"], "effect": a["factor"],
               "factor": a["factor"], "interval": a["interval"], "z": a["z"], "q_value": a["q_value"],
               "n": a["requests"],
               "affected_rows": a["requests"], "windows": a["windows"], "total": a["total"], "extra": a["extra"],
               "extra_cost": None if math.isnan(a["extra_cost"]) else a["extra_cost"], "currency": o.currency,
               "active_windows": a["active_windows"], "tested_values": a["tested_values"], "explains": a["explains"]}
    severity: Severity = "critical" if a["factor"] >= 2 * o.spike_factor else "warning"
    return Finding("llm", kind, severity, a["quantity"], text, suggestion, metrics, scope)


def _count(x: float) -> str:
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if abs(x) >= size:
            return f"{x / size:.3g}{unit}"
    return f"{x:.3g}"


def _money(x: float, currency: str) -> str:
    return f"${x:,.2f}" if currency == "USD" else f"{x:,.2f} {currency}"
