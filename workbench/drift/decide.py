"""Apply the decision rule to every comparison of a run and turn alerts into findings."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from workbench.drift.rule import DriftRule
from workbench.drift.schema import SCHEMA_KINDS
from workbench.drift.scopes import Scope
from workbench.findings.model import Finding, Severity
from workbench.stats import benjamini_hochberg

_EFFECT_NAMES = {"wasserstein": "scaled Wasserstein", "total_variation": "total variation",
                 "max_share_change": "largest category share change"}


def finding_kind(test: str, role: str | None) -> str:
    if test == "distribution":
        return {"score": "prediction_drift", "prediction": "prediction_drift",
                "target": "label_drift"}.get(role or "", "distribution_drift")
    return {"missing_rate": "missing_rate_change"}.get(test, test)


def decide(records: list[dict], rule: DriftRule) -> tuple[pl.DataFrame, list[Finding]]:
    """Collect every test, adjust with Benjamini–Hochberg, set each record's status, and
    return the tests table and the alert findings (de-duplicated: a column alerting on all of
    current is reported once, windows and segments only where the overall comparison is quiet)."""
    tests: list[dict[str, Any]] = []
    for i, r in enumerate(records):
        enough = r["n_ref"] >= rule.min_support and r["n_cur"] >= rule.min_support
        r["status"] = "insufficient" if not enough else "stable"
        if enough and not math.isnan(r.get("p_value", math.nan)):
            tests.append(_test(i, "distribution", r, r.get(r["effect"]), r.get(f"{r['effect']}_low"),
                               r.get(f"{r['effect']}_high"), r["threshold"], r["p_value"]))
        for name in ("missing_rate", "new_category", "out_of_range"):
            t = r.get(name)
            if t and t["n"] >= rule.min_support and not math.isnan(t["p_value"]):
                tests.append(_test(i, name, r, t["effect"], t["low"], t["high"], t["threshold"], t["p_value"]))
    q = benjamini_hochberg(np.array([t["p_value"] for t in tests], dtype=float))
    for t, qv in zip(tests, q, strict=True):
        t["q_value"] = float(qv)
        t["status"], t["severity"] = _judge(t, rule)
        r = records[t["record"]]
        if t["test"] == "distribution":
            r["q_value"], r["status"], r["severity"] = t["q_value"], t["status"], t["severity"]
    alerts = [t for t in tests if t["severity"]]
    overall = {(t["column"], t["test"]) for t in alerts if t["scope_kind"] == "all"}
    findings = []
    for t in alerts:
        if t["scope_kind"] != "all" and (t["column"], t["test"]) in overall:
            continue
        local = [u for u in alerts if (u["column"], u["test"]) == (t["column"], t["test"]) and u["scope_kind"] != "all"]
        findings.append(_finding(t, records[t["record"]], rule, local if t["scope_kind"] == "all" else []))
    table = pl.DataFrame([{k: v for k, v in t.items() if k != "record"} for t in tests],
                         schema=_TEST_SCHEMA)
    return table, findings


def _test(i: int, name: str, r: dict, effect: Any, low: Any, high: Any, threshold: float, p: float) -> dict:
    scope = r["scope"]
    return {"record": i, "column": r["column"], "test": name, "scope_kind": scope.kind,
            "scope": scope.label, "effect": _num(effect), "low": _num(low), "high": _num(high),
            "threshold": threshold, "p_value": _num(p), "q_value": math.nan, "status": "", "severity": None}


def _num(x: Any) -> float:
    return math.nan if x is None else float(x)


def _judge(t: dict, rule: DriftRule) -> tuple[str, str | None]:
    significant = t["q_value"] <= rule.fdr
    effect, low, high, thr = t["effect"], t["low"], t["high"], t["threshold"]
    if t["test"] == "missing_rate":  # two-sided: a rise or a fall of the missing share
        large = abs(effect) >= thr
        sure = (low >= thr) or (high <= -thr)
    else:
        large = effect >= thr
        sure = low >= thr
    if not significant:
        return "stable", None
    if not large:
        return "small", None
    return ("drift", "critical") if sure else ("drift", "warning")


_TEST_SCHEMA = {"column": pl.String, "test": pl.String, "scope_kind": pl.String, "scope": pl.String,
                "effect": pl.Float64, "low": pl.Float64, "high": pl.Float64, "threshold": pl.Float64,
                "p_value": pl.Float64, "q_value": pl.Float64, "status": pl.String, "severity": pl.String}


# -- wording ------------------------------------------------------------------------------
def _where(scope: Any) -> str:
    if scope.kind == "window":
        a, b = scope.window
        return f" in the window {a:%Y-%m-%d %H:%M}–{b:%Y-%m-%d %H:%M}"
    if scope.kind == "segment":
        return " for " + ", ".join(f"{k}={v}" for k, v in scope.segment.items())
    return ""


def _q_text(q: float) -> str:
    return "q<0.001" if q < 0.001 else f"q={q:.3f}"


def _finding(t: dict, r: dict, rule: DriftRule, local: list[dict]) -> Finding:
    scope = r["scope"]
    kind = finding_kind(t["test"], r["role"])
    ci = f"{rule.confidence:.0%} CI"
    where = _where(scope)
    col = r["column"]
    name = col if r["reference_column"] == col else f"{col} (renamed from {r['reference_column']})"
    metrics: dict[str, Any] = {"effect": t["effect"], "interval": [t["low"], t["high"]], "threshold": t["threshold"],
                               "p_value": t["p_value"], "q_value": t["q_value"], "confidence": rule.confidence,
                               "n": int(r["n_cur"]), "n_reference": int(r["n_ref"])}
    if local:
        metrics["also_in"] = [u["scope"] for u in local]
    if t["test"] == "distribution":
        effect = _EFFECT_NAMES[r["effect"]]
        metrics.update({s: r.get(s) for s in ("psi", "jensen_shannon", "total_variation", "max_share_change", "ks",
                                              "wasserstein")})
        metrics["measure"] = r["effect"]
        what = {"prediction_drift": f"Prediction distribution of {name}",
                "label_drift": f"Label distribution of {name}"}
        subject_text = what.get(kind, name)
        detail = _distribution_detail(r)
        if r["effect"] == "max_share_change":  # in percentage points, as the category shares are stated
            size = (f"{t['effect'] * 100:.1f} points ({ci} {t['low'] * 100:.1f}–{t['high'] * 100:.1f}, "
                    f"threshold {t['threshold'] * 100:g} points); total variation {r['total_variation']:.3f}")
        else:
            size = f"{t['effect']:.3f} ({ci} {t['low']:.3f}–{t['high']:.3f}, threshold {t['threshold']})"
        message = (f"{subject_text} drifted{where}: {effect} {size}; PSI {r['psi']:.3f}{detail}; "
                   f"n={r['n_ref']:,} reference vs {r['n_cur']:,} current ({_q_text(t['q_value'])}).")
        suggestion = ("Check the upstream source of this column for a change (pipeline, unit, encoding, "
                      "population); compare the distributions in the bins table or in "
                      "DriftExplorer.from_result(result); retrain or recalibrate if the shift is real.")
        affected = None
    elif t["test"] == "missing_rate":
        m = r["missing_rate"]
        # the share is of all rows, so n counts all rows too (not the non-missing values)
        metrics.update(value=m["current"], baseline=m["reference"], n=int(m["n"]), n_reference=int(m["n_reference"]))
        direction = "rose" if m["effect"] > 0 else "fell"
        message = (f"Missing rate of {name} {direction}{where} from {m['reference']:.1%} to {m['current']:.1%} "
                   f"({m['effect'] * 100:+.1f} points, {ci} {m['low'] * 100:+.1f} to {m['high'] * 100:+.1f}; "
                   f"n={m['n']:,}; {_q_text(t['q_value'])}).")
        suggestion = "Look for a failing upstream join or source, or a field that stopped being sent."
        affected = (m["affected"], m["current"])
    elif t["test"] == "new_category":
        m = r["new_category"]
        values = r.get("new_values", [])
        metrics.update(value=m["current"], baseline=m["reference"],
                       new_values={v: c / m["n"] for v, c in values})
        listed = ", ".join(f"{v!r} {c / m['n']:.1%}" for v, c in values)
        message = (f"{name} has {m['current']:.1%} of values{where} in categories never seen in the reference"
                   f"{': ' + listed if listed else ''} ({m['affected']:,} of {m['n']:,}; {ci} of the excess "
                   f"{m['low']:.1%}–{m['high']:.1%} over the {m['reference']:.2%} expected from rare reference "
                   f"values; {_q_text(t['q_value'])}).")
        suggestion = ("Find out where the new values come from (a new product, region or code); map them or "
                      "refit the encoder, and check how the model treats unseen categories.")
        affected = (m["affected"], m["current"])
    else:
        m = r["out_of_range"]
        metrics.update(value=m["current"], baseline=m["reference"], below=m["below"], above=m["above"])
        lo, hi = format_value(m["low_value"], r["kind"]), format_value(m["high_value"], r["kind"])
        message = (f"{name} has {m['current']:.1%} of values{where} outside the reference range [{lo}, {hi}] "
                   f"({m['below']:,} below, {m['above']:,} above, of {m['n']:,}; {_q_text(t['q_value'])}).")
        suggestion = "Check for a unit or scale change, a new population, or a sentinel value (e.g. -1, 9999)."
        affected = (m["affected"], m["current"])
    if affected:
        metrics.update(affected_rows=int(affected[0]), affected_share=float(affected[1]))
    return Finding("drift", kind, t["severity"], col, message, suggestion, metrics, scope.to_scope())


def _distribution_detail(r: dict) -> str:
    if r["kind"] in ("numeric", "datetime"):
        ks = f", KS {r['ks']:.3f}" if r.get("ks") is not None else ""
        ref_mean, cur_mean = r.get("reference_mean"), r.get("current_mean")
        if ref_mean is not None and cur_mean is not None:
            return f"{ks}; mean {format_value(ref_mean, r['kind'])} → {format_value(cur_mean, r['kind'])}"
        return ks
    ref, cur = r["reference_counts"].astype(float), r["current_counts"].astype(float)
    p, q = ref / max(ref.sum(), 1), cur / max(cur.sum(), 1)
    i = int(np.argmax(np.abs(p - q)))
    label = "other or new categories" if i == len(r["categories"]) else repr(r["categories"][i])
    return f"; largest change: {label} {p[i]:.1%} → {q[i]:.1%}"


def format_value(x: Any, kind: str) -> str:
    """A summary value as a message shows it: a datetime (microseconds since the epoch) as UTC minutes, a
    number to 4 significant digits, None as "n/a"."""
    if x is None:
        return "n/a"
    if kind == "datetime":
        import datetime as dt

        return dt.datetime.fromtimestamp(x / 1e6, dt.UTC).strftime("%Y-%m-%d %H:%M")
    return f"{x:.4g}"


def drift_findings(records: list[dict], schema_rows: list[dict], skipped: Mapping[str, str],
                   rule: DriftRule, current_rows: int) -> list[Finding]:
    """Schema findings, columns that could not be compared, and scopes with too little data
    (all of current too, with ``current_rows`` below ``min_support``, even when no column could be
    compared: an empty or nearly empty current is never a silent pass)."""
    out = []
    for s in schema_rows:
        kind = SCHEMA_KINDS[s["change"]]
        if kind is None:
            continue
        severity: Severity = "info" if s["change"] == "added" else "warning"
        col = s["column"]
        text = {
            "added": f"Column {col!r} is new in current ({s['current_dtype']}); it has no reference to compare with.",
            "dropped": f"Column {col!r} ({s['reference_dtype']}) is missing from current.",
            "renamed": f"Column {col!r} looks like a rename: {s['detail']}; it was compared with the old column.",
            "type_changed": f"Column {col!r} changed type from {s['reference_dtype']} to {s['current_dtype']} "
                            f"({s['detail']}).",
            "nullability_changed": f"Column {col!r} was never missing in the reference and now is: {s['detail']}.",
        }[s["change"]]
        suggestion = {
            "added": "Add it to the reference profile (refit) if it should be monitored.",
            "dropped": "Check the producer: a dropped feature is served as null or a default to the model.",
            "renamed": "Confirm the rename and update the feature mapping; refit the profile under the new name.",
            "type_changed": "Fix the producer or cast the column; a silent cast can change values (e.g. '1,5').",
            "nullability_changed": "Check how the model handles nulls in this column and why they appear.",
        }[s["change"]]
        scope = {"partition": s["partition"]} if s.get("partition") else {}
        metrics = {"reference_dtype": s["reference_dtype"], "current_dtype": s["current_dtype"]}
        out.append(Finding("drift", kind, severity, col, text, suggestion, metrics, scope))
    for r in records:
        if r["scope"].kind == "all" and r.get("note") and "not tracked" in r["note"]:
            out.append(Finding("drift", "column_capped", "info", r["column"],
                               f"Column {r['column']!r}: {r['note']}.",
                               "Exclude identifier-like columns, or group rare values upstream.", {}, {}))
    for r in records:
        if r["scope"].kind == "all" and r["n_ref"] == 0:
            out.append(Finding("drift", "column_skipped", "info", r["column"],
                               f"Column {r['column']!r} has no values in the reference (all null or NaN), so its "
                               "distribution cannot be compared; only its missing rate is.",
                               "Exclude it, or fit the profile on data where it is populated.",
                               {"n_reference": 0}, {}))
    for col, reason in skipped.items():
        out.append(Finding("drift", "column_skipped", "info", col, f"Column {col!r} was not compared: {reason}.",
                           "Cast it to a supported type, or exclude it.", {}, {}))
    # a scope with too few rows, on either side, is inconclusive as a whole (a column with too few
    # values in a populated scope is covered by its missing-rate test instead)
    seen = set()
    for r in records:
        small = min(r["rows"], r["reference_rows"]) < rule.min_support
        key = r["scope"].label
        if r["status"] != "insufficient" or not small or key in seen:
            continue
        seen.add(key)
        if r["rows"] == 0 and r["scope"].kind == "window":
            out.append(Finding(
                "drift", "empty_window", "warning", key,
                f"No current rows at all{_where(r['scope'])}, between windows that have data: a gap in the data.",
                "Check the upstream pipeline for an outage or a late partition for this window.",
                {"n": 0}, r["scope"].to_scope()))
            continue
        out.append(_insufficient(r["scope"], r["rows"], r["reference_rows"], rule))
    if current_rows < rule.min_support and "all" not in seen:
        out.append(_insufficient(Scope("all", {}), current_rows, None, rule))
    return out


def _insufficient(scope: Any, rows: int, reference_rows: int | None, rule: DriftRule) -> Finding:
    """The ``insufficient_data`` finding of a scope with too few rows (``reference_rows`` unknown:
    no column was compared)."""
    reference = f" and {reference_rows:,} reference rows" if reference_rows is not None else " rows"
    metrics = {"n": int(rows), "min_support": rule.min_support}
    if reference_rows is not None:
        metrics["n_reference"] = int(reference_rows)
    return Finding(
        "drift", "insufficient_data", "info", scope.label,
        f"Too few rows to judge drift{_where(scope) or ''}: {rows:,} current{reference} (the rule needs "
        f"{rule.min_support:,} valid values per side). No alert is raised from this scope.",
        "Use a longer window or wait for more data." if rows else
        "Current has no rows: check that the right data (partition, date range, filter) was passed.",
        metrics, scope.to_scope())
