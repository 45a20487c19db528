"""``idempotency_violation``: one idempotency key processed more than once with different results.

Exact counts, no estimate. Among the rows with ``status == "ok"`` and a non-null ``idempotency_key``, a key is
*processed more than once* when it has two or more such rows; it violates idempotency with

* ``different_output``: two or more distinct non-null ``output_hash`` values, or
* ``duplicate_side_effect``: two or more distinct non-null ``side_effect_id`` values (a payment made twice).

A key can do both: it counts once in each. Each rule gives one finding with the number of keys, of extra
executions (ok rows beyond the first) and of extra side effects, the share of processed keys with its Wilson
interval, where they are (per segment value), and up to five example keys with their hashes or side effects.
"""

from __future__ import annotations

import polars as pl

from workbench.findings.model import Finding, Severity
from workbench.service import columns as C
from workbench.service.log import Log
from workbench.service.words import CHECK
from workbench.stats import wilson_interval

EXAMPLES = 5
RULES = {"different_output": "output_hash", "duplicate_side_effect": "side_effect_id"}


def per_key(log: Log) -> tuple[pl.DataFrame, int]:
    """One row per idempotency key with more than one ok row: ``key``, ``ok_rows``, the distinct ``outputs``
    and ``side_effects`` (sorted lists), ``first_seen`` and the segment values of its first row; and the
    number of keys with an ok row."""
    cols = log.columns
    key = C.internal("idempotency_key")
    ok = log.rows.filter((pl.col(C.internal("status")) == "ok") & pl.col(key).is_not_null())
    # the log is sorted by key (C.KEY is the idempotency key where there is one): a key's rows are adjacent
    k = pl.col(key)
    flags = ok.select((k != k.shift(1)).fill_null(True).alias("new"),
                      ((k == k.shift(1)) | (k == k.shift(-1))).fill_null(False).alias("repeated"))
    processed = int(flags.get_column("new").sum())
    ok = ok.filter(flags.get_column("repeated"))
    distinct = [pl.col(C.internal(role)).drop_nulls().unique().sort().alias(name)
                for name, role in (("outputs", "output_hash"), ("side_effects", "side_effect_id")) if cols.has(role)]
    keys = (ok.sort(C.TS, maintain_order=True).group_by(key)
            .agg(pl.len().alias("ok_rows"), *distinct, pl.col(C.TS).min().alias("first_seen"),
                 *(pl.col(s).first() for s in cols.names))
            .rename({key: "key"}).sort("first_seen", "key"))
    return keys, processed


def violations(log: Log, confidence: float) -> tuple[pl.DataFrame, list[Finding]]:
    """Table ``idempotency`` (per rule and scope: keys processed more than once, keys violating, extra
    executions and side effects) and one finding per rule with violations."""
    keys, processed = per_key(log)
    rows, findings = [], []
    for rule, role in RULES.items():
        if not log.columns.has(role):
            continue
        column = "outputs" if rule == "different_output" else "side_effects"
        bad = keys.filter((pl.col("ok_rows") > 1) & (pl.col(column).list.len() > 1))
        scopes = [("all", keys, bad)] + [
            (f"{name}={value}", keys.filter(pl.col(s) == value), bad.filter(pl.col(s) == value))
            for s, name in log.columns.names.items() for value in sorted(bad.get_column(s).unique().to_list())]
        for scope, all_keys, hit in scopes:
            rows.append({"rule": rule, "scope": scope, "repeated_keys": all_keys.height, "violating_keys": hit.height,
                         "extra_executions": int(hit.get_column("ok_rows").sum() - hit.height) if hit.height else 0,
                         "extra_side_effects": int(hit.get_column(column).list.len().sum() - hit.height)
                         if hit.height and rule == "duplicate_side_effect" else 0})
        if bad.height:
            findings.append(_finding(rule, column, bad, processed, log, confidence))
    table = pl.DataFrame(rows, schema={"rule": pl.String, "scope": pl.String, "repeated_keys": pl.Int64,
                                       "violating_keys": pl.Int64, "extra_executions": pl.Int64,
                                       "extra_side_effects": pl.Int64})
    return table, findings


def _finding(rule: str, column: str, bad: pl.DataFrame, processed: int, log: Log, confidence: float) -> Finding:
    n_bad = bad.height
    extra = int(bad.get_column("ok_rows").sum()) - n_bad
    distinct = int(bad.get_column(column).list.len().sum())
    lo, hi = wilson_interval(n_bad, processed, confidence)
    per_column = [[{"scope": f"{name}={value}", "keys": keys} for value, keys in
                   bad.group_by(s).len().sort(["len", s], descending=[True, False]).head(3).iter_rows()]
                  for s, name in log.columns.names.items()]
    where = [w for column in per_column for w in column]  # the 3 values with most violating keys per column
    top = [f"{column[0]['scope']} ({column[0]['keys']:,} keys)" for column in per_column if column]
    examples = [{"idempotency_key": r["key"], "ok_rows": r["ok_rows"], column: r[column],
                 "first_seen": r["first_seen"]} for r in bad.head(EXAMPLES).iter_rows(named=True)]
    if rule == "duplicate_side_effect":
        what = (f"{n_bad:,} idempotency keys caused more than one side effect ({distinct - n_bad:,} extra side "
                f"effects from {extra:,} extra executions)")
        suggestion = ("Deduplicate on the idempotency key before the side effect (store the key with the effect "
                      "in one transaction) and reverse the duplicates listed in the examples.")
    else:
        what = (f"{n_bad:,} idempotency keys were processed more than once with different outputs "
                f"({extra:,} extra executions)")
        suggestion = ("Return the stored response for a repeated idempotency key instead of recomputing it; check "
                      "the examples for a cache or a lock that is missing on this path.")
    message = (f"{what}: {n_bad / processed:.2%} of {processed:,} keys processed"
               + (f"; most in {', '.join(top[:2])}" if top else "") + f"; e.g. key {examples[0]['idempotency_key']!r}.")
    severity: Severity = "critical" if rule == "duplicate_side_effect" else "warning"
    return Finding(CHECK, "idempotency_violation", severity, "idempotency_key", message, suggestion,
                   {"rule": rule, "value": n_bad / processed, "interval": [lo, hi], "n": processed,
                    "violating_keys": n_bad, "extra_executions": extra, "affected_rows": n_bad + extra,
                    "distinct_values": distinct, "where": where, "confidence": confidence},
                   {"window": [bad.get_column("first_seen").min().isoformat(),  # type: ignore[union-attr]
                               bad.get_column("first_seen").max().isoformat()]},  # type: ignore[union-attr]
                   tuple(examples))


