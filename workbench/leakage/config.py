"""Read a leakage audit declaration from YAML or JSON.

Relative paths are resolved against the config file's folder. Example::

    training: training.parquet
    entity: customer_id
    prediction_time: prediction_time
    target: churned
    positive: true                    # optional; the target value that is the positive class
    split: split                      # optional; values 'train' / 'test' unless given
    sources:
      transactions: {path: transactions.parquet, entity: customer_id,
                     time: event_time, available_time: ingested_at}
    features:
      spend_90d: {window: transactions, column: amount, agg: sum, over: 90d}
      balance:   {asof: snapshots, column: balance, ttl: 14d}
      region:    {static: customers, column: region}
    feature_timestamps: {credit_score: credit_score_time}
    rule: {inclusive: false, embargo: 0s, use_available_time: true}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from workbench.errors import ConfigError, did_you_mean
from workbench.leakage.spec import FeatureDecl, Source, asof, make_rule, static, window

TOP_KEYS = ("training", "entity", "prediction_time", "target", "positive", "split", "train_value", "test_value",
            "sources", "features", "feature_timestamps", "rule", "proxy_auc")
MAPPING_EXAMPLES = {"sources": "{transactions: {path: tx.parquet, entity: id, time: t}}",
                    "features": "{spend_90d: {window: transactions, column: amount, agg: sum, over: 90d}}",
                    "feature_timestamps": "{credit_score: credit_score_time}",
                    "rule": "{inclusive: false, embargo: 0s}"}
SOURCE_KEYS = ("path", "entity", "time", "available_time")
RULE_KEYS = ("inclusive", "embargo", "use_available_time")
FEATURE_FORMS = {"window": ("column", "agg", "over"), "asof": ("column", "ttl"), "static": ("column",)}


def load_audit_config(path: str | Path) -> dict[str, Any]:
    """Return keyword arguments for :func:`check_leakage` (``training`` included) from a file."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {str(path)!r} not found.")
    if path.is_dir():
        raise ConfigError(f"config {str(path)!r} is a folder; give the YAML or JSON file in it, "
                          f"e.g. {str(path / 'audit.yaml')!r}.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config {str(path)!r} is not UTF-8 text (byte {exc.start}); "
                          "save it as UTF-8 YAML or JSON.") from None
    except OSError as exc:
        raise ConfigError(f"config {str(path)!r} cannot be read: {exc.strerror}.") from None
    try:
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML/JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level.")
    return config_to_kwargs(raw, base=path.parent, where=str(path))


_TEXT = {"type": "string", "minLength": 1}
_DURATION = {"type": ["string", "number"]}
_VALUE = {"type": ["string", "number", "boolean"]}
CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "training": _TEXT, "entity": _TEXT, "prediction_time": _TEXT, "target": _TEXT, "split": _TEXT,
        "train_value": _TEXT, "test_value": _TEXT, "positive": _VALUE,
        "sources": {"type": ["object", "null"], "additionalProperties": {
            "type": "object", "properties": {"path": _TEXT, "entity": _TEXT, "time": _TEXT, "available_time": _TEXT}}},
        "features": {"type": ["object", "null"], "additionalProperties": {
            "type": "object", "properties": {"window": _TEXT, "asof": _TEXT, "static": _TEXT, "column": _TEXT,
                                             "agg": _TEXT, "over": _DURATION, "ttl": _DURATION}}},
        "feature_timestamps": {"type": ["object", "null"], "additionalProperties": _TEXT},
        "rule": {"type": ["object", "null"], "properties": {
            "inclusive": {"type": "boolean"}, "use_available_time": {"type": "boolean"}, "embargo": _DURATION}},
        "proxy_auc": {"type": "number", "exclusiveMinimum": 0.5, "exclusiveMaximum": 1},
    },
}
_EXPECTED = {"string": "text", "object": "a mapping", "number": "a number", "boolean": "true or false"}


def validate_config(raw: dict[str, Any], *, where: str) -> None:
    """Check the types of a parsed config against :data:`CONFIG_SCHEMA`; the error names the key
    (``sources.transactions.path``), what was given and what is expected. Unknown keys and missing
    required keys are reported by :func:`config_to_kwargs` with 'did you mean' hints."""
    import jsonschema

    errors = sorted(jsonschema.Draft202012Validator(CONFIG_SCHEMA).iter_errors(raw), key=lambda e: list(e.path))
    if not errors:
        return
    err = errors[0]
    key = ".".join(str(p) for p in err.path) or "config"
    expected = err.validator_value if err.validator in ("type", "enum") else None
    if err.validator == "type":
        kinds = [expected] if isinstance(expected, str) else list(expected or [])
        wanted = " or ".join(_EXPECTED.get(k, k) for k in kinds if k != "null")
        top = str(err.path[0]) if err.path else ""
        if len(err.path) == 1 and top in MAPPING_EXAMPLES:
            hint = f" e.g. {top}: {MAPPING_EXAMPLES[top]}"
        elif "string" in kinds:
            hint = f" Quote it in YAML, e.g. {err.path[-1]}: '{err.instance}'."
        else:
            hint = ""
        raise ConfigError(f"{where}: '{key}' must be {wanted}; got {err.instance!r}.{hint}")
    if err.validator in ("exclusiveMinimum", "exclusiveMaximum"):
        low, high = err.schema.get("exclusiveMinimum"), err.schema.get("exclusiveMaximum")
        raise ConfigError(f"{where}: '{key}' must be a number strictly between {low} and {high}; got {err.instance!r}.")
    if err.validator == "enum":
        raise ConfigError(f"{where}: '{key}' must be one of {expected}; got {err.instance!r}.")
    raise ConfigError(f"{where}: '{key}': {err.message}.")


def config_to_kwargs(raw: dict[str, Any], *, base: Path, where: str = "config") -> dict[str, Any]:
    """Turn a parsed config mapping into :func:`check_leakage` keyword arguments (unknown keys first, with
    'did you mean' hints; then the types of every key against :data:`CONFIG_SCHEMA`)."""
    if "engine" in raw:
        raise ConfigError("config: 'engine' is not a setting: the audit runs where its inputs are (paths and "
                          "frames on polars, duckdb relations on duckdb, Spark DataFrames on Spark); remove it.")
    _known(raw, TOP_KEYS, "config")
    validate_config(raw, where=where)
    for key in ("training", "entity", "prediction_time"):
        if key not in raw:
            raise ConfigError(f"config: '{key}' is required.")
    kwargs: dict[str, Any] = {k: raw[k] for k in TOP_KEYS if k in raw and k not in ("sources", "features", "rule")}
    kwargs["training"] = _resolve(raw["training"], base)
    kwargs["sources"] = {name: _source(name, spec, base) for name, spec in (raw.get("sources") or {}).items()}
    kwargs["features"] = {name: _feature(name, spec) for name, spec in (raw.get("features") or {}).items()}
    if "rule" in raw:
        rule = raw["rule"] or {}
        _known(rule, RULE_KEYS, "rule")
        kwargs["rule"] = make_rule(**rule)
    return kwargs


def _known(mapping: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    if not isinstance(mapping, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(mapping).__name__}.")
    for key in mapping:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {key!r}.{did_you_mean(key, allowed)} Allowed: {list(allowed)}.")


def _resolve(value: str, base: Path) -> str:
    p = Path(value)
    return str(p if p.is_absolute() else base / p)


def _source(name: str, spec: dict[str, Any], base: Path) -> Source:
    _known(spec, SOURCE_KEYS, f"sources.{name}")
    if "path" not in spec or "entity" not in spec:
        raise ConfigError(f"sources.{name}: 'path' and 'entity' are required.")
    return Source(_resolve(spec["path"], base), entity=spec["entity"], time=spec.get("time"),
                  available_time=spec.get("available_time"))


def _feature(name: str, spec: dict[str, Any]) -> FeatureDecl:
    where = f"features.{name}"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected a mapping such as {{window: transactions, column: amount, agg: sum, "
                          f"over: 90d}}, got {spec!r}.")
    forms = [f for f in FEATURE_FORMS if f in (spec or {})]
    if len(forms) != 1:
        raise ConfigError(f"{where}: give exactly one of {list(FEATURE_FORMS)} naming its source, e.g. "
                          "{window: transactions, column: amount, agg: sum, over: 90d}.")
    form = forms[0]
    _known(spec, (form, *FEATURE_FORMS[form]), where)
    source = spec[form]
    if form == "window":
        return window(source, spec.get("column"), agg=spec.get("agg", "sum"), window=spec.get("over"))
    if "column" not in spec:
        raise ConfigError(f"{where}: 'column' is required for {form} features.")
    if form == "asof":
        return asof(source, spec["column"], ttl=spec.get("ttl"))
    return static(source, spec["column"])
