"""The tidy tables of a drift result, built from the comparison records."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from workbench.drift.scopes import Scope


_STATS = ("psi", "jensen_shannon", "total_variation", "max_share_change", "ks", "wasserstein")


def columns_table(records: list[dict]) -> pl.DataFrame:
    """One row per comparison (column × scope): sizes, missing shares, every effect size with its
    interval, the governing effect, the test, p and q-values, status and severity."""
    rows = []
    for r in records:
        scope: Scope = r["scope"]
        row = {"column": r["column"], "reference_column": r["reference_column"], "role": r["role"],
               "kind": r["kind"], "scope": scope.label, "scope_kind": scope.kind,
               "window_start": scope.window[0] if scope.window else None,
               "rows": r["rows"], "n_reference": r["n_ref"], "n_current": r["n_cur"],
               "missing_reference": r.get("missing_rate", {}).get("reference"),
               "missing_current": r.get("missing_rate", {}).get("current"), "note": r.get("note")}
        for s in _STATS:
            row[s] = r.get(s)
            row[f"{s}_low"] = r.get(f"{s}_low")
            row[f"{s}_high"] = r.get(f"{s}_high")
        row.update(effect=r["effect"], effect_value=r.get(r["effect"]), effect_low=r.get(f"{r['effect']}_low"),
                   effect_high=r.get(f"{r['effect']}_high"), threshold=r["threshold"], test=r.get("test"),
                   statistic=r.get("statistic"), p_value=r.get("p_value"), q_value=r.get("q_value"),
                   status=r.get("status"), severity=r.get("severity"))
        rows.append(row)
    if not rows:  # nothing compared (no column in common): the same columns, no rows
        return pl.DataFrame(schema=_COLUMNS_SCHEMA)
    frame = pl.DataFrame(rows, infer_schema_length=None)
    return frame.with_columns(pl.col(c).cast(t) for c, t in _COLUMNS_SCHEMA.items() if c != "window_start")


_COLUMNS_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    **dict.fromkeys(("column", "reference_column", "role", "kind", "scope", "scope_kind"), pl.String),
    "window_start": pl.Datetime("us"),
    **dict.fromkeys(("rows", "n_reference", "n_current"), pl.Int64),
    **dict.fromkeys(("missing_reference", "missing_current"), pl.Float64), "note": pl.String,
    **{f"{s}{end}": pl.Float64 for s in _STATS for end in ("", "_low", "_high")},
    "effect": pl.String, **dict.fromkeys(("effect_value", "effect_low", "effect_high", "threshold"), pl.Float64),
    "test": pl.String, **dict.fromkeys(("statistic", "p_value", "q_value"), pl.Float64),
    "status": pl.String, "severity": pl.String,
}


BIN_SCHEMA = {"column": pl.String, "scope": pl.String, "bin": pl.Int64, "label": pl.String,
               "reference_count": pl.Int64, "current_count": pl.Int64}
CATEGORY_SCHEMA = {"column": pl.String, "category": pl.String, "status": pl.String,
                    "reference_share": pl.Float64, "current_share": pl.Float64}
SCHEMA_SCHEMA = {"column": pl.String, "change": pl.String, "reference_dtype": pl.String,
                  "current_dtype": pl.String, "detail": pl.String, "partition": pl.String}


def frame(rows: list[dict], schema: dict) -> pl.DataFrame:
    """A table with exactly ``schema``'s columns (missing keys become null; no rows, no error)."""
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema)
