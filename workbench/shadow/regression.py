"""Error of the two sides of a regression model on labelled requests, overall and per segment:
the ratio of mean absolute errors (candidate / production) with a linearised (delta-method)
interval — paired on the same requests in shadow mode, two samples in canary mode — RMSE per
side, a z-test of equal MAE and Benjamini–Hochberg across the scopes. Every number comes from
per-scope sums the engine computes (n, Σe, Σe², Σe_p·e_c with e = |label - prediction|)."""

from __future__ import annotations

import math

import narwhals as nw
import numpy as np
import polars as pl

from workbench.findings.model import Finding
from workbench.shadow.accuracy import by_scope
from workbench.shadow.columns import LABEL, role
from workbench.shadow.reconcile import SIDES
from workbench.shadow.verdict import GuardrailCheck, Guardrails, PendingCheck
from workbench.stats import benjamini_hochberg
from workbench.stats.tails import norm_ppf, norm_sf


def regression_sums(labelled: dict[str, nw.LazyFrame], by: list[str], paired: bool) -> pl.DataFrame:
    """The engine's part of :func:`regression_accuracy`: per scope, n and the sums of each side's
    absolute errors and their squares (``sum_<side>``, ``sq_<side>``; paired: also ``cross``, the
    sum of their products). ``labelled``: :func:`workbench.shadow.accuracy.labelled_requests`."""
    return _paired_sums(labelled["matched"], by) if paired else _unpaired_sums(labelled, by)


def regression_accuracy(table: pl.DataFrame, prediction: str, paired: bool, confidence: float, fdr: float,
                        guardrails: Guardrails) -> tuple[pl.DataFrame, list[Finding], list[PendingCheck]]:
    """Table ``accuracy`` (per scope: n, MAE and RMSE per side, the MAE ratio with its interval,
    p and q values), ``accuracy_regression`` findings (q ≤ ``fdr`` and a ratio of at least
    ``guardrails.mae_ratio``; critical when the guardrail is breached, :mod:`workbench.shadow.severity`)
    and one pending ``mae_ratio`` guardrail check per scope, from :func:`regression_sums`."""
    rows = table.to_dicts()
    pending, tested = [], []
    for r in rows:
        interval = _ratio_interval(r, paired)
        r["mae_production"] = r["sum_production"] / r["n_production"] if r["n_production"] else math.nan
        r["mae_candidate"] = r["sum_candidate"] / r["n_candidate"] if r["n_candidate"] else math.nan
        r["rmse_production"] = math.sqrt(r["sq_production"] / r["n_production"]) if r["n_production"] else math.nan
        r["rmse_candidate"] = math.sqrt(r["sq_candidate"] / r["n_candidate"]) if r["n_candidate"] else math.nan
        r["mae_ratio"], r["mae_ratio_low"], r["mae_ratio_high"] = interval(confidence)
        overall = r["scope"] == "all"
        if r["n"] >= guardrails.min_support:
            r["p_value"] = _p_value(r, paired)
            tested.append(r)
        else:
            r["p_value"] = math.nan
        pending.append((r, overall, guardrails.min_labelled if overall else guardrails.min_support, interval))
    q = benjamini_hochberg(np.array([r["p_value"] for r in tested]))  # empty when none is tested
    for r, qv in zip(tested, q, strict=True):
        r["q_value"] = float(qv)
    findings = [_finding(r, prediction, confidence) for r in tested
                if r["q_value"] <= fdr and r["mae_ratio"] >= guardrails.mae_ratio]
    flagged = {r["scope"] for r in tested if r["q_value"] <= fdr and r["mae_ratio"] >= guardrails.mae_ratio}
    checks = [_pending(r, overall, needed, interval, guardrails, r["scope"] in flagged)
              for r, overall, needed, interval in pending]
    keep = ["scope", "column", "segment", "n", "n_production", "n_candidate", "mae_production", "mae_candidate",
            "rmse_production", "rmse_candidate", "mae_ratio", "mae_ratio_low", "mae_ratio_high", "p_value"]
    frame = pl.DataFrame([{k: r.get(k) for k in [*keep, "q_value"]} for r in rows], infer_schema_length=None)
    return frame, findings, checks


def _abs_error(column: str) -> nw.Expr:
    return (nw.col(LABEL).cast(nw.Float64) - nw.col(column).cast(nw.Float64)).abs()


def _paired_sums(joined: nw.LazyFrame, by: list[str]) -> pl.DataFrame:
    ep, ec = _abs_error(role("prediction", "production")), _abs_error(role("prediction", "candidate"))
    joined = joined.filter(~ep.is_null() & ~ec.is_null())
    aggs = [nw.len().alias("n"), ep.sum().alias("sum_production"), ec.sum().alias("sum_candidate"),
            (ep * ep).sum().alias("sq_production"), (ec * ec).sum().alias("sq_candidate"),
            (ep * ec).sum().alias("cross")]
    table = by_scope(joined, aggs, by)
    return table.with_columns(n_production=pl.col("n"), n_candidate=pl.col("n"))


def _unpaired_sums(labelled: dict[str, nw.LazyFrame], by: list[str]) -> pl.DataFrame:
    parts = []
    for s in SIDES:
        e = _abs_error(role("prediction"))
        joined = labelled[s].filter(~e.is_null())
        parts.append(by_scope(joined, [nw.len().alias(f"n_{s}"), e.sum().alias(f"sum_{s}"),
                                       (e * e).sum().alias(f"sq_{s}")], by))
    table = parts[0].join(parts[1], on=["scope", "column", "segment"], how="full", coalesce=True, nulls_equal=True)
    table = table.with_columns(pl.col(f"{k}_{s}").fill_null(0) for k in ("n", "sum", "sq") for s in SIDES)
    return table.with_columns(n=pl.min_horizontal("n_production", "n_candidate"))


def _ratio_interval(r: dict, paired: bool):
    """Interval function of the MAE ratio (candidate / production) for a scope: the ratio
    estimator's linearised standard error, normal quantiles."""

    def interval(level: float) -> tuple[float, float, float]:
        n_p, n_c = r["n_production"], r["n_candidate"]
        if n_p < 2 or n_c < 2 or r["sum_production"] <= 0:
            return (math.nan, math.nan, math.nan)
        mean_p, mean_c = r["sum_production"] / n_p, r["sum_candidate"] / n_c
        ratio = mean_c / mean_p
        if paired:
            n = n_p
            residual = max(r["sq_candidate"] - 2 * ratio * r["cross"] + ratio**2 * r["sq_production"], 0.0)
            se = math.sqrt(residual / (n * (n - 1))) / mean_p
        else:
            var_p = max(r["sq_production"] - n_p * mean_p**2, 0.0) / (n_p - 1)
            var_c = max(r["sq_candidate"] - n_c * mean_c**2, 0.0) / (n_c - 1)
            se = math.sqrt(var_c / n_c + ratio**2 * var_p / n_p) / mean_p
        half = norm_ppf(0.5 + level / 2) * se
        return (ratio, ratio - half, ratio + half)

    return interval


def _p_value(r: dict, paired: bool) -> float:
    """Two-sided z-test p-value of equal mean absolute errors."""
    n_p, n_c = r["n_production"], r["n_candidate"]
    mean_p, mean_c = r["sum_production"] / n_p, r["sum_candidate"] / n_c
    if paired:
        n = n_p
        sum_d2 = r["sq_candidate"] - 2 * r["cross"] + r["sq_production"]
        var = max(sum_d2 / n - (mean_c - mean_p) ** 2, 0.0) * n / (n - 1)
        se = math.sqrt(var / n)
    else:
        var_p = max(r["sq_production"] - n_p * mean_p**2, 0.0) / (n_p - 1)
        var_c = max(r["sq_candidate"] - n_c * mean_c**2, 0.0) / (n_c - 1)
        se = math.sqrt(var_p / n_p + var_c / n_c)
    if se == 0:
        return 1.0 if mean_c == mean_p else 0.0
    return min(1.0, 2 * norm_sf(abs(mean_c - mean_p) / se))


def _finding(r: dict, prediction: str, confidence: float) -> Finding:
    where = "" if r["scope"] == "all" else f" for {r['scope']}"
    scope = {} if r["scope"] == "all" else {"segment": {r["column"]: r["segment"]}}
    return Finding(
        "shadow", "accuracy_regression", "warning", prediction,  # critical when breached: check_shadow decides
        f"The candidate's mean absolute error{where} is {r['mae_ratio']:.2f}x production's ({r['mae_candidate']:.4g} "
        f"vs {r['mae_production']:.4g}; {confidence:.0%} CI {r['mae_ratio_low']:.2f}–{r['mae_ratio_high']:.2f}; "
        f"RMSE {r['rmse_candidate']:.4g} vs {r['rmse_production']:.4g}; n={r['n']:,} labelled requests; "
        f"q={r['q_value']:.2g}).",
        "Look at the requests where the candidate's error grew most in this scope before promoting it.",
        {"value": r["mae_candidate"], "baseline": r["mae_production"], "effect": r["mae_ratio"],
         "interval": [r["mae_ratio_low"], r["mae_ratio_high"]], "q_value": r["q_value"], "n": r["n"],
         "confidence": confidence}, scope)


def _pending(r: dict, overall: bool, needed: int, interval, guardrails: Guardrails, flagged: bool) -> PendingCheck:
    def build(alpha_rollback: float, alpha_promote: float) -> GuardrailCheck:
        return GuardrailCheck("mae_ratio", r["scope"], r["n"], needed, r["mae_ratio"], guardrails.mae_ratio,
                              interval(1 - 2 * alpha_rollback)[1], interval(1 - 2 * alpha_promote)[2], "ratio",
                              overall, flagged)

    return PendingCheck(r["n"], needed, build)
