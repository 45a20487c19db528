"""``audit_leakage``: the point-in-time leakage auditor, from inputs to a :class:`CheckResult`."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import narwhals as nw
import polars as pl

from workbench import params
from workbench.engine._spark import error_line, refuse_nested
from workbench.engine.frames import Engine as FrameEngine
from workbench.engine.frames import Frame, Store, collect_on, count, frame_summary, open_frame, polars_frame, with_epoch
from workbench.engine.inputs import (
    FrameLike,
    as_datetime,
    check_time_column,
    check_time_zones,
    require_columns,
)
from workbench.errors import ConfigError, InputError, did_you_mean
from workbench.findings.model import CheckResult, Finding
from workbench.leakage import checks, cumulative, portable
from workbench.leakage.asof import Engine
from workbench.leakage.internal import refuse_reserved
from workbench.leakage.recompute import recompute_asof, recompute_static, recompute_window
from workbench.leakage.spec import AsOf, FeatureDecl, PointInTimeRule, Source, Static, WindowAggregate
from workbench.stats import auc_interval

ENGINES = ("polars", "duckdb", "spark")


@dataclass(frozen=True)
class _Prepared:
    """Validated inputs on one engine, and the time zone every time column is cast to."""

    training: Frame
    sources: dict[str, tuple[Source, Frame]]
    time_zone: str | None

    @property
    def engine(self) -> FrameEngine:
        return self.training.engine


CHECK_NAME = checks.CHECK_NAME
MIN_ROWS = 2 * checks.MIN_CLASS_SUPPORT  # below this, an insufficient_data finding says so
_NESTED = (pl.List, pl.Struct, pl.Array)


def audit_leakage(
    training: FrameLike,
    *,
    entity: str,
    prediction_time: str,
    target: str | None = None,
    positive: Any = None,
    features: Mapping[str, FeatureDecl] | None = None,
    sources: Mapping[str, Source] | None = None,
    feature_timestamps: Mapping[str, str] | None = None,
    split: str | None = None,
    train_value: str = "train",
    test_value: str = "test",
    rule: PointInTimeRule | None = None,
    proxy_auc: float = 0.9,
    engine: str | None = None,
    max_examples: int = 50,
) -> CheckResult:
    """Audit a training set for point-in-time leakage.

    Inputs: ``training`` has one row per (``entity``, ``prediction_time``) with the ``target``
    label (binary: boolean or 0/1, or any values with ``positive``, the value that is the
    positive class), feature columns and optionally a ``split`` column (values ``train_value`` /
    ``test_value``). ``sources`` are the tables the features come from; ``features`` declares
    how each training column is meant to be computed from a source (:func:`window`,
    :func:`asof`, :func:`static`); ``feature_timestamps`` maps a feature to a training column
    holding the time its value was observed. ``rule`` is the point-in-time rule (default:
    strictly before the prediction time, on both the event and the available time).

    Where it runs (``engine``, recorded in ``parameters["engine"]``): a Spark DataFrame on Spark
    and a duckdb relation on duckdb, with every source on the same engine (their as-of lookups
    are window functions there; only summaries come back); anything else on polars. With polars
    inputs, ``engine="duckdb"`` runs the as-of joins in duckdb; with a duckdb relation,
    ``engine="polars"`` reads the inputs through polars.

    Checks: recompute-and-compare of declared features (``future_data``, ``non_asof_join``,
    ``late_arrival``, ``feature_mismatch``), feature timestamps (``future_data``), staleness
    against each as-of feature's TTL (``stale_feature``), lateness profile per source with an
    available time (``late_data_profile``), target proxies (``target_proxy``: an AUC at or above
    ``proxy_auc`` alone is info; separation, sentinel values or timing evidence escalate it, see
    :func:`checks.proxy_finding`), split contamination (``split_entity_overlap``,
    ``split_time_overlap``) and duplicates (``duplicate_rows``). A check asked for that cannot run
    is a ``check_skipped`` warning; too little data an ``insufficient_data`` info.

    Returns a :class:`~workbench.findings.CheckResult` with check ``"leakage"``, the rule in
    ``parameters`` and the tables ``features``, ``lag_histogram``, ``examples``, ``lateness``,
    ``lateness_histogram``, ``proxy`` and ``checks``. Inputs are never modified.
    """
    _check_parameters(entity=entity, prediction_time=prediction_time, target=target, split=split,
                      train_value=train_value, test_value=test_value, features=features, sources=sources,
                      feature_timestamps=feature_timestamps, rule=rule, proxy_auc=proxy_auc, engine=engine,
                      max_examples=max_examples)
    rule = rule or PointInTimeRule()
    features = dict(features or {})
    sources = dict(sources or {})
    feature_timestamps = dict(feature_timestamps or {})
    frame = _open(training, "training", engine)
    asof_engine: Engine = "duckdb" if frame.engine == "polars" and engine == "duckdb" else "polars"
    prep = _prepare(frame, entity=entity, prediction_time=prediction_time, target=target, split=split,
                    features=features, sources=sources, feature_timestamps=feature_timestamps)
    store = Store(prep.engine, frame.lf.to_native() if prep.engine == "duckdb" else None, truncate=True)
    try:
        return _audit(prep, store, entity=entity, prediction_time=prediction_time, target=target, positive=positive,
                      features=features,
                      feature_timestamps=feature_timestamps, split=split, train_value=train_value,
                      test_value=test_value, rule=rule, proxy_auc=proxy_auc, asof_engine=asof_engine,
                      max_examples=max_examples)
    finally:
        store.release()


def _audit(prep: _Prepared, store: Store, *, entity: str, prediction_time: str, target: str | None, positive: Any,
           features: dict[str, FeatureDecl], feature_timestamps: dict[str, str], split: str | None,
           train_value: str, test_value: str, rule: PointInTimeRule, proxy_auc: float, asof_engine: Engine,
           max_examples: int) -> CheckResult:
    where, tz = prep.engine, prep.time_zone
    training = prep.training
    labels = _keep(store, _labels(training, entity, prediction_time, list(features), feature_timestamps, split, rule),
                   "training")
    n = int(collect_on(labels.select(nw.len().alias("__wb_n")), where, "training", check=CHECK_NAME).item())
    key = ["__wb_rn"] if where == "polars" else portable.ROW
    row = nw.col("__wb_rn") if where == "polars" else nw.lit(None, nw.Int64)
    labels_pl = _polars_labels(labels, tz) if where == "polars" else None

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
            assert labels_pl is not None
            source, src = prep.sources[src_name]
            declared = [d for d in features.values() if isinstance(d, WindowAggregate) and d.source == src_name]
            columns = sorted({d.column for d in declared if d.column})
            # running sums looked up at the cutoffs together: each window sum/count and the event count
            measures = sorted({(d.agg, d.column or "__wb_time") for d in declared if d.agg in ("sum", "count")}
                              | {("count", "__wb_time")})
            sorted_sources[src_name] = cumulative.SortedEvents.build(
                _event_frame(source, src.lf.to_native(), src.schema, labels_pl, tz, columns), tuple(measures))
        return sorted_sources[src_name]

    # 1. recompute and compare each declared feature
    for name, decl in features.items():
        source, src = prep.sources[decl.source]
        _check_feature_dtype(name, decl, training.schema[name])
        if where == "polars":
            assert labels_pl is not None
            values = labels.to_native().select(name).collect().to_series()
            per_row = _recompute_polars(decl, values, labels_pl, source, src, rule, tz, asof_engine, sorted_events)
        else:
            def keep(lf: nw.LazyFrame, what: str = f"feature {name!r}") -> nw.LazyFrame:
                return _keep(store, lf, what)

            with _engine_errors(f"feature {name!r}", where):
                per_row = keep(_recompute_on_engine(decl, name, labels, source, src, rule, keep))
        display = labels.select(*dict.fromkeys([*key, "__wb_entity"]), "__wb_pt", nw.col(name).alias("__wb_value"),
                                row.alias("__wb_row"))
        shown = per_row.join(display, on=key, how="left")
        f, h, e, count = checks.violation_findings(name, decl.describe(), rule.condition(), shown, where, n=n,
                                                   time_zone=tz, max_examples=max_examples)
        findings += f
        hists += h
        examples += e
        stale_rows = 0
        if isinstance(decl, AsOf) and decl.ttl is not None:
            stale = checks.staleness_finding(name, decl.ttl.total_seconds(), shown, where, n=n, time_zone=tz,
                                             max_examples=max_examples)
            if stale is not None:
                findings.append(stale[0])
                examples.append(stale[1])
                stale_rows = stale[0].metrics["affected_rows"]
        violations = sum(v for k, v in count.items() if k != "ok")
        lineage[name] = "leaky" if any(count.get(k, 0) for k in checks.TIMING_KINDS) else (
            "clean" if violations == 0 else "mismatch")
        feature_rows.append({"feature": name, "declaration": decl.describe(), "rows": n,
                             **{k: int(count.get(k, 0)) for k in ("ok", *checks.VIOLATION_KINDS)},
                             "stale_feature": stale_rows})
    status_rows.append(_status("recompute", f"{len(features)} declared feature(s) recomputed"
                               if features else "skipped: no feature declarations given"))

    # 2. feature timestamps (seconds from the cutoff to each feature's timestamp)
    for i, (name, ts_col) in enumerate(feature_timestamps.items()):
        lags = labels.select(portable.seconds(nw.col(f"__wb_ts{i}") - nw.col("__wb_cutoff")).alias("__wb_lag_s"))
        f, h = checks.timestamp_findings(name, ts_col, lags, where, n=n, strict=not rule.inclusive)
        findings += f
        hists += h
        if name not in lineage:
            lineage[name] = "leaky" if f else "clean"
    status_rows.append(_status("timestamps", f"{len(feature_timestamps)} feature timestamp column(s) checked"
                               if feature_timestamps else "skipped: no feature_timestamps given"))

    # 3. late-arriving data profile
    lateness_tables, lateness_hists = [], []
    for src_name, (source, src) in prep.sources.items():
        if source.time is None or source.available_time is None:
            continue
        if where == "polars":
            assert labels_pl is not None
            lateness, happened, unavailable = _lateness_polars(sorted_events(src_name), labels_pl, rule, asof_engine)
        else:
            with _engine_errors(f"source {src_name!r}", where):
                lateness, happened, unavailable = _lateness_on_engine(labels, _events(source, src, None), rule,
                                                                      where, src_name)
        f, table, hist = checks.lateness_profile(src_name, lateness, where, happened, unavailable)
        findings.append(f)
        lateness_tables.append(table)
        lateness_hists.append(hist)
    status_rows.append(_status("lateness", f"{len(lateness_tables)} source(s) profiled" if lateness_tables
                               else "skipped: no source with both a time and an available_time"))

    # 4. target proxy
    proxy_rows: list[dict[str, Any]] = []
    if target is None:
        status_rows.append(_status("target_proxy", "skipped: no target given"))
    else:
        y, reason = _binary_target(training, target, positive)
        if y is None:  # asked for, and unable: a finding, so that the run is not a clean pass
            findings.append(_skipped("target_proxy", n, f"target {target!r} {reason}",
                                     f"Give positive=<the value of {target!r} that is the positive class> "
                                     "(YAML: positive: ..., CLI: --positive ...); rows with any other value are "
                                     "the negatives."))
            status_rows.append(_status("target_proxy", f"skipped: target {target!r} {reason}"))
        else:
            keys = {entity, prediction_time, target, split, *feature_timestamps.values()}
            proxy_rows, proxy_findings, (n_pos, n_neg) = _proxies(training, target, y, keys, lineage, proxy_auc)
            findings += proxy_findings
            if min(n_pos, n_neg) < checks.MIN_CLASS_SUPPORT:
                findings.append(_insufficient(target, n_pos + n_neg, f"the label {target!r} has {n_pos:,} positive(s) "
                                              f"and {n_neg:,} negative(s): single-feature AUCs need at least "
                                              f"{checks.MIN_CLASS_SUPPORT} of each, so the target-proxy check can "
                                              "only report near-deterministic separation and sentinel values",
                                              "Audit a larger sample, or one with both classes."))
            status_rows.append(_status("target_proxy", f"{len(proxy_rows)} column(s) scored"))

    # 5. split contamination and duplicates
    if split is not None:
        stats = _split_stats(labels, training, train_value, test_value, tz)
        if stats is None:
            seen = _values(training, split)
            reason = f"'{split}' has no rows with value {train_value!r} or none with {test_value!r}"
            findings.append(_skipped("split", n, f"{reason} (its values include {seen})",
                                     f"Give train_value= and test_value= (CLI: --train-value, --test-value) as "
                                     f"two of the values of {split!r}."))
            status_rows.append(_status("split", f"skipped: {reason}"))
        else:
            findings += checks.split_findings(stats, train=train_value, test=test_value, entity=entity)
            status_rows.append(_status("split", f"{train_value!r} vs {test_value!r} compared"))
    else:
        status_rows.append(_status("split", "skipped: no split column given"))
    dup_findings, dup_status = _duplicates(training, entity, prediction_time, split, n, train_value=train_value,
                                           test_value=test_value)
    findings += dup_findings
    status_rows.append(_status("duplicates", dup_status))

    if n < MIN_ROWS:
        findings.append(_insufficient("training", n, f"training has {n:,} row(s): the point-in-time checks ran on "
                                      f"them, but the statistical checks (target proxy, split overlap shares) need "
                                      f"at least {MIN_ROWS}", "Audit the full training set, not a sample of it."))
    inputs = [frame_summary(training)] + [frame_summary(src) for _, src in prep.sources.values()]
    return CheckResult(
        check="leakage", findings=tuple(findings), inputs=tuple(inputs),
        parameters={"rule": rule.to_dict(), "entity": entity, "prediction_time": prediction_time,
                    "target": target, "positive": positive, "split": split,
                    "engine": asof_engine if where == "polars" else where,
                    "proxy_auc": proxy_auc, "features": {k: v.describe() for k, v in features.items()},
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
                                         "upper": pl.Float64, "n": pl.Int64, "separation": pl.Float64,
                                         "lineage": pl.String, "status": pl.String}),
            "checks": _frame(status_rows, {"check": pl.String, "status": pl.String}),
        },
    )


@contextmanager
def _engine_errors(name: str, engine: FrameEngine, doing: str = "build its queries") -> Iterator[None]:
    """Report an engine's error as an InputError naming the input: a refusal while building
    queries that join inputs (duckdb refuses relations of two connections), or a source failing
    while a result is kept (e.g. a deleted parquet partition)."""
    try:
        yield
    except InputError:
        raise
    except Exception as exc:  # each engine raises its own error types
        hint = ""
        if "different connections" in str(exc):
            hint = " Create the training set and every source from one duckdb connection."
        raise InputError(f"{name}: {CHECK_NAME} could not {doing} on {engine}: {error_line(exc)}{hint}") from None


def _keep(store: Store, lf: nw.LazyFrame, name: str) -> nw.LazyFrame:
    """``store.keep``, reporting a failing source by name."""
    with _engine_errors(name, store.engine, "compute its summaries"):
        return store.keep(lf)


# -- inputs and validation -------------------------------------------------------------------------

_OWNER = "audit_leakage"


def _check_parameters(*, entity: Any, prediction_time: Any, target: Any, split: Any, train_value: Any,
                      test_value: Any, features: Any, sources: Any, feature_timestamps: Any, rule: Any,
                      proxy_auc: Any, engine: Any, max_examples: Any) -> None:
    """Refuse a parameter of the wrong kind before any data is read, naming it and the fix."""
    for name, value, optional in (("entity", entity, False), ("prediction_time", prediction_time, False),
                                  ("target", target, True), ("split", split, True),
                                  ("train_value", train_value, False), ("test_value", test_value, False)):
        if not (isinstance(value, str) and value) and not (optional and value is None):
            kind = "a column name (text)" if name not in ("train_value", "test_value") else \
                "a value of the split column as text (e.g. '1' for 1)"
            raise ConfigError(f"The {name!r} parameter of {_OWNER} must be {kind}"
                              f"{' or None' if optional else ''}. Got {value!r}.")
    if train_value == test_value:
        raise ConfigError(f"The 'train_value' and 'test_value' parameters of {_OWNER} are both {train_value!r}; "
                          "give the two different values of the split column.")
    for name, value, kinds, example in (
            ("features", features, (WindowAggregate, AsOf, Static), "{'spend_90d': window('tx', 'amount')}"),
            ("sources", sources, (Source,), "{'tx': Source(df, entity='id', time='t')}"),
            ("feature_timestamps", feature_timestamps, (str,), "{'score': 'score_time'}")):
        if value is None:
            continue
        if not isinstance(value, Mapping):
            raise ConfigError(f"The {name!r} parameter of {_OWNER} must be a mapping such as {example}. "
                              f"Got a {type(value).__name__}.")
        for key, item in value.items():
            if not isinstance(key, str) or not isinstance(item, kinds):
                want = " or ".join(k.__name__ for k in kinds)
                raise ConfigError(f"The {name!r} parameter of {_OWNER} maps names to {want}, such as {example}. "
                                  f"Got {key!r}: {type(item).__name__}.")
    if rule is not None and not isinstance(rule, PointInTimeRule):
        raise ConfigError(f"The 'rule' parameter of {_OWNER} must be a PointInTimeRule (make_rule(...)) or None. "
                          f"Got a {type(rule).__name__}.")
    auc = params.open_unit(proxy_auc, name="proxy_auc", owner=_OWNER)
    if auc <= 0.5:
        raise ConfigError(f"The 'proxy_auc' parameter of {_OWNER} must be above 0.5 (AUCs are oriented to be >= "
                          f"0.5; 0.5 is chance), e.g. 0.9. Got {proxy_auc!r}.")
    if engine is not None and engine not in ENGINES:
        raise ConfigError(f"The 'engine' parameter of {_OWNER} must be one of {list(ENGINES)} or None. "
                          f"Got {engine!r}.")
    params.count(max_examples, name="max_examples", minimum=0, owner=_OWNER)


def _open(data: FrameLike, name: str, engine: str | None) -> Frame:
    """The input on its engine; a duckdb relation is read through polars when ``engine='polars'``."""
    frame = open_frame(data, name=name)
    if frame.engine == "spark" and engine not in (None, "spark"):
        raise ConfigError(f"{name} is a Spark DataFrame: the audit runs on Spark (engine=None or 'spark'); "
                          f"engine={engine!r} would bring every row to the driver.")
    if frame.engine != "spark" and engine == "spark":
        raise ConfigError(f"engine='spark' needs a Spark DataFrame; {name} is a {type(data).__name__}.")
    if frame.engine == "duckdb" and engine == "polars":
        return polars_frame(data, name=name)
    if frame.engine == "polars" and engine not in (None, "polars", "duckdb"):
        raise ConfigError(f"engine={engine!r} does not apply to a {type(data).__name__}.")
    return frame


def _open_source(data: Any, name: str, training: Frame) -> Frame:
    """A source on the training's engine (polars reads anything it can; duckdb and Spark take
    their own frames only: moving a table between engines is the user's decision)."""
    if training.engine == "polars":
        return polars_frame(data, name=name, check=_ON_SPARK)
    frame = open_frame(data, name=name)
    if frame.engine != training.engine:
        raise InputError(f"{name} is on {frame.engine} but training is on {training.engine}: give every input "
                         f"on one engine (e.g. all as {training.engine} tables), or all as polars frames.")
    return frame


_ON_SPARK = ("the leakage audit with polars inputs (pass the training set as a Spark DataFrame too, "
             "to audit on Spark)")


def _prepare(frame: Frame, *, entity: str, prediction_time: str, target: str | None, split: str | None,
             features: dict[str, FeatureDecl], sources: dict[str, Source], feature_timestamps: dict[str, str]
             ) -> _Prepared:
    schema = frame.schema
    roles: dict[str, str | None] = {"entity": entity, "prediction_time": prediction_time, "target": target,
                                    "split": split}
    roles |= {f"feature {name!r}": name for name in features}
    roles |= {f"feature_timestamps[{k!r}]": v for k, v in feature_timestamps.items()}
    require_columns(schema, roles, name="training")
    # every training column is read (target proxy, duplicates): none may look like a helper column
    refuse_reserved(list(schema), name="training")
    refuse_nested(frame.unsupported, [c for c in roles.values() if c], name="training", check=CHECK_NAME)
    times = [("training", prediction_time, check_time_column(schema, prediction_time, name="training",
                                                             role="prediction_time"))]
    for feat, col in feature_timestamps.items():
        if feat not in schema:
            raise InputError(f"feature_timestamps names feature {feat!r}, which is not a column of training."
                             f"{did_you_mean(feat, schema)}")
        times.append(("training", col, check_time_column(schema, col, name="training", role="feature timestamp")))
    _check_keys(frame, "training", [entity, prediction_time])

    prepared_sources: dict[str, tuple[Source, Frame]] = {}
    for name, decl in features.items():
        if decl.source not in sources:
            raise ConfigError(f"feature {name!r} is declared on source {decl.source!r}, which was not given."
                              f"{did_you_mean(decl.source, sources)} Given sources: {sorted(sources)}.")
    for src_name, source in sources.items():
        if not isinstance(source, Source):
            raise ConfigError(f"sources[{src_name!r}] must be a workbench.leakage.Source, got "
                              f"{type(source).__name__}.")
        label = f"source {src_name!r}"
        src = _open_source(source.data, label, frame)
        used = {f"column of feature {f!r}": getattr(d, "column", None)
                for f, d in features.items() if d.source == src_name}
        src_roles = {"entity": source.entity, "time": source.time, "available_time": source.available_time, **used}
        require_columns(src.schema, src_roles, name=label)
        refuse_reserved(src_roles.values(), name=label)
        refuse_nested(src.unsupported, [c for c in src_roles.values() if c], name=label, check=CHECK_NAME)
        for role in ("time", "available_time"):
            col = getattr(source, role)
            if col is not None:
                times.append((src_name, col, check_time_column(src.schema, col, name=label, role=role)))
        _check_entity_dtype(schema[entity], src.schema[source.entity], entity, src_name, source.entity)
        _check_keys(src, label, [c for c in (source.entity, source.time) if c])
        for feat, decl in features.items():
            if decl.source != src_name:
                continue
            if isinstance(decl, WindowAggregate | AsOf) and source.time is None:
                raise ConfigError(f"feature {feat!r} is a {decl.kind} feature but source {src_name!r} has no time "
                                  "column; give Source(..., time=...) or declare it static().")
            if isinstance(decl, WindowAggregate) and decl.column is not None and decl.agg != "count" \
                    and not src.schema[decl.column].is_numeric():
                raise InputError(f"feature {feat!r}: {decl.agg} needs a numeric column but source {src_name!r} "
                                 f"column {decl.column!r} is {src.schema[decl.column]}.")
        prepared_sources[src_name] = (source, src)
    tz = check_time_zones(times)
    return _Prepared(frame, prepared_sources, tz)


def _check_keys(frame: Frame, name: str, columns: list[str]) -> None:
    stats = collect_on(frame.lf.select(nw.len().alias("__wb_n"),
                                       *[count(nw.col(c).is_null()).alias(c) for c in columns]),
                       frame.engine, name, check=CHECK_NAME)
    if name == "training" and stats["__wb_n"][0] == 0:
        raise InputError("training is empty: there is nothing to audit.")
    for col in columns:
        nulls = int(stats[col][0] or 0)
        if nulls:
            raise InputError(f"{name}: {nulls:,} row(s) have a null {col!r}; keys and times must be set. "
                             f"Drop or fill them first, e.g. df.drop_nulls([{col!r}]).")


def _check_entity_dtype(train_dtype: pl.DataType, src_dtype: pl.DataType, entity: str, src: str,
                        src_entity: str) -> None:
    if train_dtype == src_dtype or (train_dtype.is_integer() and src_dtype.is_integer()):
        return
    raise InputError(f"entity types differ: training.{entity} is {train_dtype} but source {src!r}.{src_entity} is "
                     f"{src_dtype}; cast one of them so the keys can be joined.")


def _check_feature_dtype(name: str, decl: FeatureDecl, dtype: pl.DataType) -> None:
    if isinstance(decl, WindowAggregate) and not (dtype.is_numeric() or dtype == pl.Null):
        raise InputError(f"feature {name!r} is declared as {decl.describe()} but its training column is "
                         f"{dtype}, not numeric.")


def _binary_target(frame: Frame, target: str, positive: Any) -> tuple[nw.Expr | None, str]:
    """The label as 1 (positive) / 0 / null, or None and why it cannot be read as binary.

    Without ``positive``: a boolean, or numbers that are all 0 or 1. With ``positive``: rows equal
    to it are the positives and rows with any other value the negatives (one class against the
    rest); it must be one of the target's values (a number given as text, e.g. from the CLI, is
    read as a number for a numeric target, and 'true'/'false' for a boolean one).
    """
    dtype = frame.schema[target]
    col = nw.col(target)
    if positive is None:
        if dtype == pl.Boolean:
            return col.cast(nw.Int64), ""
        values = _values(frame, target, limit=3)
        if not values:
            return None, "has no non-null value"
        if dtype.is_numeric() and set(values) <= {0, 1}:
            return col.cast(nw.Int64), ""
        shown = _values(frame, target)
        return None, (f"is not a 0/1 or boolean label ({dtype}; values include {shown}), so it is not known which "
                      "value is the positive class")
    value = _positive_value(positive, dtype, target)
    hits = collect_on(frame.lf.select(count(col == value).alias("__wb_hits")), frame.engine, "training",
                      check=CHECK_NAME).item()
    if not hits:
        raise ConfigError(f"The 'positive' parameter of audit_leakage is {positive!r}, which no row of target "
                          f"{target!r} holds; its values include {_values(frame, target)}. Give one of them.")
    y = nw.when(col.is_null()).then(nw.lit(None, nw.Int64)).otherwise((col == value).cast(nw.Int64))
    return y, ""


def _positive_value(positive: Any, dtype: pl.DataType, target: str) -> Any:
    """``positive`` as a value comparable with a ``dtype`` column, or a ConfigError saying how to give it."""
    where = f"The 'positive' parameter of audit_leakage (target {target!r} is {dtype})"
    if dtype == pl.Boolean:
        if isinstance(positive, bool):
            return positive
        if isinstance(positive, str) and positive.strip().lower() in ("true", "false"):
            return positive.strip().lower() == "true"
        raise ConfigError(f"{where} must be true or false. Got {positive!r}.")
    if dtype.is_numeric():
        if isinstance(positive, bool) or not isinstance(positive, int | float | str):
            raise ConfigError(f"{where} must be a number. Got {positive!r}.")
        try:
            number = float(positive)
        except ValueError:
            raise ConfigError(f"{where} must be a number. Got {positive!r}.") from None
        return int(number) if number.is_integer() and dtype.is_integer() else number
    if isinstance(positive, bool):
        raise ConfigError(f"{where} must be text. Got {positive!r}: YAML reads unquoted yes/no/on/off/true/false "
                          "as booleans; quote it, e.g. positive: 'yes'.")
    if not isinstance(positive, str | int | float):
        raise ConfigError(f"{where} must be one of the target's values (text). Got {positive!r}.")
    return str(positive)


def _plain(v: Any) -> Any:
    return int(v) if isinstance(v, float) and v.is_integer() else v


# -- labels and events on every engine ------------------------------------------------------------

def _only(frame: Frame, columns: list[str | None]) -> Frame:
    """``frame`` with only ``columns`` (None and repeats left out), before helper columns are added."""
    keep = list(dict.fromkeys(c for c in columns if c is not None))
    return Frame(frame.lf.select(keep), frame.engine, pl.Schema({c: frame.schema[c] for c in keep}), frame.name,
                 {c: t for c, t in frame.unsupported.items() if c in keep})


def _entity(column: str, dtype: pl.DataType) -> nw.Expr:
    """Entity keys joinable across inputs: every integer type as Int64."""
    return nw.col(column).cast(nw.Int64) if dtype.is_integer() else nw.col(column)


def _labels(frame: Frame, entity: str, prediction_time: str, features: list[str], feature_timestamps: dict[str, str],
            split: str | None, rule: PointInTimeRule) -> nw.LazyFrame:
    """One row per training row: ``__wb_entity, __rn`` (its key, see :mod:`portable`), ``__wb_pt`` and
    ``__wb_cutoff`` (epoch microseconds), each feature's training value under its own name, each
    feature timestamp as ``__wb_ts<i>`` (epoch microseconds) and the split as text (``__wb_split``)."""
    frame = _only(frame, [entity, prediction_time, *features, *feature_timestamps.values(), split])
    lf = with_epoch(frame, prediction_time, "__wb_pt")
    for i, col in enumerate(feature_timestamps.values()):
        lf = with_epoch(frame.with_lf(lf), col, f"__wb_ts{i}")
    stamps = [f"__wb_ts{i}" for i in range(len(feature_timestamps))]
    lf = lf.select(_entity(entity, frame.schema[entity]).alias("__wb_entity"), "__wb_pt",
                   (nw.col("__wb_pt") - portable.us(rule.embargo)).alias("__wb_cutoff"), *features, *stamps,
                   *([nw.col(split).cast(nw.String).alias("__wb_split")] if split else []))
    if frame.engine == "polars":
        return nw.from_native(lf.to_native().with_row_index("__wb_rn").with_columns(pl.col("__wb_rn").cast(pl.Int64)))
    # rows equal in prediction time and every feature value are interchangeable: number them in any order
    number = nw.col("__wb_one").cum_sum().over("__wb_entity", order_by=["__wb_pt", *features])
    return lf.with_columns(nw.lit(1, nw.Int64).alias("__wb_one")).with_columns(number.alias("__wb_rn")).drop("__wb_one")


def _events(source: Source, src: Frame, column: str | None) -> nw.LazyFrame:
    """A source's ``__wb_entity, __time, __avail`` (epoch microseconds; available time never before
    the time) and ``__wb_x`` (``column``; the time when None)."""
    assert source.time is not None
    src = _only(src, [source.entity, source.time, source.available_time, column])
    lf = with_epoch(src, source.time, "__wb_time")
    avail = nw.col("__wb_time")
    if source.available_time is not None:
        lf = with_epoch(src.with_lf(lf), source.available_time, "__wb_avail_raw")
        avail = nw.max_horizontal(nw.col("__wb_time"), nw.col("__wb_avail_raw").fill_null(nw.col("__wb_time")))
    x = nw.col(column) if column is not None else nw.col("__wb_time")
    return lf.select(_entity(source.entity, src.schema[source.entity]).alias("__wb_entity"), "__wb_time",
                     avail.alias("__wb_avail"), x.alias("__wb_x"))


def _recompute_on_engine(decl: FeatureDecl, name: str, labels: nw.LazyFrame, source: Source, src: Frame,
                         rule: PointInTimeRule, keep: portable.Keep = None) -> nw.LazyFrame:
    """Per-row classification of one feature where the data is (duckdb, Spark)."""
    lab = labels.select(*portable.ROW, "__wb_pt", "__wb_cutoff", nw.col(name).alias("__wb_train"))
    if isinstance(decl, Static):
        attrs = src.lf.select(_entity(source.entity, src.schema[source.entity]).alias("__wb_entity"),
                              nw.col(decl.column).alias("__wb_x"))
        return portable.recompute_static(lab, attrs, decl, numeric=src.schema[decl.column].is_numeric())
    events = _events(source, src, decl.column)
    if isinstance(decl, WindowAggregate):
        return portable.recompute_window(lab, events, decl, rule, cumulative=_cumulative_applies(decl, events, src),
                                         keep=keep)
    return portable.recompute_asof(lab, events, decl, rule, numeric=src.schema[decl.column].is_float())


def _cumulative_applies(decl: WindowAggregate, events: nw.LazyFrame, src: Frame) -> bool:
    """Running sums serve a count, or a sum of values that are all >= 0."""
    if decl.agg == "count":
        return True
    if decl.agg != "sum":
        return False
    lowest = collect_on(events.select(nw.col("__wb_x").cast(nw.Float64).min().alias("__wb_m")), src.engine, src.name,
                        check=CHECK_NAME).item()
    return lowest is None or lowest >= 0


def _lateness_on_engine(labels: nw.LazyFrame, events: nw.LazyFrame, rule: PointInTimeRule, engine: FrameEngine,
                        src_name: str) -> tuple[nw.LazyFrame, int, int]:
    """Lateness per event (seconds), and the (label, event) pairs with the event before the
    cutoff and those of them not yet available at it, counted with running counts."""
    per_label = portable.counts_at_cutoff(labels.select(*portable.ROW, "__wb_cutoff"), events, rule)
    totals = collect_on(per_label.select(nw.col("__wb_T_c").sum().alias("__wb_h"),
                                         nw.max_horizontal(nw.col("__wb_T_c") - nw.col("__wb_A_c"), nw.lit(0.0)).sum()
                                         .alias("__wb_u")), engine, f"source {src_name!r}", check=CHECK_NAME)
    lateness = events.select(portable.seconds(nw.col("__wb_avail") - nw.col("__wb_time")).alias("__wb_late_s"))
    return lateness, int(totals["__wb_h"][0] or 0), int(totals["__wb_u"][0] or 0)


# -- per-feature recomputation on polars (sorted frames and as-of joins) ----------------------------

def _polars_labels(labels: nw.LazyFrame, tz: str | None) -> pl.DataFrame:
    """``__wb_row, __entity, __pt, __cutoff`` (datetimes in ``tz``) for the polars recomputation."""
    return labels.to_native().select(pl.col("__wb_rn").alias("__wb_row"), "__wb_entity",
                                     checks.epoch_to_datetime(pl.col("__wb_pt"), tz).alias("__wb_pt"),
                                     checks.epoch_to_datetime(pl.col("__wb_cutoff"), tz).alias("__wb_cutoff")).collect()


def _event_frame(source: Source, src_lf: pl.LazyFrame, src_schema: pl.Schema, labels: pl.DataFrame,
                 tz: str | None, columns: list[str]) -> pl.LazyFrame:
    """A source's ``columns`` with ``__wb_entity, __time, __avail`` (available time never before the time)."""
    assert source.time is not None
    t = as_datetime(source.time, src_schema[source.time], tz)
    avail = t if source.available_time is None else pl.max_horizontal(
        t, as_datetime(source.available_time, src_schema[source.available_time], tz))
    used = list(dict.fromkeys(c for c in (source.entity, source.time, source.available_time, *columns) if c))
    entity = pl.col(source.entity).cast(labels.schema["__wb_entity"])
    return src_lf.select(used).select(entity.alias("__wb_entity"), t.alias("__wb_time"), avail.alias("__wb_avail"),
                                      *columns)


def _recompute_polars(decl: FeatureDecl, values: pl.Series, labels: pl.DataFrame, source: Source,
                      src: Frame, rule: PointInTimeRule, tz: str | None, engine: Engine,
                      sorted_events: Callable[[str], cumulative.SortedEvents]) -> nw.LazyFrame:
    """``__wb_rn, __pit, __status, __lag_s`` (as-of: and ``__wb_age_s``) per training row, given the
    feature's training ``values`` in training order."""
    src_lf, src_schema = src.lf.to_native(), src.schema
    src_entity = pl.col(source.entity).cast(labels.schema["__wb_entity"])
    if isinstance(decl, Static):
        x_dtype = src_schema[decl.column]
        lab = labels.lazy().with_columns(values.cast(x_dtype, strict=False).alias("__wb_train"))
        attrs = src_lf.select(src_entity.alias("__wb_entity"), pl.col(decl.column).alias("__wb_x"))
        per_row = recompute_static(lab, attrs, decl, numeric=x_dtype.is_numeric()).collect()
    elif isinstance(decl, WindowAggregate):
        lab = labels.lazy().with_columns(values.cast(pl.Float64).alias("__wb_train"))
        events = sorted_events(decl.source)
        column = decl.column or "__wb_time"
        if cumulative.supports(decl, events.by_time, column):
            per_row = cumulative.recompute_window_cumulative(lab, events, decl, rule, engine=engine,
                                                             column=column).collect()
        else:
            prepared = events.by_time.lazy().select("__wb_entity", "__wb_time", "__wb_avail",
                                                    pl.col(column).alias("__wb_x"))
            per_row = recompute_window(lab, prepared, decl, rule).collect()
    else:
        prepared = _event_frame(source, src_lf, src_schema, labels, tz, [decl.column]).rename({decl.column: "__wb_x"})
        x_dtype = src_schema[decl.column]
        lab = labels.lazy().with_columns(values.cast(x_dtype, strict=False).alias("__wb_train"))
        per_row = recompute_asof(lab, prepared, decl, rule, numeric=x_dtype.is_float(), engine=engine).collect()
    return nw.from_native(per_row.lazy().rename({"__wb_row": "__wb_rn"}).with_columns(pl.col("__wb_rn").cast(pl.Int64)))


def _lateness_polars(events: cumulative.SortedEvents, labels: pl.DataFrame, rule: PointInTimeRule,
                     engine: Engine) -> tuple[nw.LazyFrame, int, int]:
    """Lateness per event (seconds), and the (label, event) pairs with the event before the
    cutoff and those of them not yet available at it (running counts looked up as of each
    cutoff, shared with the count features of the same source)."""
    lateness = events.by_time.lazy().select(
        (pl.col("__wb_avail") - pl.col("__wb_time")).dt.total_seconds(fractional=True).alias("__wb_late_s"))
    strict = not rule.inclusive
    base = labels.lazy()
    happened = events.at_cutoff(base, "time", "count", "__wb_time", strict=strict, engine=engine)
    available = events.at_cutoff(base, "avail", "count", "__wb_time", strict=strict, engine=engine)
    both = happened.join(available, on="__wb_row", suffix="_a")
    h, u = both["__wb_sum"].sum(), (both["__wb_sum"] - both["__wb_sum_a"]).clip(0).sum()
    return nw.from_native(lateness), int(h), int(u)


# -- target proxy, split, duplicates (aggregates on every engine) ----------------------------------

def _proxies(frame: Frame, target: str, y: nw.Expr, keys: set[str | None], lineage: dict[str, str],
             proxy_auc: float) -> tuple[list[dict[str, Any]], list[Finding], tuple[int, int]]:
    """The single-feature AUC and leak evidence (:func:`checks.proxy_evidence`) of every other
    column, with its finding when there is one, and the label's (positives, negatives).

    ``y``: the label as 1 (positive) / 0 / null. Numbers and categories are scored; date, time and
    identifier-like text columns only by their presence (null or not). A NaN is missing like a
    null: left out of a number's AUC and counted on the missing side of its null-or-not cut.
    """
    presence_types = (pl.Datetime, pl.Duration)
    candidates = [(col, dtype) for col, dtype in frame.schema.items()
                  if not (col in keys or col in frame.unsupported or isinstance(dtype, _NESTED))]
    lf = frame.lf.select(*[checks.missing_as_null(c, dtype) for c, dtype in candidates], y.alias("__wb_y"))
    is_pos, is_neg = nw.col("__wb_y") == 1, nw.col("__wb_y") == 0
    # label totals, and distinct values (null counted as one), nulls and nulls per class of every column, in one pass
    stats = collect_on(lf.select(
        count(is_pos).alias("__wb_P"), count(is_neg).alias("__wb_N"),
        *[nw.col(c).n_unique().alias(f"__wb_d{i}") for i, (c, _) in enumerate(candidates)],
        *[count(nw.col(c).is_null()).alias(f"__wb_z{i}") for i, (c, _) in enumerate(candidates)],
        *[count(nw.col(c).is_null() & is_pos).alias(f"__wb_zp{i}") for i, (c, _) in enumerate(candidates)],
        *[count(nw.col(c).is_null() & is_neg).alias(f"__wb_zn{i}") for i, (c, _) in enumerate(candidates)]),
        frame.engine, "training", check=CHECK_NAME).row(0, named=True)
    total_pos, total_neg = int(stats["__wb_P"] or 0), int(stats["__wb_N"] or 0)
    n_labelled = total_pos + total_neg
    rows, findings = [], []
    for i, (col, dtype) in enumerate(candidates):
        line = lineage.get(col, "none")
        distinct = int(stats[f"__wb_d{i}"])
        null_pos, null_neg = int(stats[f"__wb_zp{i}"] or 0), int(stats[f"__wb_zn{i}"] or 0)
        numeric = dtype.is_numeric() or dtype == pl.Boolean
        presence_only = (isinstance(dtype, presence_types) or dtype in (pl.Date, pl.Time)
                         or (not numeric and distinct > max(0.5 * n_labelled, 50)))
        if presence_only:
            present = pl.DataFrame({"score": [0.0], "pos": [total_pos - null_pos], "neg": [total_neg - null_neg],
                                    "value": [None]})
            evidence = checks.proxy_evidence(present, null_pos, null_neg, ordered=False, exact=False)
            auc, n_pos, n_neg = math.nan, total_pos, total_neg
        else:
            distinct -= int(bool(stats[f"__wb_z{i}"]))  # the numbers' distinct values: nulls are left out
            counts = checks.proxy_counts(lf, col, "__wb_y", dtype, engine=frame.engine, distinct=distinct)
            auc, n_pos, n_neg = checks.single_feature_auc(counts)
            if numeric:  # numbers leave their nulls out of the counts: they are weighed as presence
                evidence = checks.proxy_evidence(counts, null_pos, null_neg, ordered=True,
                                                 exact=distinct <= checks.PROXY_MAX_GROUPS)
            else:
                evidence = checks.proxy_evidence(counts, 0, 0, ordered=False, exact=True)
        finding = checks.proxy_finding(col, auc, n_pos, n_neg, threshold=proxy_auc, lineage=line, evidence=evidence)
        lo, hi = auc_interval(auc, n_pos, n_neg)
        if finding is not None:
            status = f"{finding.severity}: {', '.join(finding.metrics['evidence']) or 'predictive only'}"
        elif presence_only:
            status = "presence only (date/time or identifier-like): no evidence"
        elif min(n_pos, n_neg) < checks.MIN_CLASS_SUPPORT:
            status = f"inconclusive: fewer than {checks.MIN_CLASS_SUPPORT} positives or negatives"
        else:
            status = "below threshold"
        rows.append({"feature": col, "auc": None if math.isnan(auc) else auc, "lower": None if math.isnan(lo) else lo,
                     "upper": None if math.isnan(hi) else hi, "n": n_pos + n_neg,
                     "separation": evidence.separation, "lineage": line, "status": status})
        if finding is not None:
            findings.append(finding)
    return rows, findings, (total_pos, total_neg)


def _split_stats(labels: nw.LazyFrame, frame: Frame, train: str, test: str, tz: str | None
                 ) -> dict[str, Any] | None:
    """Entities and prediction-time ranges of the two sides, and how much of each the other covers."""
    engine = frame.engine
    sides = labels.select("__wb_entity", "__wb_pt", "__wb_split")
    tr = sides.filter(nw.col("__wb_split") == train)
    te = sides.filter(nw.col("__wb_split") == test)

    def summary(lf: nw.LazyFrame, label: str) -> nw.LazyFrame:
        return lf.select(nw.lit(label).alias("__wb_side"), nw.col("__wb_pt").min().alias("__wb_lo"),
                         nw.col("__wb_pt").max().alias("__wb_hi"), nw.len().cast(nw.Int64).alias("__wb_rows"),
                         nw.col("__wb_entity").n_unique().cast(nw.Int64).alias("__wb_entities"))

    ranges = collect_on(nw.concat([summary(tr, "train"), summary(te, "test")], how="vertical"), engine, "training",
                        check=CHECK_NAME)
    r = {row["__wb_side"]: row for row in ranges.to_dicts()}
    if not r["train"]["__wb_rows"] or not r["test"]["__wb_rows"]:
        return None
    shared = te.join(tr.select("__wb_entity").unique(), on="__wb_entity", how="semi")
    start, end = max(r["train"]["__wb_lo"], r["test"]["__wb_lo"]), min(r["train"]["__wb_hi"], r["test"]["__wb_hi"])
    overlap = start <= end
    in_range = (nw.col("__wb_pt") >= start) & (nw.col("__wb_pt") <= end)
    inside = count(in_range).cast(nw.Int64) if overlap else nw.lit(0, nw.Int64)
    counts = collect_on(nw.concat([
        shared.select(nw.lit("shared").alias("__wb_what"),
                      nw.col("__wb_entity").n_unique().cast(nw.Int64).alias("__wb_e"),
                      nw.len().cast(nw.Int64).alias("__wb_n")),
        *[lf.select(nw.lit(what).alias("__wb_what"), nw.lit(0, nw.Int64).alias("__wb_e"), inside.alias("__wb_n"))
          for what, lf in (("test", te), ("train", tr))],
    ], how="vertical"), engine, "training", check=CHECK_NAME)
    c = {row["__wb_what"]: row for row in counts.to_dicts()}
    as_time = _epoch_to_datetime(tz)
    return {
        "train_entities": int(r["train"]["__wb_entities"]), "test_entities": int(r["test"]["__wb_entities"]),
        "shared_entities": int(c["shared"]["__wb_e"] or 0), "test_rows_shared": int(c["shared"]["__wb_n"] or 0),
        "test_rows": int(r["test"]["__wb_rows"]), "train_rows": int(r["train"]["__wb_rows"]),
        "overlap_start": as_time(start) if overlap else None, "overlap_end": as_time(end) if overlap else None,
        "test_rows_in_overlap": int(c["test"]["__wb_n"] or 0), "train_rows_in_overlap": int(c["train"]["__wb_n"] or 0),
    }


def _epoch_to_datetime(tz: str | None) -> Callable[[int], dt.datetime]:
    def convert(us: int) -> dt.datetime:
        value = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(us))
        return value.astimezone(ZoneInfo(tz)) if tz else value.replace(tzinfo=None)
    return convert


def _duplicates(frame: Frame, entity: str, prediction_time: str, split: str | None, n: int, *, train_value: str,
                test_value: str) -> tuple[list[Finding], str]:
    """Exact duplicate rows (all columns but the split) and repeated (entity, prediction time) keys.

    Of each group of identical rows, the copies beyond the first are its extra copies; a group
    spans the split when it has a row in ``train_value`` and one in ``test_value`` (the split
    read as text), and its extra copies are then counted once in ``cross_split_rows``, a subset
    of the extra copies.
    """
    content = [c for c in frame.schema if c != split and c not in frame.unsupported]
    side = nw.col(split).cast(nw.String) if split else None
    groups = frame.lf.group_by(*content).agg(
        nw.len().alias("__wb_copies"),
        *([count(side == train_value).alias("__wb_train"), count(side == test_value).alias("__wb_test")]
          if side is not None else [nw.lit(0, nw.Int64).alias("__wb_train"), nw.lit(0, nw.Int64).alias("__wb_test")]))
    spans = (nw.col("__wb_train") > 0) & (nw.col("__wb_test") > 0)
    exact = groups.select((nw.col("__wb_copies") - 1).sum().alias("__wb_extra"),
                          nw.when(spans).then(nw.col("__wb_copies") - 1).otherwise(0).sum().alias("__wb_cross"))
    keys = frame.lf.group_by(entity, prediction_time).agg(nw.len().alias("__wb_c")).select((nw.col("__wb_c") - 1).sum()
                                                                                      .alias("__wb_extra"))
    exact_row = collect_on(exact, frame.engine, "training", check=CHECK_NAME).row(0, named=True)
    key_extra = int(collect_on(keys, frame.engine, "training", check=CHECK_NAME).item() or 0)
    exact_extra = int(exact_row["__wb_extra"] or 0)
    # An exact duplicate repeats its key too; report keys only beyond the exact duplicates.
    findings = checks.duplicate_findings(exact_extra, int(exact_row["__wb_cross"] or 0), key_extra - exact_extra, n,
                                         f"({entity}, {prediction_time})", sides=(train_value, test_value))
    status = "exact rows and (entity, prediction_time) keys checked"
    if frame.unsupported:
        status += f" (nested column(s) {sorted(frame.unsupported)} left out of the row comparison)"
    return findings, status


# -- helpers -------------------------------------------------------------------------------------

def _skipped(check: str, n: int, reason: str, fix: str) -> Finding:
    """A check the user asked for that could not run: a warning, so the run is not a clean pass."""
    return Finding(check="leakage", kind="check_skipped", severity="warning", subject=check,
                   message=f"The {check} check could not run: {reason}.", suggestion=fix,
                   metrics={"n": n, "check": check})


def _insufficient(subject: str, n: int, what: str, fix: str) -> Finding:
    """Too little data for a statistical statement: said, at info."""
    return Finding(check="leakage", kind="insufficient_data", severity="info", subject=subject,
                   message=f"Too little data: {what}.", suggestion=fix, metrics={"n": n})


def _values(frame: Frame, column: str, limit: int = 10) -> list[Any]:
    """Up to ``limit`` distinct non-null values of ``column`` (sorted), for messages."""
    lf = frame.lf.select(nw.col(column)).filter(~nw.col(column).is_null()).unique().sort(column).head(limit)
    return [_plain(v) for v in collect_on(lf, frame.engine, "training", check=CHECK_NAME)[column].to_list()]


def _status(check: str, status: str) -> dict[str, str]:
    return {"check": check, "status": status}


def _frame(rows: list[dict[str, Any]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def _concat(frames: list[pl.DataFrame], schema: dict[str, pl.DataType] | None) -> pl.DataFrame:
    if frames:
        return pl.concat(frames, how="diagonal_relaxed")
    return pl.DataFrame(schema=schema) if schema else pl.DataFrame()
