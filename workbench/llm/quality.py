"""Answer and retrieval quality localized in segment × time (:mod:`workbench.localize`).

``hallucination_rate_increase``: the share of ungrounded answers among the judged requests (a
proportion whose ``n`` is the judged requests: the rate is estimated from the judged sample, so
Newcombe's interval on the judged counts is the interval of the whole traffic's rate when the
judged requests are a random sample of it). When the judged share of the alert's span differs from
its baseline's (by more than 5 points, and beyond chance), the message says so: a change of who is
judged can move the rate. An alert whose start is within one window of a change of the dominant
``model_version`` or ``prompt_version`` in its scope says "since model_version=v7", and the
finding's metrics carry it (``since``: ``["model_version=v7"]``); an alert on a recent span (the
last 2 to 96 windows, whose start is one of those lengths rather than the true onset) within a third of its
length. The recent spans go up to 96 windows (:data:`RECENT_SPANS`).

``retrieval_quality_drop``: hit rate@k (a relevant document ranked, among the requests whose
relevance is known), MRR (mean of 1/rank, 0 when no relevant document was retrieved, same rows),
the empty-retrieval rate (``retrieved == 0``, among requests with a retrieval count) and the mean
retrieval latency (a mean: additive, so it localizes exactly; a p95 would not add up over cells).
An MRR alert overlapping a hit-rate alert on the same scope is one incident: it is folded into the
hit-rate finding (its numbers in ``mrr``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import polars as pl

from workbench.findings.model import Finding
from workbench.localize import WINDOW, Metric, Wording, findings, localize, mean, proportion
from workbench.stats import two_proportions

# the recent spans tested, in windows: judged requests are a sample, so an hourly cell is small and a change
# that lasts days is found on the last 2 to 4 days together
RECENT_SPANS = (2, 3, 6, 12, 24, 48, 72, 96)
JUDGED_SHARE_GAP = 0.05  # the judged share of span and baseline differ worth saying above this


def _ungrounded_sentence(a: dict[str, Any], where: str, when: str, conf: str) -> str:
    share = f"judged {a['n']:,} of {a['requests']:,}" if a.get("requests") else f"n={a['n']:,} judged"
    return (f"Ungrounded answers rose from {a['baseline']:.1%} to {a['value']:.1%} "
            f"({a['difference'] * 100:+.1f} points) on {where} {when} ({share}; {conf} confidence)")


def _with_requests(metric: Metric) -> Metric:
    """The metric, also reporting the requests of window and baseline (the judged share)."""
    inner = metric.compare

    def compare(window: Mapping[str, float], baseline: Mapping[str, float], confidence: float) -> dict[str, Any]:
        return inner(window, baseline, confidence) | {"requests": int(window["requests"]),
                                                      "baseline_requests": int(baseline["requests"])}

    return dataclasses.replace(metric, sums=(*metric.sums, "requests"), compare=compare)


UNGROUNDED = _with_requests(proportion("ungrounded_rate", "ungrounded", count="judged", label="Ungrounded answers",
                                       higher_is_worse=True, sentence=_ungrounded_sentence, exact=True))
HIT_RATE = proportion("hit_rate", "hits", count="known", label="Hit rate@k", exact=True)
MRR = mean("mrr", "rr_sum", "rr_sq", count="known", label="MRR", higher_is_worse=False, pooled=True)
EMPTY = proportion("empty_retrieval_rate", "empty", count="retrievals", label="Empty retrievals",
                   higher_is_worse=True, exact=True)
RETRIEVAL_LATENCY = mean("retrieval_latency_ms", "rlat_sum", "rlat_sq", count="rlat_n",
                         label="Mean retrieval latency", pooled=True)
# metric -> the sums it needs in the cells, and its default margin
RETRIEVAL = {"hit_rate": (HIT_RATE, 0.05), "mrr": (MRR, 0.1), "empty_retrieval_rate": (EMPTY, 0.02),
             "retrieval_latency_ms": (RETRIEVAL_LATENCY, 0.25)}
MARGINS = {"ungrounded_rate": 0.02, **{k: m for k, (_, m) in RETRIEVAL.items()}}

HALLUCINATION_SUGGESTION = ("Read a sample of the ungrounded answers of this scope and span; compare the retrieved "
                            "context and the model/prompt version with the baseline's, and roll back a version "
                            "change that lines up.")
RETRIEVAL_SUGGESTION = ("Check the retrieval index and its configuration for this scope (a rebuild, an embedding "
                        "model change, a filter): replay a few of its queries against the previous index.")


@dataclasses.dataclass(frozen=True)
class Search:
    """The shared settings of every localized search."""

    segments: dict[str, str]  # internal -> user name
    depth: int
    every: dt.timedelta
    zone: str | None
    min_support: int
    confidence: float
    fdr: float
    margins: Mapping[str, float]


def _run(cells: pl.DataFrame, metric: Metric, s: Search) -> tuple[pl.DataFrame, list[dict[str, Any]], int]:
    keep = [WINDOW, *s.segments, *metric.needs]
    found = localize(cells.select(keep), list(s.segments), s.depth, metric, s.every, s.zone,
                     min_support=s.min_support, margin=s.margins[metric.name], confidence=s.confidence, fdr=s.fdr,
                     names=s.segments, spans=RECENT_SPANS)
    table = found.table.with_columns(pl.lit(metric.name).alias("metric"))
    return table, found.alerts, found.last


def hallucinations(cells: pl.DataFrame, versions: Mapping[str, pl.DataFrame], version_names: Mapping[str, str],
                   s: Search) -> tuple[pl.DataFrame, list[Finding]]:
    """Table ``ungrounded`` (every scope × window) and the ``hallucination_rate_increase`` findings."""
    table, alerts, last = _run(cells, UNGROUNDED, s)
    for a in alerts:
        since = version_change(a, versions, version_names)
        if since:
            a["since"] = ", ".join(f"{k}={v}" for k, v in since.items())
            a["since_versions"] = since
    wording = Wording("llm", "hallucination_rate_increase", "ungrounded_rate", HALLUCINATION_SUGGESTION, change="rise",
                      extra=_hallucination_extra)
    out = findings(alerts, UNGROUNDED, wording, margin=s.margins["ungrounded_rate"], confidence=s.confidence,
                   every=s.every, zone=s.zone, last=last, names=s.segments)
    return table, [_judged_note(f) for f in out]


def _hallucination_extra(a: dict[str, Any]) -> dict[str, Any]:
    share = a["n"] / a["requests"] if a.get("requests") else math.nan
    base_share = a["baseline_n"] / a["baseline_requests"] if a.get("baseline_requests") else math.nan
    differs = False
    if a.get("requests") and a.get("baseline_requests") and abs(share - base_share) > JUDGED_SHARE_GAP:
        p = two_proportions(a["baseline_n"], a["baseline_requests"], a["n"], a["requests"])[3]
        differs = bool(p < 0.001)
    return {"judged": a["n"], "requests": a.get("requests"), "judged_share": share, "baseline_judged_share": base_share,
            "judging_rate_differs": differs,
            "since": [f"{k}={v}" for k, v in a.get("since_versions", {}).items()]}


def _judged_note(f: Finding) -> Finding:
    m = f.metrics
    if not m.get("judging_rate_differs"):
        return f
    note = (f" The judged share differs: {m['judged_share']:.1%} of requests judged in this span vs "
            f"{m['baseline_judged_share']:.1%} in the baseline, so a change in which requests get judged may move "
            "the rate.")
    return dataclasses.replace(f, message=f.message + note)


def version_change(a: dict[str, Any], versions: Mapping[str, pl.DataFrame],
                   names: Mapping[str, str]) -> dict[str, str]:
    """The version columns whose dominant value (most requests) in the alert's scope changes within
    one window of the alert's start, each -> its new value. A recent span's start is one of the
    tested lengths (:data:`RECENT_SPANS`), so the true onset can lie between two of
    them: for an alert on the last ``k`` windows the change may be up to ``k // 3`` windows earlier
    or later."""
    tolerance = max(1, a["windows"] // 3) if "alerting_windows" not in a else 1
    out = {}
    for column, counts in versions.items():
        rows = counts
        for k, v in a["segment"].items():
            rows = rows.filter(pl.col(k) == v)
        per = (rows.group_by(WINDOW, column).agg(pl.col("requests").sum())
               .sort([WINDOW, "requests", column], descending=[False, True, False])
               .group_by(WINDOW, maintain_order=True).first().sort(WINDOW))
        windows, dominant = per[WINDOW].to_list(), per[column].to_list()
        for i in range(1, len(windows)):
            if dominant[i] != dominant[i - 1] and abs(windows[i] - a["first"]) <= tolerance:
                out[names[column]] = dominant[i]
                break
    return out


def retrieval(cells: pl.DataFrame, available: set[str], s: Search) -> tuple[pl.DataFrame | None, list[Finding]]:
    """Table ``retrieval`` (every metric × scope × window) and the ``retrieval_quality_drop`` findings."""
    tables, alerts_of, last = [], {}, 0
    for name, (metric, _) in RETRIEVAL.items():
        if set(metric.needs) <= available:
            table, alerts, last = _run(cells, metric, s)
            tables.append(table)
            alerts_of[name] = alerts
    if "hit_rate" in alerts_of and "mrr" in alerts_of:
        alerts_of["mrr"] = _fold_mrr(alerts_of["hit_rate"], alerts_of["mrr"])
    out: list[Finding] = []
    for name, alerts in alerts_of.items():
        metric = RETRIEVAL[name][0]
        wording = Wording("llm", "retrieval_quality_drop", name, RETRIEVAL_SUGGESTION,
                          change="rise" if metric.higher_is_worse else "drop", extra=_retrieval_extra)
        out += [_mrr_note(f) for f in findings(alerts, metric, wording, margin=s.margins[name],
                                               confidence=s.confidence, every=s.every, zone=s.zone, last=last,
                                               names=s.segments)]
    return (pl.concat(tables, how="diagonal_relaxed") if tables else None), out


def _fold_mrr(hits: list[dict[str, Any]], mrr: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept = []
    for m in mrr:
        twin = next((h for h in hits if set(h["segment"].items()) <= set(m["segment"].items())
                     and h["first"] <= m["last"] and m["first"] <= h["last"]), None)
        if twin is None:
            kept.append(m)
        elif "mrr" not in twin or twin["mrr"]["scope"] != twin["scope"]:
            twin["mrr"] = {"scope": m["scope"], "value": m["value"], "baseline": m["baseline"],
                           "effect": m["difference"], "interval": [m["difference_low"], m["difference_high"]]}
    return kept


def _mrr_note(f: Finding) -> Finding:
    m = f.metrics.get("mrr")
    if not m:
        return f
    where = "all traffic" if m["scope"] == "all" else m["scope"]
    return dataclasses.replace(f, message=f.message + f" MRR fell with it on {where} ({m['baseline']:.3g} → "
                                                      f"{m['value']:.3g}).")


def _retrieval_extra(a: dict[str, Any]) -> dict[str, Any]:
    return {"mrr": a["mrr"]} if "mrr" in a else {}
