"""``compare_logs``: production vs candidate on the same requests — coverage, agreement, latency,
errors (the verdict and paired accuracy on labels come next; issue 5)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from workbench.distributions import norm_ppf
from workbench.drift.statistics import benjamini_hochberg, two_proportions
from workbench.errors import InputError
from workbench.findings.model import CheckResult, Finding, InputSummary
from workbench.io import FrameLike, require_columns, schema_of, to_lazy
from workbench.shadow.paired import cohen_kappa, mcnemar_exact
from workbench.shadow.quantiles import order_statistic_ranks, rank_quantile
from workbench.shadow.reconcile import Reconciliation, reconcile
from workbench.stats import wilson_interval

LATENCY_QUANTILES = (0.5, 0.95, 0.99)


def compare_logs(
    production: FrameLike,
    candidate: FrameLike,
    *,
    id: str,  # the request id column (the project's vocabulary)
    timestamp: str | None = None,
    prediction: str | None = None,
    latency: str | None = None,
    error: str | None = None,
    by: str | Sequence[str] = (),
    confidence: float = 0.95,
    fdr: float = 0.05,
    latency_ratio: float = 1.2,
    error_increase: float = 0.005,
    disagreement_margin: float = 0.05,
    min_rows: int = 100,
    labels: FrameLike | None = None,
    label: str = "label",
    accuracy_margin: float = 0.01,
) -> CheckResult:
    """Compare two request logs request by request (reconciled as in :func:`reconcile`).

    Findings: ``coverage_gap`` and ``duplicate_requests`` (what reconciliation set aside);
    ``disagreement`` for segments whose flip rate exceeds the rest of the traffic's by at least
    ``disagreement_margin`` (Benjamini–Hochberg at ``fdr`` across segments); ``latency_regression``
    when the candidate's p95 over production's has an interval above ``latency_ratio``;
    ``error_rate_regression`` when the error-rate increase has an interval above
    ``error_increase``. Tables: ``agreement`` (overall and per segment: n, agreement, its Wilson
    interval, kappa), ``latency`` (per side and quantile: value and distribution-free interval),
    ``errors``. With ``labels`` (a frame of ``id`` and ``label``, arriving later), paired accuracy
    on the labelled requests, overall and per segment: exact McNemar test, Benjamini–Hochberg at
    ``fdr`` across the overall and segment tests, ``accuracy_regression`` when the candidate is
    worse by at least ``accuracy_margin`` — so a candidate better overall but worse in one segment
    is caught; labels for ids in neither log are counted (``unmatched_labels``). Returns a
    :class:`~workbench.findings.CheckResult` with check ``"shadow"``.
    """
    by_cols = [by] if isinstance(by, str) else list(by)
    rec = reconcile(production, candidate, id=id, timestamp=timestamp, prediction=prediction, latency=latency,
                    error=error, by=by_cols)
    findings = _coverage_findings(rec)
    tables: dict[str, pl.DataFrame] = {}
    if prediction:
        table, found = _agreement(rec, prediction, by_cols, confidence, fdr, disagreement_margin, min_rows)
        tables["agreement"] = table
        findings += found
    if latency:
        table, found = _latency(rec, latency, confidence, latency_ratio, min_rows)
        tables["latency"] = table
        findings += found
    if error:
        table, found = _errors(rec, error, confidence, error_increase, min_rows)
        tables["errors"] = table
        findings += found
    if labels is not None:
        if not prediction:
            raise InputError("labels need prediction=: paired accuracy compares each side's prediction with the label.")
        table, found = _paired_accuracy(rec, labels, id, label, prediction, by_cols, confidence, fdr,
                                        accuracy_margin, min_rows)
        tables["accuracy"] = table
        findings += found
    counts = rec.counts
    inputs = (InputSummary("production", counts["production_rows"], (), "not fingerprinted"),
              InputSummary("candidate", counts["candidate_rows"], (), "not fingerprinted"))
    return CheckResult("shadow", tuple(findings), inputs,
                       parameters={"roles": rec.roles, "by": by_cols, "coverage": counts, "confidence": confidence,
                                   "fdr": fdr, "latency_ratio": latency_ratio, "error_increase": error_increase},
                       tables=tables)


def _coverage_findings(rec: Reconciliation) -> list[Finding]:
    c = rec.counts
    out = []
    seen = c["matched"] + c["production_only"] + c["candidate_only"]
    one_side = c["production_only"] + c["candidate_only"]
    if one_side:
        share = one_side / seen if seen else math.nan
        out.append(Finding(
            "shadow", "coverage_gap", "warning" if share > 0.01 else "info", "requests",
            f"{one_side:,} of {seen:,} requests ({share:.1%}) were logged on one side only: "
            f"{c['production_only']:,} by production, {c['candidate_only']:,} by the candidate; "
            f"{c['matched']:,} are compared.",
            "Check the traffic mirroring and both loggers; a candidate that drops requests may be failing them.",
            {"n": seen, "affected_rows": one_side, "affected_share": share, **c}, {}))
    dupes = c["production_duplicates"] + c["candidate_duplicates"]
    if dupes or c["production_null_ids"] or c["candidate_null_ids"]:
        out.append(Finding(
            "shadow", "duplicate_requests", "info", "requests",
            f"{c['production_duplicates']:,} production and {c['candidate_duplicates']:,} candidate rows repeat a "
            f"request id (retries; the latest attempt was kept); {c['production_null_ids']:,} and "
            f"{c['candidate_null_ids']:,} rows have no id.",
            "Log one row per request, or a retry counter, so that retries are not mistaken for traffic.",
            {"affected_rows": dupes, **c}, {}))
    return out


def _agreement(rec: Reconciliation, prediction: str, by: list[str], confidence: float, fdr: float,
               margin: float, min_rows: int) -> tuple[pl.DataFrame, list[Finding]]:
    p, c = pl.col(f"{prediction}_production"), pl.col(f"{prediction}_candidate")
    agree = (p == c).fill_null(False)
    confusion = rec.matched.group_by(p.cast(pl.String).alias("p"), c.cast(pl.String).alias("c")).agg(
        pl.len().alias("n")).collect()
    classes = sorted(set(confusion["p"].drop_nulls()) | set(confusion["c"].drop_nulls()))
    matrix = np.zeros((len(classes), len(classes)))
    index = {k: i for i, k in enumerate(classes)}
    for a, b, n in confusion.iter_rows():
        if a is not None and b is not None:
            matrix[index[a], index[b]] += n
    kappa = cohen_kappa(matrix, confidence)
    rows = [_agreement_row("all", int(matrix.sum()), int(np.trace(matrix)), confidence) | {
        "kappa": kappa.value, "kappa_low": kappa.low, "kappa_high": kappa.high}]
    tests = []
    for b in by:
        per = rec.matched.group_by(pl.col(b).cast(pl.String).alias("segment")).agg(
            pl.len().alias("n"), agree.sum().alias("agree")).collect().sort("segment", nulls_last=True)
        total_n, total_agree = int(per["n"].sum()), int(per["agree"].sum())
        for seg, n, k in per.iter_rows():
            row = _agreement_row(f"{b}={seg}", int(n), int(k), confidence)
            rest_n, rest_flips = total_n - n, (total_n - total_agree) - (n - k)
            if n >= min_rows and rest_n >= min_rows:
                diff, lo, hi, p_two = two_proportions(rest_flips, rest_n, n - k, n, confidence)
                row.update(flip_rate_rest=rest_flips / rest_n, difference=diff, difference_low=lo,
                           difference_high=hi, p_value=p_two / 2 if diff > 0 else 1 - p_two / 2)
                tests.append((len(rows), {b: seg}))
            rows.append(row)
    q = benjamini_hochberg(np.array([rows[i]["p_value"] for i, _ in tests])) if tests else []
    findings = []
    for (i, segment), qv in zip(tests, q, strict=True):
        r = rows[i]
        r["q_value"] = float(qv)
        if qv <= fdr and r["difference"] >= margin:
            (col, val), = segment.items()
            findings.append(Finding(
                "shadow", "disagreement", "critical" if r["difference_low"] >= margin else "warning", prediction,
                f"The candidate disagrees with production on {r['flip_rate']:.1%} of requests for {col}={val} "
                f"vs {r['flip_rate_rest']:.1%} elsewhere (+{r['difference'] * 100:.1f} points, "
                f"{confidence:.0%} CI +{r['difference_low'] * 100:.1f} to +{r['difference_high'] * 100:.1f}; "
                f"n={r['n']:,}; {'q<0.001' if qv < 0.001 else f'q={qv:.2g}'}).",
                "Compare the two models' inputs and outputs on this segment; a feature the candidate reads "
                "differently there is the usual cause.",
                {"value": r["flip_rate"], "baseline": r["flip_rate_rest"], "effect": r["difference"],
                 "interval": [r["difference_low"], r["difference_high"]], "q_value": float(qv), "n": r["n"],
                 "affected_rows": r["n"] - r["agree"], "affected_share": r["flip_rate"], "confidence": confidence},
                {"segment": {col: val}}))
    return pl.DataFrame(rows, infer_schema_length=None), findings


def _agreement_row(scope: str, n: int, agree: int, confidence: float) -> dict[str, Any]:
    lo, hi = wilson_interval(agree, n, confidence)
    return {"scope": scope, "n": n, "agree": agree, "agreement": agree / n if n else math.nan,
            "agreement_low": lo, "agreement_high": hi, "flip_rate": 1 - agree / n if n else math.nan}


def _latency(rec: Reconciliation, latency: str, confidence: float, ratio_limit: float,
             min_rows: int) -> tuple[pl.DataFrame, list[Finding]]:
    sides = ("production", "candidate")
    counts = rec.matched.select(pl.col(f"{latency}_{s}").count().alias(s) for s in sides).collect().row(0, named=True)
    exprs, plan = [], []
    for s in sides:
        n = int(counts[s])
        for q in LATENCY_QUANTILES:
            if n == 0:
                continue
            lo_rank, hi_rank = order_statistic_ranks(n, q, confidence)
            for what, rank in (("value", None), ("low", lo_rank), ("high", hi_rank)):
                level = q if rank is None else rank_quantile(rank, n)
                interpolation = "linear" if rank is None else "lower"
                exprs.append(pl.col(f"{latency}_{s}").quantile(level, interpolation).alias(f"{s}|{q}|{what}"))
            plan.append((s, q, n))
    values = rec.matched.select(exprs).collect().row(0, named=True) if exprs else {}
    rows = [{"side": s, "quantile": q, "n": n, "value": values[f"{s}|{q}|value"], "low": values[f"{s}|{q}|low"],
             "high": values[f"{s}|{q}|high"]} for s, q, n in plan]
    findings = []
    table = pl.DataFrame(rows, schema={"side": pl.String, "quantile": pl.Float64, "n": pl.Int64, "value": pl.Float64,
                                       "low": pl.Float64, "high": pl.Float64})
    if min(counts.values()) >= min_rows:
        p95 = {r["side"]: r for r in rows if r["quantile"] == 0.95}
        prod, cand = p95["production"], p95["candidate"]
        if prod["value"] and prod["low"] and prod["high"]:
            ratio = cand["value"] / prod["value"]
            low, high = cand["low"] / prod["high"], cand["high"] / prod["low"]  # both intervals: conservative
            if low > ratio_limit:
                findings.append(Finding(
                    "shadow", "latency_regression", "critical" if low > 2 * ratio_limit else "warning", latency,
                    f"p95 latency is {ratio:.2f}x production's ({prod['value']:.4g} → {cand['value']:.4g}; "
                    f"{confidence:.0%} CI of the ratio {low:.2f}–{high:.2f}, guardrail {ratio_limit}x; "
                    f"n={cand['n']:,}).",
                    "Profile the candidate under the same load (feature fetches, model size, batch size) before "
                    "sending it more traffic.",
                    {"value": cand["value"], "baseline": prod["value"], "effect": ratio, "interval": [low, high],
                     "threshold": ratio_limit, "n": cand["n"], "confidence": confidence}, {}))
    return table, findings


def _paired_accuracy(rec: Reconciliation, labels: FrameLike, id: str, label: str, prediction: str,
                     by: list[str], confidence: float, fdr: float, margin: float,
                     min_rows: int) -> tuple[pl.DataFrame, list[Finding]]:
    lab = to_lazy(labels, name="labels")
    schema = schema_of(lab, name="labels")
    require_columns(schema, {"id": id, "label": label}, name="labels")
    dupes = lab.select(pl.len() - pl.col(id).n_unique()).collect().item()
    if dupes:
        raise InputError(f"labels: {dupes:,} duplicate values of {id!r}; keep one label per request.")
    lab = lab.select(pl.col(id), pl.col(label).alias("__label"))
    unknown = int(lab.join(rec.matched.select(id), on=id, how="anti").select(pl.len()).collect().item())
    joined = rec.matched.join(lab, on=id, how="inner")
    right_p = (pl.col(f"{prediction}_production") == pl.col("__label")).fill_null(False)
    right_c = (pl.col(f"{prediction}_candidate") == pl.col("__label")).fill_null(False)
    aggs = [pl.len().alias("n"), right_p.sum().alias("right_production"), right_c.sum().alias("right_candidate"),
            (right_p & ~right_c).sum().alias("only_production"), (right_c & ~right_p).sum().alias("only_candidate")]
    frames = [joined.select(aggs).collect().with_columns(scope=pl.lit("all"), segment=pl.lit(None, pl.String),
                                                         column=pl.lit(None, pl.String))]
    for b in by:
        per = joined.group_by(pl.col(b).cast(pl.String).alias("segment")).agg(aggs).collect()
        frames.append(per.with_columns(scope=pl.format("{}={}", pl.lit(b), pl.col("segment")), column=pl.lit(b)))
    table = pl.concat(frames, how="diagonal_relaxed").select("scope", "column", "segment", "n", "right_production",
                                                             "right_candidate", "only_production", "only_candidate")
    rows = table.to_dicts()
    z = norm_ppf(0.5 + confidence / 2)
    tested = []
    for r in rows:
        n, b, c = r["n"], r["only_production"], r["only_candidate"]
        r["accuracy_production"] = r["right_production"] / n if n else math.nan
        r["accuracy_candidate"] = r["right_candidate"] / n if n else math.nan
        r["difference"] = (c - b) / n if n else math.nan
        se = math.sqrt(max(b + c - (c - b) ** 2 / n, 0.0)) / n if n else math.nan
        r["difference_low"], r["difference_high"] = r["difference"] - z * se, r["difference"] + z * se
        r["p_value"] = mcnemar_exact(b, c) if n >= min_rows else math.nan
        if n >= min_rows:
            tested.append(r)
    for r, qv in zip(tested, benjamini_hochberg(np.array([r["p_value"] for r in tested])), strict=True):
        r["q_value"] = float(qv)
    findings = []
    if unknown:
        findings.append(Finding("shadow", "unmatched_labels", "info", label,
                                f"{unknown:,} labels are for requests in neither log (or in one only); they were "
                                "not used.", "Check that labels are keyed by the same request id as the logs.",
                                {"affected_rows": unknown}, {}))
    for r in tested:
        if r["q_value"] <= fdr and r["difference"] <= -margin:
            where = "" if r["scope"] == "all" else f" for {r['scope']}"
            scope = {} if r["scope"] == "all" else {"segment": {r["column"]: r["segment"]}}
            findings.append(Finding(
                "shadow", "accuracy_regression", "critical" if r["difference_high"] <= -margin else "warning",
                prediction,
                f"The candidate is less accurate{where}: {r['accuracy_candidate']:.1%} vs production's "
                f"{r['accuracy_production']:.1%} ({r['difference'] * 100:+.1f} points, {confidence:.0%} CI "
                f"{r['difference_low'] * 100:+.1f} to {r['difference_high'] * 100:+.1f}; n={r['n']:,} labelled "
                f"requests; McNemar q={r['q_value']:.2g}).",
                "Look at the requests only production gets right in this scope before promoting the candidate.",
                {"value": r["accuracy_candidate"], "baseline": r["accuracy_production"], "effect": r["difference"],
                 "interval": [r["difference_low"], r["difference_high"]], "q_value": r["q_value"], "n": r["n"],
                 "confidence": confidence}, scope))
    return pl.DataFrame(rows, infer_schema_length=None), findings


def _errors(rec: Reconciliation, error: str, confidence: float, increase: float,
            min_rows: int) -> tuple[pl.DataFrame, list[Finding]]:
    sides = ("production", "candidate")
    row = rec.matched.select(
        *(pl.col(f"{error}_{s}").cast(pl.Int64).sum().alias(f"{s}_errors") for s in sides),
        *(pl.col(f"{error}_{s}").count().alias(f"{s}_n") for s in sides)).collect().row(0, named=True)
    kp, np_, kc, nc = (int(row["production_errors"] or 0), int(row["production_n"]), int(row["candidate_errors"] or 0),
                       int(row["candidate_n"]))
    diff, lo, hi, p = two_proportions(kp, np_, kc, nc, confidence)
    table = pl.DataFrame([{"side": s, "n": n, "errors": k, "rate": k / n if n else math.nan,
                           "rate_low": wilson_interval(k, n, confidence)[0],
                           "rate_high": wilson_interval(k, n, confidence)[1]}
                          for s, k, n in (("production", kp, np_), ("candidate", kc, nc))])
    findings = []
    if min(np_, nc) >= min_rows and lo > increase:
        findings.append(Finding(
            "shadow", "error_rate_regression", "critical" if lo > 4 * increase else "warning", error,
            f"The candidate fails {kc / nc:.2%} of requests vs production's {kp / np_:.2%} "
            f"(+{diff * 100:.2f} points, {confidence:.0%} CI +{lo * 100:.2f} to +{hi * 100:.2f}; n={nc:,}).",
            "Read the candidate's error logs for the failing requests before sending it more traffic.",
            {"value": kc / nc, "baseline": kp / np_, "effect": diff, "interval": [lo, hi], "p_value": p,
             "threshold": increase, "n": nc, "affected_rows": kc, "confidence": confidence}, {}))
    return table, findings
