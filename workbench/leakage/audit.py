"""``audit_leakage``: the point-in-time leakage auditor, from inputs to a :class:`CheckResult`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from workbench.errors import ConfigError, InputError, did_you_mean
from workbench.findings.model import CheckResult, Finding
from workbench.io import (
    FrameLike,
    as_datetime,
    check_time_column,
    check_time_zones,
    require_columns,
    schema_of,
    summarize_input,
    to_lazy,
)
from workbench.leakage import checks, cumulative
from workbench.leakage.asof import ENGINES, Engine
from workbench.leakage.recompute import recompute_asof, recompute_static, recompute_window
from workbench.leakage.spec import AsOf, FeatureDecl, PointInTimeRule, Source, Static, WindowAggregate
from workbench.stats import auc_interval


@dataclass(frozen=True)
class _Prepared:
    """Validated inputs: lazy frames and the time zone every time column is cast to."""

    training: pl.LazyFrame
    training_schema: pl.Schema
    sources: dict[str, tuple[Source, pl.LazyFrame, pl.Schema]]
    time_zone: str | None


_ON_SPARK = "the leakage audit (its as-of joins run on polars or duckdb; Spark SQL has no ASOF JOIN)"


def audit_leakage(
    training: FrameLike,
    *,
    entity: str,
    prediction_time: str,
    target: str | None = None,
    features: Mapping[str, FeatureDecl] | None = None,
    sources: Mapping[str, Source] | None = None,
    feature_timestamps: Mapping[str, str] | None = None,
    split: str | None = None,
    train_value: str = "train",
    test_value: str = "test",
    rule: PointInTimeRule | None = None,
    proxy_auc: float = 0.9,
    engine: Engine | None = None,
    max_examples: int = 50,
) -> CheckResult:
    """Audit a training set for point-in-time leakage.

    Inputs: ``training`` has one row per (``entity``, ``prediction_time``) with the ``target``
    label, feature columns and optionally a ``split`` column (values ``train_value`` /
    ``test_value``). ``sources`` are the tables the features come from; ``features`` declares
    how each training column is meant to be computed from a source (:func:`window`,
    :func:`asof`, :func:`static`); ``feature_timestamps`` maps a feature to a training column
    holding the time its value was observed. ``rule`` is the point-in-time rule (default:
    strictly before the prediction time, on both the event and the available time). ``engine``
    runs the as-of joins: ``"polars"`` or ``"duckdb"``; by default duckdb when ``training`` is a
    duckdb relation, else polars (recorded in ``parameters["engine"]``).

    Checks: recompute-and-compare of declared features (``future_data``, ``non_asof_join``,
    ``late_arrival``, ``feature_mismatch``), feature timestamps (``future_data``), staleness
    against each as-of feature's TTL (``stale_feature``), lateness profile per source with an
    available time (``late_data_profile``), single-feature predictive power
    (``target_proxy``, AUC against ``proxy_auc``), split contamination
    (``split_entity_overlap``, ``split_time_overlap``) and duplicates (``duplicate_rows``).

    Returns a :class:`~workbench.findings.CheckResult` with check ``"leakage"``, the rule in
    ``parameters`` and the tables ``features``, ``lag_histogram``, ``examples``, ``lateness``,
    ``lateness_histogram``, ``proxy`` and ``checks``. Inputs are never modified.
    """
    rule = rule or PointInTimeRule()
    features = dict(features or {})
    sources = dict(sources or {})
    feature_timestamps = dict(feature_timestamps or {})
    if engine is None:
        engine = "duckdb" if type(training).__module__.split(".")[0] == "duckdb" else "polars"
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {list(ENGINES)}, got {engine!r}.")
    if not 0.5 < proxy_auc <= 1:
        raise ConfigError(f"proxy_auc must be in (0.5, 1], got {proxy_auc!r}.")

    prep = _prepare(training, entity=entity, prediction_time=prediction_time, target=target, split=split,
                    features=features, sources=sources, feature_timestamps=feature_timestamps)
    tz = prep.time_zone
    cutoff = pl.col("__pt") - rule.embargo if rule.embargo else pl.col("__pt")
    labels = (prep.training.with_row_index("__row")
              .select("__row", pl.col(entity).alias("__entity"),
                      as_datetime(prediction_time, prep.training_schema[prediction_time], tz).alias("__pt"))
              .with_columns(cutoff.alias("__cutoff")).collect())
    n = labels.height
    display = labels.select("__row", pl.col("__entity").alias("entity"), pl.col("__pt").alias("prediction_time"))

    findings: list[Finding] = []
    hists: list[pl.DataFrame] = []
    examples: list[pl.DataFrame] = []
    feature_rows: list[dict[str, Any]] = []
    status_rows: list[dict[str, str]] = []
    lineage: dict[str, str] = {}
    sorted_sources: dict[str, cumulative.SortedEvents] = {}

    def sorted_events(src_name: str) -> cumulative.SortedEvents:
        """Each event source is read and sorted once, for every feature and the lateness profile."""
        if src_name not in sorted_sources:
            source, src_lf, src_schema = prep.sources[src_name]
            declared = [d for d in features.values() if isinstance(d, WindowAggregate) and d.source == src_name]
            columns = sorted({d.column for d in declared if d.column})
            # running sums looked up at the cutoffs together: each window sum/count and the event count
            measures = sorted({(d.agg, d.column or "__time") for d in declared if d.agg in ("sum", "count")}
                              | {("count", "__time")})
            sorted_sources[src_name] = cumulative.SortedEvents.build(
                _event_frame(source, src_lf, src_schema, labels, tz, columns), tuple(measures))
        return sorted_sources[src_name]

    # 1. recompute and compare each declared feature (their training values read in one pass)
    declared_values = prep.training.select(list(features)).collect() if features else pl.DataFrame()
    for name, decl in features.items():
        source, src_lf, src_schema = prep.sources[decl.source]
        values = declared_values[name]
        per_row, age = _recompute(decl, name, labels, values, source, src_lf, src_schema, rule, tz, engine,
                                  sorted_events)
        shown = display.with_columns(values.alias("value"))
        f, h, e = checks.violation_findings(name, decl.describe(), rule.condition(), per_row, shown,
                                            max_examples=max_examples)
        findings += f
        hists += h
        examples += e
        counts = per_row["__status"].value_counts()
        count = dict(zip(counts["__status"], counts["count"], strict=True))
        stale_rows = 0
        if isinstance(decl, AsOf) and decl.ttl is not None and age is not None:
            stale = checks.staleness_finding(name, decl.ttl.total_seconds(), age, values.is_not_null())
            if stale is not None:
                findings.append(stale)
                stale_rows = stale.metrics["affected_rows"]
        violations = sum(v for k, v in count.items() if k != "ok")
        lineage[name] = "leaky" if any(count.get(k, 0) for k in checks.TIMING_KINDS) else (
            "clean" if violations == 0 else "mismatch")
        feature_rows.append({"feature": name, "declaration": decl.describe(), "rows": n,
                             **{k: int(count.get(k, 0)) for k in ("ok", *checks.VIOLATION_KINDS)},
                             "stale_feature": stale_rows})
    status_rows.append(_status("recompute", f"{len(features)} declared feature(s) recomputed"
                               if features else "skipped: no feature declarations given"))

    # 2. feature timestamps (seconds from the cutoff to each feature's timestamp, one pass)
    pt_cutoff = as_datetime(prediction_time, prep.training_schema[prediction_time], tz) - rule.embargo
    stamp_lags = prep.training.select(
        (as_datetime(col, prep.training_schema[col], tz) - pt_cutoff).dt.total_seconds(fractional=True).alias(name)
        for name, col in feature_timestamps.items()).collect() if feature_timestamps else pl.DataFrame()
    for name, ts_col in feature_timestamps.items():
        f, h = checks.timestamp_findings(name, ts_col, stamp_lags[name], n, strict=not rule.inclusive)
        findings += f
        hists += h
        if name not in lineage:
            lineage[name] = "leaky" if f else "clean"
    status_rows.append(_status("timestamps", f"{len(feature_timestamps)} feature timestamp column(s) checked"
                               if feature_timestamps else "skipped: no feature_timestamps given"))

    # 3. late-arriving data profile
    lateness_tables, lateness_hists = [], []
    for src_name, (source, _, _) in prep.sources.items():
        if source.time is None or source.available_time is None:
            continue
        f, table, hist = _lateness(src_name, sorted_events(src_name), labels, rule, engine)
        findings.append(f)
        lateness_tables.append(table)
        lateness_hists.append(hist)
    status_rows.append(_status("lateness", f"{len(lateness_tables)} source(s) profiled" if lateness_tables
                               else "skipped: no source with both a time and an available_time"))

    # 4. target proxy
    proxy_rows = []
    keys = {entity, prediction_time, target, split, *feature_timestamps.values()}
    if target is None:
        status_rows.append(_status("target_proxy", "skipped: no target given"))
    else:
        y_ok, reason = _binary_target(prep.training, target, prep.training_schema[target])
        if not y_ok:
            status_rows.append(_status("target_proxy", f"skipped: {reason}"))
        else:
            for col, dtype in prep.training_schema.items():
                if col in keys or isinstance(dtype, pl.Datetime | pl.Duration | pl.List | pl.Struct) \
                        or dtype in (pl.Date, pl.Time):
                    continue
                counts = checks.proxy_counts(prep.training, col, target, dtype)
                if not (dtype.is_numeric() or dtype == pl.Boolean) and counts.height > max(0.5 * n, 50):
                    proxy_rows.append({"feature": col, "auc": None, "lower": None, "upper": None, "n": n,
                                       "lineage": lineage.get(col, "none"), "status": "skipped: identifier-like"})
                    continue
                auc, n_pos, n_neg = checks.single_feature_auc(counts)
                line = lineage.get(col, "none")
                finding = checks.proxy_finding(col, auc, n_pos, n_neg, threshold=proxy_auc, lineage=line)
                lo, hi = auc_interval(auc, n_pos, n_neg)
                if min(n_pos, n_neg) < checks.MIN_CLASS_SUPPORT:
                    status = f"inconclusive: fewer than {checks.MIN_CLASS_SUPPORT} positives or negatives"
                else:
                    status = finding.metrics["suspicion"] if finding else "below threshold"
                proxy_rows.append({"feature": col, "auc": auc, "lower": lo, "upper": hi, "n": n_pos + n_neg,
                                   "lineage": line, "status": status})
                if finding is not None:
                    findings.append(finding)
            status_rows.append(_status("target_proxy", f"{len(proxy_rows)} column(s) scored"))

    # 5. split contamination and duplicates
    if split is not None:
        stats = _split_stats(prep.training, entity, prediction_time, split, train_value, test_value,
                             prep.training_schema, tz)
        if stats is None:
            status_rows.append(_status("split", f"skipped: '{split}' has no rows with value "
                                                f"{train_value!r} and {test_value!r}"))
        else:
            findings += checks.split_findings(stats, train=train_value, test=test_value, entity=entity)
            status_rows.append(_status("split", f"{train_value!r} vs {test_value!r} compared"))
    else:
        status_rows.append(_status("split", "skipped: no split column given"))
    findings += _duplicates(prep.training, entity, prediction_time, split, n)
    status_rows.append(_status("duplicates", "exact rows and (entity, prediction_time) keys checked"))

    inputs = [summarize_input(prep.training, name="training")]
    inputs += [summarize_input(lf, name=f"source:{name}") for name, (_, lf, _) in prep.sources.items()]
    return CheckResult(
        check="leakage", findings=tuple(findings), inputs=tuple(inputs),
        parameters={"rule": rule.to_dict(), "entity": entity, "prediction_time": prediction_time,
                    "target": target, "split": split, "engine": engine, "proxy_auc": proxy_auc,
                    "features": {k: v.describe() for k, v in features.items()},
                    "feature_timestamps": feature_timestamps, "sampled": False},
        tables={
            "features": _frame(feature_rows, {"feature": pl.String, "declaration": pl.String, "rows": pl.Int64,
                                              **{k: pl.Int64 for k in ("ok", *checks.VIOLATION_KINDS,
                                                                       "stale_feature")}}),
            "lag_histogram": _concat(hists, {"feature": pl.String, "kind": pl.String, "bin": pl.String,
                                             "lo_hours": pl.Float64, "hi_hours": pl.Float64, "rows": pl.Int64}),
            "examples": _concat(examples, None),
            "lateness": _concat(lateness_tables, None),
            "lateness_histogram": _concat(lateness_hists, None),
            "proxy": _frame(proxy_rows, {"feature": pl.String, "auc": pl.Float64, "lower": pl.Float64,
                                         "upper": pl.Float64, "n": pl.Int64, "lineage": pl.String,
                                         "status": pl.String}),
            "checks": _frame(status_rows, {"check": pl.String, "status": pl.String}),
        },
    )


# -- validation ----------------------------------------------------------------------------------

def _prepare(training: FrameLike, *, entity: str, prediction_time: str, target: str | None, split: str | None,
             features: dict[str, FeatureDecl], sources: dict[str, Source],
             feature_timestamps: dict[str, str]) -> _Prepared:
    lf = to_lazy(training, name="training", check=_ON_SPARK)
    schema = schema_of(lf, name="training")
    roles: dict[str, str | None] = {"entity": entity, "prediction_time": prediction_time, "target": target,
                                    "split": split}
    roles |= {f"feature {name!r}": name for name in features}
    roles |= {f"feature_timestamps[{k!r}]": v for k, v in feature_timestamps.items()}
    require_columns(schema, roles, name="training")
    times = [("training", prediction_time, check_time_column(schema, prediction_time, name="training",
                                                             role="prediction_time"))]
    for feat, col in feature_timestamps.items():
        if feat not in schema:
            raise InputError(f"feature_timestamps names feature {feat!r}, which is not a column of training."
                             f"{did_you_mean(feat, schema)}")
        times.append(("training", col, check_time_column(schema, col, name="training", role="feature timestamp")))
    _check_keys(lf, "training", [entity, prediction_time])

    prepared_sources: dict[str, tuple[Source, pl.LazyFrame, pl.Schema]] = {}
    for name, decl in features.items():
        if decl.source not in sources:
            raise ConfigError(f"feature {name!r} is declared on source {decl.source!r}, which was not given."
                              f"{did_you_mean(decl.source, sources)} Given sources: {sorted(sources)}.")
    for src_name, source in sources.items():
        if not isinstance(source, Source):
            raise ConfigError(f"sources[{src_name!r}] must be a workbench.leakage.Source, got "
                              f"{type(source).__name__}.")
        src_lf = to_lazy(source.data, name=f"source {src_name!r}", check=_ON_SPARK)
        src_schema = schema_of(src_lf, name=f"source {src_name!r}")
        used = {f"column of feature {f!r}": getattr(d, "column", None)
                for f, d in features.items() if d.source == src_name}
        require_columns(src_schema, {"entity": source.entity, "time": source.time,
                                     "available_time": source.available_time, **used},
                        name=f"source {src_name!r}")
        for role in ("time", "available_time"):
            col = getattr(source, role)
            if col is not None:
                times.append((src_name, col, check_time_column(src_schema, col, name=f"source {src_name!r}",
                                                               role=role)))
        _check_entity_dtype(schema[entity], src_schema[source.entity], entity, src_name, source.entity)
        _check_keys(src_lf, f"source {src_name!r}", [c for c in (source.entity, source.time) if c])
        for feat, decl in features.items():
            if decl.source != src_name:
                continue
            if isinstance(decl, WindowAggregate | AsOf) and source.time is None:
                raise ConfigError(f"feature {feat!r} is a {decl.kind} feature but source {src_name!r} has no time "
                                  "column; give Source(..., time=...) or declare it static().")
            if isinstance(decl, WindowAggregate) and decl.column is not None and decl.agg != "count" \
                    and not src_schema[decl.column].is_numeric():
                raise InputError(f"feature {feat!r}: {decl.agg} needs a numeric column but source {src_name!r} "
                                 f"column {decl.column!r} is {src_schema[decl.column]}.")
        prepared_sources[src_name] = (source, src_lf, src_schema)
    tz = check_time_zones(times)
    return _Prepared(lf, schema, prepared_sources, tz)


def _check_keys(lf: pl.LazyFrame, name: str, columns: list[str]) -> None:
    stats = lf.select(pl.len().alias("__n"), *[pl.col(c).null_count().alias(c) for c in columns]).collect()
    if name == "training" and stats["__n"][0] == 0:
        raise InputError("training is empty: there is nothing to audit.")
    for col in columns:
        nulls = int(stats[col][0])
        if nulls:
            raise InputError(f"{name}: {nulls:,} row(s) have a null {col!r}; keys and times must be set. "
                             f"Drop or fill them first, e.g. df.drop_nulls([{col!r}]).")


def _check_entity_dtype(train_dtype: pl.DataType, src_dtype: pl.DataType, entity: str, src: str,
                        src_entity: str) -> None:
    if train_dtype == src_dtype or (train_dtype.is_integer() and src_dtype.is_integer()):
        return
    raise InputError(f"entity types differ: training.{entity} is {train_dtype} but source {src!r}.{src_entity} is "
                     f"{src_dtype}; cast one of them so the keys can be joined.")


def _binary_target(lf: pl.LazyFrame, target: str, dtype: pl.DataType) -> tuple[bool, str]:
    if dtype == pl.Boolean:
        return True, ""
    if not dtype.is_numeric():
        return False, f"target {target!r} is {dtype}, not a binary label"
    values = lf.select(pl.col(target).drop_nulls().unique().sort().head(3)).collect().to_series().to_list()
    if set(values) <= {0, 1} and values:
        return True, ""
    return False, f"target {target!r} is not binary (values include {values})"


# -- per-feature recomputation -------------------------------------------------------------------

def _event_frame(source: Source, src_lf: pl.LazyFrame, src_schema: pl.Schema, labels: pl.DataFrame,
                 tz: str | None, columns: list[str]) -> pl.LazyFrame:
    """A source's ``columns`` with ``__entity, __time, __avail`` (available time never before the time)."""
    assert source.time is not None
    t = as_datetime(source.time, src_schema[source.time], tz)
    avail = t if source.available_time is None else pl.max_horizontal(
        t, as_datetime(source.available_time, src_schema[source.available_time], tz))
    return src_lf.with_columns(pl.col(source.entity).cast(labels.schema["__entity"]).alias("__entity"),
                               t.alias("__time"), avail.alias("__avail")).select("__entity", "__time", "__avail",
                                                                                 *columns)


def _recompute(decl: FeatureDecl, name: str, labels: pl.DataFrame, values: pl.Series, source: Source,
               src_lf: pl.LazyFrame, src_schema: pl.Schema, rule: PointInTimeRule, tz: str | None,
               engine: Engine, sorted_events: Callable[[str], cumulative.SortedEvents]
               ) -> tuple[pl.DataFrame, pl.Series | None]:
    src_entity = pl.col(source.entity).cast(labels.schema["__entity"])
    if isinstance(decl, Static):
        x_dtype = src_schema[decl.column]
        lab = labels.lazy().with_columns(values.cast(x_dtype, strict=False).alias("__train"))
        attrs = src_lf.select(src_entity.alias("__entity"), pl.col(decl.column).alias("__x"))
        per_row = recompute_static(lab, attrs, decl, numeric=x_dtype.is_numeric()).collect()
        return per_row.sort("__row"), None
    if isinstance(decl, WindowAggregate):
        if not (values.dtype.is_numeric() or values.dtype == pl.Null):
            raise InputError(f"feature {name!r} is declared as {decl.describe()} but its training column is "
                             f"{values.dtype}, not numeric.")
        lab = labels.lazy().with_columns(values.cast(pl.Float64).alias("__train"))
        events = sorted_events(decl.source)
        column = decl.column or "__time"
        if cumulative.supports(decl, events.by_time, column):
            per_row = cumulative.recompute_window_cumulative(lab, events, decl, rule, engine=engine,
                                                             column=column).collect()
        else:
            prepared = events.by_time.lazy().select("__entity", "__time", "__avail", pl.col(column).alias("__x"))
            per_row = recompute_window(lab, prepared, decl, rule).collect()
        return per_row.sort("__row"), None
    prepared = _event_frame(source, src_lf, src_schema, labels, tz, [decl.column]).rename({decl.column: "__x"})
    x_dtype = src_schema[decl.column]
    lab = labels.lazy().with_columns(values.cast(x_dtype, strict=False).alias("__train"))
    per_row = recompute_asof(lab, prepared, decl, rule, numeric=x_dtype.is_float(), engine=engine).collect()
    per_row = per_row.sort("__row")
    return per_row.drop("__age_s"), per_row["__age_s"]


# -- lateness, split, duplicates -----------------------------------------------------------------

def _lateness(src_name: str, events: cumulative.SortedEvents, labels: pl.DataFrame, rule: PointInTimeRule,
              engine: Engine) -> tuple[Finding, pl.DataFrame, pl.DataFrame]:
    lateness = events.by_time.select((pl.col("__avail") - pl.col("__time")).dt.total_seconds(fractional=True)) \
        .to_series()
    # Events that had happened / had become available by each cutoff (running counts looked up
    # as of it; shared with count features of the same source).
    strict = not rule.inclusive
    base = labels.lazy()
    happened = events.at_cutoff(base, "time", "count", "__time", strict=strict, engine=engine)
    available = events.at_cutoff(base, "avail", "count", "__time", strict=strict, engine=engine)
    both = happened.join(available, on="__row", suffix="_a")
    totals = {"h": both["__sum"].sum(), "u": (both["__sum"] - both["__sum_a"]).clip(0).sum()}
    return checks.lateness_profile(src_name, lateness, int(totals["h"]), int(totals["u"]))


def _split_stats(lf: pl.LazyFrame, entity: str, prediction_time: str, split: str, train: str, test: str,
                 schema: pl.Schema, tz: str | None) -> dict[str, Any] | None:
    pt = as_datetime(prediction_time, schema[prediction_time], tz)
    sides = lf.select(pl.col(entity), pt.alias("__pt"), pl.col(split).cast(pl.String).alias("__split"))
    tr = sides.filter(pl.col("__split") == train)
    te = sides.filter(pl.col("__split") == test)
    ranges = pl.concat([tr.select(pl.lit("train").alias("side"), pl.col("__pt").min().alias("lo"),
                                  pl.col("__pt").max().alias("hi"), pl.len().alias("rows"),
                                  pl.col(entity).n_unique().alias("entities")),
                        te.select(pl.lit("test").alias("side"), pl.col("__pt").min().alias("lo"),
                                  pl.col("__pt").max().alias("hi"), pl.len().alias("rows"),
                                  pl.col(entity).n_unique().alias("entities"))]).collect()
    r = {row["side"]: row for row in ranges.to_dicts()}
    if r["train"]["rows"] == 0 or r["test"]["rows"] == 0:
        return None
    train_entities = tr.select(pl.col(entity)).unique()
    shared = te.join(train_entities, on=entity, how="semi")
    shared_stats = shared.select(pl.col(entity).n_unique().alias("e"), pl.len().alias("rows")).collect()
    start = max(r["train"]["lo"], r["test"]["lo"])
    end = min(r["train"]["hi"], r["test"]["hi"])
    overlap = start <= end
    in_overlap = pl.col("__pt").is_between(start, end) if overlap else pl.lit(False)
    counts = pl.concat([te.select(in_overlap.sum().alias("n")), tr.select(in_overlap.sum().alias("n"))]).collect()
    return {
        "train_entities": int(r["train"]["entities"]), "test_entities": int(r["test"]["entities"]),
        "shared_entities": int(shared_stats["e"][0]), "test_rows_shared": int(shared_stats["rows"][0]),
        "test_rows": int(r["test"]["rows"]), "train_rows": int(r["train"]["rows"]),
        "overlap_start": start if overlap else None, "overlap_end": end if overlap else None,
        "test_rows_in_overlap": int(counts["n"][0]), "train_rows_in_overlap": int(counts["n"][1]),
    }


def _duplicates(lf: pl.LazyFrame, entity: str, prediction_time: str, split: str | None, n: int) -> list[Finding]:
    content = [c for c in lf.collect_schema() if c != split]
    groups = lf.group_by(content).agg(pl.len().alias("copies"),
                                      (pl.col(split).n_unique() if split else pl.lit(1)).alias("sides"))
    exact = groups.select((pl.col("copies") - 1).sum().alias("extra"),
                          pl.when(pl.col("sides") > 1).then(pl.col("copies")).otherwise(0).sum().alias("cross"))
    keys = lf.group_by([entity, prediction_time]).agg(pl.len().alias("c")).select((pl.col("c") - 1).sum())
    exact_df, keys_df = pl.collect_all([exact, keys])
    key_extra = int(keys_df.item() or 0)
    exact_extra = int(exact_df["extra"][0] or 0)
    # An exact duplicate repeats its key too; report keys only beyond the exact duplicates.
    return checks.duplicate_findings(exact_extra, int(exact_df["cross"][0] or 0), key_extra - exact_extra, n,
                                     f"({entity}, {prediction_time})")


# -- helpers -------------------------------------------------------------------------------------

def _status(check: str, status: str) -> dict[str, str]:
    return {"check": check, "status": status}


def _frame(rows: list[dict[str, Any]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def _concat(frames: list[pl.DataFrame], schema: dict[str, pl.DataType] | None) -> pl.DataFrame:
    if frames:
        return pl.concat(frames, how="diagonal_relaxed")
    return pl.DataFrame(schema=schema) if schema else pl.DataFrame()
