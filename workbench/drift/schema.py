"""Schema evolution: reference vs current, and across time-partitioned parquet files.

Changes are reported as rows ``(column, change, reference_dtype, current_dtype, detail)`` with
``change`` one of ``added``, ``dropped``, ``renamed``, ``type_changed``, ``nullability_changed``,
``category_set_changed``.
A type change is never an error: drift reads the current column the way the reference was read
(numbers parsed leniently from strings, anything as a string for categorical columns).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from workbench.drift.fit import column_kind
from workbench.drift.profile import DriftProfile
from workbench.drift.rule import DriftRule
from workbench.engine.partitions import name_similarity

SCHEMA_KINDS = {
    "added": "schema_added",
    "dropped": "schema_dropped",
    "renamed": "schema_renamed",
    "type_changed": "schema_type_changed",
    "nullability_changed": "schema_nullability_changed",
    "category_set_changed": None,  # in the schema table; alerts come from the new_category test
}


@dataclass(frozen=True)
class RenameCandidate:
    """A dropped reference column and an added current column that may be the same data."""

    old: str
    new: str
    name_similarity: float


def compare_schemas(profile: DriftProfile, current: pl.Schema, *, ignore: Sequence[str] = ()) -> tuple[
        list[dict], list[RenameCandidate]]:
    """Added, dropped and type-changed columns between a profile and a current schema, and the
    compatible (dropped, added) pairs to test as renames (same drift kind)."""
    ignored = set(ignore)
    ref_cols = [c for c in profile.source_columns if c not in ignored]
    rows: list[dict] = []
    dropped = [c for c in ref_cols if c not in current]
    added = [c for c in current if c not in profile.source_dtypes and c not in ignored]
    for c in dropped:
        rows.append(_row(c, "dropped", profile.source_dtypes[c], None, "in the reference, not in current"))
    for c in added:
        rows.append(_row(c, "added", None, str(current[c]), "in current, not in the reference"))
    for c in ref_cols:
        if c in current and str(current[c]) != profile.source_dtypes[c]:
            ref_kind = profile.columns[c].kind if c in profile.columns else None
            cur_kind = column_kind(current[c])
            how = (f"compared as {ref_kind}" if ref_kind and cur_kind else "not comparable: drift skipped")
            rows.append(_row(c, "type_changed", profile.source_dtypes[c], str(current[c]), how))
    candidates = []
    for old in dropped:
        if old not in profile.columns:
            continue
        for new in added:
            if column_kind(current[new]) == profile.columns[old].kind:
                candidates.append(RenameCandidate(old, new, name_similarity(old, new)))
    candidates.sort(key=lambda r: -r.name_similarity)
    return rows, candidates


def _row(column: str, change: str, ref: str | None, cur: str | None, detail: str) -> dict:
    return {"column": column, "change": change, "reference_dtype": ref, "current_dtype": cur, "detail": detail,
            "partition": None}


def choose_renames(candidates: Sequence[RenameCandidate], effects: Mapping[tuple[str, str], float],
                   threshold: Mapping[tuple[str, str], float]) -> list[tuple[RenameCandidate, float]]:
    """Pick likely renames, one per old and per new column, best first: a pair whose
    distributions match (effect below its drift threshold) and whose names are at least
    loosely similar (≥ 0.3), or whose names are very similar (≥ 0.8) whatever the data."""
    scored = []
    for cand in candidates:
        effect = effects.get((cand.old, cand.new), float("nan"))
        matches = effect == effect and effect < threshold.get((cand.old, cand.new), 0.1)
        if (matches and cand.name_similarity >= 0.3) or cand.name_similarity >= 0.8:
            scored.append((0 if matches else 1, -cand.name_similarity, effect, cand))
    chosen: list[tuple[RenameCandidate, float]] = []
    used_old, used_new = set(), set()
    for _, _, effect, cand in sorted(scored, key=lambda t: t[:3]):
        if cand.old not in used_old and cand.new not in used_new:
            chosen.append((cand, effect))
            used_old.add(cand.old)
            used_new.add(cand.new)
    return chosen


# -- schema rows derived from the comparisons of a drift run ---------------------------------
def apply_renames(candidates: list[RenameCandidate], records: list[dict], schema_rows: list[dict]) -> dict[str, str]:
    """Choose renames among ``candidates`` from the drift of each candidate pair over all of
    current, replace their ``added``/``dropped`` rows in ``schema_rows`` (in place) by one
    ``renamed`` row each, and return ``{new name: old name}``."""
    effects, thresholds = {}, {}
    for r in records:
        if r["rename_candidate"] and r["scope"].kind == "all":
            key = (r["reference_column"], r["column"])
            effects[key] = r.get(r["effect"], math.nan)
            thresholds[key] = r["threshold"]
    chosen = choose_renames(candidates, effects, thresholds)
    renames = {}
    for cand, effect in chosen:
        renames[cand.new] = cand.old
        schema_rows[:] = [s for s in schema_rows if not (s["change"] in ("added", "dropped")
                                                         and s["column"] in (cand.old, cand.new))]
        detail = f"likely renamed from {cand.old!r} (name similarity {cand.name_similarity:.2f}"
        detail += f", distribution effect {effect:.3f})" if effect == effect else ")"
        schema_rows.append({"column": cand.new, "change": "renamed", "reference_dtype": None,
                            "current_dtype": None, "detail": detail, "partition": None, "previous": cand.old})
    return renames


def category_rows(records: list[dict], rule: DriftRule) -> list[dict]:
    """Category-set changes worth a schema row: new values above the expected rate of unseen
    ones by the rule's margin, or kept categories (≥ 1% of the reference) that vanished."""
    out = []
    for r in records:
        if r["scope"].kind != "all" or r["kind"] not in ("categorical", "boolean") or r["rename_candidate"]:
            continue
        parts = []
        new = r.get("new_category")
        if new and new["effect"] >= rule.new_category_share:
            parts.append("new: " + ", ".join(f"{v!r} ({c / new['n']:.1%})" for v, c in r.get("new_values", [])))
        ref = r["reference_counts"]
        shares = ref / max(int(ref.sum()), 1)
        gone = [f"{c!r} ({shares[i]:.1%})" for i, c in enumerate(r["categories"])
                if r["current_counts"][i] == 0 and shares[i] >= 0.01]
        if gone and r["n_cur"]:
            parts.append("vanished: " + ", ".join(gone))
        if parts:
            out.append({"column": r["column"], "change": "category_set_changed", "reference_dtype": None,
                        "current_dtype": None, "detail": "; ".join(parts), "partition": None})
    return out


def partition_rows(history: pl.DataFrame, schema_rows: list[dict]) -> list[dict]:
    """Changes between consecutive partitions of current, where they add to the reference comparison:
    a change already reported against the reference gets the partition where it started."""
    out = []
    for h in history.iter_rows(named=True):
        same = [s for s in schema_rows if s["column"] == h["column"] and s["change"] == h["change"]]
        if same:
            same[0]["partition"] = h["partition"]
            same[0]["detail"] += f"; from partition {h['partition']}"
        elif h["change"] != "renamed":
            out.append({**h})
    return out


def nullability_rows(records: list[dict]) -> list[dict]:
    out = []
    for r in records:
        if r["scope"].kind == "all" and not r["rename_candidate"]:
            ref_missing = r["missing_rate"]["reference"] if "missing_rate" in r else None
            if ref_missing == 0 and r["missing"] > 0:
                out.append({"column": r["column"], "change": "nullability_changed", "reference_dtype": None,
                            "current_dtype": None, "partition": None,
                            "detail": f"no missing values in the reference; {r['missing']:,} in current"})
    return out


# -- inputs and tables ------------------------------------------------------------------------
