"""Localized performance drops: every (scope × time window) against the same scope's baseline.

A scope is all traffic, one segment value, or a combination of up to ``depth`` segment values.
Its baseline is the same scope outside the window (all its other windows). Per cell: accuracy (or
MAE for a regression) in the window vs the baseline — Newcombe's interval and a one-sided z-test
(Welch's for MAE) — tested when both sides have at least ``min_support`` rows. Benjamini–Hochberg
at ``fdr`` runs over the single windows of one scope depth. The last 2, 3, 6, 12 and 24 windows
of every scope are tested together too, so that a recent drop spread over several windows, none
significant alone, is found: the spans of one scope are one scan test (its p-value the smallest
span p-value times the number of spans, Bonferroni), with Benjamini–Hochberg across the scopes of
one depth. Each family is corrected on its own, so that true drops in one family do not loosen
the threshold of another. A cell alerts when significant and worse by at least ``margin``.

Alerting windows of one scope at most one window apart merge into one alert over their span
(numbers recomputed on the whole span). Among overlapping alerts of one scope (runs, recent spans)
the one with the strongest evidence — the largest z of being worse — is kept: the scan-statistic
rule, whose z is largest at the true onset of a step change (an earlier start adds unaffected
rows, a later one drops affected rows), where the largest drop would pick a short noisy span. An
alert whose drop disappears once the rows of a stronger overlapping alert on another or a
narrower segment are left out — the rest would not have been flagged in its family (p-value above
the family's Benjamini–Hochberg cutoff) or is worse by less than ``margin`` — is explained by it
(listed, not repeated): all traffic, or plan=pro, dropping only because region=eu did. An alert
covers the narrower scopes it contains whose alerts overlap its span (region=X covers
region=X & device=Y: pieces of the same incident) unless one is clearly worse (its interval
wholly beyond the parent's), which is kept and named in the parent's message. Alerts are ranked by
impact: rows × drop."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from workbench.findings.model import Finding
from workbench.performance.columns import WINDOW
from workbench.stats import benjamini_hochberg, two_proportions
from workbench.stats.tails import norm_ppf, norm_sf

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
    bounds = cells.select(pl.col(WINDOW).min().alias("first"), pl.col(WINDOW).max().alias("last")).row(0) \
        if cells.height else (0, 0)
    first, last = int(bounds[0]), int(bounds[1])
    recent = _recent_spans(rows, first, last, regression, confidence, min_support)
    families: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        if r["tested"]:
            families.setdefault(r["depth"], []).append(r)
    for tested in families.values():  # BH within each family of comparable tests
        p_values = np.array([r["p_value"] for r in tested])
        q_values = benjamini_hochberg(p_values)
        cutoff = _cutoff(p_values, q_values, fdr)
        for r, q in zip(tested, q_values, strict=True):
            r["q_value"], r["cutoff"] = float(q), cutoff
    _scan_q(recent, fdr)
    flagged = [r for r in rows if r["tested"] and r["q_value"] <= fdr and r["worse_by"] >= margin]
    alerts = _merge_runs(flagged, rows, regression, confidence)
    alerts += [{**r, "windows": r["last"] - r["first"] + 1} for r in recent
               if r["tested"] and r["q_value"] <= fdr and r["worse_by"] >= margin]
    alerts = _explain_away(_strongest(alerts), cells, sums, regression, confidence, margin)
    findings = _fold_and_word(alerts, regression, margin, confidence, every, zone, last, target, names)
    table = pl.DataFrame([{("window_index" if k == WINDOW else k): v for k, v in r.items()
                           if k not in ("segment", "sums", "first", "last", "z", "cutoff")}
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


def _cutoff(p_values: np.ndarray, q_values: np.ndarray, fdr: float) -> float:
    """The p-value a test of this family needs to be flagged at ``fdr``: the largest p-value
    Benjamini–Hochberg rejects (``fdr / m`` when it rejects none)."""
    rejected = p_values[q_values <= fdr]
    return float(rejected.max()) if len(rejected) else fdr / max(len(p_values), 1)


def _scan_q(recent: list[dict[str, Any]], fdr: float) -> None:
    """Set the q-value of every tested recent span. The spans of one scope are one scan test: its
    p-value is the smallest of its spans' p-values times their number (Bonferroni: the spans are
    nested and correlated, so this is conservative), and Benjamini–Hochberg runs across the scopes of
    one depth. A span's q-value is the larger of its scope's q-value and its own p-value times the
    number of spans: the scope's strongest span carries the scope's q-value, and a span alerts only
    when its scope does and it passes the Bonferroni bound itself."""
    scopes: dict[str, list[dict[str, Any]]] = {}
    for r in recent:
        if r["tested"]:
            scopes.setdefault(r["scope"], []).append(r)
    by_depth: dict[int, list[list[dict[str, Any]]]] = {}
    for spans in scopes.values():
        by_depth.setdefault(spans[0]["depth"], []).append(spans)
    for family in by_depth.values():
        scan = np.array([min(1.0, len(spans) * min(r["p_value"] for r in spans)) for spans in family])
        q_scan = benjamini_hochberg(scan)
        cutoff = _cutoff(scan, q_scan, fdr)
        for spans, q_scope in zip(family, q_scan, strict=True):
            for r in spans:
                r["q_value"] = max(float(q_scope), min(1.0, len(spans) * r["p_value"]))
                r["cutoff"] = cutoff / len(spans)


def _evidence(a: dict[str, Any]) -> tuple[float, float, float]:
    """Sort key, strongest evidence first: the one-sided z of being worse (large = strong; a
    p-value underflows to 0 for huge samples, z does not), then the q-value, then the impact."""
    z = a["z"] if a.get("z") is not None and not math.isnan(a["z"]) else -math.inf
    return (-z, a["q_value"], -a["n"] * abs(a["difference"]))


def _strongest(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per scope, overlapping alerts (a run of windows, a recent span) keep the one with the
    strongest evidence (largest z): the scan statistic. For a step change the z of a span
    ``[start, last]`` grows while ``start`` moves back to the true onset (more affected rows) and
    falls beyond it (unaffected rows dilute the drop), so the kept span is the onset, not the
    short noisy span that happens to show the largest drop."""
    kept: list[dict[str, Any]] = []
    for a in sorted(alerts, key=_evidence):
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
        worse_z = diff / se if se and se > 0 else (math.inf if diff > 0 else -math.inf if diff < 0 else 0.0)
        return {"n": int(n), "baseline_n": int(bn), "value": mae, "baseline": bmae, "difference": diff,
                "difference_low": diff - z * se, "difference_high": diff + z * se, "z": worse_z, "p_value": p,
                "worse_by": diff / bmae if bmae else math.nan}
    if not (n and bn):
        return {"n": int(n), "baseline_n": int(bn), "value": math.nan, "baseline": math.nan, "difference": math.nan,
                "difference_low": math.nan, "difference_high": math.nan, "z": math.nan, "p_value": math.nan,
                "worse_by": math.nan}
    diff, lo, hi, p_two = two_proportions(int(baseline["correct"]), int(bn), int(window["correct"]), int(n),
                                          confidence)  # counts, summed as integers
    pooled = (baseline["correct"] + window["correct"]) / (n + bn)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / bn))
    worse_z = -diff / se if se > 0 else 0.0  # the pooled z of the test, positive when the window is worse
    return {"n": int(n), "baseline_n": int(bn), "value": window["correct"] / n, "baseline": baseline["correct"] / bn,
            "difference": diff, "difference_low": lo, "difference_high": hi, "z": worse_z,
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
                           "windows": run[-1][WINDOW] - run[0][WINDOW] + 1, "alerting_windows": len(run),
                           "cutoff": run[0]["cutoff"]})
    return alerts


def _explain_away(alerts: list[dict[str, Any]], cells: pl.DataFrame, sums: list[str], regression: bool,
                  confidence: float, margin: float) -> list[dict[str, Any]]:
    """An alert whose drop disappears once the rows of a stronger, overlapping alert on another or
    a narrower segment are left out (plan=pro, or all traffic, drops only because region=eu does)
    is explained by it: it is dropped and listed in the stronger alert's ``explains``. The drop
    disappears when the rest would not have been flagged in the alert's place: its p-value above
    the cutoff of the alert's family (the largest p-value Benjamini–Hochberg rejected there), or
    worse by less than ``margin``."""
    kept: list[dict[str, Any]] = []
    for a in sorted(alerts, key=_evidence):
        items = set(a["segment"].items())
        a["explains"] = []
        for e in kept:
            e_items = set(e["segment"].items())
            if not e_items or e_items <= items or not (e["first"] <= a["last"] and a["first"] <= e["last"]):
                continue  # a wider scope never explains a narrower one: that is the folding's job
            window, baseline = _sums_without(cells, sums, a, e)
            rest = _compare(window, baseline, regression, confidence)
            if not (rest["p_value"] <= a["cutoff"] and rest["worse_by"] >= margin):
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
        # the wider alerts whose span overlaps this one: the same incident seen on a wider scope
        parents = [p for p in kept if set(p["segment"].items()) < items
                   and p["first"] <= a["last"] and a["first"] <= p["last"]]
        worse = all((a["difference_high"] < p["difference_low"]) if not regression
                    else (a["difference_low"] > p["difference_high"]) for p in parents)
        if parents and not worse:
            for p in parents:
                covered.setdefault(id(p), []).append(a["scope"])
            continue
        for p in parents:
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
