"""The checks on the command line: one table of options per check (flag -> API keyword), and the call.

Each command's name is its check's name in results (``leakage``, ``drift``, ``skew``, ``shadow``,
``performance``); each option's key is the API's argument name, and the key of ``--config`` files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from workbench.cli.command import Command
from workbench.cli.finish import EXIT_OK, Outputs, finish, finish_verdict
from workbench.cli.options import (
    BINS,
    BY,
    COLUMNS,
    COUNT,
    ID,
    LABELS,
    NOTIFICATIONS,
    NUMBER,
    OUT,
    OUTPUT,
    OUTPUTS,
    PAIR,
    PATH,
    PREDICTION,
    QUIET,
    REPORT,
    SCORE,
    SWITCH,
    TARGET,
    TEXT,
    TIMESTAMP,
    VERDICT_ACTIONS,
    WINDOW,
    Kind,
    Option,
    with_help,
)

# -- leakage -----------------------------------------------------------------------------------------
LEAKAGE_OPTIONS = (
    Option("training", "training set (parquet/CSV path or glob)", kind=PATH, required=True),
    Option("entity", "entity key column: the thing the features describe (e.g. a customer), for point-in-time "
                     "lookups", required=True),
    Option("prediction_time", "prediction time column", required=True),
    with_help(TARGET, "label column"),
    Option("positive", "the --target value that is the positive class (needed unless the label is boolean or "
                       "0/1), e.g. --positive yes", kind=TEXT),
    Option("split", "split column (values --train-value / --test-value)"),
    Option("train_value", "split value of training rows (default 'train')", kind=TEXT),
    Option("test_value", "split value of test rows (default 'test')", kind=TEXT),
    Option("feature_timestamps", "a training column holding the time FEATURE was observed (repeatable)",
           kind=PAIR, flag="--feature-timestamp", repeat=True, metavar="FEATURE=COLUMN"),
)


def _leakage_config(raw: Mapping[str, Any], base: Path, where: str) -> dict[str, Any]:
    """The leakage audit's own declaration (sources, features, rule; :mod:`workbench.leakage.config`)."""
    from workbench.leakage.config import config_to_kwargs

    return config_to_kwargs(dict(raw), base=base, where=where)


def _leakage_sources(values: Mapping[str, Any]) -> list[Any]:
    return [getattr(source, "data", None) for source in (values.get("sources") or {}).values()]


def _leakage(values: dict[str, Any], outputs: Outputs) -> int:
    from workbench.leakage.audit import check_leakage

    training = values.pop("training")
    return finish(check_leakage(training, **values), outputs)


LEAKAGE = Command(
    "leakage", "point-in-time leakage audit of a training set",
    "Audit a training set for point-in-time leakage. Give --config (YAML/JSON: inputs, sources, features and "
    "the rule, see workbench/leakage/config.py), or --training with --entity and --prediction-time for the "
    "checks that need no declarations (split, duplicates, target proxy, feature timestamps). Flags override "
    "the config.",
    LEAKAGE_OPTIONS, _leakage, read_config=_leakage_config, inputs=_leakage_sources)

# -- drift and skew ----------------------------------------------------------------------------------
DRIFT_OPTIONS = (
    Option("reference", "reference data (parquet/CSV path, glob or directory) or a *.profile.json", kind=PATH,
           required=True),
    Option("current", "current data (path, glob, or a directory of parquet partitions)", kind=PATH),
    Option("save_profile", "fit the reference profile and save it here (reuse it as --reference PATH)",
           kind=OUTPUT, metavar="PATH"),
    with_help(TIMESTAMP, "current column with each row's time; splits current into windows"),
    WINDOW,
    with_help(BY, "segment column (repeatable); with --save-profile, the profile keeps each segment's counts"),
    with_help(SCORE, "model score column (prediction drift)"),
    with_help(PREDICTION, "predicted class column (prediction drift)"),
    with_help(TARGET, "label column (label drift)"),
    COLUMNS,
    Option("exclude", "column to leave out, e.g. an id (repeatable)", repeat=True, metavar="COLUMN"),
    with_help(BINS, "quantile bins per numeric column of the reference (default 10)"),
    Option("multivariate", "also train a reference-vs-current classifier (needs scikit-learn: the [ml] extra)",
           kind=SWITCH),
)


def _drift_check(values: Mapping[str, Any]) -> None:
    from workbench.errors import ConfigError

    if "current" not in values and "save_profile" not in values:
        raise ConfigError("missing --current (or --save-profile to only fit and save the reference profile).")


def _drift(values: dict[str, Any], outputs: Outputs) -> int:
    from workbench.drift import DriftProfile, check_drift, fit_profile

    reference, current = values.pop("reference"), values.pop("current", None)
    save_profile = values.pop("save_profile", None)
    if reference.endswith(".json"):
        profile = DriftProfile.load(reference)
    else:
        labels = [values[k] for k in ("prediction", "target") if values.get(k)]
        timestamp = [values["timestamp"]] if values.get("timestamp") else []
        bins = {"bins": values["bins"]} if "bins" in values else {}
        profile = fit_profile(reference, columns=values.get("columns"), exclude=[*values.get("exclude", ()),
                              *timestamp], categorical=labels, by=values.get("by", ()), **bins)
    if save_profile:
        path = profile.save(save_profile)
        if not outputs.quiet:
            print(f"reference profile ({len(profile.columns)} columns, {profile.rows:,} rows) saved to {path}")
        if current is None:
            return EXIT_OK
    return finish(check_drift(profile, current, **values), outputs)


DRIFT = Command(
    "drift", "drift and schema evolution of current data against a reference",
    "Compare --current with --reference (a dataset, or a profile saved with --save-profile) per column, "
    "window and segment. Exit status as for `workbench leakage`.",
    DRIFT_OPTIONS, _drift, check=_drift_check)


def _skew(values: dict[str, Any], outputs: Outputs) -> int:
    from workbench.drift import check_skew

    result = check_skew(values.pop("training"), values.pop("serving"), **values)
    return finish(result, outputs)


SKEW = Command(
    "skew", "training/serving skew: the same requests compared feature by feature",
    "Join --training and --serving by --id and report, per feature, the share of requests whose values "
    "differ. Exit status as for `workbench leakage`.",
    (Option("training", "features as rebuilt for training (path or glob)", kind=PATH, required=True),
     Option("serving", "features as logged at serving time (path or glob)", kind=PATH, required=True),
     with_help(ID, "request id column, unique on each side", required=True),
     with_help(COLUMNS, "a feature to compare (repeatable; default: all shared)")),
    _skew)


# -- shadow ------------------------------------------------------------------------------------------
def _shadow_options() -> tuple[Option, ...]:
    from workbench.shadow.task import TASKS
    from workbench.shadow.verdict import DEFAULT_STAGES, Guardrails

    g = Guardrails()
    plan = " ".join(f"--plan-stage {s}" for s in DEFAULT_STAGES)
    return (
        Option("production", "production (or baseline) request log: path or glob", kind=PATH, required=True),
        Option("candidate", "candidate (shadow or canary) request log: path or glob", kind=PATH, required=True),
        with_help(ID, "request id column", required=True),
        Option("mode", "shadow: both sides answered the same requests; canary: each side its own share",
               kind=TEXT, choices=("shadow", "canary")),
        with_help(TIMESTAMP, "request time column (the latest attempt of a retried request is kept)"),
        PREDICTION,
        with_help(SCORE, "score column in [0, 1] (score deltas)"),
        Option("latency", "latency column (any unit, the same on both sides)"),
        Option("error", "error flag column (boolean or 0/1)"),
        BY,
        *LABELS,
        Option("latency_ratio", f"guardrail: largest p95 latency ratio candidate/production (default "
                                f"{g.latency_ratio})", kind=NUMBER),
        Option("error_increase", f"guardrail: largest error-rate increase, a proportion (default "
                                 f"{g.error_increase})", kind=NUMBER),
        Option("accuracy_drop", f"guardrail: largest accuracy drop, overall and per segment (default "
                                f"{g.accuracy_drop})", kind=NUMBER),
        Option("mae_ratio", f"guardrail (regression): largest MAE ratio candidate/production (default "
                            f"{g.mae_ratio})", kind=NUMBER),
        Option("task", "binary: classes 0/1, 1 the positive class (classification: the same); multiclass: any "
                       "classes compared by equality; regression: numeric predictions; auto (default): regression "
                       "for a float prediction, else binary for 0/1 classes", kind=TEXT, choices=tuple(TASKS)),
        Option("large_change", "regression: a change of the prediction larger than this counts as a "
                               "disagreement (default: a tenth of production's prediction standard deviation)",
               kind=NUMBER),
        Option("max_coverage_gap", f"guardrail: largest share of production requests the candidate may miss "
                                   f"(default {g.max_coverage_gap})", kind=NUMBER),
        Option("min_requests", f"requests needed for a verdict other than hold (default {g.min_requests})",
               kind=COUNT),
        Option("min_labelled", f"labelled requests needed to judge accuracy (default {g.min_labelled})",
               kind=COUNT),
        Option("min_support", f"labelled requests a segment needs to be tested (default {g.min_support})",
               kind=COUNT),
        Option("looks", "how many times this candidate will be checked, e.g. 168 for hourly over a week; the "
                        "false-rollback rate holds over all of them (default 1)", kind=COUNT),
        Option("require_accuracy", "judge latency and errors alone when there are no labels (default: hold "
                                   "without labels; in a config file: require_accuracy: false)",
               kind=SWITCH, flag="--operations-only", const=False),
        Option("confidence", f"confidence (default {g.confidence})", kind=NUMBER),
        Option("stages", f"a traffic share of the rollout plan, in order (repeatable), e.g. {plan}",
               kind=NUMBER, flag="--plan-stage", repeat=True, metavar="SHARE"),
        Option("stage", "the candidate's current traffic share (canary: default observed)", kind=NUMBER),
    )


def _shadow(values: dict[str, Any], outputs: Outputs) -> int:
    from workbench.shadow import Guardrails, check_shadow

    tolerances = {f.name for f in fields(Guardrails)}
    guardrails = {k: values.pop(k) for k in list(values) if k in tolerances and k != "confidence"}
    if "confidence" in values:  # the verdict's confidence and the comparison's
        guardrails["confidence"] = values["confidence"]
    result = check_shadow(values.pop("production"), values.pop("candidate"), guardrails=Guardrails(**guardrails),
                          **values)
    return finish_verdict(result, outputs)


SHADOW = Command(
    "shadow", "shadow-vs-production or canary comparison with a promote/hold/rollback verdict",
    "Compare a candidate's request log with production's (shadow: same requests; canary: split traffic) and "
    "decide. Exit status: 0 promote, 1 rollback, 3 hold, 2 usage or input error, 6 the verdict's --on-* command "
    "or a notification failed.",
    _shadow_options(), _shadow,
    outputs=(with_help(OUT, "write the findings JSON (with the top-level verdict) here"), REPORT,
             with_help(QUIET, "print only the verdict line (and what failed)"), *VERDICT_ACTIONS))

# -- performance -------------------------------------------------------------------------------------
PERFORMANCE_OPTIONS = (
    Option("predictions", "prediction log (parquet/CSV path or glob)", kind=PATH, required=True),
    with_help(BY, "segment column (repeatable)", required=True),
    with_help(TARGET, "label column in the predictions (null where not known yet)"),
    with_help(LABELS[0], "labels file (id and label columns) arriving separately"),
    with_help(ID, "request id column shared by predictions and labels"),
    *LABELS[1:],
    with_help(PREDICTION, "predicted class (0/1) or value column"),
    with_help(SCORE, "probability of class 1 (AUC, log loss, Brier, calibration, estimates)"),
    Option("threshold", "class = score >= threshold without --prediction (default 0.5)", kind=NUMBER),
    with_help(TIMESTAMP, "prediction time column: localized drops per --window"),
    WINDOW,
    Option("reference", "labelled reference (same columns; label inline) for calibration", kind=PATH),
    with_help(BINS, "score bins of the calibration tables (default 10)"),
    Option("depth", "most segment columns combined in one scope (default 2)", kind=COUNT),
    Option("min_support", "rows a scope needs to be tested (default 100)", kind=COUNT),
    Option("margin", "smallest drop worth an alert (default 0.05 accuracy, 10%% MAE)", kind=NUMBER),
    Option("fdr", "false-discovery rate across tested cells (default 0.01)", kind=NUMBER),
)


def _performance(values: dict[str, Any], outputs: Outputs) -> int:
    from workbench.performance import check_performance

    return finish(check_performance(values.pop("predictions"), **values), outputs)


PERFORMANCE = Command(
    "performance", "subgroup performance, localized drops, calibration and label-free estimates",
    "Measure a model on its prediction log per segment and time window, with labels inline (--target) or "
    "arriving separately (--labels --id). Exit status as for `workbench leakage`.",
    PERFORMANCE_OPTIONS, _performance)

# -- calibration -------------------------------------------------------------------------------------
CALIBRATION_OPTIONS = (
    Option("reference", "labelled reference (parquet/CSV path or glob): score and label columns", kind=PATH,
           required=True),
    Option("current", "labelled current data (path or glob): the same columns", kind=PATH, required=True),
    with_help(SCORE, "probability of class 1", required=True),
    with_help(TARGET, "label column (0/1 or boolean)", required=True),
    with_help(TIMESTAMP, "current column with each row's time: calibration per --window"),
    WINDOW,
    BY,
    with_help(BINS, "score bins of the calibration tables (default 10)"),
    Option("confidence", "confidence of every interval (default 0.95)", kind=NUMBER),
    Option("fdr", "false-discovery rate across tested scopes (default 0.01)", kind=NUMBER),
    Option("ece_margin", "smallest rise of the expected calibration error worth an alert (default 0.02)",
           kind=NUMBER),
    Option("slope_margin", "smallest distance of the calibration slope from 1 worth an alert (default 0.2)",
           kind=NUMBER),
    Option("min_support", "labelled rows a scope needs to be tested (default 200)", kind=COUNT),
)


def _calibration(values: dict[str, Any], outputs: Outputs) -> int:
    from workbench.performance import check_calibration

    return finish(check_calibration(values.pop("reference"), values.pop("current"), **values), outputs)


CALIBRATION = Command(
    "calibration", "calibration of a score against a labelled reference, per window and segment",
    "Compare the calibration of --score in --current with --reference (ECE, slope, reliability bins, a "
    "recalibration table). Exit status as for `workbench leakage`.",
    CALIBRATION_OPTIONS, _calibration)

# -- service ---------------------------------------------------------------------------------------
def _seconds(value: Any) -> float | str:
    """A number of seconds (``0.1``), or a duration (``1s``, ``2m``) that check_service reads."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(value)
    try:
        return float(value)
    except ValueError:
        return str(value)


def _capacity(value: Any) -> dict[str | None, float]:
    """``3000`` (every queue; key None) or ``inference=3000`` (one queue); a config's mapping as it is."""
    if isinstance(value, Mapping):
        return {str(k): _positive(v) for k, v in value.items()}
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(value)
    name, sep, items = str(value).rpartition("=")
    if sep and not name:
        raise ValueError(value)
    return {name or None: _positive(items)}


def _positive(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float) or not float(value) > 0:
        raise ValueError(value)
    return float(value)


SECONDS = Kind("seconds (0.1) or a duration (1s, 2m)", _seconds)
CAPACITY = Kind("a number of items (every queue) or QUEUE=ITEMS", _capacity)
SERVICE_COLUMNS = (
    ("request_id", "the attempt's id (the trace id, to join spans)"),
    ("idempotency_key", "the key a client sends with every attempt of one logical request"),
    ("attempt", "attempt number: 1 the original, 2, 3, ... the retries"),
    ("status", "status column: ok, error, timeout or rejected"),
    ("error_class", "the error's class when the attempt failed"),
    ("latency_ms", "the attempt's latency in milliseconds"),
    ("output_hash", "a hash of the response"),
    ("side_effect_id", "the id of what the request did (a payment, an email)"),
    ("fallback", "whether default or cached features were served (boolean)"),
    ("dependency", "the dependency that fell back, or whose circuit breaker was open"),
    ("circuit_open", "whether the dependency's circuit breaker was open for this attempt (boolean)"),
)
SERVICE_OPTIONS = (
    Option("requests", "request log, one row per attempt (parquet/CSV path, glob or folder)", kind=PATH),
    Option("spans", "spans: an OTLP/JSON export or a flat span table (path, glob or folder)", kind=PATH),
    Option("metrics", "metrics series in long format: timestamp, metric, value, labels (path, glob or folder)",
           kind=PATH),
    with_help(BY, "segment column (repeatable; default: client_id, region, endpoint, those present)"),
    with_help(WINDOW, "base time window, e.g. 5m, 15m, 1h (default 5m)"),
    Option("depth", "most segment columns combined in one scope (default 1)", kind=COUNT),
    with_help(TIMESTAMP, "request log column: when the attempt started (UTC)"),
    *(Option(key, f"request log column: {text} (default {key})") for key, text in SERVICE_COLUMNS),
    Option("stage", "what a span's stage is: its name (default), or the gen_ai.operation.name attribute",
           kind=TEXT, choices=("name", "gen_ai.operation.name")),
    Option("capacity", "a queue's capacity in items: ITEMS for every queue or QUEUE=ITEMS (repeatable); a growing "
                       "queue's finding then says how long it had left", kind=CAPACITY, repeat=True,
           metavar="[QUEUE=]ITEMS"),
    Option("quantile", "the stage latency quantile compared (default 0.95)", kind=NUMBER),
    Option("min_support", "requests (or original requests) a side needs to be tested (default 50)", kind=COUNT),
    Option("margin", "smallest rise of a rate worth an alert, in events per request (default 0.01)", kind=NUMBER),
    Option("min_ratio", "smallest ratio to the baseline rate worth an alert (default 1.5)", kind=NUMBER),
    Option("latency_margin", "a stage regresses at 1 + this times its baseline quantile (default 0.2)",
           kind=NUMBER),
    Option("min_backoff", "a retry sooner than this after the previous attempt has no backoff: seconds or a "
                          "duration (default 0.1)", kind=SECONDS),
    Option("no_backoff_share", "share of retries without backoff above which a scope alerts (default 0.5)",
           kind=NUMBER),
    Option("min_retries", "retries a scope (or an error class) needs to be judged (default 20)", kind=COUNT),
    Option("confidence", "confidence of every interval (default 0.95)", kind=NUMBER),
    Option("fdr", "false-discovery rate across every scope × window cell of one depth (default 0.01)", kind=NUMBER),
)


def _service_check(values: Mapping[str, Any]) -> None:
    from workbench.errors import ConfigError

    if not {"requests", "spans", "metrics"} & set(values):
        raise ConfigError("missing --requests, --spans or --metrics (at least one; or give them in --config).")


def _service(values: dict[str, Any], outputs: Outputs) -> int:
    from workbench.service import check_service

    if "capacity" in values:
        values["capacity"] = _capacities(values["capacity"])
    return finish(check_service(values.pop("requests", None), **values), outputs)


def _capacities(items: list[dict[str | None, float]]) -> float | dict[str, float]:
    """One number for every queue, or a number per queue name; not both."""
    from workbench.errors import ConfigError

    merged = {k: v for item in items for k, v in item.items()}
    if None in merged and len(merged) > 1:
        raise ConfigError("--capacity: give one number for every queue (--capacity 3000) or one per queue "
                          "(--capacity inference=3000 --capacity batch=500), not both.")
    return merged[None] if None in merged else {str(k): v for k, v in merged.items()}


SERVICE = Command(
    "service", "serving operations: retries, idempotency, fallbacks, stage latency, GPUs, queues, incidents",
    "Check a model service from its request log (--requests), spans (--spans) and metrics series (--metrics): "
    "retry storms, idempotency violations, fallbacks, timeouts, circuit-breaker periods, per-stage latency "
    "regressions, under-used GPUs, queue backpressure, gaps in the metrics, and the incident timeline. Exit "
    "status as for `workbench leakage` (6: a notification failed).",
    SERVICE_OPTIONS, _service, check=_service_check,
    outputs=(*OUTPUTS, *NOTIFICATIONS))

# -- llm ---------------------------------------------------------------------------------------------
def _column(key: str, what: str, note: str = "absent: its part is skipped") -> Option:
    return Option(key, f"{what} column (default '{key}'; {note})")


LLM_OPTIONS = (
    Option("requests", "request log, one row per request (parquet/CSV path or glob)", kind=PATH, required=True),
    Option("judgments", "a separate table of request_id and grounded, joined on the id (path)", kind=PATH),
    _column("request_id", "request id"),
    with_help(TIMESTAMP, "request time column (default 'timestamp'; a naive time is read as UTC)"),
    _column("api_key", "API key"),
    _column("user_id", "user id"),
    _column("model", "model name"),
    _column("input_tokens", "input tokens"),
    _column("output_tokens", "output tokens"),
    _column("cost", "cost per request", "in --currency; absent: computed from --prices"),
    _column("latency_ms", "latency"),
    _column("status", "status", "'ok' or not"),
    _column("grounded", "judged grounded", "true/false, null when not judged; or a score with --grounded-threshold"),
    Option("grounded_threshold", "a --grounded score at or above this is grounded", kind=NUMBER),
    _column("k", "documents asked of the retrieval (k)"),
    _column("retrieved", "documents returned", "0 = empty retrieval"),
    _column("first_relevant_rank", "first relevant document's rank", "1..k, null when none"),
    _column("relevance_known", "relevance known", "true/false"),
    _column("retrieval_latency_ms", "retrieval latency"),
    _column("query_type", "query type"),
    with_help(BY, "segment column (repeatable; default: those of region, query_type, model present)"),
    Option("versions", "version column an alert is aligned with (repeatable; default: model_version, "
                       "prompt_version present)", flag="--version-column", repeat=True, metavar="COLUMN"),
    Option("depth", "most segment columns combined in one scope (default 2)", kind=COUNT),
    with_help(WINDOW, "window length, e.g. 1h, 6h, 1d (default 1h)"),
    Option("prices", "YAML/JSON file of prices per 1,000 tokens by model ({gpt-4o: {input: 0.0025, output: "
                     "0.01}}), used without a --cost column", kind=PATH, metavar="FILE"),
    Option("currency", "currency code of --cost and --prices (default USD)", kind=TEXT),
    Option("min_support", "rows on each side of a tested cell; judged rows for the ungrounded rate (default 50)",
           kind=COUNT),
    Option("margins", "smallest change worth an alert for METRIC (repeatable; default "
                      "workbench.llm.quality.MARGINS), e.g. --margin ungrounded_rate=0.03",
           kind=PAIR, flag="--margin", repeat=True, metavar="METRIC=VALUE"),
    Option("confidence", "confidence of every interval (default 0.95)", kind=NUMBER),
    Option("fdr", "false-discovery rate of every family of tested cells (default 0.01)", kind=NUMBER),
    Option("spike_factor", "usage spikes: times the usual total (default 3)", kind=NUMBER),
    Option("min_share", "usage spikes: smallest extra, a share of all traffic's mean usage per window "
                        "(default 0.1)", kind=NUMBER),
    Option("min_windows", "usage spikes: active windows of history needed (default 24)", kind=COUNT),
)


def _llm_prices(path: str) -> dict[str, Any]:
    """The prices file (YAML, or JSON when it ends in .json): model -> {input, output} per 1,000 tokens."""
    from workbench.cli.config import read_config
    from workbench.errors import ConfigError

    try:
        return read_config(path, example="prices.yaml")
    except ConfigError as exc:
        raise ConfigError(f"--prices: {exc}") from None


def _llm_margins(margins: Mapping[str, str]) -> dict[str, float]:
    from workbench.errors import ConfigError

    try:
        return {metric: float(value) for metric, value in margins.items()}
    except ValueError:
        raise ConfigError(f"--margin expects METRIC=NUMBER, e.g. ungrounded_rate=0.03; got {dict(margins)}.") \
            from None


def _llm(values: dict[str, Any], outputs: Outputs) -> int:
    from workbench.llm import check_llm

    if "prices" in values:
        values["prices"] = _llm_prices(values["prices"])
    if "margins" in values:
        values["margins"] = _llm_margins(values["margins"])
    return finish(check_llm(values.pop("requests"), **values), outputs)


LLM = Command(
    "llm", "LLM application: ungrounded answers, token and cost spikes, retrieval quality",
    "Check an LLM or RAG application's request log: ungrounded-answer rate and retrieval quality per segment "
    "and window, token and cost spikes per API key, user and segment. Column flags default to the request-log "
    "names. Exit status as for `workbench leakage`.",
    LLM_OPTIONS, _llm)

CHECKS = (LEAKAGE, DRIFT, SKEW, SHADOW, PERFORMANCE, CALIBRATION, SERVICE, LLM)
