"""Every scope × time window against the same scope's baseline: the tests, their families and the
alerts they make (the rule: :mod:`workbench.localize`)."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import polars as pl

from workbench.engine.reserved import PREFIX
from workbench.localize.metrics import Metric
from workbench.stats import benjamini_hochberg

WINDOW = PREFIX + "window"  # the cells' time-window index column (windows aligned on the Unix epoch)
MAX_GAP = 1  # flagged windows of a scope this many windows apart still make one alert
RECENT_SPANS = (2, 3, 6, 12, 24)  # the last k windows of every scope are also tested together


def scope_cells(cells: pl.DataFrame, by: list[str], depth: int, metric: Metric, confidence: float,
                min_support: int, names: dict[str, str]) -> list[dict[str, Any]]:
    """One tested cell per scope (all traffic, and every combination of up to ``depth`` of the
    ``by`` columns) and window: the window's sums against the rest of the scope's windows."""
    sums = list(metric.needs)
    scopes = [()] + [cols for k in range(1, depth + 1) for cols in itertools.combinations(by, k)]
    rows = []
    for cols in scopes:
        keys = list(cols)
        per = cells.group_by([WINDOW, *keys]).agg(pl.col(sums).sum()).sort([WINDOW, *keys])  # a stable order
        totals = cells.group_by(keys).agg(pl.col(sums).sum()) if keys else cells.select(pl.col(sums).sum())
        joined = per.join(totals, on=keys, suffix="_total") if keys else per.join(totals, how="cross",
                                                                                   suffix="_total")
        frame = joined.with_columns(
            scope=pl.concat_str([pl.format("{}={}", pl.lit(names[c]), pl.col(c)) for c in keys], separator=", ")
            if keys else pl.lit("all"), depth=pl.lit(len(keys))).select(
            "scope", "depth", WINDOW, *sums, *(f"{s}_total" for s in sums), *keys)
        for r in frame.iter_rows(named=True):
            rows.append(_cell(r, cols, sums, metric, confidence, min_support))
    return rows


def _cell(r: dict[str, Any], cols: tuple, sums: list[str], metric: Metric, confidence: float,
          min_support: int) -> dict[str, Any]:
    window = {s: r[s] for s in sums}
    baseline = {s: r[f"{s}_total"] - r[s] for s in sums}
    out = {"scope": r["scope"], "depth": r["depth"], WINDOW: r[WINDOW], "first": r[WINDOW], "last": r[WINDOW],
           "segment": {c: r[c] for c in cols}, "sums": (window, baseline)}
    out |= metric.compare(window, baseline, confidence)
    out["tested"] = window[metric.count] >= min_support and baseline[metric.count] >= min_support
    return out


def recent_spans(rows: list[dict[str, Any]], first: int, last: int, metric: Metric, confidence: float,
                 min_support: int, spans: tuple[int, ...] = RECENT_SPANS) -> list[dict[str, Any]]:
    """Per scope, the last ``k`` windows together for each ``k`` in ``spans`` shorter than the
    data: a change spread over several recent windows, none significant alone, is still found."""
    by_scope: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_scope.setdefault(r["scope"], []).append(r)
    out = []
    for cells in by_scope.values():
        total = {k: cells[0]["sums"][0][k] + cells[0]["sums"][1][k] for k in cells[0]["sums"][0]}
        for k in spans:
            start = last - k + 1
            if start <= first:
                break
            span = [c for c in cells if c[WINDOW] >= start]
            window = {key: sum(c["sums"][0][key] for c in span) for key in total}
            baseline = {key: total[key] - window[key] for key in total}
            r = {"scope": cells[0]["scope"], "depth": cells[0]["depth"], "segment": cells[0]["segment"],
                 WINDOW: start, "first": start, "last": last, "sums": (window, baseline)}
            r |= metric.compare(window, baseline, confidence)
            r["tested"] = window[metric.count] >= min_support and baseline[metric.count] >= min_support
            out.append(r)
    return out


def correct_families(rows: list[dict[str, Any]], recent: list[dict[str, Any]], fdr: float) -> None:
    """Set ``q_value`` and ``cutoff`` of every tested cell: Benjamini–Hochberg within the single
    windows of one depth, and the scan test of the recent spans (:func:`_scan_q`)."""
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


def evidence(a: dict[str, Any]) -> tuple[float, float, float]:
    """Sort key, strongest evidence first: the one-sided z of being worse (large = strong; a
    p-value underflows to 0 for huge samples, z does not), then the q-value, then the impact."""
    z = a["z"] if a.get("z") is not None and not math.isnan(a["z"]) else -math.inf
    return (-z, a["q_value"], -a["n"] * abs(a["difference"]))


def strongest(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per scope, overlapping alerts (a run of windows, a recent span) keep the one with the
    strongest evidence (largest z): the scan statistic. For a step change the z of a span
    ``[start, last]`` grows while ``start`` moves back to the true onset (more affected rows) and
    falls beyond it (unaffected rows dilute the change), so the kept span is the onset, not the
    short noisy span that happens to show the largest change."""
    kept: list[dict[str, Any]] = []
    for a in sorted(alerts, key=evidence):
        if not any(k["scope"] == a["scope"] and k["first"] <= a["last"] and a["first"] <= k["last"] for k in kept):
            kept.append(a)
    return kept


def merge_runs(flagged: list[dict[str, Any]], rows: list[dict[str, Any]], metric: Metric,
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
            merged = metric.compare(window, {k: total[k] - window[k] for k in window}, confidence)
            alerts.append({**merged, "scope": run[0]["scope"], "segment": run[0]["segment"], "depth": run[0]["depth"],
                           "first": run[0][WINDOW], "last": run[-1][WINDOW], "q_value": max(c["q_value"] for c in run),
                           "windows": run[-1][WINDOW] - run[0][WINDOW] + 1, "alerting_windows": len(run),
                           "cutoff": run[0]["cutoff"]})
    return alerts


def explain_away(alerts: list[dict[str, Any]], cells: pl.DataFrame, metric: Metric, confidence: float,
                 margin: float) -> list[dict[str, Any]]:
    """An alert whose change disappears once the rows of a stronger, overlapping alert on another or
    a narrower segment are left out (plan=pro, or all traffic, drops only because region=eu does)
    is explained by it: it is dropped and listed in the stronger alert's ``explains``. The change
    disappears when the rest would not have been flagged in the alert's place: its p-value above
    the cutoff of the alert's family (the largest p-value Benjamini–Hochberg rejected there), or
    worse by less than ``margin``."""
    kept: list[dict[str, Any]] = []
    for a in sorted(alerts, key=evidence):
        items = set(a["segment"].items())
        a["explains"] = []
        for e in kept:
            e_items = set(e["segment"].items())
            if not e_items or e_items <= items or not (e["first"] <= a["last"] and a["first"] <= e["last"]):
                continue  # a wider scope never explains a narrower one: that is the folding's job
            window, baseline = _sums_without(cells, list(metric.needs), a, e)
            rest = metric.compare(window, baseline, confidence)
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
