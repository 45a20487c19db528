"""``check_service``: the serving-operations check from request logs and spans (issue 20).

From the request log: ``retry_storm`` (:mod:`.retries`), ``idempotency_violation`` (:mod:`.idempotency`),
``fallback_rate_increase``, ``timeout_rate_increase`` and ``circuit_breaker_open`` (:mod:`.fallbacks`); from
spans: the stage breakdown and ``stage_latency_regression`` (:mod:`.stages`); from a metrics series: the GPU,
queue and incident parts of :mod:`workbench.service.metrics` (built beside this module). Problems of the input
(copies of rows, duplicate request ids, orphan retries, naive timestamps, broken spans) are findings of their
own, never a crash.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from workbench import params
from workbench.engine.fingerprints import summarize_input
from workbench.engine.inputs import FrameLike, to_lazy
from workbench.errors import ConfigError
from workbench.findings.model import CheckResult, Finding, InputSummary
from workbench.service import columns as C
from workbench.service import fallbacks, idempotency, rates, retries, stages
from workbench.service.log import Log, read_log
from workbench.service.words import CHECK

DEFAULT_WINDOW = "5m"


def check_service(
    requests: FrameLike | None = None,
    *,
    spans: Any = None,
    metrics: FrameLike | None = None,
    by: str | Sequence[str] | None = None,
    window: str | dt.timedelta = DEFAULT_WINDOW,
    depth: int = 1,
    request_id: str = "request_id",
    timestamp: str = "timestamp",
    idempotency_key: str | None = "idempotency_key",
    attempt: str | None = "attempt",
    status: str = "status",
    error_class: str | None = "error_class",
    latency_ms: str | None = "latency_ms",
    output_hash: str | None = "output_hash",
    side_effect_id: str | None = "side_effect_id",
    fallback: str | None = "fallback",
    dependency: str | None = "dependency",
    circuit_open: str | None = "circuit_open",
    stage: Any = "name",
    stratify: str | None = C.DEFAULT_STRATIFY,
    quantile: float = 0.95,
    min_support: int = 50,
    margin: float = 0.01,
    min_ratio: float = 1.5,
    latency_margin: float = 0.2,
    min_backoff: float | str | dt.timedelta = 0.1,
    no_backoff_share: float = 0.5,
    min_retries: int = 20,
    confidence: float = 0.95,
    fdr: float = params.DEFAULT_FDR,
    capacity: float | Mapping[str, float] | None = None,
) -> CheckResult:
    """Serving operations from the request log (``requests``), spans (``spans``) and metrics (``metrics``).

    ``requests``: one row per attempt (any input :func:`~workbench.engine.inputs.to_lazy` accepts) with the
    columns named by the keywords ``request_id``, ``timestamp`` (UTC; a naive one is read as UTC), ``status``
    (``ok``/``error``/``timeout``/``rejected``) and, where the log has them, ``idempotency_key``, ``attempt``
    (1 = the original), ``error_class``, ``latency_ms``, ``output_hash``, ``side_effect_id``, ``fallback``,
    ``dependency`` and ``circuit_open``; a part whose columns are missing is skipped (listed in the parameters).
    ``spans``: anything :func:`workbench.telemetry.read_spans` accepts, or its result; ``stage`` as in
    :func:`workbench.telemetry.stages_from_spans`. ``stratify``: the column whose values make stage latencies
    comparable (default ``endpoint``, used when the log or the spans have it; None: no strata): each request's
    stage latency is compared with its own stratum's baseline, so a change of the endpoint mix is not a
    regression. ``metrics``: a metrics series for the GPU/queue part.
    ``by``: segment columns (default: ``client_id``, ``region``, ``endpoint``, those present); scopes combine up
    to ``depth`` of them. ``window``: the time window (``"5m"``, ``"1h"``, a timedelta).

    Decisions: rates (retries per original, fallbacks and timeouts per request) rise when significant after
    Benjamini–Hochberg at ``fdr`` (over every cell of a scope depth, an untested one as p = 1), at least
    ``min_ratio`` times the baseline and higher by ``margin`` (events per request); both sides need
    ``min_support`` requests to be tested. A stage's ``quantile`` latency regresses when
    significant and at least ``1 + latency_margin`` times the baseline. Retries without backoff: the share of
    retries less than ``min_backoff`` (seconds or a duration) after the previous attempt exceeds
    ``no_backoff_share``; retried errors always fail when ``min_retries`` retries never succeeded. Intervals at
    ``confidence``. ``capacity``: the queues' capacity in items (one number, or per queue name), passed to
    ``metrics_findings``: a growing queue's finding then says how long it had left. Returns a
    :class:`~workbench.findings.CheckResult` with check ``"service"``; its tables are listed in docs/service.md.
    """
    o = _options(window=window, depth=depth, quantile=quantile, min_support=min_support, margin=margin,
                 min_ratio=min_ratio, latency_margin=latency_margin, min_backoff=min_backoff,
                 no_backoff_share=no_backoff_share, min_retries=min_retries, confidence=confidence, fdr=fdr)
    if requests is None and spans is None and metrics is None:
        raise ConfigError("check_service needs at least one input: requests= (a request log), spans= or metrics=.")
    given = {"request_id": request_id, "timestamp": timestamp, "idempotency_key": idempotency_key,
             "attempt": attempt, "status": status, "error_class": error_class, "latency_ms": latency_ms,
             "output_hash": output_hash, "side_effect_id": side_effect_id, "fallback": fallback,
             "dependency": dependency, "circuit_open": circuit_open}
    explicit = {r: v for r, v in given.items() if v is not None and v != C.ROLES[r]}
    tables: dict[str, pl.DataFrame] = {}
    findings: list[Finding] = []
    inputs: list[InputSummary] = []
    parameters: dict[str, Any] = {**o.record(), "by": None if by is None else params.column_names(
        by, name="by", owner=C.OWNER)}
    log = None
    if requests is not None:
        log = read_log(requests, {**{r: v for r, v in given.items() if v is None}, **explicit}, by, o.every,
                       stratify)
        inputs.append(summarize_input(to_lazy(requests, name="requests"), name="requests"))
        parameters.update(by=list(log.columns.by), columns=dict(log.columns.roles))
        part_tables, part_findings, skipped = _log_parts(log, o)
        tables |= part_tables
        findings += part_findings + _log_problems(log)
        parameters["skipped"] = skipped
    if spans is not None:
        part_tables, part_findings, summary = _span_parts(spans, by, log, o, stage, stratify)
        parameters["stratify"] = stratify
        tables |= part_tables
        findings += part_findings
        inputs.append(summary)
    if metrics is not None:
        part_tables, part_findings = _metrics_part(metrics, o, capacity)
        tables |= part_tables
        findings += part_findings
    incidents = _incidents(findings)
    if incidents is not None:
        tables["incidents"] = incidents
    return CheckResult(CHECK, tuple(findings), tuple(inputs), parameters=parameters, tables=tables)


@dataclass(frozen=True)
class _Options:
    """The decision options, validated: the window as a duration ``every``, the rate ``rule``, the stage
    ``stage_rule``, and the retry options."""

    every: dt.timedelta
    depth: int
    rule: rates.Rule
    stage_rule: stages.StageRule
    min_backoff: float
    no_backoff_share: float
    min_retries: int

    def record(self) -> dict[str, Any]:
        return {"window": self.every, "depth": self.depth, "min_support": self.rule.min_support,
                "margin": self.rule.margin, "min_ratio": self.rule.min_ratio, "confidence": self.rule.confidence,
                "fdr": self.rule.fdr, "quantile": self.stage_rule.quantile,
                "latency_margin": self.stage_rule.latency_margin, "min_backoff": self.min_backoff,
                "no_backoff_share": self.no_backoff_share, "min_retries": self.min_retries}


def _options(*, window: Any, depth: Any, quantile: Any, min_support: Any, margin: Any, min_ratio: Any,
             latency_margin: Any, min_backoff: Any, no_backoff_share: Any, min_retries: Any, confidence: Any,
             fdr: Any) -> _Options:
    """Every option checked by its kind (:mod:`workbench.params`); a wrong one raises naming it."""
    owner = C.OWNER
    ratio = params.positive_number(min_ratio, name="min_ratio", owner=owner)
    if ratio < 1:
        raise ConfigError(f"The 'min_ratio' parameter of {owner} must be at least 1 (1.5 = 50% above the "
                          f"baseline). Got {min_ratio!r}.")
    conf = params.open_unit(confidence, name="confidence", owner=owner)
    level = params.open_unit(fdr, name="fdr", owner=owner)
    support = params.count(min_support, name="min_support", owner=owner)
    return _Options(
        every=params.positive_duration(window, name="window", owner=owner),
        depth=params.count(depth, name="depth", minimum=0, owner=owner),
        rule=rates.Rule(support, params.non_negative_number(margin, name="margin", owner=owner), ratio, conf, level),
        stage_rule=stages.StageRule(params.open_unit(quantile, name="quantile", owner=owner), support,
                                    params.non_negative_number(latency_margin, name="latency_margin", owner=owner),
                                    conf, level),
        min_backoff=params.positive_duration(min_backoff, name="min_backoff", owner=owner).total_seconds(),
        no_backoff_share=params.open_unit(no_backoff_share, name="no_backoff_share", owner=owner),
        min_retries=params.count(min_retries, name="min_retries", owner=owner))


def _log_parts(log: Log, o: _Options) -> tuple[dict[str, pl.DataFrame], list[Finding], list[str]]:
    """Retries, idempotency, fallbacks, timeouts and circuit-breaker periods; the parts skipped for lack of
    columns are named."""
    tables: dict[str, pl.DataFrame] = {}
    findings: list[Finding] = []
    skipped = []
    last = int(log.rows.get_column(C.WINDOW).max())  # type: ignore[arg-type]
    if log.columns.has("attempt"):
        tables["retries"], alerts = retries.retry_rate(log, o.rule, o.depth)
        findings += retries.rate_findings(alerts, log, o.rule, last)
        retried = retries.retry_rows(log)
        skewed = int(retried.get_column(retries.SKEWED).sum())
        if skewed:
            findings.append(_problem(
                "clock_skew", "timestamp", f"{skewed:,} retries start before the attempt they retry; the clocks of "
                "the hosts that logged them disagree. They were left out of the backoff measurement.",
                "Sync the hosts' clocks (NTP), or log attempts from one clock (the client's).", skewed,
                retried.height, []))
        tables["backoff"], found = retries.no_backoff(retried, log, min_backoff=o.min_backoff,
                                                      share=o.no_backoff_share, min_retries=o.min_retries,
                                                      confidence=o.rule.confidence, fdr=o.rule.fdr)
        findings += found
        if log.columns.has("error_class"):
            tables["retried_errors"], found = retries.always_fails(retried, min_retries=o.min_retries,
                                                                   confidence=o.rule.confidence)
            findings += found
    else:
        skipped.append("retries (no attempt column)")
    if log.columns.has("idempotency_key") and (log.columns.has("output_hash") or log.columns.has("side_effect_id")):
        tables["idempotency"], found = idempotency.violations(log, o.rule.confidence)
        findings += found
    else:
        skipped.append("idempotency (needs idempotency_key and output_hash or side_effect_id)")
    rate_tables, found = fallbacks.rate_parts(log, o.rule, o.depth, last)
    tables |= rate_tables
    findings += found
    if not log.columns.has("fallback"):
        skipped.append("fallbacks (no fallback column)")
    if log.columns.has("circuit_open"):
        tables["circuit_breaker"], found = fallbacks.circuit_periods(log, gap=o.every, confidence=o.rule.confidence)
        findings += found
    else:
        skipped.append("circuit breaker (no circuit_open column)")
    return tables, findings, skipped


def _log_problems(log: Log) -> list[Finding]:
    """The request log's problems as info findings: copies, duplicate ids, orphan retries, naive time."""
    out = []
    n, counts, ex = log.counts["rows"], log.counts, log.examples
    if counts["exact_copies"]:
        out.append(_problem("duplicate_rows", "request_id", f"{counts['exact_copies']:,} rows of the request log are "
                            "exact copies of another row; each was counted once.",
                            "Find where the log is written twice (a retried log shipper, an overlapping export).",
                            counts["exact_copies"], n, []))
    if counts["duplicate_ids"]:
        out.append(_problem("duplicate_request_ids", "request_id", f"{counts['duplicate_ids']:,} rows repeat the "
                            "request_id (and attempt) of another row with different values; they were kept.",
                            "Give each attempt its own request_id, or an attempt number, so that rows can be told "
                            "apart.", counts["duplicate_ids"], n, ex["duplicate_ids"]))
    if counts.get("orphan_retries"):
        out.append(_problem("orphan_retries", "attempt", f"{counts['orphan_retries']:,} retries (attempt > 1) have no "
                            "original (attempt 1) with the same key in the log; they count as retries but have no "
                            "gap to measure.", "Check that the log covers the originals (a window cut at the "
                            "start, attempts numbered from 0, or a key that changes between attempts).",
                            counts["orphan_retries"], n, ex["orphan_retries"]))
    if log.naive:
        out.append(_problem("naive_timestamps", "timestamp", "The request log's timestamps have no time zone; they "
                            "were read as UTC.", "Store timestamps with their zone (UTC), or convert them first: "
                            "pl.col('timestamp').dt.replace_time_zone('Europe/Paris').", n, n, []))
    return out


def _problem(kind: str, subject: str, message: str, suggestion: str, affected: int, n: int,
             examples: list[Any]) -> Finding:
    return Finding(CHECK, kind, "info", subject, message, suggestion,
                   {"affected_rows": affected, "affected_share": affected / n if n else None, "n": n},
                   {}, tuple({"example": e} for e in examples))


def _span_parts(spans: Any, by: str | Sequence[str] | None, log: Log | None, o: _Options, stage: Any,
                stratify: str | None) -> tuple[dict[str, pl.DataFrame], list[Finding], InputSummary]:
    """The stage breakdown and regressions, and the span problems as a finding."""
    if log is not None:
        segs, names, explicit = list(log.columns.by), log.columns.names, by is not None
    else:
        segs = list(C.DEFAULT_BY) if by is None else params.column_names(by, name="by", owner=C.OWNER)
        names, explicit = {C.segment(i): b for i, b in enumerate(segs)}, by is not None
    strata = stages.Strata(stratify, stratify != C.DEFAULT_STRATIFY)
    sp = stages.read(spans, segs, explicit, log.rows if log is not None else None, names, o.every, stage, strata)
    tables = {"stages": stages.breakdown(sp, o.depth)}
    tables["stage_windows"], findings = stages.regressions(sp, o.depth, o.stage_rule, o.every)
    bad = {k: v for k, v in sp.problems.items() if v}
    if bad:
        text = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in bad.items())
        findings.append(Finding(
            CHECK, "span_problems", "info", "spans", f"Spans with problems: {text}. Spans with a negative duration "
            "were left out of the stage latencies; a missing parent or root leaves a request's tree incomplete; "
            "clock skew (a child starting before its parent) means the hosts' clocks disagree.",
            "Check the exporters (sampling that drops parents, spans still open) and the hosts' clock sync (NTP).",
            {**bad, "affected_rows": sum(bad.values())}, {}))
    if sp.matched is not None and sp.matched < sp.traces:
        findings.append(Finding(
            CHECK, "unmatched_spans", "info", "spans", f"{sp.traces - sp.matched:,} of {sp.traces:,} traces have no "
            "row in the request log (trace_id = request_id); their segments are unknown ('null').",
            "Log the trace id as the request id (or join them before), so each request's stages get its segments.",
            {"affected_rows": sp.traces - sp.matched, "affected_share": 1 - sp.matched / sp.traces, "n": sp.traces},
            {}))
    return tables, findings, sp.summary


# -- the metrics half: helper `svcmetrics` builds workbench/service/metrics.py (metrics_findings) and
# -- workbench/service/incidents.py (incidents); they are called here when present --------------------------
def _metrics_part(metrics: FrameLike, o: _Options,
                  capacity: float | Mapping[str, float] | None = None) -> tuple[dict[str, pl.DataFrame], list[Finding]]:
    """GPU, queue and data-loader findings from a metrics series (``metrics_findings`` of
    :mod:`workbench.service.metrics`), given the options it accepts."""
    try:
        module = importlib.import_module("workbench.service.metrics")
    except ModuleNotFoundError as exc:
        raise ConfigError("metrics= needs workbench.service.metrics, which this version does not have yet; "
                          "leave metrics= out.") from exc
    func = module.metrics_findings
    offered: dict[str, Any] = {"window": o.every, "confidence": o.rule.confidence, "fdr": o.rule.fdr}
    if capacity is not None:
        offered["capacity"] = capacity
    accepted = inspect.signature(func).parameters
    tables, findings = func(metrics, **{k: v for k, v in offered.items() if k in accepted})
    return dict(tables), list(findings)


def _incidents(findings: list[Finding]) -> pl.DataFrame | None:
    """The incident timeline (``incidents`` of :mod:`workbench.service.incidents`) when that module exists."""
    try:
        module = importlib.import_module("workbench.service.incidents")
    except ModuleNotFoundError:
        return None
    table: pl.DataFrame = module.incidents(findings)
    return table
