"""``check_calibration``: is a classifier's probability still what it says, now, per window and segment?

The rule
--------
Reference and current are reduced to counts and sums per fine score bin (0.001 wide) and scope
(everything, each time window, each segment value). Per scope: the reliability curve on
``bins`` equal-width and equal-mass bins (any number from 1 to 1000; every edge lies on the 0.001
grid: equal-width edges are ``i / bins`` rounded to it, equal-mass edges come from the reference),
ECE and MCE, Brier score and log loss (normal intervals from the per-row terms' sums), ECE with a
Poisson-bootstrap interval and its small-sample bias (the ECE a calibrated model would show on the
same rows: an hour of traffic has a larger ECE than a month even when nothing changed), the
calibration slope and intercept (logistic regression of the
outcome on ``logit(score)``: Newton–Raphson with step halving on the fine bins) and the
Hosmer–Lemeshow test on the equal-mass bins. Where the slope has no finite estimate (one class,
one score bin, outcomes perfectly separated by the score) or the fit fails, the table shows no
slope and ``slope_note`` says why; such a slope is never tested.
A current scope is compared with the same segment of the reference (windows and everything with
all of the reference). Benjamini–Hochberg at ``fdr`` runs across every test of the run.

* ``calibration_drift``: the Hosmer–Lemeshow test is significant and the debiased ECE (ECE minus
  its small-sample bias) grew by at least ``ece_margin`` over the reference's (``critical`` when the
  growth's bootstrap interval lies above the margin).
* ``overconfident`` / ``underconfident``: the slope differs from 1 significantly (Wald test) and
  by at least ``slope_margin``: below 1, the scores are too extreme (overconfident); above 1, too
  timid (underconfident). ``critical`` when the slope's whole interval is beyond the margin.
* A scope with fewer than ``min_support`` labelled rows, or with one class only, is inconclusive:
  reported in the table, never alerted. When all of current (or the reference) is, an
  ``insufficient_data`` info finding says so; a slope not estimated over all of current gives a
  ``slope_not_estimated`` info finding with the reason.

The recalibration what-if fits isotonic regression (pool-adjacent-violators) and Platt scaling
(the same logistic fit) on the reference and applies them to current: ECE, Brier and log loss
before and after, at the fine-bin resolution.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from workbench import params
from workbench.engine.frames import frame_summary
from workbench.engine.inputs import FrameLike
from workbench.errors import ConfigError
from workbench.findings.model import CheckResult, Finding
from workbench.localize import window_start
from workbench.performance import calibration_stats as cs
from workbench.performance import columns
from workbench.performance.summaries import Logs, bin_summaries, fine_arrays, prepare
from workbench.stats import benjamini_hochberg
from workbench.stats.tails import norm_ppf, norm_sf


@params.renamed_keywords("min_rows", owner="check_calibration")
def check_calibration(
    reference: FrameLike,
    current: FrameLike,
    *,
    score: str,
    target: str,
    timestamp: str | None = None,
    window: str | dt.timedelta | None = None,
    by: str | Sequence[str] = (),
    bins: int = 10,
    confidence: float = 0.95,
    fdr: float = params.DEFAULT_FDR,
    ece_margin: float = 0.02,
    slope_margin: float = 0.2,
    min_support: int = 200,
    resamples: int = 300,
    seed: int = 0,
) -> CheckResult:
    """Compare the calibration of ``score`` (a probability of ``target`` = 1) in ``current`` with
    ``reference``, overall, per ``window`` of ``timestamp`` (default 1 day) and per value of each
    ``by`` column. Inputs: frames or paths with those columns (the reference needs no timestamp);
    ``bins`` from 1 to 1000 (edges ``i / bins`` rounded to the 0.001 grid). Output: a
    :class:`~workbench.findings.CheckResult` with check ``"calibration"``, findings
    ``calibration_drift``, ``overconfident``, ``underconfident``, ``unlabelled_rows``,
    ``insufficient_data`` and ``slope_not_estimated`` (info), and tables ``calibration`` (per
    scope and side), ``reliability`` (per scope, side, strategy and bin) and ``recalibration``.
    The rule is in the module docstring.
    """
    owner = "check_calibration"
    score, target = columns.column(score, name="score", owner=owner), columns.column(target, name="target", owner=owner)
    timestamp = columns.optional_column(timestamp, name="timestamp", owner=owner)
    by_cols = columns.columns(by, name="by", owner=owner)
    bins, confidence, fdr, ece_margin, slope_margin, min_support, resamples, seed = _check_options(
        bins, confidence, fdr, ece_margin, slope_margin, min_support, resamples, seed)
    every = None
    if timestamp is not None:
        every = params.positive_duration("1d" if window is None else window, name="window", owner=owner,
                                         hint=columns.DEFAULT_WINDOW_HINT)
    elif window is not None:
        raise ConfigError("window needs timestamp: name the current column that holds each row's time.")
    ref = prepare(reference, name="reference", score=score, target=target, by=by_cols, timestamp=None)
    cur = prepare(current, name="current", score=score, target=target, by=by_cols, timestamp=timestamp)
    width = cs.equal_width_groups(bins)
    keys = list(ref.segments)  # the internal segment columns, in by's order
    ref_joint = bin_summaries(ref, keys)  # one pass; every reference scope is a sum of it
    ref_all = fine_arrays(_marginal(ref_joint, []))
    ctx = _Context(width, cs.equal_mass_groups(ref_all["n"], bins), np.random.default_rng(seed), resamples,
                   confidence, min_support)
    baseline = _baseline(ref, ref_joint, ref_all, ctx)
    scopes = _current_scopes(cur, keys, every)
    rows, tests, reliability_rows = _scope_rows(scopes, baseline, ctx)
    q = benjamini_hochberg(np.array([p for _, _, p in tests]))  # empty when none is tested
    for (i, test, _), qv in zip(tests, q, strict=True):
        rows[i][f"{test}_q"] = float(qv)
    findings = []
    for (kind, bounds, segment, _), row in zip(scopes, rows, strict=True):
        findings += _findings(row, kind, bounds, segment, score, confidence, fdr, ece_margin, slope_margin)
    findings = _fold_into_overall(findings) + _overall_notes(rows[0], baseline[("all", None)], score, min_support)
    findings += _unlabelled(ref, cur)
    recal = _recalibration(ref_all, scopes[0][3], width)
    tables = {"calibration": pl.DataFrame(rows, infer_schema_length=None),
              "reliability": pl.DataFrame(reliability_rows, infer_schema_length=None), "recalibration": recal}
    inputs = (frame_summary(ref.frame), frame_summary(cur.frame))
    parameters = {"score": score, "target": target, "timestamp": timestamp, "window": every, "by": by_cols,
                  "bins": bins, "confidence": confidence, "fdr": fdr, "ece_margin": ece_margin,
                  "slope_margin": slope_margin, "min_support": min_support, "resamples": resamples, "seed": seed,
                  "unlabelled": {"reference": ref.unlabelled, "current": cur.unlabelled},
                  "engine": cur.frame.engine, "sampled": False, "rule": {"statement": _RULE}}
    return CheckResult("calibration", tuple(findings), inputs, parameters=parameters, tables=tables)


_Window = tuple[dt.datetime, dt.datetime]  # a window's [start, end)
_Scope = tuple[str, _Window | None, dict[str, Any] | None, dict[str, np.ndarray]]  # kind, window, segment, arrays


# -- the steps ----------------------------------------------------------------------------------
def _baseline(ref: Logs, ref_joint: pl.DataFrame, ref_all: dict[str, np.ndarray],
              ctx: _Context) -> dict[tuple[str, Any], dict[str, Any]]:
    """The reference's metrics overall (key ``("all", None)``) and per segment (key ``(column, value)``)."""
    baseline: dict[tuple[str, Any], dict[str, Any]] = {("all", None): ctx.metrics(ref_all)}
    for key, b in ref.segments.items():
        # sorted: the bootstrap draws from one generator, so the order of scopes must not depend on the engine
        for (value,), part in sorted(_marginal(ref_joint, [key]).partition_by(key, as_dict=True).items()):
            baseline[(b, value)] = ctx.metrics(fine_arrays(part))
    return baseline


def _current_scopes(cur: Logs, keys: list[str], every: dt.timedelta | None) -> list[_Scope]:
    """Current's scopes, each with its per-bin arrays: all rows, each window (with a timestamp), each segment."""
    cur_joint = bin_summaries(cur, keys)
    scopes: list[_Scope] = [("all", None, None, fine_arrays(_marginal(cur_joint, [])))]
    if every is not None:
        zone = getattr(cur.frame.schema[columns.TS], "time_zone", None)
        per = bin_summaries(cur, [columns.WINDOW], every=every)
        for (w,), part in sorted(per.partition_by(columns.WINDOW, as_dict=True).items()):
            start = window_start(w, every, zone)
            scopes.append(("window", (start, start + every), None, fine_arrays(part)))
    for key, b in cur.segments.items():
        per = _marginal(cur_joint, [key])
        for (value,), part in sorted(per.partition_by(key, as_dict=True).items()):
            scopes.append(("segment", None, {b: value}, fine_arrays(part)))
    return scopes


def _scope_rows(scopes: list[_Scope], baseline: dict[tuple[str, Any], dict[str, Any]],
                ctx: _Context) -> tuple[list[dict[str, Any]], list[tuple[int, str, float]], list[dict[str, Any]]]:
    """Per scope, its ``calibration`` row against the same reference scope (or all of the reference when that
    has fewer than ``min_support`` rows), the tests it enters (row index, test, p-value) and its reliability
    rows (current; reference too, except for windows)."""
    rows: list[dict[str, Any]] = []
    tests: list[tuple[int, str, float]] = []
    reliability_rows: list[dict[str, Any]] = []
    for kind, bounds, segment, arrays in scopes:
        same = ("all", None) if segment is None else next(iter(segment.items()))  # the same reference scope
        base = baseline[same] if same in baseline and baseline[same]["n"] >= ctx.min_support \
            else baseline[("all", None)]
        m = ctx.metrics(arrays)
        label = _scope_label(kind, bounds, segment)
        row = {"scope": label, "scope_kind": kind, **_public(m),
               **{f"reference_{k}": v for k, v in _public(base).items() if k in _REFERENCE_FIELDS}}
        diff = m["ece_samples"] - base["ece_samples"]
        row["ece_change"] = m["ece_debiased"] - base["ece_debiased"]
        row["ece_change_low"], row["ece_change_high"] = _percentile_interval(diff, ctx.confidence)
        row["conclusive"] = m["conclusive"] and base["conclusive"]
        rows.append(row)
        if row["conclusive"]:
            tests.append((len(rows) - 1, "hl", m["hl_p"]))
            if m["slope_p"] is not None:  # a slope that could not be estimated is never tested
                tests.append((len(rows) - 1, "slope", m["slope_p"]))
        reliability_rows += _reliability_rows(label, "current", m, ctx)
        if kind != "window":
            reliability_rows += _reliability_rows(label, "reference", base, ctx)
    return rows, tests, reliability_rows


_REFERENCE_FIELDS = ("n", "ece", "ece_debiased", "mce", "brier", "log_loss", "slope", "intercept", "hl_p",
                     "conclusive")
_RULE = ("calibration_drift when the Hosmer-Lemeshow test is significant (BH across every test) and ECE grew by at "
         "least ece_margin over the same reference segment; overconfident/underconfident when the calibration "
         "slope differs from 1 significantly and by at least slope_margin; fewer than min_support labelled rows or a "
         "single class: inconclusive, never alerted.")


def _marginal(joint: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Sum a joint (segments × fine bin) summary down to ``keys`` × fine bin."""
    from workbench.performance.summaries import SUMS

    return joint.group_by(*keys, columns.BIN).agg(pl.col(list(SUMS)).sum())


class _Context:
    """Bins, randomness and thresholds shared by every scope's metrics."""

    def __init__(self, width: np.ndarray, mass: np.ndarray, rng: np.random.Generator, resamples: int,
                 confidence: float, min_support: int) -> None:
        self.width, self.mass, self.rng = width, mass, rng
        self.resamples, self.confidence, self.min_support = resamples, confidence, min_support

    def metrics(self, a: dict[str, np.ndarray]) -> dict[str, Any]:
        n, pos = a["n"].sum(), a["pos"].sum()
        z = norm_ppf(0.5 + self.confidence / 2)
        rel_w = cs.reliability(a["n"], a["pos"], a["sum_p"], self.width)
        rel_m = cs.reliability(a["n"], a["pos"], a["sum_p"], self.mass)
        samples, mce_samples = cs.ece_bootstrap(a["n"], a["pos"], a["sum_p"], self.width, resamples=self.resamples,
                                                rng=self.rng)
        out: dict[str, Any] = {
            "n": int(n), "positives": int(pos), "mean_score": a["sum_p"].sum() / n if n else math.nan,
            "positive_rate": pos / n if n else math.nan, "ece": rel_w.ece, "mce": rel_w.mce,
            "ece_equal_mass": rel_m.ece, "mce_equal_mass": rel_m.mce, "ece_samples": samples}
        out["ece_low"], out["ece_high"] = _percentile_interval(samples, self.confidence)
        out["mce_low"], out["mce_high"] = _percentile_interval(mce_samples, self.confidence)
        bias = cs.ece_if_calibrated(a["n"], a["sum_p"], self.width, resamples=self.resamples, rng=self.rng)
        out["ece_debiased"] = rel_w.ece - bias
        out["ece_samples"] = samples - bias  # the change between scopes compares debiased ECEs
        for name, key in (("brier", "sum_brier"), ("log_loss", "sum_ll")):
            s, s2 = a[key].sum(), a[f"{key}2"].sum()
            mean = s / n if n else math.nan
            se = math.sqrt(max(s2 / n - mean**2, 0.0) / max(n - 1, 1)) if n else math.nan
            out |= {name: mean, f"{name}_low": mean - z * se, f"{name}_high": mean + z * se}
        fit = cs.logistic_recalibration(a["n"], a["pos"], a["sum_logit"])
        if isinstance(fit, cs.LogisticFit):
            lo, hi = fit.interval(self.confidence)
            out |= {"slope": fit.slope, "slope_low": lo, "slope_high": hi, "intercept": fit.intercept,
                    "slope_p": min(1.0, 2 * norm_sf(abs(fit.slope - 1) / fit.slope_se)), "slope_note": None}
        else:  # no number rather than a wrong one: the reason is shown instead, and no slope test is run
            out |= {"slope": None, "slope_low": None, "slope_high": None, "intercept": None, "slope_p": None,
                    "slope_note": f"slope not estimated: {fit.reason}"}
        out["hl_stat"], out["hl_df"], out["hl_p"] = cs.hosmer_lemeshow(a["n"], a["pos"], a["sum_p"], self.mass)
        out["conclusive"] = bool(n >= self.min_support and 0 < pos < n)
        out["reliability"] = (rel_w, rel_m)
        return out


def _public(m: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in m.items() if k not in ("ece_samples", "reliability")}


def _percentile_interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    ok = samples[np.isfinite(samples)]
    if len(ok) == 0:
        return (math.nan, math.nan)
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(ok, [tail, 100 - tail])
    return float(lo), float(hi)


def _reliability_rows(scope: str, side: str, metrics: dict[str, Any], ctx: _Context) -> list[dict[str, Any]]:
    """The reliability curves of one scope and side: per bin its score range [low, high), rows,
    mean score and observed positive rate with its Wilson interval."""
    from workbench.stats import wilson_interval

    rows = []
    for strategy, rel, groups in zip(("equal_width", "equal_mass"), metrics["reliability"], (ctx.width, ctx.mass),
                                     strict=True):
        fine = np.arange(cs.FINE_BINS)
        for i, (n, mean_p, rate) in enumerate(zip(rel.n, rel.mean_score, rel.positive_rate, strict=True)):
            if n == 0:
                continue
            lo, hi = wilson_interval(round(rate * n), int(n), ctx.confidence)
            members = fine[groups == i]
            rows.append({"scope": scope, "side": side, "strategy": strategy, "bin": i,
                         "low": members.min() / cs.FINE_BINS, "high": (members.max() + 1) / cs.FINE_BINS, "n": int(n),
                         "mean_score": float(mean_p), "positive_rate": float(rate), "positive_rate_low": lo,
                         "positive_rate_high": hi})
    return rows


def _findings(row: dict[str, Any], kind: str, bounds: _Window | None, segment: dict[str, Any] | None, score: str,
              confidence: float, fdr: float, ece_margin: float, slope_margin: float) -> list[Finding]:
    if not row["conclusive"]:
        return []
    scope: dict[str, Any] = {}
    where = ""
    if segment:
        scope["segment"] = segment
        where = " for " + ", ".join(f"{k}={v}" for k, v in segment.items())
    if bounds:
        scope["window"] = [bounds[0].isoformat(), bounds[1].isoformat()]
        where += f" in [{bounds[0]:%Y-%m-%d %H:%M}, {bounds[1]:%Y-%m-%d %H:%M})"
    out = []
    if row.get("hl_q", 1.0) <= fdr and row["ece_change"] >= ece_margin:
        out.append(Finding(
            "calibration", "calibration_drift", "critical" if row["ece_change_low"] >= ece_margin else "warning",
            score,
            f"Calibration drifted{where}: ECE {row['reference_ece']:.3f} → {row['ece']:.3f} "
            f"(+{row['ece_change']:.3f} beyond sampling noise, {confidence:.0%} CI +{row['ece_change_low']:.3f} to "
            f"+{row['ece_change_high']:.3f}; mean score {row['mean_score']:.1%} vs observed rate "
            f"{row['positive_rate']:.1%}; n={row['n']:,}; Hosmer–Lemeshow q={row['hl_q']:.2g})."
            + (f" The calibration {row['slope_note']}." if row["slope_note"] else ""),
            "Recalibrate on recent labelled data (see the recalibration table) or retrain; check which inputs "
            "drifted in this scope.",
            {"value": row["ece"], "baseline": row["reference_ece"], "effect": row["ece_change"],
             "interval": [row["ece_change_low"], row["ece_change_high"]], "q_value": row["hl_q"], "n": row["n"],
             "threshold": ece_margin, "confidence": confidence}, scope))
    slope = row["slope"]
    if slope is not None and row.get("slope_q", 1.0) <= fdr and abs(slope - 1) >= slope_margin:
        over = slope < 1
        beyond = row["slope_high"] <= 1 - slope_margin if over else row["slope_low"] >= 1 + slope_margin
        out.append(Finding(
            "calibration", "overconfident" if over else "underconfident", "critical" if beyond else "warning", score,
            f"The scores are {'overconfident (too extreme)' if over else 'underconfident (too timid)'}{where}: "
            f"calibration slope {slope:.2f} ({confidence:.0%} CI {row['slope_low']:.2f}–{row['slope_high']:.2f}; "
            f"reference {_number(row['reference_slope'])}; 1 is calibrated), intercept {row['intercept']:+.2f}; "
            f"n={row['n']:,}; q={row['slope_q']:.2g}.",
            "Platt scaling or isotonic regression fitted on recent labelled data corrects the slope; the "
            "recalibration table shows the expected gain.",
            {"value": slope, "baseline": row["reference_slope"], "effect": slope - 1,
             "interval": [row["slope_low"], row["slope_high"]], "q_value": row["slope_q"], "n": row["n"],
             "threshold": slope_margin, "confidence": confidence}, scope))
    return out


def _number(value: float | None) -> str:
    return "not estimated" if value is None else f"{value:.2f}"


def _fold_into_overall(findings: list[Finding]) -> list[Finding]:
    """An alert over all of current covers the same kind of alert in its windows and segments,
    unless a child is clearly worse (its interval lies wholly beyond the overall one): those stay,
    the others are listed in the overall finding's ``also_in``."""
    from dataclasses import replace

    overall = {f.kind: f for f in findings if not f.scope}
    kept: list[Finding] = []
    folded: dict[str, list[str]] = {k: [] for k in overall}
    for f in findings:
        parent = overall.get(f.kind)
        if parent is None or f is parent:
            kept.append(f)
            continue
        (low, high), (p_low, p_high) = f.metrics["interval"], parent.metrics["interval"]
        worse = {"calibration_drift": low > p_high,  # intervals of the ECE change do not overlap
                 "overconfident": high < p_low,  # intervals of the slope do not overlap
                 "underconfident": low > p_high}[f.kind]
        if worse:
            kept.append(f)
        else:
            folded[f.kind].append(_scope_text(f.scope))
    out = []
    for f in kept:
        if not f.scope and folded.get(f.kind):
            extra = folded[f.kind]
            f = replace(f, message=f"{f.message} Also in {len(extra)} window(s)/segment(s): {', '.join(extra[:5])}"
                                    f"{', …' if len(extra) > 5 else ''}.", metrics={**f.metrics, "also_in": extra})
        out.append(f)
    return out


def _overall_notes(row: dict[str, Any], reference: dict[str, Any], score: str, min_support: int) -> list[Finding]:
    """Info findings that keep a run from passing silently: too little data to judge calibration at
    all (``insufficient_data``), or a slope that could not be estimated over all of current
    (``slope_not_estimated``, with the reason)."""
    if not row["conclusive"]:
        problems = [f"{side}: {m['n']:,} labelled rows, {m['positives']:,} positive" for side, m in
                    (("current", row), ("reference", reference)) if not (m["n"] >= min_support and 0 < m["positives"]
                                                                         < m["n"])]
        return [Finding(
            "calibration", "insufficient_data", "info", score,
            f"Too little data to judge calibration ({'; '.join(problems)}; the check needs at least {min_support:,} "
            "labelled rows with both outcomes on each side). No alert is raised; the tables show what there is.",
            "Use a longer period of labelled data, or lower min_support if you accept wider intervals.",
            {"n": row["n"], "n_reference": reference["n"], "positives": row["positives"],
             "positives_reference": reference["positives"], "min_support": min_support}, {})]
    if row["slope_note"]:
        return [Finding(
            "calibration", "slope_not_estimated", "info", score,
            f"The calibration {row['slope_note']}; over- or underconfidence is not judged (ECE and the "
            "Hosmer–Lemeshow test still are).",
            "Look at the reliability curve; a score that separates the outcomes perfectly has no finite slope.",
            {"n": row["n"], "reason": row["slope_note"]}, {})]
    return []


def _scope_text(scope: Mapping[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in scope.get("segment", {}).items()]
    if "window" in scope:
        parts.append(f"[{scope['window'][0]}, {scope['window'][1]})")
    return " ".join(parts)


def _unlabelled(ref: Logs, cur: Logs) -> list[Finding]:
    if not cur.unlabelled:
        return []
    share = cur.unlabelled / cur.rows
    return [Finding("calibration", "unlabelled_rows", "info", "target",
                    f"{cur.unlabelled:,} of {cur.rows:,} current rows ({share:.1%}) have no label yet and were not "
                    f"used ({ref.unlabelled:,} in the reference).",
                    "Run again when their labels have arrived; performance on them is unknown.",
                    {"affected_rows": cur.unlabelled, "affected_share": share, "n": cur.rows}, {})]


def _recalibration(ref: dict[str, np.ndarray], cur: dict[str, np.ndarray], width: np.ndarray) -> pl.DataFrame:
    """Isotonic and Platt maps fitted on the reference, applied to current: before and after."""
    mean_logit = np.where(cur["n"] > 0, cur["sum_logit"] / np.maximum(cur["n"], 1), 0.0)
    before = {"brier": cur["sum_brier"].sum() / cur["n"].sum(), "log_loss": cur["sum_ll"].sum() / cur["n"].sum()} \
        if cur["n"].sum() else {"brier": math.nan, "log_loss": math.nan}
    rows = [{"method": "none", "ece": cs.reliability(cur["n"], cur["pos"], cur["sum_p"], width).ece, **before}]
    maps = {}
    if ref["n"].sum() and cur["n"].sum():
        maps["isotonic"] = cs.isotonic_map(ref["n"], ref["pos"])
        fit = cs.logistic_recalibration(ref["n"], ref["pos"], ref["sum_logit"])
        if isinstance(fit, cs.LogisticFit):
            maps["platt"] = fit.apply(mean_logit)
    for method, values in maps.items():
        if np.isnan(values).all():
            continue
        after = cs.scores_after(values, cur["n"], cur["pos"])
        rows.append({"method": method, "ece": cs.reliability(cur["n"], cur["pos"], cur["n"] * values, width).ece,
                     **after})
    return pl.DataFrame(rows)


def _scope_label(kind: str, bounds: _Window | None, segment: dict[str, Any] | None) -> str:
    if kind == "window" and bounds:
        return f"{bounds[0]:%Y-%m-%d %H:%M}"
    if segment:
        return ", ".join(f"{k}={v}" for k, v in segment.items())
    return "all"


def _check_options(bins: Any, confidence: Any, fdr: Any, ece_margin: Any, slope_margin: Any, min_support: Any,
                   resamples: Any, seed: Any) -> tuple[int, float, float, float, float, int, int, int]:
    """The numeric options, validated (:mod:`workbench.params`) and returned in the same order."""
    owner = "check_calibration"
    if params.count(bins, name="bins", owner=owner) > cs.FINE_BINS:
        raise ConfigError(f"The 'bins' parameter of check_calibration must be at most {cs.FINE_BINS} (the bins are "
                          f"unions of the {cs.FINE_BINS} fine score bins, 0.001 wide). Got {bins!r}.")
    return (bins, params.open_unit(confidence, name="confidence", owner=owner),
            params.open_unit(fdr, name="fdr", owner=owner),
            params.positive_number(ece_margin, name="ece_margin", owner=owner),
            params.positive_number(slope_margin, name="slope_margin", owner=owner),
            params.count(min_support, name="min_support", owner=owner),
            params.count(resamples, name="resamples", minimum=50, owner=owner),
            params.count(seed, name="seed", minimum=0, owner=owner))
