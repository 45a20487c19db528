"""Per-stage latency from spans: the breakdown per stage × segment, and ``stage_latency_regression``.

A request is a trace; its stages come from :func:`workbench.telemetry.stages_from_spans` (a stage's latency
in a request is the summed duration of its spans of that stage). Spans with a negative duration are left
out (counted in the ``span_problems`` finding, with the spans whose parent is missing and those that start
before their parent: clocks that disagree). A request's segment values come from the request log (joined on
``request_id`` = the trace id; its first row per id), else from the spans' own columns of those names (the
root span's, else any span's); its window from its start.

Breakdown (table ``stages``): per stage × scope, the requests with that stage, p50, p95, p99 and mean of the
stage's latency, and its share of the request latency (the stage's summed latency over the summed latency of
the scope's requests that have it).

Regression (table ``stage_windows``, findings ``stage_latency_regression``): per stage × scope × window (windows of
1, 3 and 12 base windows: :data:`SCALES`), the baseline is the same stage and scope outside the window. The test
counts the window's requests slower than the baseline's ``quantile`` (p95 by default): under no change about 5%
are, and the count's exact distribution is known (:func:`~workbench.service.quantiles.exceedance_pvalue`), so the
one-sided p-value is exact and distribution-free. With strata (``stratify``, the endpoint by default), each request
is compared with its own stratum's baseline and the counts combine exactly (:mod:`workbench.service.stratified`): a
window with more requests of a naturally slow endpoint is not a regression. Benjamini–Hochberg at ``fdr`` runs
across every tested cell (all stages, scopes, windows and scales). A cell is flagged when significant and its
window quantile is at least ``1 + latency_margin`` times the baseline's; flagged windows of one stage, scope and
scale at most one window apart merge into one alert (numbers recomputed on the span), and overlapping alerts of one
stage and scope keep the strongest. An alert whose regression disappears once the rows of a stronger overlapping
alert on another scope are left out is explained by it; a narrower scope's alert overlapping a wider one's of the
same stage is folded into it unless clearly worse (its quantile interval wholly above the wider one's). Because
every stage × segment is tested on its own, a regression of one stage in one region is found even when the overall
p50 does not move.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from workbench.engine.fingerprints import summarize_input
from workbench.errors import InputError
from workbench.findings.model import Finding, InputSummary, Severity
from workbench.service import columns as C
from workbench.service.quantiles import exceedance_pvalue, quantile_interval, rank
from workbench.service.stratified import baseline_order_statistic, stratified_cell
from workbench.service.words import CHECK, confidence_text, span_scope, when
from workbench.stats import benjamini_hochberg, wilson_interval
from workbench.telemetry import read_spans, requests_from_spans, stages_from_spans
from workbench.telemetry.spans import SPAN_COLUMNS

MAX_GAP = 1  # flagged windows of a stage and scope this many windows apart still make one alert
SCALES = (1, 3, 12)  # windows of 1, 3 and 12 base windows: a long regression in a small scope whose single
# windows lack support is found at a coarser scale


@dataclass(frozen=True)
class StageRule:
    """When a stage's latency alerts: ``quantile`` compared, ``min_support`` requests on both sides,
    Benjamini–Hochberg at ``fdr``, a window quantile at least ``1 + latency_margin`` times the baseline's;
    intervals at ``confidence``."""

    quantile: float
    min_support: int
    latency_margin: float
    confidence: float
    fdr: float


@dataclass(frozen=True)
class Strata:
    """The stratum column of the stage latencies (``column``; None: none) and whether the user named it
    (``explicit``: then it must exist, in the request log or the spans)."""

    column: str | None
    explicit: bool


@dataclass(frozen=True)
class Spans:
    """Spans read for the check: the ``stages`` (one row per request and stage, with the request's window,
    latency and segment values), the span ``problems`` counted, the segment ``names``, how many of the
    ``traces`` got their segments from the request log (``matched``) and the spans' ``summary`` (rows and
    fingerprint)."""

    stages: pl.DataFrame
    problems: Mapping[str, int]
    names: dict[str, str]
    matched: int | None
    traces: int
    summary: InputSummary
    stratum: str | None = None


def read(spans: Any, by: list[str], explicit_by: bool, requests: pl.DataFrame | None, names: dict[str, str],
         every: dt.timedelta, stage: Any, strata: Strata | None = None) -> Spans:
    """Read ``spans`` (anything :func:`~workbench.telemetry.read_spans` accepts) into one row per request and
    stage with its window, segments and stratum (column ``__wb_stratum``: the value of the ``strata`` column in
    the request log, else in the spans; one stratum when neither has it). ``requests``: the prepared request log
    (internal names) or None."""
    df = spans.collect() if isinstance(spans, pl.LazyFrame) else spans
    if not (isinstance(df, pl.DataFrame) and all(c in df.columns for c in SPAN_COLUMNS)):
        df = read_spans(df)
    if df.height == 0:
        raise InputError("spans: no spans; nothing to break down. Check the export or leave spans= out.")
    problems = {f: int(df.get_column(f).sum()) for f in ("parent_missing", "clock_skew", "negative_duration")}
    ok = df.filter(~pl.col("negative_duration"))
    per_request = requests_from_spans(ok).select("request_id", "start_time", pl.col("latency_ms").alias("request_ms"),
                                                 "root_missing")
    problems["root_missing"] = int(per_request.get_column("root_missing").sum())
    stages = stages_from_spans(ok, stage=stage).select("request_id", "stage", "latency_ms")
    every_us = int(every / dt.timedelta(microseconds=1))
    per_request = per_request.with_columns(pl.col("start_time").dt.epoch("us").floordiv(every_us).alias(C.WINDOW))
    segs, matched = _segments(ok, by, explicit_by, requests, names)
    if segs is not None:
        per_request = per_request.join(segs, on="request_id", how="left")
    per_request = _with_stratum(per_request, ok, requests, strata or Strata(None, False))
    seg_names = {s: n for s, n in names.items() if s in per_request.columns}
    per_request = per_request.with_columns(pl.col(s).fill_null("null") for s in [*seg_names, C.STRATUM])
    return Spans(stages.join(per_request.drop("root_missing"), on="request_id", how="inner"), problems, seg_names,
                 matched, per_request.height, summarize_input(df.lazy(), name="spans"),
                 (strata or Strata(None, False)).column)


def _segments(spans: pl.DataFrame, by: list[str], explicit_by: bool, requests: pl.DataFrame | None,
              names: dict[str, str]) -> tuple[pl.DataFrame | None, int | None]:
    """Segment values per request id: from the request log when given, else from span columns."""
    if not by:
        return None, None
    internal = {n: s for s, n in names.items()}
    if requests is not None:
        segs = (requests.group_by(C.internal("request_id"), maintain_order=True)
                .agg(pl.col(list(internal.values())).first()).rename({C.internal("request_id"): "request_id"}))
        matched = spans.select(pl.col("trace_id").unique()).join(segs, left_on="trace_id", right_on="request_id",
                                                                 how="semi").height
        return segs, matched
    present = [b for b in by if b in spans.columns]
    if explicit_by and len(present) < len(by):
        missing = [b for b in by if b not in spans.columns]
        raise InputError(f"spans: by={missing} are neither columns of the spans nor given by a request log; pass "
                         "requests= (joined on request_id = trace id) or read_spans(..., attributes=[...]).")
    if not present:
        return None, None
    root_first = spans.sort(pl.col("is_root").not_(), "start_time")
    segs = root_first.group_by(pl.col("trace_id").alias("request_id")).agg(
        pl.col(b).drop_nulls().first().cast(pl.String).alias(internal[b]) for b in present)
    return segs, None


def _with_stratum(per_request: pl.DataFrame, spans: pl.DataFrame, requests: pl.DataFrame | None,
                  strata: Strata) -> pl.DataFrame:
    """``per_request`` with column ``__wb_stratum``: from the request log (its first row per id), else from the
    spans' column of that name (the root span's, else any span's); a constant when neither has it."""
    column = strata.column
    if column is not None and requests is not None and C.STRATUM in requests.columns:
        rid = C.internal("request_id")
        values = (requests.group_by(rid, maintain_order=True).agg(pl.col(C.STRATUM).first())
                  .rename({rid: "request_id"}))
        return per_request.join(values, on="request_id", how="left")
    if column is not None and column in spans.columns:
        root_first = spans.sort(pl.col("is_root").not_(), "start_time")
        values = root_first.group_by(pl.col("trace_id").alias("request_id")).agg(
            pl.col(column).drop_nulls().first().cast(pl.String).alias(C.STRATUM))
        return per_request.join(values, on="request_id", how="left")
    if column is not None and strata.explicit:
        raise InputError(f"stratify={column!r} is neither a column of the request log nor of the spans; name the "
                         "column that tells comparable requests apart (e.g. the endpoint), or pass stratify=None.")
    return per_request.with_columns(pl.lit("all").alias(C.STRATUM))


def breakdown(sp: Spans, depth: int) -> pl.DataFrame:
    """Table ``stages``: stage × scope with n, p50, p95, p99, mean (ms) and the share of request latency."""
    long = _long(sp, depth)
    return (long.group_by("stage", "scope", "depth")
            .agg(pl.len().alias("n"), *(pl.col("latency_ms").quantile(q, "higher").alias(f"p{round(q * 100)}_ms")
                                        for q in (0.5, 0.95, 0.99)),
                 pl.col("latency_ms").mean().alias("mean_ms"),
                 (pl.col("latency_ms").sum() / pl.col("request_ms").sum()).alias("share_of_request"))
            .sort("depth", "scope", "stage").drop("depth"))


def _long(sp: Spans, depth: int) -> pl.DataFrame:
    """Every stage row once per scope it belongs to (all traffic, each segment value, ... up to ``depth``)."""
    segs = list(sp.names)
    frames = []
    for cols in [()] + [c for d in range(1, depth + 1) for c in itertools.combinations(segs, d)]:
        label = (pl.concat_str([pl.format("{}={}", pl.lit(sp.names[c]), pl.col(c)) for c in cols], separator=", ")
                 if cols else pl.lit("all"))
        frames.append(sp.stages.select("stage", label.alias("scope"), pl.lit(len(cols)).alias("depth"), C.WINDOW,
                                       "latency_ms", "request_ms", C.STRATUM,
                                       pl.struct([pl.col(c) for c in cols]).alias("segment") if cols
                                       else pl.lit(None, pl.Struct({})).alias("segment")))
    return pl.concat(frames, how="vertical_relaxed")


def regressions(sp: Spans, depth: int, rule: StageRule, every: dt.timedelta) -> tuple[pl.DataFrame, list[Finding]]:
    """Table ``stage_windows`` (every stage × scope × window tested) and the ``stage_latency_regression``
    findings."""
    long = _long(sp, depth)
    groups = long.group_by("stage", "scope", "depth", maintain_order=True).agg(
        pl.col(C.WINDOW), pl.col("latency_ms"), pl.col(C.STRATUM), pl.col("segment").first())
    cells, arrays = [], {}
    for g in groups.iter_rows(named=True):
        windows, values = np.asarray(g[C.WINDOW], dtype=np.int64), np.asarray(g["latency_ms"], dtype=float)
        segment = {k: v for k, v in (g["segment"] or {}).items() if v is not None}  # fields of other scopes
        codes, everything = _strata(values, g[C.STRATUM])
        arrays[(g["stage"], g["scope"])] = (windows, values, codes, everything)
        for scale in SCALES:
            scaled = windows // scale
            for w in np.unique(scaled):
                inside = scaled == w
                cell = _cell(everything, values[inside], codes[inside], rule)
                cells.append({"stage": g["stage"], "scope": g["scope"], "depth": g["depth"], "segment": segment,
                              "scale": scale, "window": int(w) * scale, "first": int(w) * scale,
                              "last": int(w) * scale + scale - 1, **cell})
    tested = [c for c in cells if c["tested"]]
    q = benjamini_hochberg(np.array([c["p_value"] for c in tested])) if tested else np.array([])
    for c in cells:
        c["q_value"], c["flagged"] = math.nan, False
    for c, qv in zip(tested, q, strict=True):
        c["q_value"] = float(qv)
        c["flagged"] = bool(qv <= rule.fdr and c["ratio"] >= 1 + rule.latency_margin)
    rejected = [c["p_value"] for c in tested if c["q_value"] <= rule.fdr]
    cutoff = max(rejected) if rejected else rule.fdr / max(len(tested), 1)
    alerts = _fold(_explain_away(_merge(cells, arrays, rule), sp.stages, rule, cutoff))
    last = int(long.get_column(C.WINDOW).max() or 0)  # type: ignore[arg-type]
    findings = [_finding(a, rule, every, last, sp.names, sp.stratum or "stratum") for a in alerts]
    return _table(cells, every), findings


def _strata(values: np.ndarray, strata: Any) -> tuple[np.ndarray, list[np.ndarray]]:
    """Each value's stratum code (0, 1, ...) and every stratum's values, sorted; with several strata, all the
    values sorted come last."""
    _, codes = np.unique(np.asarray(strata, dtype=object).astype(str), return_inverse=True)
    codes = codes.astype(np.int64).reshape(-1)
    parts = [np.sort(values[codes == c]) for c in range(int(codes.max()) + 1 if len(codes) else 0)]
    return codes, [*parts, np.sort(values)] if len(parts) > 1 else parts


def _cell(everything: list[np.ndarray], window: np.ndarray, codes: np.ndarray, rule: StageRule) -> dict[str, Any]:
    """One window's latencies (``window``, with their stratum ``codes``) against the baseline (``everything``:
    per stratum all its latencies, sorted, then all of them sorted; the baseline is them minus the window's):
    quantiles, the exceedance count and its exact p-value. One stratum: :func:`_plain_cell`; several: each
    latency against its own stratum's baseline (:func:`~workbench.service.stratified.stratified_cell`)."""
    if len(everything) <= 1:
        return _plain_cell(everything[0] if everything else np.zeros(0), window, rule)
    present = np.unique(codes)
    if len(present) == 1 and len(everything[present[0]]) > len(window):  # one stratum: its own baseline
        return _plain_cell(everything[present[0]], window, rule)
    parts = [(everything[c], np.sort(window[codes == c])) for c in present]
    s = stratified_cell(parts, rule.quantile, rule.confidence, everything[-1])
    m, k, threshold = s["n"], s["above"], s["baseline"]
    share_low, share_high = wilson_interval(k, m, rule.confidence)
    return {**s, "tested": m >= rule.min_support and s["baseline_n"] >= rule.min_support,
            "ratio": s["value"] / threshold if threshold and threshold > 0 else math.nan,
            "above_share": k / m if m else math.nan, "above_low": share_low, "above_high": share_high}


def _plain_cell(everything: np.ndarray, window: np.ndarray, rule: StageRule) -> dict[str, Any]:
    """One window's latencies against its baseline's (``everything`` sorted, minus the window's): quantiles,
    the exceedance count and its exact p-value."""
    w = np.sort(window)
    m, n = len(w), len(everything) - len(w)
    out: dict[str, Any] = {"n": m, "baseline_n": n, "tested": m >= rule.min_support and n >= rule.min_support,
                           "strata": 1}
    value = float(w[rank(rule.quantile, m) - 1]) if m else math.nan
    low, high = quantile_interval(w, rule.quantile, rule.confidence)
    if n:
        r = rank(rule.quantile, n)
        threshold = baseline_order_statistic(everything, w, r)
        k = int(m - np.searchsorted(w, threshold, side="right"))
        above_baseline = n - int(np.searchsorted(everything, threshold, side="right")
                                 - np.searchsorted(w, threshold, side="right"))
        expected = above_baseline / n
        p = exceedance_pvalue(k, m, n, n - r + 1) if m else math.nan
    else:
        threshold, k, expected, p = math.nan, 0, math.nan, math.nan
    share_low, share_high = wilson_interval(k, m, rule.confidence)
    ratio = value / threshold if threshold and threshold > 0 else math.nan
    return {**out, "value": value, "value_low": low, "value_high": high, "baseline": threshold, "ratio": ratio,
            "above": k, "above_share": k / m if m else math.nan, "above_low": share_low, "above_high": share_high,
            "expected_share": expected, "p_value": p}


def _merge(cells: list[dict[str, Any]],
           arrays: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]],
           rule: StageRule) -> list[dict[str, Any]]:
    """Flagged cells of one stage, scope and scale at most one window apart as one alert over their span;
    among overlapping alerts of one stage and scope (different scales), the strongest."""
    by_group: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for c in cells:
        if c["flagged"]:
            by_group.setdefault((c["stage"], c["scope"], c["scale"]), []).append(c)
    alerts = []
    for (stage, scope, scale), flagged in by_group.items():
        flagged.sort(key=lambda c: c["first"])
        runs: list[list[dict[str, Any]]] = []
        for c in flagged:
            if runs and c["first"] <= runs[-1][-1]["last"] + 1 + MAX_GAP * scale:
                runs[-1].append(c)
            else:
                runs.append([c])
        windows, values, codes, everything = arrays[(stage, scope)]
        for run in runs:
            first, last = run[0]["first"], run[-1]["last"]
            inside = (windows >= first) & (windows <= last)
            alerts.append({**_cell(everything, values[inside], codes[inside], rule), "stage": stage, "scope": scope,
                           "depth": run[0]["depth"], "segment": run[0]["segment"], "first": first, "last": last,
                           "windows": last - first + 1, "q_value": max(c["q_value"] for c in run)})
    kept: list[dict[str, Any]] = []
    for a in sorted(alerts, key=lambda a: -_z(a)):
        if not any(k["stage"] == a["stage"] and k["scope"] == a["scope"] and k["first"] <= a["last"]
                   and a["first"] <= k["last"] for k in kept):
            kept.append(a)
    return kept


def _z(a: dict[str, Any]) -> float:
    """Evidence of an alert: the z of its exceedance count against the expected share (does not underflow)."""
    e, m = a["expected_share"], a["n"]
    spread = math.sqrt(m * e * (1 - e)) if m and 0 < e < 1 else 0.0
    return (a["above"] - m * e) / spread if spread else 0.0


def _explain_away(alerts: list[dict[str, Any]], rows: pl.DataFrame, rule: StageRule,
                  cutoff: float) -> list[dict[str, Any]]:
    """Weakest first, an alert is dropped when its regression disappears once the rows of another remaining
    alert of the same stage on a scope that is not wider (overlapping in time) are left out: all traffic is
    slower only because region=ap is."""
    kept = sorted(alerts, key=lambda a: -_z(a))
    for a in kept:
        a["explains"] = []
    for a in list(reversed(kept)):
        items = set(a["segment"].items())
        for e in kept:
            e_items = set(e["segment"].items())
            if (e is a or e["stage"] != a["stage"] or not e_items or e_items <= items
                    or not (e["first"] <= a["last"] and a["first"] <= e["last"])):
                continue
            inside_a = pl.all_horizontal([pl.col(k) == v for k, v in a["segment"].items()] or [pl.lit(True)])
            inside_e = pl.all_horizontal([pl.col(k) == v for k, v in e["segment"].items()])
            rest = rows.filter((pl.col("stage") == a["stage"]) & inside_a & ~inside_e)
            windows = rest.get_column(C.WINDOW).to_numpy()
            values = rest.get_column("latency_ms").to_numpy().astype(float)
            span = (windows >= a["first"]) & (windows <= a["last"])
            codes, everything = _strata(values, rest.get_column(C.STRATUM).to_numpy())
            r = _cell(everything, values[span], codes[span], rule)
            if not (r["p_value"] <= cutoff and r["ratio"] >= 1 + rule.latency_margin):
                e["explains"].append(a["scope"])
                kept.remove(a)
                break
    return kept


def _fold(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept: list[dict[str, Any]] = []
    for a in sorted(alerts, key=lambda a: (a["depth"], a["p_value"])):
        a["also_in"], a["worst_in"] = [], []
        items = set(a["segment"].items())
        parents = [p for p in kept if p["stage"] == a["stage"] and set(p["segment"].items()) < items
                   and p["first"] <= a["last"] and a["first"] <= p["last"]]
        if parents and not all(a["value_low"] > p["value_high"] for p in parents):
            for p in parents:
                p["also_in"].append(a["scope"])
            continue
        for p in parents:
            p["worst_in"].append(a["scope"])
        kept.append(a)
    return sorted(kept, key=lambda a: -a["n"] * (a["value"] - a["baseline"]))


def _finding(a: dict[str, Any], rule: StageRule, every: dt.timedelta, last: int, names: dict[str, str],
             stratum: str) -> Finding:
    where = "all traffic" if a["scope"] == "all" else a["scope"]
    qname = f"p{rule.quantile * 100:g}"
    strata = a.get("strata", 1)
    mixed = f" of their {stratum}" if strata > 1 else ""
    message = (f"Stage {a['stage']!r} {qname} latency rose {a['ratio']:.1f}x on {where} "
               f"{when(a['first'], a['last'], every, last)} ({a['baseline']:,.0f} → {a['value']:,.0f} ms, interval "
               f"{a['value_low']:,.0f}–{a['value_high']:,.0f} ms; {a['above_share']:.0%} of requests above the "
               f"baseline {qname}{mixed}, expected {a['expected_share']:.0%}; n={a['n']:,}; "
               f"{confidence_text(a['q_value'])} confidence)."
               + (f" Each request is compared with its own {stratum}'s baseline ({strata} {stratum} values; the "
                  f"baseline {qname} is for this window's {stratum} mix)." if strata > 1 else ""))
    if a["worst_in"]:
        message += f" Worst in {', '.join(a['worst_in'][:3])}."
    if a["also_in"]:
        message += f" Covers {len(a['also_in'])} narrower scope(s): {', '.join(a['also_in'][:3])}."
    if a["explains"]:
        names_ = ["all traffic" if x == "all" else x for x in a["explains"]]
        message += f" It explains the regression seen on {', '.join(names_[:3])}."
    severity: Severity = "critical" if a["value_low"] >= a["baseline"] * (1 + rule.latency_margin) else "warning"
    return Finding(
        CHECK, "stage_latency_regression", severity, a["stage"], message,
        f"Look at what changed in stage {a['stage']!r} for this traffic in this span (a dependency, a deployment, "
        "cache misses, larger inputs); the stage_windows table shows the windows around it.",
        {"value": a["value"], "baseline": a["baseline"], "effect": a["value"] - a["baseline"], "ratio": a["ratio"],
         "interval": [a["value_low"], a["value_high"]], "quantile": rule.quantile, "above_share": a["above_share"],
         "above_interval": [a["above_low"], a["above_high"]], "expected_share": a["expected_share"],
         "p_value": a["p_value"], "q_value": a["q_value"], "n": a["n"], "baseline_n": a["baseline_n"],
         "affected_rows": a["above"], "windows": a["windows"], "also_in": a["also_in"], "worst_in": a["worst_in"],
         "explains": a["explains"], "strata": a.get("strata", 1),
         "confidence": rule.confidence},
        span_scope(a["first"], min(a["last"], last), every, a["segment"], names))


def _table(cells: list[dict[str, Any]], every: dt.timedelta) -> pl.DataFrame:
    keep = ("stage", "scope", "scale", "window", "n", "baseline_n", "value", "value_low", "value_high", "baseline",
            "ratio", "above", "above_share", "expected_share", "p_value", "q_value", "tested", "flagged")
    schema = {"stage": pl.String, "scope": pl.String, "scale": pl.Int64, "window": pl.Int64, "n": pl.Int64,
              "baseline_n": pl.Int64, **{c: pl.Float64 for c in keep[6:11]}, "above": pl.Int64,
              **{c: pl.Float64 for c in keep[12:16]}, "tested": pl.Boolean, "flagged": pl.Boolean}
    frame = pl.DataFrame([{c: x[c] for c in keep} for x in cells], schema=schema, strict=False)
    every_us = int(every / dt.timedelta(microseconds=1))
    return frame.with_columns((pl.from_epoch(pl.col("window") * every_us, time_unit="us")
                               .dt.replace_time_zone("UTC")).alias("window_start"))
