"""The findings contract shared by every check.

A check returns a :class:`CheckResult`: a small frozen object holding the findings, the
small tables behind them (polars frames, thousands of rows at most) and a record of the
inputs and parameters. Presentation (HTML, text, widgets) is built from a result and
never recomputes anything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from workbench.metadata import version

if TYPE_CHECKING:
    from workbench.findings.glance import Glance

SCHEMA_VERSION = "1.2.0"  # minor: fields added (older 1.x files stay valid); major: a reader must change
FINDINGS_MIME = "application/vnd.workbench.findings+json"  # rendered by the JupyterLab extension

Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}


def finding_id(check: str, kind: str, subject: str, scope: Mapping[str, Any]) -> str:
    """Stable id of a finding: the same check, kind, subject and scope give the same id."""
    key = json.dumps([check, kind, subject, _jsonable(dict(scope))], sort_keys=True)
    return f"{kind}:{hashlib.sha1(key.encode()).hexdigest()[:12]}"


@dataclass(frozen=True)
class Finding:
    """One thing a person can act on.

    ``metrics`` holds the numbers (value, baseline, effect, interval, n, affected rows and
    share, ...); ``evidence`` holds a few example rows; ``scope`` holds segment filters and a
    time window where they apply.
    """

    check: str
    kind: str
    severity: Severity
    subject: str
    message: str
    suggestion: str
    metrics: Mapping[str, Any] = field(default_factory=dict)
    scope: Mapping[str, Any] = field(default_factory=dict)
    evidence: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.severity not in SEVERITY_RANK:
            raise ValueError(f"severity must be one of {sorted(SEVERITY_RANK)}, got {self.severity!r}")

    @property
    def id(self) -> str:
        return finding_id(self.check, self.kind, self.subject, self.scope)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "severity": self.severity,
            "subject": self.subject,
            "scope": _jsonable(dict(self.scope)),
            "metrics": _jsonable(dict(self.metrics)),
            "message": self.message,
            "suggestion": self.suggestion,
            "evidence": [_jsonable(dict(e)) for e in self.evidence],
        }


@dataclass(frozen=True)
class InputSummary:
    """What a check analysed: a name, its row count, columns and a content fingerprint."""

    name: str
    rows: int
    columns: tuple[str, ...]
    fingerprint: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rows": self.rows, "columns": list(self.columns),
                "fingerprint": self.fingerprint}


@dataclass(frozen=True)
class CheckResult:
    """Result of one check: findings, the small tables behind them, inputs and parameters."""

    check: str
    findings: tuple[Finding, ...]
    inputs: tuple[InputSummary, ...]
    parameters: Mapping[str, Any] = field(default_factory=dict)
    tables: Mapping[str, pl.DataFrame] = field(default_factory=dict)
    verdict: Any = None  # a gate verdict (shadow/canary): an object with to_dict() and exit_code
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.findings, key=lambda f: (-SEVERITY_RANK[f.severity], f.kind, f.subject)))
        object.__setattr__(self, "findings", ordered)
        object.__setattr__(self, "tables", MappingProxyType(dict(self.tables)))
        object.__setattr__(self, "parameters", MappingProxyType(dict(self.parameters)))

    # -- queries -------------------------------------------------------------------------
    def at_least(self, severity: Severity) -> tuple[Finding, ...]:
        """Findings whose severity is ``severity`` or worse."""
        floor = SEVERITY_RANK[severity]
        return tuple(f for f in self.findings if SEVERITY_RANK[f.severity] >= floor)

    def by_kind(self, kind: str) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.kind == kind)

    @property
    def max_severity(self) -> Severity | None:
        if not self.findings:
            return None
        return self.findings[0].severity

    def glance(self) -> Glance:
        """The result at a glance: status level, one-line headline and a few tiles
        (:func:`workbench.findings.glance.glance`)."""
        from workbench.findings.glance import glance

        return glance(self)

    # -- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "workbench_version": version(),
            "check": self.check,
            "created_at": self.created_at,
            "inputs": [i.to_dict() for i in self.inputs],
            "parameters": _jsonable(dict(self.parameters)),
            **({"verdict": _jsonable(self.verdict.to_dict())} if self.verdict is not None else {}),
            "glance": self.glance().to_dict(),
            "findings": [f.to_dict() for f in self.findings],
        }

    def to_json(self, path: str | None = None, *, indent: int = 2) -> str:
        """The findings JSON (validates against ``workbench schema findings``); written to ``path`` if given."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
        return text

    def to_polars(self, table: str | None = None) -> pl.DataFrame:
        """The findings as a tidy frame, or one of the result's tables by name."""
        if table is not None:
            if table not in self.tables:
                raise KeyError(f"no table {table!r}; available: {sorted(self.tables)}")
            return self.tables[table]
        rows = [
            {"id": f.id, "kind": f.kind, "severity": f.severity, "subject": f.subject,
             "affected_rows": f.metrics.get("affected_rows"), "affected_share": f.metrics.get("affected_share"),
             "message": f.message}
            for f in self.findings
        ]
        schema = {"id": pl.String, "kind": pl.String, "severity": pl.String, "subject": pl.String,
                  "affected_rows": pl.Int64, "affected_share": pl.Float64, "message": pl.String}
        return pl.DataFrame(rows, schema=schema)

    # -- notebook display ----------------------------------------------------------------
    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """The findings JSON under :data:`FINDINGS_MIME` (the JupyterLab extension renders it as a
        sortable, filterable table that stays readable in a saved notebook without a kernel), next
        to the HTML and text views for every other front end."""
        return {FINDINGS_MIME: self.to_dict(), "text/html": self._repr_html_(), "text/plain": repr(self)}

    def _repr_html_(self) -> str:
        from workbench.findings.html import result_html

        return result_html(self)

    def __repr__(self) -> str:
        counts = {s: sum(f.severity == s for f in self.findings) for s in SEVERITY_RANK}
        return (f"<{type(self).__name__} check={self.check!r} findings={len(self.findings)} "
                f"critical={counts['critical']} warning={counts['warning']} info={counts['info']}>")


def _jsonable(value: Any) -> Any:
    """Turn numbers, datetimes and containers into plain JSON values (NaN/inf become None)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if hasattr(value, "item"):  # numpy scalar
        return _jsonable(value.item())
    return str(value)
