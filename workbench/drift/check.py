"""``drift``: reference (or a saved profile) vs current, per column, window and segment."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from workbench.drift import compare as C
from workbench.drift.decide import decide, drift_findings
from workbench.drift.fit import (
    column_kind,
    counts_from_cumulative,
    hive_columns,
    input_summary,
    open_source,
    partition_files,
    plan_profile,
)
from workbench.drift.profile import NEW, OTHER, ColumnProfile, DriftProfile
from workbench.drift.rule import DriftRule
from workbench.drift.schema import choose_renames, compare_schemas, schema_history
from workbench.drift.summaries import (
    SEP,
    WINDOW,
    Agg,
    ColumnRead,
    Engine,
    Query,
    Source,
    bucketize,
    numeric_aggs,
    value_count_query,
)
from workbench.errors import InputError, did_you_mean
from workbench.findings.model import CheckResult, InputSummary
from workbench.io import FrameLike, check_time_column
from workbench.leakage.spec import parse_duration


@dataclass(frozen=True)
class Pair:
    """A current column compared against a reference column profile."""

    key: str
    current: str
    profile: ColumnProfile
    role: str | None = None
    rename_candidate: bool = False


def drift(
    reference: FrameLike | DriftProfile,
    current: FrameLike,
    *,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    timestamp: str | None = None,
    window: str | dt.timedelta | None = None,
    by: str | Sequence[str] = (),
    score: str | None = None,
    prediction: str | None = None,
    target: str | None = None,
    rule: DriftRule | None = None,
    n_bins: int = 10,
    max_categories: int = 20,
    engine: Engine | None = None,
    multivariate: bool = False,
    seed: int = 0,
) -> CheckResult:
    """Compare ``current`` with ``reference`` column by column; return findings and tables.

    Inputs: ``reference`` is any supported input or a :class:`DriftProfile` (from
    :func:`fit_profile`, possibly loaded from disk: the reference is then not read again);
    ``current`` is any supported input, including a directory or glob of parquet partitions
    whose schemas differ. ``columns``/``exclude`` choose the columns (default: every column of
    a supported dtype except ``timestamp``). With ``timestamp``, current is also split into
    windows of length ``window`` (default ``"1d"``; windows start at multiples of the length
    since 1970-01-01 UTC); ``by`` names segment columns, each value compared on its own.
    ``score``/``prediction`` and ``target`` mark the model's output and the label: their drift
    is reported as ``prediction_drift`` and ``label_drift``. ``multivariate=True`` adds the
    domain classifier of :func:`workbench.drift.domain_classifier` (needs scikit-learn and the
    reference data, not only a profile; finding ``multivariate_drift``, table ``drivers``).

    The decision rule is :class:`DriftRule` (documented in :mod:`workbench.drift.rule`).
    Finding kinds: ``distribution_drift``, ``prediction_drift``, ``label_drift``,
    ``missing_rate_change``, ``new_category``, ``out_of_range``, ``insufficient_data``,
    ``empty_window`` (no rows in a window between windows with data), ``column_skipped``,
    ``column_capped``, ``schema_added``, ``schema_dropped``, ``schema_renamed``,
    ``schema_type_changed``, ``schema_nullability_changed`` (and ``multivariate_drift``).

    Returns a :class:`~workbench.findings.CheckResult` (check ``"drift"``) with tables
    ``columns`` (one row per column × scope with every effect size, interval, test and status),
    ``tests`` (every test and its Benjamini–Hochberg q-value), ``bins`` (reference and current
    counts per bin), ``categories`` (new values and vanished categories, with shares) and
    ``schema`` (including ``category_set_changed`` rows).
    """
    rule = rule or DriftRule()
    if multivariate and (isinstance(reference, DriftProfile) or _is_profile_path(reference)):
        raise InputError("multivariate=True needs the reference data, not a saved profile (the classifier "
                         "trains on rows).")
    by_cols = [by] if isinstance(by, str) else list(by)
    roles = {"score": score, "prediction": prediction, "target": target}
    every = _window_length(window, timestamp)
    cur = open_source(current, name="current", engine=engine)
    plan = None
    if isinstance(reference, DriftProfile):
        profile = reference
    elif _is_profile_path(reference):
        profile = DriftProfile.load(reference)
    else:
        ref_exclude = [*exclude, *([timestamp] if timestamp else [])]
        labels = [c for c in (prediction, target) if c]
        plan = plan_profile(reference, columns=columns, exclude=ref_exclude, n_bins=n_bins,
                            max_categories=max_categories, categorical=labels, engine=engine)
        profile = plan.preliminary()  # enough to plan current's summaries; counted below
    _validate_roles(profile, cur.schema, timestamp, by_cols, roles, columns)

    partitioned = isinstance(current, str | Path) and len(partition_files(current)) > 1
    hive = hive_columns(current) if partitioned else []
    ignore = [c for c in (timestamp, *exclude, *hive) if c]
    schema_rows, candidates = compare_schemas(profile, cur.schema, ignore=ignore)
    if partitioned:
        schema_rows += _partition_rows(schema_history(current), schema_rows)
    pairs, skipped = _pairs(profile, cur.schema, candidates, roles, columns, [*exclude, *hive], timestamp)
    queries, assemble = _current_summaries(cur, pairs, by_cols, timestamp, every)
    if plan is None:
        results = cur.run(queries)
    else:
        # one after the other: running both scans at once was no faster and took 40% more memory
        profile = plan.finish(plan.src.run(plan.counts_queries()))
        results = cur.run(queries)
        pairs = [replace(p, profile=profile[p.profile.name]) for p in pairs]
    ref_input = InputSummary("reference", profile.rows, profile.source_columns, profile.fingerprint)
    summaries = assemble(results, pairs)
    if summaries.rows == 0:
        raise InputError("current is empty: there is nothing to compare with the reference.")

    rng = np.random.default_rng(seed)
    scopes = _scopes(summaries, by_cols, every, cur.schema.get(timestamp) if timestamp else None)
    records, bins, categories = [], [], []
    collapsed = {id(scope): _collapse(summaries.numeric, scope, summaries.keys) for scope in scopes}
    for pair in pairs:
        for scope in scopes:
            if scope.segment and pair.current in scope.segment:
                continue  # a segment column is constant within its own segments
            rec, b, cats = _compare_pair(pair, scope, collapsed[id(scope)], summaries, rule, rng)
            records.append(rec)
            bins += b
            categories += cats
    renames = _renames(candidates, records, schema_rows)
    records = [r for r in records if not r["rename_candidate"] or r["column"] in renames]
    schema_rows += _nullability_rows(records) + _category_rows(records, rule)
    tests, findings = decide(records, rule)
    findings += drift_findings(records, schema_rows, skipped, rule)
    cur_input = input_summary(current, cur, summaries.rows)
    extra_tables: dict[str, pl.DataFrame] = {}
    extra_params: dict[str, Any] = {}
    if multivariate:
        mv = _multivariate(reference, current, [*exclude, *hive, *(c for c in roles.values() if c)], seed)
        findings += list(mv.findings)
        extra_tables["drivers"] = mv.tables["drivers"]
        extra_params["multivariate"] = dict(mv.parameters)
    return CheckResult(
        check="drift",
        findings=tuple(findings),
        inputs=(ref_input, cur_input),
        parameters={"rule": rule.to_dict(), "n_bins": profile.n_bins, "max_categories": profile.max_categories,
                    "timestamp": timestamp, "window": every.total_seconds() if every else None, "by": by_cols,
                    "roles": {k: v for k, v in roles.items() if v}, "engine": cur.engine, "sampled": False,
                    "seed": seed, "skipped": skipped,
                    "profile": {"rows": profile.rows, "fingerprint": profile.fingerprint,
                                "edge_rows": profile.edge_rows, "created_at": profile.created_at}, **extra_params},
        tables={"columns": _columns_table(records), "tests": tests, "bins": _frame(bins, _BIN_SCHEMA),
                "categories": _frame(categories, _CATEGORY_SCHEMA),
                "schema": _frame(schema_rows, _SCHEMA_SCHEMA), **extra_tables},
    )


def _multivariate(reference: Any, current: Any, exclude: list[str], seed: int) -> CheckResult:
    try:
        from workbench.drift.multivariate import domain_classifier

        return domain_classifier(reference, current, exclude=exclude, seed=seed)
    except ModuleNotFoundError as exc:
        raise InputError(f"multivariate=True needs scikit-learn ({exc.name} is not installed): "
                         "pip install 'workbench[ml]'") from exc


# -- validation -------------------------------------------------------------------------------
def _window_length(window: str | dt.timedelta | None, timestamp: str | None) -> dt.timedelta | None:
    if window is not None and timestamp is None:
        raise InputError("window needs timestamp: name the current column that holds each row's time.")
    if timestamp is None:
        return None
    every = parse_duration(window or "1d", what="window")
    assert every is not None
    if every.total_seconds() <= 0 or every.total_seconds() * 1e6 != int(every.total_seconds() * 1e6):
        raise InputError(f"window must be a positive whole number of microseconds, got {window!r}.")
    return every


def _validate_roles(profile: DriftProfile, schema: pl.Schema, timestamp: str | None, by: list[str],
                    roles: dict[str, str | None], columns: Sequence[str] | None) -> None:
    problems = []
    if timestamp is not None and timestamp not in schema:
        problems.append(f"timestamp={timestamp!r} is not a column of current.{did_you_mean(timestamp, schema)}")
    for b in by:
        if b not in schema:
            problems.append(f"by={b!r} is not a column of current.{did_you_mean(b, schema)}")
    for role, col in roles.items():
        if col is not None and (col not in profile.columns or col not in schema):
            where = "the reference profile" if col not in profile.columns else "current"
            names = set(profile.columns) if col not in profile.columns else set(schema)
            problems.append(f"{role}={col!r} is not a column of {where}.{did_you_mean(col, names)}")
    if columns is not None:
        gone = [c for c in columns if c not in profile.columns and c not in profile.source_columns]
        if gone:
            problems.append(f"columns {gone} are not in the reference profile.")
    if problems:
        raise InputError(" ".join(problems) + f" Available columns of current: {sorted(schema)}")
    if timestamp is not None:
        check_time_column(schema, timestamp, name="current", role="timestamp")


# -- which columns are compared ---------------------------------------------------------------
def _pairs(profile: DriftProfile, schema: pl.Schema, candidates: list, roles: dict[str, str | None],
           columns: Sequence[str] | None, exclude: Sequence[str], timestamp: str | None,
           ) -> tuple[list[Pair], dict[str, str]]:
    role_of = {col: role for role, col in roles.items() if col}
    chosen = [c for c in profile.columns if (columns is None or c in columns) and c not in set(exclude)
              and c != timestamp]
    pairs, skipped = [], {}
    for c in chosen:
        if c not in schema:
            continue  # reported as dropped (and maybe renamed)
        if column_kind(schema[c]) is None:
            skipped[c] = f"current dtype {schema[c]} cannot be compared with the reference's {profile[c].dtype}"
            continue
        pairs.append(Pair(c, c, profile[c], role_of.get(c)))
    for cand in candidates[:50]:
        pairs.append(Pair(f"{cand.new}{SEP}as{SEP}{cand.old}", cand.new, profile[cand.old],
                          role_of.get(cand.old), rename_candidate=True))
    return pairs, skipped


# -- the summaries pass over current -----------------------------------------------------------
@dataclass(frozen=True)
class Summaries:
    """Current-side summaries: the numeric aggregates per group, the bucketed counts per
    categorical comparison, the raw value counts per categorical column, the group keys."""

    numeric: pl.DataFrame
    categorical: dict[str, pl.DataFrame]
    values: dict[str, pl.DataFrame]
    keys: list[str]
    rows: int


def _is_profile_path(reference: Any) -> bool:
    return isinstance(reference, str | Path) and str(reference).endswith(".profile.json")


Assemble = Callable[[list[pl.DataFrame], list[Pair]], "Summaries"]


def _current_summaries(cur: Source, pairs: list[Pair], by: list[str], timestamp: str | None,
                       every: dt.timedelta | None) -> tuple[list[Query], Assemble]:
    """The queries over current, and how to assemble their results into :class:`Summaries`."""
    reads = {p.current: ColumnRead(p.current, p.profile.kind, cur.schema[p.current]) for p in pairs}
    aggs = [Agg("rows", "rows")]
    for p in pairs:
        if p.profile.kind in ("numeric", "datetime"):
            lossless = cur.schema[p.current].is_numeric() or p.profile.kind == "datetime"
            aggs += numeric_aggs(p.current, p.profile.edges, p.profile.minimum, p.profile.maximum, prefix=p.key,
                                 lossless=lossless)
        else:
            aggs.append(Agg(f"{p.key}{SEP}nulls", "nulls", p.current))
    window_us = int(every.total_seconds() * 1_000_000) if every else None
    base = {"keys": tuple(by), "timestamp": timestamp, "window_us": window_us}
    queries = [Query(tuple(aggs), reads, **base)]  # type: ignore[arg-type]
    cats = [p for p in pairs if p.profile.kind in ("categorical", "boolean")]
    # one value-count query per current column, shared by its comparisons (renames included)
    distinct = list(dict.fromkeys(p.current for p in cats))
    queries += [value_count_query(reads[c], **base) for c in distinct]
    keys = ([WINDOW] if window_us else []) + by

    def assemble(results: list[pl.DataFrame], fitted: list[Pair]) -> Summaries:
        """Summaries from the query results; categories are bucketed with the fitted profiles."""
        numeric = results[0]
        counts = dict(zip(distinct, results[1:], strict=True))
        buckets = {p.key: bucketize(counts[p.current], p.profile.categories, p.profile.known)
                   for p in fitted if p.profile.kind in ("categorical", "boolean")}
        return Summaries(numeric, buckets, counts, keys, int(numeric["rows"].sum()) if numeric.height else 0)

    return queries, assemble


@dataclass(frozen=True)
class Scope:
    """Where a comparison applies: everything, one window, or one segment value."""

    kind: str  # "all", "window", "segment"
    filters: dict[str, Any]
    window: tuple[dt.datetime, dt.datetime] | None = None
    segment: dict[str, str] | None = None

    def mask(self, frame: pl.DataFrame) -> pl.Expr:
        expr = pl.lit(True)
        for k, v in self.filters.items():
            expr = expr & (pl.col(k).is_null() if v is None else (pl.col(k) == v))
        return expr

    @property
    def label(self) -> str:
        """'all', the window's start in ISO form, or 'column=value' for a segment."""
        if self.window:
            return self.window[0].isoformat()
        if self.segment:
            return ", ".join(f"{k}={v}" for k, v in self.segment.items())
        return "all"

    def to_scope(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.window:
            out["window"] = [self.window[0].isoformat(), self.window[1].isoformat()]
        if self.segment:
            out["segment"] = dict(self.segment)
        return out


MAX_WINDOWS = 10_000


def _scopes(s: Summaries, by: list[str], every: dt.timedelta | None, ts_dtype: Any) -> list[Scope]:
    """All of current, then every window from the first to the last (empty ones included, so a
    gap in the data is reported), then every segment value."""
    scopes = [Scope("all", {})]
    seen = [x for x in s.numeric[WINDOW].unique().to_list() if x is not None] if every is not None else []
    if seen:
        first, last = min(seen), max(seen)
        if last - first >= MAX_WINDOWS:
            raise InputError(f"current spans {last - first + 1:,} windows of {every}; choose a longer window "
                             f"(at most {MAX_WINDOWS:,} windows).")
        tz = getattr(ts_dtype, "time_zone", None)
        zone = dt.UTC if tz else None
        for w in range(first, last + 1):
            start = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + w * every
            if zone is None:
                start = start.replace(tzinfo=None)
            scopes.append(Scope("window", {WINDOW: w}, window=(start, start + every)))
    for b in by:
        for v in sorted(s.numeric[b].unique().to_list(), key=lambda x: (x is None, x)):
            scopes.append(Scope("segment", {b: v}, segment={b: v}))
    return scopes


def _collapse(frame: pl.DataFrame, scope: Scope, keys: list[str]) -> dict[str, Any]:
    """Sum the fine-grained summary rows of one scope (every current aggregate is a count or a sum)."""
    part = frame.filter(scope.mask(frame)) if scope.filters else frame
    return part.select(pl.exclude(keys).sum()).row(0, named=True)


# -- one comparison ---------------------------------------------------------------------------
def _compare_pair(pair: Pair, scope: Scope, row: dict[str, Any], s: Summaries, rule: DriftRule,
                  rng: np.random.Generator) -> tuple[dict, list[dict], list[dict]]:
    prof, k = pair.profile, pair.key
    rows = int(row["rows"] or 0)
    rec: dict[str, Any] = {"column": pair.current, "reference_column": prof.name, "role": pair.role,
                           "kind": prof.kind, "scope": scope, "rows": rows, "reference_rows": prof.rows,
                           "rename_candidate": pair.rename_candidate,
                           "categories": prof.categories}
    ref_counts = np.asarray(prof.counts, dtype=np.int64)
    if prof.kind in ("numeric", "datetime"):
        nulls = int(row[f"{k}{SEP}nulls"] or 0)
        missing = int(row.get(f"{k}{SEP}missing", nulls) or 0)
        valid = int(row[f"{k}{SEP}valid"] or 0)  # neither null, unparseable nor NaN
        cur_counts = counts_from_cumulative(row, k, len(prof.edges), valid)
        rec["unparsed"] = missing - nulls
        rec["missing"] = rows - valid
        total = row[f"{k}{SEP}sum"]
        rec["current_mean"] = total / valid if valid and total is not None and math.isfinite(total) else None
        rec["reference_mean"] = prof.mean
        if prof.minimum is not None and f"{k}{SEP}below" in row and valid:
            below = int(row[f"{k}{SEP}below"] or 0)
            above = valid - int(row[f"{k}{SEP}le_hi"] or 0)
            rec["out_of_range"] = C.compare_excess(below + above, valid, C.expected_out_of_range_share(prof),
                                                   rule.out_of_range_share, rule)
            rec["out_of_range"].update(below=below, above=above, low_value=prof.minimum, high_value=prof.maximum)
    else:
        counts = s.categorical[k]
        part = counts.filter(scope.mask(counts)) if scope.filters else counts
        by_bucket = dict(part.group_by("bucket").agg(pl.col("count").sum()).iter_rows())
        nulls = int(by_bucket.pop(None, 0) or 0)
        new = int(by_bucket.get(NEW, 0))
        cur_counts = np.array([by_bucket.get(c, 0) for c in prof.categories] + [by_bucket.get(OTHER, 0) + new],
                              dtype=np.int64)
        rec["missing"] = nulls
        rec["unparsed"] = 0
        rec["new"] = new
        valid = int(cur_counts.sum())
        if prof.known is not None and valid:
            rec["new_category"] = C.compare_new_categories(prof, new, valid, rule)
            rec["new_values"] = _new_values(s.values[pair.current], scope, prof.known) if new else []
    rec["valid"] = valid
    rec["note"] = _note(prof)
    if rows:
        rec["missing_rate"] = C.compare_missing(prof, rec["missing"], rows, rule)
    rec.update(C.compare_distribution(prof, ref_counts, cur_counts, rule, rng))
    rec["reference_counts"], rec["current_counts"] = ref_counts, cur_counts
    labels = prof.labels
    bins = [{"column": pair.current, "scope": scope.label, "bin": i, "label": labels[i],
             "reference_count": int(ref_counts[i]), "current_count": int(cur_counts[i])}
            for i in range(len(labels))] if not pair.rename_candidate else []
    cats = []
    if prof.kind in ("categorical", "boolean") and scope.kind == "all" and not pair.rename_candidate:
        n_ref, n_cur = max(int(ref_counts.sum()), 1), max(valid, 1)
        for i, c in enumerate(prof.categories):
            if cur_counts[i] == 0 and ref_counts[i] > 0:
                cats.append({"column": pair.current, "category": c, "status": "vanished",
                             "reference_share": ref_counts[i] / n_ref, "current_share": 0.0})
        for value, count in rec.get("new_values", []):
            cats.append({"column": pair.current, "category": value, "status": "new",
                         "reference_share": 0.0, "current_share": count / n_cur})
    return rec, bins, cats


def _new_values(counts: pl.DataFrame, scope: Scope, known: tuple[str, ...], top: int = 5) -> list[tuple[str, int]]:
    """The most frequent current values of a scope that the reference never had."""
    part = counts.filter(scope.mask(counts)) if scope.filters else counts
    new = part.filter(pl.col("value").is_not_null() & ~pl.col("value").is_in(list(known)))
    ranked = new.group_by("value").agg(pl.col("count").sum()).sort(["count", "value"], descending=[True, False])
    return [(str(v), int(c)) for v, c in ranked.head(top).iter_rows()]


def _note(prof: ColumnProfile) -> str | None:
    """What the binning left out, said plainly (capped categories, untracked new values)."""
    if prof.kind not in ("categorical", "boolean") or prof.distinct <= len(prof.categories):
        return None
    note = (f"{len(prof.categories)} most frequent of {prof.distinct:,} reference categories kept; "
            "the rest share one 'other' bin")
    if prof.known is None:
        note += "; new categories are not tracked (too many reference categories to remember)"
    return note



def _renames(candidates: list, records: list[dict], schema_rows: list[dict]) -> dict[str, str]:
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


def _category_rows(records: list[dict], rule: DriftRule) -> list[dict]:
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


def _partition_rows(history: pl.DataFrame, schema_rows: list[dict]) -> list[dict]:
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


def _nullability_rows(records: list[dict]) -> list[dict]:
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
_STATS = ("psi", "jensen_shannon", "total_variation", "ks", "wasserstein")


def _columns_table(records: list[dict]) -> pl.DataFrame:
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
    frame = pl.DataFrame(rows, infer_schema_length=None)
    return frame.with_columns(pl.col(c).cast(pl.Float64) for c in frame.columns
                              if c.startswith(_STATS) or c in ("effect_value", "effect_low", "effect_high",
                                                              "p_value", "q_value", "statistic"))


_BIN_SCHEMA = {"column": pl.String, "scope": pl.String, "bin": pl.Int64, "label": pl.String,
               "reference_count": pl.Int64, "current_count": pl.Int64}
_CATEGORY_SCHEMA = {"column": pl.String, "category": pl.String, "status": pl.String,
                    "reference_share": pl.Float64, "current_share": pl.Float64}
_SCHEMA_SCHEMA = {"column": pl.String, "change": pl.String, "reference_dtype": pl.String,
                  "current_dtype": pl.String, "detail": pl.String, "partition": pl.String}


def _frame(rows: list[dict], schema: dict) -> pl.DataFrame:
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema)
