"""Localized performance drops: every (scope × time window) against the same scope's baseline.

A scope is all traffic, one segment value, or a combination of up to ``depth`` segment values.
Its baseline is the same scope outside the window (all its other windows). Per cell: accuracy (or
MAE for a regression) in the window vs the baseline — Newcombe's interval and a one-sided z-test
(Welch's for MAE) — tested when both sides have at least ``min_support`` rows. The last 2, 3, 6,
12 and 24 windows of every scope are tested together too, so that a recent drop spread over
several windows, none significant alone, is found. Benjamini–Hochberg at ``fdr`` runs within each
family of comparable tests (same scope depth, same span length), so that true drops in one family
do not loosen the threshold of another. A cell alerts when significant and worse by at least
``margin``.

Alerting windows of one scope at most one window apart merge into one alert over their span
(numbers recomputed on the whole span); overlapping alerts of one scope keep the largest drop at
the conservative end of its interval. An alert whose drop disappears once the rows of a stronger
overlapping alert on another or a narrower segment are left out is explained by it (listed, not
repeated): all traffic, or plan=pro, dropping only because region=eu did. An alert covers the same
span in the scopes it contains (region=X covers region=X & device=Y) unless one is clearly worse
(its interval wholly beyond the parent's); a parent covers only spans it contains, and names the
worse narrower scopes that overlap it. Alerts are ranked by impact: rows × drop.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from workbench.distributions import norm_ppf, norm_sf
from workbench.drift.statistics import benjamini_hochberg, two_proportions
from workbench.findings.model import Finding
from workbench.performance.columns import WINDOW

MAX_GAP = 1  # flagged windows of a scope this many windows apart still make one alert
RECENT_SPANS = (2, 3, 6, 12, 24)  # the last k windows of every scope are also tested together


def localized_drops(cells: pl.DataFrame, by: list[str], depth: int, regression: bool, every: dt.timedelta,
                    zone: str | None, *, min_support: int, margin: float, confidence: float, fdr: float,
                    target: str, names: dict[str, str] | None = None) -> tuple[pl.DataFrame, list[Finding]]:
    """Table ``windows`` (every scope × window: n, value, baseline, difference with interval, p, q)
    and the ``performance_drop`` findings, from ``cells`` summed per ``__wb_window`` and the segment
    columns ``by``; ``names`` gives the user's name of each (scope labels and the findings' segments
    use it; default: the column's own name)."""
    names = names or {b: b for b in by}
    sums = [c for c in cells.columns if c not in (WINDOW, *by)]
    scopes = [()] + [cols for k in range(1, depth + 1) for cols in itertools.combinations(by, k)]
    frames = []
    for cols in scopes:
        keys = list(cols)
        per = cells.group_by([WINDOW, *keys]).agg(pl.col(sums).sum()).sort([WINDOW, *keys])  # a stable order
        totals = cells.group_by(keys).agg(pl.col(sums).sum()) if keys else cells.select(pl.col(sums).sum())
        joined = per.join(totals, on=keys, suffix="_total") if keys else per.join(totals, how="cross",
                                                                                   suffix="_total")
        frames.append(joined.with_columns(
            scope=pl.concat_str([pl.format("{}={}", pl.lit(names[c]), pl.col(c)) for c in keys], separator=", ")
            if keys else pl.lit("all"), depth=pl.lit(len(keys))).select(
            "scope", "depth", WINDOW, *sums, *(f"{s}_total" for s in sums), *keys))
    rows = []
    for frame, cols in zip(frames, scopes, strict=True):
        for r in frame.iter_rows(named=True):
            rows.append(_cell(r, cols, sums, regression, confidence, min_support))
    first = int(cells[WINDOW].min()) if cells.height else 0
    last = int(cells[WINDOW].max()) if cells.height else 0
    recent = _recent_spans(rows, first, last, regression, confidence, min_support)
    families: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for r in rows + recent:
        if r["tested"]:
            families.setdefault((r["depth"], r["last"] - r["first"] + 1), []).append(r)
    for tested in families.values():  # BH within each family of comparable tests
        for r, q in zip(tested, benjamini_hochberg(np.array([r["p_value"] for r in tested])), strict=True):
            r["q_value"] = float(q)
    flagged = [r for r in rows if r["tested"] and r["q_value"] <= fdr and r["worse_by"] >= margin]
    alerts = _merge_runs(flagged, rows, regression, confidence)
    alerts += [{**r, "windows": r["last"] - r["first"] + 1} for r in recent
               if r["tested"] and r["q_value"] <= fdr and r["worse_by"] >= margin]
    alerts = _explain_away(_strongest(alerts), cells, sums, regression, confidence, margin, fdr)
    findings = _fold_and_word(alerts, regression, margin, confidence, every, zone, last, target, names)
    table = pl.DataFrame([{("window_index" if k == WINDOW else k): v for k, v in r.items()
                           if k not in ("segment", "sums", "first", "last")}
                          | {"window_start": window_start(r.get("first", r[WINDOW]), every, zone),
                             "windows": r["last"] - r["first"] + 1} for r in rows + recent],
                         infer_schema_length=None)
    return table, findings


def _recent_spans(rows: list[dict[str, Any]], first: int, last: int, regression: bool, confidence: float,
                  min_support: int) -> list[dict[str, Any]]:
    """Per scope, the last ``k`` windows together for each ``k`` in ``RECENT_SPANS`` shorter than
    the data: a drop spread over several recent windows, none significant alone, is still found."""
    by_scope: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_scope.setdefault(r["scope"], []).append(r)
    out = []
    for cells in by_scope.values():
        total = {k: cells[0]["sums"][0][k] + cells[0]["sums"][1][k] for k in cells[0]["sums"][0]}
        for k in RECENT_SPANS:
            start = last - k + 1
            if start <= first:
                break
            span = [c for c in cells if c[WINDOW] >= start]
            window = {key: sum(c["sums"][0][key] for c in span) for key in total}
            baseline = {key: total[key] - window[key] for key in total}
            r = {"scope": cells[0]["scope"], "depth": cells[0]["depth"], "segment": cells[0]["segment"],
                 WINDOW: start, "first": start, "last": last, "sums": (window, baseline)}
            r |= _compare(window, baseline, regression, confidence)
            r["tested"] = window["n"] >= min_support and baseline["n"] >= min_support
            out.append(r)
    return out


def _conservative(a: dict[str, Any]) -> float:
    """The drop at the near end of its interval (sorted ascending: most negative = strongest)."""
    if "rest_mae" in a or a.get("difference_low") is None:
        return -a["worse_by"]
    return a["difference_high"] if a["worse_by"] == -a["difference"] else -a["difference_low"]


def _strongest(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per scope, overlapping alerts (a run of windows, a recent span) keep the one whose drop is
    largest at the conservative end of its interval: a long span of moderate drop is kept over a
    noisy hour, a short sharp drop over a long span that dilutes it."""
    kept: list[dict[str, Any]] = []
    for a in sorted(alerts, key=lambda a: (_conservative(a), a["q_value"])):
        if not any(k["scope"] == a["scope"] and k["first"] <= a["last"] and a["first"] <= k["last"] for k in kept):
            kept.append(a)
    return kept


def _cell(r: dict[str, Any], cols: tuple, sums: list[str], regression: bool, confidence: float,
          min_support: int) -> dict[str, Any]:
    window = {s: r[s] for s in sums}
    baseline = {s: r[f"{s}_total"] - r[s] for s in sums}
    out = {"scope": r["scope"], "depth": r["depth"], WINDOW: r[WINDOW], "first": r[WINDOW], "last": r[WINDOW],
           "segment": {c: r[c] for c in cols}, "sums": (window, baseline)}
    out |= _compare(window, baseline, regression, confidence)
    out["tested"] = window["n"] >= min_support and baseline["n"] >= min_support
    return out


def _compare(window: dict[str, float], baseline: dict[str, float], regression: bool,
             confidence: float) -> dict[str, Any]:
    """Window vs baseline: value, baseline value, difference (window minus baseline) with its
    interval, one-sided p-value of being worse, and how much worse in the margin's unit."""
    n, bn = window["n"], baseline["n"]
    if regression:
        mae = window["sum_ae"] / n if n else math.nan
        bmae = baseline["sum_ae"] / bn if bn else math.nan
        var = max(window["sum_se"] / n - mae**2, 0.0) / max(n - 1, 1) if n else math.nan
        bvar = max(baseline["sum_se"] / bn - bmae**2, 0.0) / max(bn - 1, 1) if bn else math.nan
        diff, se = mae - bmae, math.sqrt(var + bvar) if n and bn else math.nan
        z = norm_ppf(0.5 + confidence / 2)
        p = norm_sf(diff / se) if se and se > 0 else (0.0 if diff > 0 else 1.0)
        return {"n": int(n), "baseline_n": int(bn), "value": mae, "baseline": bmae, "difference": diff,
                "difference_low": diff - z * se, "difference_high": diff + z * se, "p_value": p,
                "worse_by": diff / bmae if bmae else math.nan}
    if not (n and bn):
        return {"n": int(n), "baseline_n": int(bn), "value": math.nan, "baseline": math.nan, "difference": math.nan,
                "difference_low": math.nan, "difference_high": math.nan, "p_value": math.nan, "worse_by": math.nan}
    diff, lo, hi, p_two = two_proportions(baseline["correct"], bn, window["correct"], n, confidence)
    return {"n": int(n), "baseline_n": int(bn), "value": window["correct"] / n, "baseline": baseline["correct"] / bn,
            "difference": diff, "difference_low": lo, "difference_high": hi,
            "p_value": p_two / 2 if diff < 0 else 1 - p_two / 2, "worse_by": -diff}


def _merge_runs(flagged: list[dict[str, Any]], rows: list[dict[str, Any]], regression: bool,
                confidence: float) -> list[dict[str, Any]]:
    """Flagged windows of one scope at most ``MAX_GAP`` windows apart become one alert over their
    span; its numbers are recomputed on every window of the span (flagged or not)."""
    everything: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        everything.setdefault(r["scope"], []).append(r)
    by_scope: dict[str, list[dict[str, Any]]] = {}
    for r in flagged:
        by_scope.setdefault(r["scope"], []).append(r)
    alerts = []
    for cells in by_scope.values():
        cells.sort(key=lambda r: r[WINDOW])
        runs = [[cells[0]]]
        for r in cells[1:]:
            if r[WINDOW] <= runs[-1][-1][WINDOW] + 1 + MAX_GAP:
                runs[-1].append(r)
            else:
                runs.append([r])
        for run in runs:
            span = [c for c in everything[run[0]["scope"]] if run[0][WINDOW] <= c[WINDOW] <= run[-1][WINDOW]]
            window = {k: sum(c["sums"][0][k] for c in span) for k in run[0]["sums"][0]}
            total = {k: run[0]["sums"][0][k] + run[0]["sums"][1][k] for k in window}
            merged = _compare(window, {k: total[k] - window[k] for k in window}, regression, confidence)
            alerts.append({**merged, "scope": run[0]["scope"], "segment": run[0]["segment"], "depth": run[0]["depth"],
                           "first": run[0][WINDOW], "last": run[-1][WINDOW], "q_value": max(c["q_value"] for c in run),
                           "windows": run[-1][WINDOW] - run[0][WINDOW] + 1, "alerting_windows": len(run)})
    return alerts


def _explain_away(alerts: list[dict[str, Any]], cells: pl.DataFrame, sums: list[str], regression: bool,
                  confidence: float, margin: float, level: float) -> list[dict[str, Any]]:
    """An alert whose drop disappears once the rows of a stronger, overlapping alert on another or
    a narrower segment are left out (plan=pro, or all traffic, drops only because region=eu does)
    is explained by it: it is dropped and listed in the stronger alert's ``explains``."""
    kept: list[dict[str, Any]] = []
    for a in sorted(alerts, key=lambda a: (_conservative(a), a["q_value"])):
        items = set(a["segment"].items())
        a["explains"] = []
        for e in kept:
            e_items = set(e["segment"].items())
            if not e_items or e_items <= items or not (e["first"] <= a["last"] and a["first"] <= e["last"]):
                continue  # a wider scope never explains a narrower one: that is the folding's job
            window, baseline = _sums_without(cells, sums, a, e)
            rest = _compare(window, baseline, regression, confidence)
            if not (rest["p_value"] <= level and rest["worse_by"] >= margin):
                name = "all traffic" if a["scope"] == "all" else a["scope"]
                if name not in e["explains"]:
                    e["explains"].append(name)
                break
        else:
            kept.append(a)
    return kept


def _sums_without(cells: pl.DataFrame, sums: list[str], a: dict[str, Any],
                  e: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """Sums of scope ``a`` minus the rows of scope ``e``: inside ``a``'s span and outside it."""
    inside_a = pl.all_horizontal([pl.col(k) == v for k, v in a["segment"].items()] or [pl.lit(True)])
    inside_e = pl.all_horizontal([pl.col(k) == v for k, v in e["segment"].items()])
    rows = cells.filter(inside_a & ~inside_e)
    in_span = pl.col(WINDOW).is_between(a["first"], a["last"])
    window = rows.filter(in_span).select(pl.col(sums).sum()).row(0, named=True)
    baseline = rows.filter(~in_span).select(pl.col(sums).sum()).row(0, named=True)
    return ({k: v or 0 for k, v in window.items()}, {k: v or 0 for k, v in baseline.items()})


def _fold_and_word(alerts: list[dict[str, Any]], regression: bool, margin: float, confidence: float,
                   every: dt.timedelta, zone: str | None, last: int, target: str,
                   names: dict[str, str]) -> list[Finding]:
    kept: list[dict[str, Any]] = []
    covered: dict[int, list[str]] = {}
    worst_in: dict[int, list[dict[str, Any]]] = {}
    for a in sorted(alerts, key=lambda a: a["depth"]):
        items = set(a["segment"].items())
        wider = [p for p in kept if set(p["segment"].items()) < items]
        # a parent covers a narrower scope over a span it contains; overlapping ones only name it
        parents = [p for p in wider if p["first"] <= a["first"] and a["last"] <= p["last"]]
        worse = all((a["difference_high"] < p["difference_low"]) if not regression
                    else (a["difference_low"] > p["difference_high"]) for p in parents)
        if parents and not worse:
            for p in parents:
                covered.setdefault(id(p), []).append(a["scope"])
            continue
        for p in wider:
            if p["first"] <= a["last"] and a["first"] <= p["last"]:
                worst_in.setdefault(id(p), []).append(a)
        kept.append(a)
    out = []
    for a in sorted(kept, key=lambda a: -a["n"] * abs(a["difference"])):
        start, end = window_start(a["first"], every, zone), window_start(a["last"] + 1, every, zone)
        hours = (end - start).total_seconds() / 3600
        span = f"{hours:g} hour{'s' if hours != 1 else ''}" if hours < 48 else f"{hours / 24:g} days"
        when = f"in the last {span}" if a["last"] == last else f"in the {span} from {start:%Y-%m-%d %H:%M}"
        where = "all traffic" if a["scope"] == "all" else a["scope"]
        conf = 1 - a["q_value"]
        conf_text = "99.9%" if conf >= 0.999 else f"{math.floor(conf * 1000) / 10:.1f}%"
        also = covered.get(id(a), [])
        if regression:
            text = (f"MAE rose {a['worse_by']:.0%} on {where} {when} ({a['baseline']:.4g} → {a['value']:.4g}, "
                    f"n={a['n']:,}; {conf_text} confidence)")
        else:
            text = (f"Accuracy dropped {-a['difference'] * 100:.1f} points on {where} {when} "
                    f"({a['baseline']:.1%} → {a['value']:.1%}, n={a['n']:,}; {conf_text} confidence)")
        message = text + "." + (f" Covers {len(also)} narrower scope(s): {', '.join(also[:3])}"
                                f"{', …' if len(also) > 3 else ''}." if also else "")
        if a.get("explains"):
            message += f" It also explains the drop seen on {', '.join(a['explains'][:3])}" + (
                ", …" if len(a["explains"]) > 3 else "") + "."
        worst = sorted(worst_in.get(id(a), []), key=lambda c: c["difference"])
        if worst:
            message += " Worst in " + ", ".join(f"{c['scope']} ({c['difference'] * 100:+.1f} points)"
                                                if not regression else f"{c['scope']} ({c['worse_by']:+.0%})"
                                                for c in worst[:3]) + "."
        beyond = (a["difference_high"] <= -margin) if not regression else (
            a["difference_low"] / a["baseline"] >= margin if a["baseline"] else False)
        scope: dict[str, Any] = {"window": [start.isoformat(), end.isoformat()]}
        if a["segment"]:
            scope["segment"] = {names[k]: v for k, v in a["segment"].items()}
        out.append(Finding(
            "performance", "performance_drop", "critical" if beyond else "warning", target, message,
            "Look at what changed for this traffic in this span (an upstream source, a deployment, a new kind of "
            "request); the windows table shows the cells around it.",
            {"value": a["value"], "baseline": a["baseline"], "effect": a["difference"],
             "interval": [a["difference_low"], a["difference_high"]], "q_value": a["q_value"], "n": a["n"],
             "affected_rows": a["n"], "impact": a["n"] * abs(a["difference"]), "windows": a["windows"],
             "confidence": confidence, "also_in": also, "explains": a.get("explains", [])}, scope))
    return out


def window_start(index: int, every: dt.timedelta, zone: str | None) -> dt.datetime:
    """Start of window ``index`` (windows aligned on the Unix epoch), in ``zone`` or naive."""
    start = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + int(index) * every
    if zone is None:
        return start.replace(tzinfo=None)
    return start.astimezone(ZoneInfo(zone))
