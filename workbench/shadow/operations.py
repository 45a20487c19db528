"""Operational comparison of the two sides: latency quantiles and error rates, with the
guardrail checks the verdict uses (paired on the same requests in shadow mode, two independent
samples in canary mode)."""

from __future__ import annotations

import math

import narwhals as nw
import polars as pl

from workbench.engine.frames import count
from workbench.engine.ranks import order_statistics
from workbench.findings.model import Finding
from workbench.shadow.columns import role
from workbench.shadow.paired import mcnemar_exact, paired_difference
from workbench.shadow.quantiles import min_sample, order_statistic_ranks
from workbench.shadow.reconcile import SIDES, Reconciliation
from workbench.shadow.verdict import GuardrailCheck, Guardrails, PendingCheck
from workbench.stats import two_proportions, wilson_interval

LATENCY_QUANTILES = (0.5, 0.95, 0.99)
PROFILE_LEVELS = tuple(i / 200 for i in range(201))  # the latency distribution, every half percentile


def latency_counts(rec: Reconciliation, paired: bool) -> dict[str, dict[str, int]]:
    """Per side: requests with a latency and requests without one."""
    out = {}
    value = nw.col(role("latency"))
    for s in SIDES:
        row = rec.collect(rec.side(s, paired=paired).select(
            count(~value.is_null()).alias("n"), count(value.is_null()).alias("nulls")))
        out[s] = {"n": int(row["n"].item() or 0), "nulls": int(row["nulls"].item() or 0)}
    return out


def latency_levels(confidence: float, alpha_rollback: float, alpha_promote: float) -> dict[str, float]:
    """The two-sided levels of each side's latency intervals: the table's, the finding's ratio, the
    rollback and promote bounds."""
    return {"table": confidence, "ratio": 1 - (1 - confidence) / 2, "rollback": 1 - alpha_rollback,
            "promote": 1 - alpha_promote}


def latency_order_statistics(rec: Reconciliation, paired: bool, counts: dict[str, dict[str, int]],
                             guardrails: Guardrails, levels: dict[str, float]) -> dict[str, dict]:
    """The engine's part of :func:`latency`: per side with latencies, the order statistics that the
    quantiles (:data:`LATENCY_QUANTILES` and the guardrail's), their distribution-free bounds at each
    of ``levels`` (:func:`latency_levels`) and the profile (:data:`PROFILE_LEVELS`) need, keyed
    ``(q, "floor" | "ceil")``, ``(q, level name, "low" | "high")`` and ``("profile", level)``, with
    ``"n"``. Each side's latencies are sorted once by the engine and only those values come back."""
    quantiles = sorted({*LATENCY_QUANTILES, guardrails.latency_quantile})
    stats: dict[str, dict] = {}
    for s in SIDES:
        n = counts[s]["n"]
        if n == 0:
            continue
        wanted: dict[tuple, int] = {}
        for q in quantiles:
            h = q * (n - 1)
            wanted[(q, "floor")], wanted[(q, "ceil")] = math.floor(h) + 1, math.ceil(h) + 1
            for name, level in levels.items():
                lo, hi = order_statistic_ranks(n, q, level)
                wanted[(q, name, "low")], wanted[(q, name, "high")] = lo, hi
        for level in PROFILE_LEVELS:
            wanted[("profile", level)] = math.floor(level * (n - 1)) + 1
        ranks = sorted(set(wanted.values()))
        values = order_statistics(rec.side(s, paired=paired), rec.engine, role("latency"), ranks, name=s,
                                  check="the latency comparison", n=n)
        at = dict(zip(ranks, values, strict=True))
        stats[s] = {k: at[r] for k, r in wanted.items()} | {"n": n}
    return stats


def latency(stats: dict[str, dict], latency: str, counts: dict[str, dict[str, int]], confidence: float,
            guardrails: Guardrails, levels: dict[str, float]) -> tuple[dict[str, pl.DataFrame], list[Finding],
                                                                       GuardrailCheck]:
    """Tables ``latency`` (per side and quantile: value with its distribution-free interval) and
    ``latency_distribution`` (per side, every half percentile: the order statistic), the
    ``latency_regression`` finding (ratio of the guardrail quantile with an interval valid at
    ``confidence`` whatever the dependence between the sides: each side's interval at
    ``1 - (1 - confidence) / 2``) and the guardrail check, from the order statistics of
    :func:`latency_order_statistics` at ``levels`` and the :func:`latency_counts`."""
    q_guard = guardrails.latency_quantile
    rows = []
    for s, st in stats.items():
        for q in LATENCY_QUANTILES:
            rows.append({"side": s, "quantile": q, "n": st["n"], "value": _point(st, q), "low": st[(q, "table", "low")],
                         "high": st[(q, "table", "high")]})
    table = pl.DataFrame(rows, schema={"side": pl.String, "quantile": pl.Float64, "n": pl.Int64,
                                       "value": pl.Float64, "low": pl.Float64, "high": pl.Float64})
    profile = pl.DataFrame([{"side": s, "level": level, "value": st[("profile", level)]}
                            for s, st in stats.items() for level in PROFILE_LEVELS],
                           schema={"side": pl.String, "level": pl.Float64, "value": pl.Float64})
    tables = {"latency": table, "latency_distribution": profile}
    n_min = min(counts[s]["n"] for s in SIDES)
    guard = f"latency_p{round(q_guard * 100)}"
    # bounds clipped to a small sample cover less than stated: until both bounds are valid, insufficient
    needed = max(guardrails.min_requests, *(min_sample(q_guard, levels[k]) for k in ("rollback", "promote")))
    if len(stats) < 2:
        return tables, [], GuardrailCheck(guard, "all", n_min, needed, math.nan,
                                         guardrails.latency_ratio, math.nan, math.nan, "ratio")
    prod, cand = stats["production"], stats["candidate"]
    return tables, _latency_findings(prod, cand, latency, counts, n_min, confidence, guardrails, levels), \
        _latency_check(prod, cand, guard, n_min, needed, guardrails)


def _point(st: dict, q: float) -> float:
    """The ``q``-quantile of one side (interpolated between its two order statistics)."""
    h = q * (st["n"] - 1)
    return st[(q, "floor")] + (h - math.floor(h)) * (st[(q, "ceil")] - st[(q, "floor")])


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else (math.inf if a > 0 else 1.0)


def _latency_check(prod: dict, cand: dict, guard: str, n_min: int, needed: int,
                   guardrails: Guardrails) -> GuardrailCheck:
    """The latency guardrail check: the ratio of the guardrail quantile, candidate over production,
    with its rollback and promote bounds."""
    q_guard = guardrails.latency_quantile
    return GuardrailCheck(
        guard, "all", n_min, needed, _ratio(_point(cand, q_guard), _point(prod, q_guard)), guardrails.latency_ratio,
        _ratio(cand[(q_guard, "rollback", "low")], prod[(q_guard, "rollback", "high")]),
        _ratio(cand[(q_guard, "promote", "high")], prod[(q_guard, "promote", "low")]), "ratio")


def _latency_findings(prod: dict, cand: dict, latency: str, counts: dict[str, dict[str, int]], n_min: int,
                      confidence: float, guardrails: Guardrails, levels: dict[str, float]) -> list[Finding]:
    """``latency_regression`` when the ratio's interval lies above the guardrail, ``missing_latency``
    when some requests have none."""
    q_guard = guardrails.latency_quantile
    value_p, value_c = _point(prod, q_guard), _point(cand, q_guard)
    estimate = _ratio(value_c, value_p)
    low = _ratio(cand[(q_guard, "ratio", "low")], prod[(q_guard, "ratio", "high")])
    high = _ratio(cand[(q_guard, "ratio", "high")], prod[(q_guard, "ratio", "low")])
    findings = []
    if n_min >= max(guardrails.min_support, min_sample(q_guard, levels["ratio"])) and low > guardrails.latency_ratio:
        label = f"p{round(q_guard * 100)}"
        findings.append(Finding(
            "shadow", "latency_regression", "warning", latency,  # critical when breached: check_shadow decides
            f"{label} latency is {estimate:.2f}x production's ({value_p:.4g} → {value_c:.4g}; {confidence:.0%} CI "
            f"of the ratio {low:.2f}–{high:.2f}, guardrail {guardrails.latency_ratio}x; n={cand['n']:,}).",
            "Profile the candidate under the same load (feature fetches, model size, batch size) before "
            "sending it more traffic.",
            {"value": value_c, "baseline": value_p, "effect": estimate, "interval": [low, high],
             "threshold": guardrails.latency_ratio, "n": cand["n"], "confidence": confidence}, {}))
    missing = {s: counts[s]["nulls"] for s in SIDES}
    if any(missing.values()):
        findings.append(Finding(
            "shadow", "missing_latency", "info", latency,
            f"{missing['production']:,} production and {missing['candidate']:,} candidate requests have no "
            f"latency; the quantiles use the others.",
            "Log a latency for failed and timed-out requests too (time to failure), or they flatter the side "
            "that fails more.", {"affected_rows": sum(missing.values()), **missing}, {}))
    return findings


def error_counts(rec: Reconciliation, paired: bool) -> dict[str, int]:
    """The engine's part of :func:`errors`: on the matched requests whose error flag both sides
    logged (``paired``), ``n`` and the requests that failed on both, only on production, only on
    the candidate; in canary mode, per side the failed requests (``k_<side>``) and those with a flag
    (``n_<side>``)."""
    flag = nw.col(role("error")).cast(nw.Int64)
    if paired:
        p, c = (nw.col(role("error", s)).cast(nw.Int64) for s in SIDES)
        both_known = ~p.is_null() & ~c.is_null()
        row = rec.collect(rec.table.filter(both_known).select(
            nw.len().alias("n"), (p * c).sum().alias("both"), (p * (1 - c)).sum().alias("only_production"),
            ((1 - p) * c).sum().alias("only_candidate"))).row(0, named=True)
        return {k: int(row[k] or 0) for k in ("n", "both", "only_production", "only_candidate")}
    out: dict[str, int] = {}
    for s in SIDES:
        r = rec.collect(rec.side(s, paired=False).select(flag.sum().alias("k"), count(~flag.is_null()).alias("n")))
        out |= {f"k_{s}": int(r["k"].item() or 0), f"n_{s}": int(r["n"].item() or 0)}
    return out


def errors(counts: dict[str, int], error: str, paired: bool, confidence: float,
           guardrails: Guardrails) -> tuple[pl.DataFrame, list[Finding], PendingCheck]:
    """Table ``errors`` (per side: n, errors, rate with Wilson interval, and the increase with its
    interval — Newcombe's paired interval on the same requests, his unpaired one in canary mode),
    the ``error_rate_regression`` finding (increase whose interval lies above
    ``guardrails.error_increase``) and the pending guardrail check, from :func:`error_counts`."""
    if paired:
        n, both, only_p, only_c = (counts[k] for k in ("n", "both", "only_production", "only_candidate"))
        sizes = {"production": (both + only_p, n), "candidate": (both + only_c, n)}

        def interval(level: float) -> tuple[float, float, float]:
            return paired_difference(both, only_p, only_c, n, level)

        p_value = mcnemar_exact(only_p, only_c)
    else:
        sizes = {s: (counts[f"k_{s}"], counts[f"n_{s}"]) for s in SIDES}
        (kp, np_), (kc, nc) = sizes["production"], sizes["candidate"]
        n = min(np_, nc)

        def interval(level: float) -> tuple[float, float, float]:
            return two_proportions(kp, np_, kc, nc, level)[:3]

        p_value = two_proportions(kp, np_, kc, nc, confidence)[3]
    diff, lo, hi = interval(confidence)
    table = pl.DataFrame([{"side": s, "n": m, "errors": k, "rate": k / m if m else math.nan,
                           "rate_low": wilson_interval(k, m, confidence)[0],
                           "rate_high": wilson_interval(k, m, confidence)[1]} for s, (k, m) in sizes.items()])
    table = table.with_columns(increase=pl.lit(diff), increase_low=pl.lit(lo), increase_high=pl.lit(hi),
                               paired=pl.lit(paired))
    findings = []
    (k_p, n_p), (k_c, n_c) = sizes["production"], sizes["candidate"]
    if n >= guardrails.min_support and lo > guardrails.error_increase:
        findings.append(Finding(
            "shadow", "error_rate_regression", "warning", error,  # critical when breached: check_shadow decides
            f"The candidate fails {k_c / n_c:.2%} of requests vs production's {k_p / n_p:.2%} "
            f"(+{diff * 100:.2f} points, {confidence:.0%} CI +{lo * 100:.2f} to +{hi * 100:.2f}; "
            f"n={n_c:,}{' paired requests' if paired else ''}).",
            "Read the candidate's error logs for the failing requests before sending it more traffic.",
            {"value": k_c / n_c, "baseline": k_p / n_p, "effect": diff, "interval": [lo, hi], "p_value": p_value,
             "threshold": guardrails.error_increase, "n": n_c, "affected_rows": k_c, "confidence": confidence},
            {}))

    def build(alpha_rollback: float, alpha_promote: float) -> GuardrailCheck:
        return GuardrailCheck("error_rate", "all", n, guardrails.min_requests, diff, guardrails.error_increase,
                              interval(1 - 2 * alpha_rollback)[1], interval(1 - 2 * alpha_promote)[2], "points")

    return table, findings, PendingCheck(n, guardrails.min_requests, build)

