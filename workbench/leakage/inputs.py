"""The leakage audit's input boundary: parameters checked before any data is read, inputs opened on
their engine (a Spark DataFrame on Spark, a duckdb relation on duckdb, anything else on polars) and
validated (roles, keys, time columns and zones, entity and feature types), and the label read as
binary. Every refusal names the parameter or column and the fix."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import polars as pl

from workbench import params
from workbench.engine._spark import refuse_nested
from workbench.engine.frames import Engine, Frame, collect_on, count, open_frame, polars_frame
from workbench.engine.inputs import FrameLike, check_time_column, check_time_zones, require_columns
from workbench.errors import ConfigError, InputError, did_you_mean
from workbench.leakage.internal import refuse_reserved
from workbench.leakage.spec import AsOf, FeatureDecl, PointInTimeRule, Source, Static, WindowAggregate

CHECK_NAME = "the leakage audit"
_OWNER = "check_leakage"
_ON_SPARK = ("the leakage audit with polars inputs (pass the training set as a Spark DataFrame too, "
             "to audit on Spark)")


@dataclass(frozen=True)
class Options:
    """The audit's parameters, checked (see :func:`check_leakage` for their meaning)."""

    entity: str
    prediction_time: str
    target: str | None
    positive: Any
    features: dict[str, FeatureDecl]
    sources: dict[str, Source]
    feature_timestamps: dict[str, str]
    split: str | None
    train_value: str
    test_value: str
    rule: PointInTimeRule
    proxy_auc: float
    max_examples: int


@dataclass(frozen=True)
class Prepared:
    """Validated inputs on one engine, and the time zone every time column is cast to."""

    training: Frame
    sources: dict[str, tuple[Source, Frame]]
    time_zone: str | None

    @property
    def engine(self) -> Engine:
        return self.training.engine


def check_parameters(*, entity: Any, prediction_time: Any, target: Any, positive: Any, split: Any,
                     train_value: Any, test_value: Any, features: Any, sources: Any, feature_timestamps: Any,
                     rule: Any, proxy_auc: Any, max_examples: Any) -> Options:
    """Refuse a parameter of the wrong kind before any data is read, naming it and the fix; the
    parameters with their defaults filled in otherwise."""
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
    params.count(max_examples, name="max_examples", minimum=0, owner=_OWNER)
    return Options(entity=entity, prediction_time=prediction_time, target=target, positive=positive,
                   features=dict(features or {}), sources=dict(sources or {}),
                   feature_timestamps=dict(feature_timestamps or {}), split=split, train_value=train_value,
                   test_value=test_value, rule=rule or PointInTimeRule(), proxy_auc=proxy_auc,
                   max_examples=max_examples)


def prepare(training: FrameLike, opts: Options) -> Prepared:
    """The training set on its engine and every source on the same engine, validated: the roles
    exist, keys and times are set, time columns are datetimes of one kind (naive or aware), entity
    types join and declared features fit their source."""
    frame = open_frame(training, name="training")
    schema = frame.schema
    roles: dict[str, str | None] = {"entity": opts.entity, "prediction_time": opts.prediction_time,
                                    "target": opts.target, "split": opts.split}
    roles |= {f"feature {name!r}": name for name in opts.features}
    roles |= {f"feature_timestamps[{k!r}]": v for k, v in opts.feature_timestamps.items()}
    require_columns(schema, roles, name="training")
    # every training column is read (target proxy, duplicates): none may look like a helper column
    refuse_reserved(list(schema), name="training")
    refuse_nested(frame.unsupported, [c for c in roles.values() if c], name="training", check=CHECK_NAME)
    times = [("training", opts.prediction_time, check_time_column(schema, opts.prediction_time, name="training",
                                                                  role="prediction_time"))]
    for feat, col in opts.feature_timestamps.items():
        if feat not in schema:
            raise InputError(f"feature_timestamps names feature {feat!r}, which is not a column of training."
                             f"{did_you_mean(feat, schema)}")
        times.append(("training", col, check_time_column(schema, col, name="training", role="feature timestamp")))
    _check_keys(frame, "training", [opts.entity, opts.prediction_time])
    for name, decl in opts.features.items():
        if decl.source not in opts.sources:
            raise ConfigError(f"feature {name!r} is declared on source {decl.source!r}, which was not given."
                              f"{did_you_mean(decl.source, opts.sources)} Given sources: {sorted(opts.sources)}.")
    prepared: dict[str, tuple[Source, Frame]] = {}
    for src_name, source in opts.sources.items():
        src = _prepare_source(src_name, source, frame, opts, times)
        prepared[src_name] = (source, src)
    tz = check_time_zones(times)
    for name, decl in opts.features.items():
        _check_feature_dtype(name, decl, schema[name])
    return Prepared(frame, prepared, tz)


def _prepare_source(src_name: str, source: Source, training: Frame, opts: Options,
                    times: list[tuple[str, str, pl.DataType]]) -> Frame:
    """One source opened on the training's engine and checked against the features declared on it;
    its time columns are added to ``times``."""
    if not isinstance(source, Source):
        raise ConfigError(f"sources[{src_name!r}] must be a workbench.leakage.Source, got "
                          f"{type(source).__name__}.")
    label = f"source {src_name!r}"
    src = _open_source(source.data, label, training)
    declared = {f: d for f, d in opts.features.items() if d.source == src_name}
    used = {f"column of feature {f!r}": getattr(d, "column", None) for f, d in declared.items()}
    src_roles = {"entity": source.entity, "time": source.time, "available_time": source.available_time, **used}
    require_columns(src.schema, src_roles, name=label)
    refuse_reserved(src_roles.values(), name=label)
    refuse_nested(src.unsupported, [c for c in src_roles.values() if c], name=label, check=CHECK_NAME)
    for role in ("time", "available_time"):
        col = getattr(source, role)
        if col is not None:
            times.append((src_name, col, check_time_column(src.schema, col, name=label, role=role)))
    _check_entity_dtype(training.schema[opts.entity], src.schema[source.entity], opts.entity, src_name,
                        source.entity)
    _check_keys(src, label, [c for c in (source.entity, source.time) if c])
    for feat, decl in declared.items():
        if isinstance(decl, WindowAggregate | AsOf) and source.time is None:
            raise ConfigError(f"feature {feat!r} is a {decl.kind} feature but source {src_name!r} has no time "
                              "column; give Source(..., time=...) or declare it static().")
        if isinstance(decl, WindowAggregate) and decl.column is not None and decl.agg != "count" \
                and not src.schema[decl.column].is_numeric():
            raise InputError(f"feature {feat!r}: {decl.agg} needs a numeric column but source {src_name!r} "
                             f"column {decl.column!r} is {src.schema[decl.column]}.")
    return src


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


# -- the label -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Label:
    """The target as 1 (positive) / 0 / null (``y``), or None and why it cannot be read as binary."""

    y: nw.Expr | None
    reason: str = ""


def binary_target(frame: Frame, target: str, positive: Any) -> Label:
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
            return Label(col.cast(nw.Int64))
        values = distinct_values(frame, target, limit=3)
        if not values:
            return Label(None, "has no non-null value")
        if dtype.is_numeric() and set(values) <= {0, 1}:
            return Label(col.cast(nw.Int64))
        shown = distinct_values(frame, target)
        return Label(None, f"is not a 0/1 or boolean label ({dtype}; values include {shown}), so it is not known "
                           "which value is the positive class")
    value = _positive_value(positive, dtype, target)
    hits = collect_on(frame.lf.select(count(col == value).alias("__wb_hits")), frame.engine, "training",
                      check=CHECK_NAME).item()
    if not hits:
        raise ConfigError(f"The 'positive' parameter of check_leakage is {positive!r}, which no row of target "
                          f"{target!r} holds; its values include {distinct_values(frame, target)}. Give one of them.")
    return Label(nw.when(col.is_null()).then(nw.lit(None, nw.Int64)).otherwise((col == value).cast(nw.Int64)))


def _positive_value(positive: Any, dtype: pl.DataType, target: str) -> Any:
    """``positive`` as a value comparable with a ``dtype`` column, or a ConfigError saying how to give it."""
    where = f"The 'positive' parameter of check_leakage (target {target!r} is {dtype})"
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


def distinct_values(frame: Frame, column: str, limit: int = 10) -> list[Any]:
    """Up to ``limit`` distinct non-null values of ``column`` (sorted), for messages."""
    lf = frame.lf.select(nw.col(column)).filter(~nw.col(column).is_null()).unique().sort(column).head(limit)
    return [_plain(v) for v in collect_on(lf, frame.engine, "training", check=CHECK_NAME)[column].to_list()]


def _plain(v: Any) -> Any:
    return int(v) if isinstance(v, float) and v.is_integer() else v
