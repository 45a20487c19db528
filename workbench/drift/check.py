"""``check_drift``: reference (or a saved profile) vs current, per column, window and segment."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from workbench import params
from workbench.drift import compare as C
from workbench.drift.clock import clock_columns, time_column_finding
from workbench.drift.decide import decide, drift_findings
from workbench.drift.fit import (
    column_kind,
    counts_from_cumulative,
    input_summary,
    open_input,
    plan_profile,
)
from workbench.drift.profile import ColumnProfile, DriftProfile
from workbench.drift.rule import DriftRule
from workbench.drift.schema import (
    apply_renames,
    category_rows,
    compare_schemas,
    nullability_rows,
    partition_rows,
)
from workbench.drift.scopes import (
    Pair,
    Scope,
    Summaries,
    bucket_counts,
    collapse,
    current_summaries,
    list_scopes,
    new_values,
)
from workbench.drift.summaries import ROWS, SEP, alias, new_bucket, other_bucket, run
from workbench.drift.tables import BIN_SCHEMA, CATEGORY_SCHEMA, SCHEMA_SCHEMA, columns_table, frame
from workbench.engine.frames import refuse_nested
from workbench.engine.inputs import FrameLike, check_time_column
from workbench.engine.partitions import hive_columns, partition_files, schema_history
from workbench.engine.reserved import PREFIX, refuse_reserved
from workbench.errors import ConfigError, InputError, did_you_mean
from workbench.findings.model import CheckResult, InputSummary
from workbench.metadata import install_hint


@params.renamed_keywords("n_bins", owner="check_drift")
def check_drift(
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
    bins: int = 10,
    max_categories: int = 20,
    multivariate: bool = False,
    seed: int = 0,
) -> CheckResult:
    """Compare ``current`` with ``reference`` column by column; return findings and tables.

    Inputs: ``reference`` is any supported input or a :class:`DriftProfile` (from
    :func:`fit_profile`, possibly loaded from disk: the reference is then not read again);
    ``current`` is any supported input, including a directory or glob of parquet partitions
    whose schemas differ. ``columns``/``exclude`` choose the columns (default: every column of
    a supported dtype except ``timestamp``). With ``timestamp``, current is also split into
    windows of length ``window`` (a duration > 0, default ``"1d"``; windows start at multiples of
    the length since 1970-01-01 UTC); ``by`` names segment columns, each value compared on its own.
    A current with fewer than ``rule.min_support`` rows, or none, is reported as ``insufficient_data``
    (never a silent pass; an empty reference is an error). Parameters are validated at the boundary
    (:mod:`workbench.params`): a wrong value raises :class:`~workbench.errors.ConfigError` naming it.
    ``score``/``prediction`` and ``target`` mark the model's output and the label: their drift
    is reported as ``prediction_drift`` and ``label_drift``. ``multivariate=True`` adds the
    domain classifier of :func:`workbench.drift.domain_classifier` (needs scikit-learn and the
    reference data, not only a profile; finding ``multivariate_drift``, table ``drivers``).

    The decision rule is :class:`DriftRule` (documented in :mod:`workbench.drift.rule`).
    Finding kinds: ``distribution_drift``, ``prediction_drift``, ``label_drift``,
    ``missing_rate_change``, ``new_category``, ``out_of_range``, ``insufficient_data``,
    ``empty_window`` (no rows in a window between windows with data), ``time_column`` (a datetime
    column other than ``timestamp`` whose current values lie mostly after the reference's: a clock, not
    compared; see :mod:`workbench.drift.clock`), ``column_skipped``,
    ``column_capped``, ``schema_added``, ``schema_dropped``, ``schema_renamed``,
    ``schema_type_changed``, ``schema_nullability_changed`` (and ``multivariate_drift``).
    A finding's ``n``/``n_reference`` count the values its shares are taken over: non-missing values
    for distribution, new-category and out-of-range findings; all rows of the scope for
    ``missing_rate_change`` (so ``affected_share = affected_rows / n`` throughout).

    Returns a :class:`~workbench.findings.CheckResult` (check ``"drift"``) with tables
    ``columns`` (one row per column × scope with every effect size, interval, test and status),
    ``tests`` (every test and its Benjamini–Hochberg q-value), ``bins`` (reference and current
    counts per bin), ``categories`` (new values and vanished categories, with shares) and
    ``schema`` (including ``category_set_changed`` rows).
    """
    args = _arguments(reference, columns=columns, exclude=exclude, timestamp=timestamp, window=window, by=by,
                      score=score, prediction=prediction, target=target, rule=rule, bins=bins,
                      max_categories=max_categories, multivariate=multivariate, seed=seed)
    cur = open_input(current, name="current")
    profile, plan = _reference_profile(reference, args)
    _validate_inputs(profile, plan, cur, args)
    partitioned = isinstance(current, str | Path) and len(partition_files(current)) > 1
    hive = hive_columns(current) if partitioned else []
    ignore = [c for c in (args.timestamp, *args.exclude, *hive) if c]
    schema_rows, candidates = compare_schemas(profile, cur.schema, ignore=ignore)
    if partitioned:
        schema_rows += partition_rows(schema_history(current), schema_rows)
    pairs, skipped = _pairs(profile, cur.schema, candidates, args.roles, args.columns, [*args.exclude, *hive],
                            args.timestamp)
    refuse_reserved([*(p.current for p in pairs), *args.by, *([args.timestamp] if args.timestamp else [])],
                    name="current")
    profile, pairs, summaries = _summaries(cur, plan, profile, pairs, args)
    records, bin_rows, categories = _compare(profile, pairs, summaries, cur.schema, args)
    clocks = clock_columns(records)  # time columns moving with the clock: a note, not a drift alarm
    records = [r for r in records if r["column"] not in clocks]
    renames = apply_renames(candidates, records, schema_rows)
    # a candidate pairing that was not chosen is no comparison at all: its current column is only
    # "added" and its reference column only "dropped" (never compared with each other)
    chosen = {p.key for p in pairs if (not p.rename_candidate or renames.get(p.current) == p.profile.name)
              and p.current not in clocks}
    records = [r for r in records if not r["rename_candidate"] or renames.get(r["column"]) == r["reference_column"]]
    for r in records:
        r["rename_candidate"] = False  # a chosen rename is compared like any other column from here on
    schema_rows += nullability_rows(records) + category_rows(records, args.rule)
    tests, findings = decide(records, args.rule)
    findings += drift_findings(records, schema_rows, skipped, args.rule, summaries.rows)
    findings += [time_column_finding(r, args.timestamp) for r in clocks.values()]
    extra_tables, extra_params = _multivariate_part(reference, current, summaries.rows, hive, args, findings)
    return CheckResult(
        check="drift",
        findings=tuple(findings),
        inputs=(InputSummary("reference", profile.rows, profile.source_columns, profile.fingerprint),
                input_summary(current, cur, summaries.rows)),
        parameters={"rule": args.rule.to_dict(), "bins": profile.n_bins, "max_categories": profile.max_categories,
                    "timestamp": args.timestamp, "window": args.every.total_seconds() if args.every else None,
                    "by": args.by, "roles": {k: v for k, v in args.roles.items() if v}, "engine": cur.engine,
                    "sampled": False, "seed": args.seed, "skipped": skipped,
                    "profile": {"rows": profile.rows, "fingerprint": profile.fingerprint,
                                "edge_rows": profile.edge_rows, "created_at": profile.created_at}, **extra_params},
        tables={"columns": columns_table(records), "tests": tests,
                "bins": frame([row for p in pairs if p.key in chosen for row in bin_rows[p.key]], BIN_SCHEMA),
                "categories": frame([row for p in pairs if p.key in chosen for row in categories[p.key]],
                                    CATEGORY_SCHEMA),
                "schema": frame(schema_rows, SCHEMA_SCHEMA), **extra_tables},
    )


# -- the steps ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Arguments:
    """check_drift's parameters, validated (:mod:`workbench.params`)."""

    columns: list[str] | None
    exclude: list[str]
    by: list[str]
    timestamp: str | None
    roles: dict[str, str | None]  # score, prediction, target -> column
    every: dt.timedelta | None  # the window length, with a timestamp
    rule: DriftRule
    bins: int
    max_categories: int
    multivariate: bool
    seed: int


def _arguments(reference: Any, *, columns: Sequence[str] | None, exclude: Sequence[str], timestamp: str | None,
               window: str | dt.timedelta | None, by: str | Sequence[str], score: str | None,
               prediction: str | None, target: str | None, rule: DriftRule | None, bins: int, max_categories: int,
               multivariate: bool, seed: int) -> _Arguments:
    """Validate every parameter; a wrong one raises ConfigError naming it."""
    owner = "check_drift"
    names = None if columns is None else params.column_names(columns, name="columns", owner=owner)
    timestamp, score, prediction, target = (params.column_name(v, name=k, owner=owner) for k, v in (
        ("timestamp", timestamp), ("score", score), ("prediction", prediction), ("target", target)))
    if rule is not None and not isinstance(rule, DriftRule):
        raise ConfigError(f"The 'rule' parameter of check_drift must be a DriftRule (or None for the defaults). "
                          f"Got {rule!r}.")
    multivariate = params.boolean(multivariate, name="multivariate", owner=owner)
    if multivariate and (isinstance(reference, DriftProfile) or _is_profile_path(reference)):
        raise ConfigError("multivariate=True needs the reference data, not a saved profile (the classifier "
                          "trains on rows).")
    return _Arguments(
        columns=names, exclude=params.column_names(exclude, name="exclude", owner=owner),
        by=params.column_names(by, name="by", owner=owner), timestamp=timestamp,
        roles={"score": score, "prediction": prediction, "target": target},
        every=_window_length(window, timestamp), rule=rule or DriftRule(),
        bins=params.count(bins, name="bins", minimum=2, owner=owner),
        max_categories=params.count(max_categories, name="max_categories", owner=owner),
        multivariate=multivariate, seed=params.count(seed, name="seed", minimum=0, owner=owner))


def _reference_profile(reference: Any, args: _Arguments) -> tuple[DriftProfile, Any]:
    """The reference's profile and, for reference data, the plan that counts it (``None`` for a saved profile).
    For data the profile is preliminary: enough to plan current's summaries; :func:`_summaries` counts it."""
    if isinstance(reference, DriftProfile):
        return reference, None
    if _is_profile_path(reference):
        return DriftProfile.load(reference), None
    exclude = [*args.exclude, *([args.timestamp] if args.timestamp else [])]
    labels = [c for c in (args.roles["prediction"], args.roles["target"]) if c]
    plan = plan_profile(reference, columns=args.columns, exclude=exclude, bins=args.bins,
                        max_categories=args.max_categories, categorical=labels, by=args.by)
    return plan.preliminary(), plan


def _validate_inputs(profile: DriftProfile, plan: Any, cur: Any, args: _Arguments) -> None:
    """The named columns against both inputs; a saved profile must have the segments asked for."""
    _validate_roles(profile, cur.schema, args.timestamp, args.by, args.roles, args.columns)
    _validate_exclude(args.exclude, profile, cur.schema)
    refuse_nested(cur, [*profile.columns, *args.by, args.timestamp], check="drift", excludable=True)
    unfitted = [b for b in args.by if b not in profile.segments and plan is None]
    if unfitted:
        raise InputError(f"the saved profile has no segment counts for by={unfitted}: fit it with "
                         f"fit_profile(..., by={args.by!r}) (CLI: --by when saving), so that each segment is "
                         "compared with the same segment of the reference.")


def _summaries(cur: Any, plan: Any, profile: DriftProfile, pairs: list[Pair],
               args: _Arguments) -> tuple[DriftProfile, list[Pair], Summaries]:
    """Current's summaries and, for reference data, the counted profile (the pairs then point at it)."""
    current_batch, assemble = current_summaries(cur, pairs, args.by, args.timestamp, args.every)
    if plan is not None:
        # one after the other: running both scans at once was no faster and took 40% more memory
        profile = plan.count()
        results = run(cur, current_batch, args.by)
        pairs = [replace(p, profile=profile[p.profile.name]) for p in pairs]
    else:
        results = run(cur, current_batch, args.by)
    return profile, pairs, assemble(results, pairs)


def _compare(profile: DriftProfile, pairs: list[Pair], summaries: Summaries, schema: pl.Schema,
             args: _Arguments) -> tuple[list[dict], dict[str, list], dict[str, list]]:
    """Every column pair in every scope (all rows, windows, segments): the comparison records, and per pair
    its bin rows and category rows."""
    scopes = list_scopes(summaries, args.by, args.every, schema.get(args.timestamp) if args.timestamp else None)
    records: list[dict] = []
    bin_rows: dict[str, list] = {}
    categories: dict[str, list] = {}
    collapsed = {id(scope): collapse(summaries.numeric, scope, summaries.keys) for scope in scopes}
    for pair in pairs:
        recs, bins, cats = [], [], []
        buckets = bucket_counts(summaries.categorical[pair.key], summaries.keys) \
            if pair.key in summaries.categorical else {}
        for scope in scopes:
            if scope.segment and pair.current in scope.segment:
                continue  # a segment column is constant within its own segments
            rec, b, c = _compare_pair(pair, _reference_for(profile, pair, scope), scope, collapsed[id(scope)],
                                      buckets.get(scope.key, {}), summaries, args.rule)
            recs.append(rec)
            bins += b
            cats += c
        # every scope of a column in one batch: one bootstrap draw for all its windows and segments
        ref_counts, cur_counts = np.stack([r["reference_counts"] for r in recs]), \
            np.stack([r["current_counts"] for r in recs])
        stats = C.compare_distributions(pair.profile, ref_counts, cur_counts, args.rule,
                                        C.counts_rng(args.seed, ref_counts, cur_counts))
        for rec, st in zip(recs, stats, strict=True):
            rec.update(st)
        records += recs
        bin_rows[pair.key], categories[pair.key] = bins, cats
    return records, bin_rows, categories


def _multivariate_part(reference: Any, current: Any, rows: int, hive: list[str], args: _Arguments,
                       findings: list) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
    """With ``multivariate``, the domain classifier's findings (appended to ``findings``), its ``drivers``
    table and its parameters; skipped, and said so, below the rule's ``min_support`` current rows."""
    if not args.multivariate:
        return {}, {}
    if rows < args.rule.min_support:
        return {}, {"multivariate": {"skipped": f"{rows} current rows, fewer than min_support="
                                                f"{args.rule.min_support}"}}
    mv = _multivariate(reference, current, [*args.exclude, *hive, *(c for c in args.roles.values() if c)], args.seed)
    findings += list(mv.findings)
    return {"drivers": mv.tables["drivers"]}, {"multivariate": dict(mv.parameters)}


def _multivariate(reference: Any, current: Any, exclude: list[str], seed: int) -> CheckResult:
    try:
        from workbench.drift.multivariate import domain_classifier

        return domain_classifier(reference, current, exclude=exclude, seed=seed)
    except ModuleNotFoundError as exc:
        raise InputError(f"multivariate=True needs scikit-learn ({exc.name} is not installed): "
                         f"{install_hint('ml')}") from exc


# -- validation -------------------------------------------------------------------------------
def _window_length(window: str | dt.timedelta | None, timestamp: str | None) -> dt.timedelta | None:
    """The window length (a duration > 0; one day by default), or ``None``
    when there is no ``timestamp`` to cut windows on."""
    every = None if window is None else params.positive_duration(window, name="window", owner="check_drift")
    if every is not None and timestamp is None:
        raise ConfigError("window needs timestamp: name the current column that holds each row's time.")
    if timestamp is None:
        return None
    return every or dt.timedelta(days=1)


def _validate_exclude(exclude: Sequence[str], profile: DriftProfile, schema: pl.Schema) -> None:
    """A name to leave out that is in neither input but close to a column is a typo (the column meant would be
    compared): refused with the close names. Other absent names are accepted (a column gone from both sides)."""
    known = {*profile.source_columns, *profile.columns, *schema}
    typos = {c: did_you_mean(c, known) for c in exclude if c not in known}
    typos = {c: hint for c, hint in typos.items() if hint}
    if typos:
        raise InputError(f"exclude={list(typos)} not found in the reference or current."
                         f"{''.join(typos.values())} Correct the names: as given, the column meant is compared.")


def _validate_roles(profile: DriftProfile, schema: pl.Schema, timestamp: str | None, by: list[str],
                    roles: dict[str, str | None], columns: Sequence[str] | None) -> None:
    problems = []
    if timestamp is not None and timestamp not in schema:
        problems.append(f"timestamp={timestamp!r} is not a column of current.{did_you_mean(timestamp, schema)}")
    for b in by:
        if b not in schema:
            problems.append(f"by={b!r} is not a column of current.{did_you_mean(b, schema)}")
    in_reference = False  # a problem names the reference: list its columns too
    for role, col in roles.items():
        if col is not None and (col not in profile.columns or col not in schema):
            sides = [side for side, names in (("the reference", profile.columns), ("current", schema))
                     if col not in names]
            in_reference |= sides[0] == "the reference"
            near = {*profile.columns, *schema} if len(sides) == 2 else set(profile.columns if sides[0] ==
                                                                            "the reference" else schema)
            problems.append(f"{role}={col!r} is not a column of {' or '.join(sides)}.{did_you_mean(col, near)}")
    if columns is not None:
        gone = [c for c in columns if c not in profile.columns and c not in profile.source_columns]
        if gone:
            problems.append(f"columns {gone} are not in the reference profile.")
    if problems:
        reference = f" Columns of the reference: {sorted(profile.columns)}." if in_reference else ""
        raise InputError(" ".join(problems) + f"{reference} Available columns of current: {sorted(schema)}")
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
    # an added column under a reserved name is only reported as added (never read)
    for cand in [c for c in candidates if not c.new.startswith(PREFIX)][:50]:
        pairs.append(Pair(f"{cand.new}{SEP}as{SEP}{cand.old}", cand.new, profile[cand.old],
                          role_of.get(cand.old), rename_candidate=True))
    return pairs, skipped


# -- the summaries pass over current -----------------------------------------------------------


def _is_profile_path(reference: Any) -> bool:
    return isinstance(reference, str | Path) and str(reference).endswith(".profile.json")


def _reference_for(profile: DriftProfile, pair: Pair, scope: Scope) -> ColumnProfile:
    """What a scope is compared with: the whole reference, or for a segment, the reference rows of
    the same segment (an empty profile when the reference has none)."""
    if not scope.segment:
        return pair.profile
    (b, v), = scope.segment.items()
    part = profile.segment(b, v, pair.profile.name)
    if part is not None:
        return part
    return replace(pair.profile, rows=0, nulls=0, nans=0, counts=(0,) * len(pair.profile.counts), singletons=0,
                   mean=None)


def _compare_pair(pair: Pair, prof: ColumnProfile, scope: Scope, row: dict[str, Any], buckets: dict[Any, int],
                  s: Summaries, rule: DriftRule) -> tuple[dict, list[dict], list[dict]]:
    """Compare one current column in one scope with its reference profile ``prof``: counts,
    missing rate, range and new categories (the distribution's statistics come in a batch)."""
    k = pair.key
    rows = int(row[ROWS] or 0)
    rec: dict[str, Any] = {"column": pair.current, "reference_column": prof.name, "role": pair.role,
                           "kind": prof.kind, "scope": scope, "rows": rows, "reference_rows": prof.rows,
                           "rename_candidate": pair.rename_candidate,
                           "categories": prof.categories}
    ref_counts = np.asarray(prof.counts, dtype=np.int64)
    if prof.kind in ("numeric", "datetime"):
        nulls = int(row[alias(k, "nulls")] or 0)
        missing = int(row.get(alias(k, "missing"), nulls) or 0)
        valid = int(row[alias(k, "valid")] or 0)  # neither null, unparseable nor NaN
        cur_counts = counts_from_cumulative(row, k, len(prof.edges), valid)
        rec["unparsed"] = missing - nulls
        rec["missing"] = rows - valid
        total = row[alias(k, "sum")]
        rec["current_mean"] = total / valid if valid and total is not None and math.isfinite(total) else None
        rec["reference_mean"] = prof.mean
        if prof.minimum is not None and alias(k, "below") in row and valid:
            below = int(row[alias(k, "below")] or 0)
            above = valid - int(row[alias(k, "le_hi")] or 0)
            rec["out_of_range"] = C.compare_excess(below + above, valid, C.expected_out_of_range_share(prof),
                                                   rule.out_of_range_share, rule)
            rec["out_of_range"].update(below=below, above=above, low_value=prof.minimum, high_value=prof.maximum)
    else:
        by_bucket = dict(buckets)
        nulls = int(by_bucket.pop(None, 0) or 0)
        new = int(by_bucket.get(new_bucket(prof.categories), 0))
        kept = [by_bucket.get(i, 0) for i in range(len(prof.categories))]
        cur_counts = np.array([*kept, by_bucket.get(other_bucket(prof.categories), 0) + new], dtype=np.int64)
        rec["missing"] = nulls
        rec["unparsed"] = 0
        rec["new"] = new
        valid = int(cur_counts.sum())
        if prof.known is not None and valid:
            rec["new_category"] = C.compare_new_categories(prof, new, valid, rule)
            rec["new_values"] = new_values(s.values[pair.current], scope, prof.known) if new else []
    rec["valid"] = valid
    rec["note"] = _note(prof)
    if rows:
        rec["missing_rate"] = C.compare_missing(prof, rec["missing"], rows, rule)
    rec["reference_counts"], rec["current_counts"] = ref_counts, cur_counts
    labels = prof.labels
    bins = [{"column": pair.current, "scope": scope.label, "bin": i, "label": labels[i],
             "reference_count": int(ref_counts[i]), "current_count": int(cur_counts[i])}
            for i in range(len(labels))]
    cats = []
    if prof.kind in ("categorical", "boolean") and scope.kind == "all":
        n_ref, n_cur = max(int(ref_counts.sum()), 1), max(valid, 1)
        for i, c in enumerate(prof.categories):
            if cur_counts[i] == 0 and ref_counts[i] > 0:
                cats.append({"column": pair.current, "category": c, "status": "vanished",
                             "reference_share": ref_counts[i] / n_ref, "current_share": 0.0})
        for value, count in rec.get("new_values", []):
            cats.append({"column": pair.current, "category": value, "status": "new",
                         "reference_share": 0.0, "current_share": count / n_cur})
    return rec, bins, cats


def _note(prof: ColumnProfile) -> str | None:
    """What the binning left out, said plainly (capped categories, untracked new values, a numeric
    spread beyond the float range)."""
    if prof.unscaled:
        return ("the reference's spread is beyond the float range (values near ±1.8e308 or infinite), so the "
                "scaled Wasserstein distance is not computed; total variation governs")
    if prof.kind not in ("categorical", "boolean") or prof.distinct <= len(prof.categories):
        return None
    note = (f"{len(prof.categories)} most frequent of {prof.distinct:,} reference categories kept; "
            "the rest share one 'other' bin")
    if prof.known is None:
        note += "; new categories are not tracked (too many reference categories to remember)"
    return note
