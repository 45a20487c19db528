"""A result's numbers in the Prometheus text exposition format (version 0.0.4), for a canary
analysis that reads Prometheus, or for node_exporter's textfile collector.

Every metric is a gauge named ``workbench_...`` with ``# HELP`` and ``# TYPE`` lines; label values
are escaped (backslash, double quote, newline) and a missing number (a scope too small, a side
without labels) is left out rather than written as 0. Intervals are ``..._low`` / ``..._high``
gauges beside the estimate, at the confidence ``workbench_shadow_confidence`` states.

For every check: ``workbench_findings{check,severity}`` and ``workbench_check_timestamp_seconds``.
With a verdict: ``workbench_verdict{check,decision}`` (1 for the decision taken, 0 for the two
others), ``workbench_verdict_exit_code`` and ``workbench_verdict_next_stage``. For a shadow or
canary comparison also, from its tables: request counts, agreement and kappa, score (or prediction)
deltas, latency quantiles per side and their ratio, error rates per side and the increase, accuracy
per side and the paired (or two-sample) difference candidate - production, regression MAE, and each
guardrail's estimate, tolerance, bounds and whether it was breached. Latency is in the unit of the
log's latency column.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.findings.model import SEVERITY_RANK

if TYPE_CHECKING:
    import polars as pl

    from workbench.findings.model import CheckResult

DECISIONS = ("promote", "hold", "rollback")


@dataclass
class _Family:
    name: str
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)


class _Metrics:
    """Gauge families in the order they are first written."""

    def __init__(self) -> None:
        self.families: dict[str, _Family] = {}

    def add(self, name: str, help: str, value: Any, **labels: Any) -> None:
        """One sample of ``workbench_<name>``; a None or non-number value is left out."""
        family = self.families.setdefault(name, _Family(f"workbench_{name}", help))
        if isinstance(value, bool):
            value = float(value)
        if value is None or not isinstance(value, int | float) or math.isnan(value):
            return
        family.samples.append(({k: str(v) for k, v in labels.items()}, float(value)))

    def add_bounds(self, name: str, help: str, row: Mapping[str, Any], column: str, **labels: Any) -> None:
        """The estimate ``row[column]`` and, where the row has them, ``column_low`` / ``column_high``."""
        self.add(name, help, row.get(column), **labels)
        for bound in ("low", "high"):
            self.add(f"{name}_{bound}", f"{bound} bound of the interval of workbench_{name}",
                     row.get(f"{column}_{bound}"), **labels)

    def text(self) -> str:
        lines = []
        for family in self.families.values():
            if not family.samples:
                continue
            lines += [f"# HELP {family.name} {_escape_help(family.help)}", f"# TYPE {family.name} gauge"]
            lines += [f"{family.name}{_labels(labels)} {_number(value)}" for labels, value in family.samples]
        return "\n".join(lines) + "\n"


def prometheus_text(result: CheckResult) -> str:
    """``result`` as Prometheus text exposition (what ``workbench shadow --metrics-out FILE`` writes)."""
    m = _Metrics()
    check = result.check
    for severity in SEVERITY_RANK:
        m.add("findings", "findings of the last run by severity", sum(f.severity == severity for f in result.findings),
              check=check, severity=severity)
    created = dt.datetime.fromisoformat(result.created_at)
    m.add("check_timestamp_seconds", "when the last run finished, Unix time",
          (created if created.tzinfo else created.replace(tzinfo=dt.UTC)).timestamp(), check=check)
    if result.verdict is not None:
        _verdict(m, check, result.verdict)
    if check == "shadow":
        _shadow(m, result)
    return m.text()


def _verdict(m: _Metrics, check: str, verdict: Any) -> None:
    for decision in DECISIONS:
        m.add("verdict", "the verdict of the last run: 1 for the decision taken (label decision), 0 for the others",
              int(verdict.decision == decision), check=check, decision=decision)
    m.add("verdict_exit_code", "exit status of the verdict: 0 promote, 1 rollback, 3 hold", verdict.exit_code,
          check=check)
    m.add("verdict_next_stage", "traffic share the candidate should have next (0 = rolled back)",
          verdict.next_stage, check=check)


def _shadow(m: _Metrics, result: CheckResult) -> None:
    params, tables = result.parameters, result.tables
    m.add("shadow_confidence", "confidence of the intervals", params.get("confidence"))
    for kind, count in (params.get("coverage") or {}).items():
        m.add("shadow_requests", "requests by how they reconciled (label kind)", count, kind=kind)
    for row in _rows(tables.get("agreement")):
        m.add_bounds("shadow_agreement", "share of compared requests where both models agree", row, "agreement",
                     scope=row["scope"])
        m.add_bounds("shadow_kappa", "Cohen's kappa between the two models' predictions", row, "kappa",
                     scope=row["scope"])
    for table, what in (("scores", "score"), ("prediction_deltas", "prediction")):
        for row in _rows(tables.get(table)):
            labels = {"what": what, "scope": row["scope"]}
            m.add_bounds("shadow_delta_mean", "mean of candidate - production (score or prediction)", row,
                         "mean_delta", **labels)
            m.add("shadow_delta_abs_mean", "mean absolute change, candidate vs production", row.get("mean_abs_delta"),
                  **labels)
            for q in ("50", "90", "99"):
                m.add("shadow_delta_abs_quantile", "quantile of the absolute change", row.get(f"abs_delta_p{q}"),
                      quantile=f"0.{q}", **labels)
            m.add("shadow_delta_large_share", "share of requests whose change counts as large",
                  row.get("share_large"), **labels)
    for row in _rows(tables.get("latency")):
        m.add("shadow_latency", "latency quantile per side, in the log's unit", row.get("value"), side=row["side"],
              quantile=_quantile(row["quantile"]))
        for bound in ("low", "high"):
            m.add(f"shadow_latency_{bound}", f"{bound} bound of workbench_shadow_latency", row.get(bound),
                  side=row["side"], quantile=_quantile(row["quantile"]))
    for row in _rows(tables.get("errors")):
        m.add_bounds("shadow_error_rate", "error rate per side", row, "rate", side=row["side"])
    for row in _rows(tables.get("errors"))[:1]:
        m.add_bounds("shadow_error_rate_increase", "error rate candidate - production", row, "increase")
    _accuracy(m, _rows(tables.get("accuracy")))
    _guardrails(m, _rows(tables.get("guardrails")))


def _accuracy(m: _Metrics, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        scope = row["scope"]
        for side in ("production", "candidate"):
            n, right = row.get(f"n_{side}"), row.get(f"right_{side}")
            if n and right is not None:
                m.add("shadow_accuracy", "accuracy on labelled requests per side", right / n, side=side, scope=scope)
            m.add("shadow_mae", "mean absolute error on labelled requests per side (regression)",
                  row.get(f"mae_{side}"), side=side, scope=scope)
        if "right_production" in row:
            m.add_bounds("shadow_accuracy_difference", "accuracy candidate - production on labelled requests "
                         "(paired in shadow mode)", row, "difference", scope=scope)
        m.add_bounds("shadow_mae_ratio", "MAE candidate / production (regression)", row, "mae_ratio", scope=scope)


def _guardrails(m: _Metrics, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        labels = {"guardrail": row["guardrail"], "scope": row["scope"]}
        m.add("shadow_guardrail_estimate", "a guardrail's harm estimate (ratio or proportion)", row.get("estimate"),
              **labels)
        m.add("shadow_guardrail_tolerance", "a guardrail's tolerance", row.get("tolerance"), **labels)
        m.add("shadow_guardrail_harm_low", "lower bound of the harm at the rollback level", row.get("harm_low"),
              **labels)
        m.add("shadow_guardrail_harm_high", "upper bound of the harm at the promote level", row.get("harm_high"),
              **labels)
        m.add("shadow_guardrail_breached", "1 when the guardrail is breached (the verdict is rollback)",
              int(row.get("status") == "breached"), **labels)
        if row["guardrail"].startswith("latency_p") and row["scope"] == "all":
            m.add("shadow_latency_ratio", "latency quantile ratio candidate / production", row.get("estimate"),
                  quantile=_quantile(float(row["guardrail"].removeprefix("latency_p")) / 100))


def _rows(table: pl.DataFrame | None) -> list[dict[str, Any]]:
    return [] if table is None or table.is_empty() else table.to_dicts()


def _quantile(q: float) -> str:
    return f"{q:g}"


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels.items()) + "}"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


__all__ = ["prometheus_text"]
