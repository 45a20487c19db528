"""``retry_storm``: retries rising, retries without backoff, retries of errors that always fail.

A request's attempts share its key (``idempotency_key``, else ``request_id``) and are ordered by ``attempt``
then time. Three rules, each a finding of kind ``retry_storm`` (``metrics["rule"]`` names it):

* ``retry_rate``: retries (``attempt > 1``) per original request (``attempt == 1``) per scope × window against
  the scope's baseline (:mod:`workbench.service.rates`).
* ``no_backoff``: a retry's *gap* is its start minus the end of the key's previous attempt (its timestamp plus
  ``latency_ms`` when the log has it; a retry started before the previous attempt ended, a hedged request,
  has a gap of zero). A retry that starts before the previous attempt *started* shows clocks that disagree:
  it is left out and counted (finding ``clock_skew``). A retry without
  backoff has a gap below ``min_backoff``. Per scope (all traffic and each segment value) over the whole log:
  the share of retries without backoff, tested one-sided against ``no_backoff_share`` (exact binomial),
  Benjamini–Hochberg across scopes; a scope whose excess disappears once another flagged scope's rows are left
  out is explained by it (region=eu retries at once only because client_id=c7 does), and a segment flagged
  beside all traffic is folded into it unless its share's interval lies wholly above the all-traffic share's.
  The finding's window is the shortest span holding 90% of the scope's retries without backoff (where they
  happened: on the incident timeline, a client that retries at once mostly during an outage belongs to it).
* ``always_fails``: the retries that follow an attempt failed with error class E; when at least
  ``min_retries`` of them exist and none succeeded, E is not transient (its one-sided upper bound of the
  success rate, ``1 - (1 - confidence) ** (1 / n)``, is reported).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl

from workbench.findings.model import Finding
from workbench.service import columns as C
from workbench.service import rates
from workbench.service.log import Log
from workbench.service.words import CHECK, confidence_text, rate_finding
from workbench.stats import benjamini_hochberg, wilson_interval
from workbench.stats.tails import binom_sf

BUSIEST = 0.9  # the share of a scope's retries without backoff its finding's window holds
GAP, PREV_STATUS, PREV_CLASS, SKEWED = (f"{C.KEY}_{n}" for n in ("gap", "prev_status", "prev_class", "skewed"))


def retry_rows(log: Log) -> pl.DataFrame:
    """The retries (``attempt > 1``) with a previous attempt: their gap in seconds, the previous attempt's
    status and error class, and whether the retry starts before the previous attempt did (``SKEWED``: the
    clocks of the hosts that logged them disagree). The log is sorted by key, attempt and time, so the
    previous row of the same key is the previous attempt."""
    ts, attempt = pl.col(C.TS), pl.col(C.internal("attempt"))
    end = ts
    if log.columns.has("latency_ms"):
        end = ts + pl.duration(microseconds=(pl.col(C.internal("latency_ms")).fill_null(0) * 1000).cast(pl.Int64))
    same = pl.col(C.KEY) == pl.col(C.KEY).shift(1)
    prev_class = (pl.col(C.internal("error_class")).shift(1) if log.columns.has("error_class")
                  else pl.lit(None, pl.String))
    return log.rows.with_columns(
        pl.when(same).then((ts - end.shift(1)).dt.total_microseconds() / 1e6).clip(lower_bound=0).alias(GAP),
        pl.when(same).then(pl.col(C.internal("status")).shift(1)).alias(PREV_STATUS),
        pl.when(same).then(prev_class).alias(PREV_CLASS),
        (same & (ts < ts.shift(1))).alias(SKEWED),
    ).filter((attempt > 1) & pl.col(GAP).is_not_null())


def retry_rate(log: Log, rule: rates.Rule, depth: int) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Table ``retries`` (scope × window: retries per original) and the alerts of rising retries."""
    segs = list(log.columns.names)
    attempt = pl.col(C.internal("attempt"))
    finest = rates.cells(log.rows, attempt > 1, attempt == 1, segs)
    rows = rates.scope_rows(finest, segs, depth, log.columns.names, rule.confidence, rule.min_support)
    rates.decide(rows, rule)
    return rates.table(rows, log.columns.names), rates.alerts(rows, finest, rule)


def no_backoff(retries: pl.DataFrame, log: Log, *, min_backoff: float, share: float, min_retries: int,
               confidence: float, fdr: float) -> tuple[pl.DataFrame, list[Finding]]:
    """Table ``backoff`` (per scope: retries, immediate ones, share with interval, p, q) and the findings of
    scopes that retry without backoff."""
    segs = list(log.columns.names)
    fast = pl.col(GAP) < min_backoff
    finest = retries.filter(~pl.col(SKEWED)).group_by(segs).agg(pl.len().alias("n"), fast.sum().alias("k"),
                                        pl.col(GAP).median().alias("median_gap"),
                                        pl.col(C.TS).filter(fast).min().alias("start"),
                                        pl.col(C.TS).filter(fast).max().alias("end"))
    scopes: list[dict[str, Any]] = [{"segment": {}}] + [
        {"segment": {s: v}} for s in segs for v in sorted(finest.get_column(s).unique().to_list())]
    for sc in scopes:
        sc.update(_backoff_numbers(_inside(finest, sc["segment"]), share, confidence))
        sc["scope"] = rates.scope_label(sc["segment"], log.columns.names)
        sc["tested"] = sc["n"] >= min_retries
    tested = [sc for sc in scopes if sc["tested"]]
    q = benjamini_hochberg(np.array([sc["p_value"] for sc in tested])) if tested else np.array([])
    for sc in scopes:
        sc["q_value"] = math.nan
    for sc, qv in zip(tested, q, strict=True):
        sc["q_value"] = float(qv)
    rejected = [sc["p_value"] for sc in tested if sc["q_value"] <= fdr]
    cutoff = max(rejected) if rejected else fdr / max(len(tested), 1)
    kept = _explain_away(sorted((sc for sc in tested if sc["q_value"] <= fdr), key=lambda sc: -_z(sc, share)),
                         finest, share=share, confidence=confidence, min_retries=min_retries, cutoff=cutoff)
    kept = _fold(kept)
    for sc in kept:
        sc["busy_start"], sc["busy_end"] = _busiest(retries.filter(~pl.col(SKEWED) & fast), sc["segment"])
    table = pl.DataFrame([{k: sc[k] for k in ("scope", "n", "k", "share", "share_low", "share_high",
                                             "median_gap", "p_value", "q_value", "tested")} for sc in scopes],
                         schema={"scope": pl.String, "n": pl.Int64, "k": pl.Int64, "share": pl.Float64,
                                 "share_low": pl.Float64, "share_high": pl.Float64, "median_gap": pl.Float64,
                                 "p_value": pl.Float64, "q_value": pl.Float64, "tested": pl.Boolean})
    return table.rename({"n": "retries", "k": "without_backoff", "median_gap": "median_gap_s"}), [
        _backoff_finding(sc, min_backoff, share, log.columns.names) for sc in kept]


def _z(sc: dict[str, Any], share: float) -> float:
    """Evidence of a scope: the z of its retries without backoff against ``share`` (does not underflow)."""
    spread = math.sqrt(sc["n"] * share * (1 - share))
    return (sc["k"] - sc["n"] * share) / spread if spread else 0.0


def _explain_away(flagged: list[dict[str, Any]], finest: pl.DataFrame, *, share: float, confidence: float,
                  min_retries: int, cutoff: float) -> list[dict[str, Any]]:
    """Weakest first, a flagged scope is dropped when, without the rows of another remaining flagged scope that
    is not wider, it would not be flagged (region=eu retries at once only because client_id=c3 does)."""
    kept = list(flagged)
    for sc in kept:
        sc["explains"] = []
    for sc in list(reversed(kept)):
        for e in kept:
            if e is sc or not e["segment"] or set(e["segment"].items()) <= set(sc["segment"].items()):
                continue
            rest = _backoff_numbers(_inside(finest, sc["segment"], without=e["segment"]), share, confidence)
            if not (rest["n"] >= min_retries and rest["p_value"] <= cutoff):
                e["explains"].append(sc["scope"])
                kept.remove(sc)
                break
    return kept


def _fold(kept: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A segment's finding is folded into the all-traffic one (listed in its ``also_in``) unless clearly worse:
    its share's interval wholly above the all-traffic share's."""
    top = next((sc for sc in kept if not sc["segment"]), None)
    if top is None:
        return kept
    top["also_in"] = [sc["scope"] for sc in kept if sc["segment"] and sc["share_low"] <= top["share_high"]]
    return [sc for sc in kept if sc["scope"] not in top["also_in"]]


def _busiest(fast: pl.DataFrame, segment: dict[str, Any]) -> tuple[Any, Any]:
    """The shortest span holding :data:`BUSIEST` of the scope's retries without backoff: where the finding sits
    on the incident timeline (a client that always retries at once, mostly during one outage, is a symptom of
    that outage, not of the two days its rare retries cover)."""
    times = _inside(fast, segment).get_column(C.TS).sort()
    if times.len() == 0:
        return None, None
    us = times.dt.epoch("us").to_numpy()
    c = max(1, math.ceil(BUSIEST * len(us)))
    i = int(np.argmin(us[c - 1:] - us[:len(us) - c + 1]))
    return times[i], times[i + c - 1]


def _inside(finest: pl.DataFrame, segment: dict[str, Any], without: dict[str, Any] | None = None) -> pl.DataFrame:
    rows = finest.filter(pl.all_horizontal([pl.col(k) == v for k, v in segment.items()] or [pl.lit(True)]))
    if without:
        rows = rows.filter(~pl.all_horizontal([pl.col(k) == v for k, v in without.items()]))
    return rows


def _backoff_numbers(rows: pl.DataFrame, share: float, confidence: float) -> dict[str, Any]:
    n, k = int(rows.get_column("n").sum()), int(rows.get_column("k").sum())
    lo, hi = wilson_interval(k, n, confidence)
    gaps = rows.filter(pl.col("n") > 0)
    middle = gaps.get_column("median_gap").median() if gaps.height else None
    median = float(middle) if isinstance(middle, int | float) else math.nan
    start, end = rows.get_column("start").min(), rows.get_column("end").max()
    return {"n": n, "k": k, "share": k / n if n else math.nan, "share_low": lo, "share_high": hi,
            "median_gap": median, "p_value": binom_sf(k - 1, n, share) if n else math.nan, "start": start,
            "end": end}


def _backoff_finding(sc: dict[str, Any], min_backoff: float, share: float, names: dict[str, str]) -> Finding:
    where = "all traffic" if sc["scope"] == "all" else sc["scope"]
    message = (f"{sc['share']:.0%} of retries on {where} came less than {min_backoff:g} s after the previous "
               f"attempt ({sc['k']:,} of {sc['n']:,} retries, between {sc['start']:%Y-%m-%d %H:%M} and "
               f"{sc['end']:%Y-%m-%d %H:%M} UTC, {BUSIEST:.0%} of those without backoff between "
               f"{sc['busy_start']:%Y-%m-%d %H:%M} and {sc['busy_end']:%Y-%m-%d %H:%M}; "
               f"{confidence_text(sc['q_value'])} confidence that more than {share:.0%} do).")
    if sc.get("explains"):
        message += f" It explains the same pattern on {', '.join(_all(sc['explains'])[:3])}."
    if sc.get("also_in"):
        message += f" Covers {len(sc['also_in'])} narrower scope(s): {', '.join(sc['also_in'][:3])}."
    scope: dict[str, Any] = ({"window": [sc["busy_start"].isoformat(), sc["busy_end"].isoformat()]}
                             if sc["busy_start"] else {})
    if sc["segment"]:
        scope["segment"] = {names[k]: v for k, v in sc["segment"].items()}
    return Finding(CHECK, "retry_storm", "warning", "retries", message,
                   "Make this client back off between attempts (exponential backoff with jitter, a retry budget); "
                   "immediate retries multiply the load on a struggling service.",
                   {"rule": "no_backoff", "value": sc["share"], "baseline": share,
                    "interval": [sc["share_low"], sc["share_high"]], "n": sc["n"], "affected_rows": sc["k"],
                    "median_gap_s": sc["median_gap"], "p_value": sc["p_value"], "q_value": sc["q_value"],
                    "min_backoff_s": min_backoff, "explains": sc.get("explains", []),
                    "first_retry": sc["start"], "last_retry": sc["end"], "window_share": BUSIEST,
                    "also_in": sc.get("also_in", [])}, scope)


def _all(scopes: list[str]) -> list[str]:
    return ["all traffic" if s == "all" else s for s in scopes]


def always_fails(retries: pl.DataFrame, *, min_retries: int, confidence: float) -> tuple[pl.DataFrame,
                                                                                         list[Finding]]:
    """Table ``retried_errors`` (per error class of the previous attempt: retries, successes, success rate
    with its upper bound) and the findings of error classes whose retries never succeed."""
    ok = pl.col(C.internal("status")) == "ok"
    per = (retries.filter((pl.col(PREV_STATUS) != "ok") & pl.col(PREV_CLASS).is_not_null())
           .group_by(PREV_CLASS).agg(pl.len().alias("retries"), ok.sum().cast(pl.Int64).alias("succeeded"),
                                     pl.col(C.TS).min().alias("start"), pl.col(C.TS).max().alias("end"))
           .sort("retries", PREV_CLASS, descending=[True, False]).rename({PREV_CLASS: "error_class"}))
    per = per.with_columns((pl.col("succeeded") / pl.col("retries")).alias("success_rate"),
                           pl.when(pl.col("succeeded") == 0).then(1 - (1 - confidence) ** (1 / pl.col("retries")))
                           .alias("success_upper"))
    findings = []
    for r in per.filter((pl.col("succeeded") == 0) & (pl.col("retries") >= min_retries)).iter_rows(named=True):
        findings.append(Finding(
            CHECK, "retry_storm", "warning", "retries",
            f"Retries after error {r['error_class']!r} never succeeded (0 of {r['retries']:,} between "
            f"{r['start']:%Y-%m-%d %H:%M} and {r['end']:%Y-%m-%d %H:%M} UTC; success rate below "
            f"{r['success_upper']:.1%} at {confidence:.0%} confidence): retrying it only adds load.",
            f"Stop retrying {r['error_class']!r} (mark it non-retryable in the client's retry policy) and fix its "
            "cause; retry only transient errors (timeouts, 503, throttling).",
            {"rule": "always_fails", "value": 0.0, "interval": [0.0, r["success_upper"]], "n": r["retries"],
             "affected_rows": r["retries"], "confidence": confidence},
            {"window": [r["start"].isoformat(), r["end"].isoformat()], "error_class": r["error_class"]}))
    return per.drop("start", "end"), findings


def rate_findings(alerts: list[dict[str, Any]], log: Log, rule: rates.Rule, last_window: int) -> list[Finding]:
    """The findings of rising retries per original request."""
    return [rate_finding("retry_storm", "retries", a, what="Retries per original request", unit="original requests",
                         every=log.every, last_window=last_window, min_ratio=rule.min_ratio, names=log.columns.names,
                         percent=False, extra={"rule": "retry_rate"},
                         suggestion="Find what the clients retry (the retried_errors table) and whether they back "
                                    "off (the backoff table); cap retries with a retry budget or a circuit breaker.")
            for a in alerts]
