"""The at-a-glance header of a result: its status in one line and a few tiles, before the table.

:func:`glance` turns a :class:`~workbench.findings.model.CheckResult` into a small typed
:class:`Glance` (a status level, a headline, tiles of label / value / level). It is pure
computation on the result's findings, tables and verdict; the terminal, HTML, widget and
JupyterLab views only render it. Each check kind has its own function in :data:`GLANCES` (a
visible dict: a new check adds its entry); a check without one gets :func:`generic_glance`,
built from the findings alone. Every function also works on a result read back from findings
JSON (no tables), falling back to the findings and inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from workbench.findings.model import CheckResult, Finding

Level = Literal["ok", "info", "warning", "critical"]
LEVELS: tuple[Level, ...] = ("ok", "info", "warning", "critical")


@dataclass(frozen=True)
class Tile:
    """One number of the header: ``label`` (e.g. "columns drifted"), ``value`` as shown (e.g.
    "6 of 14") and its ``level`` ("ok": a count with nothing wrong; "info", the default: a plain number
    such as rows analysed)."""

    label: str
    value: str
    level: Level = "info"

    def to_dict(self) -> dict[str, str]:
        return {"label": self.label, "value": self.value, "level": self.level}


@dataclass(frozen=True)
class Glance:
    """A result at a glance: the status ``level`` (the worst finding's severity, "ok" without
    findings; a gate's verdict for shadow), the ``headline`` (one line) and a few ``tiles``."""

    check: str
    level: Level
    headline: str
    tiles: tuple[Tile, ...] = ()

    def __post_init__(self) -> None:
        for level in (self.level, *(t.level for t in self.tiles)):
            if level not in LEVELS:
                raise ValueError(f"level must be one of {list(LEVELS)}, got {level!r}")

    def to_dict(self) -> dict[str, Any]:
        """The ``glance`` field of the findings JSON (schema 1.2.0)."""
        return {"level": self.level, "headline": self.headline, "tiles": [t.to_dict() for t in self.tiles]}

    @classmethod
    def from_dict(cls, check: str, raw: Mapping[str, Any]) -> Glance:
        """A glance read back from a findings JSON's ``glance`` field."""
        tiles = tuple(Tile(str(t["label"]), str(t["value"]), t.get("level", "info")) for t in raw.get("tiles", ()))
        return cls(check=check, level=raw["level"], headline=str(raw["headline"]), tiles=tiles)

    def lines(self) -> list[str]:
        """The header as terminal lines: the status line, then the tiles on one line."""
        first = f"[{self.level.upper()}] {self.check}: {self.headline}"
        if not self.tiles:
            return [first]
        return [first, "  " + " | ".join(f"{t.label}: {t.value}" for t in self.tiles)]


def glance(result: CheckResult) -> Glance:
    """The at-a-glance header of ``result``: its check's function in :data:`GLANCES`, else
    :func:`generic_glance`."""
    return GLANCES.get(result.check, generic_glance)(result)


# -- shared pieces --------------------------------------------------------------------------------
def _worst(findings: Iterable[Finding]) -> Level:
    order = {level: i for i, level in enumerate(LEVELS)}
    return max((f.severity for f in findings), key=order.__getitem__, default="ok")


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def _alerting(result: CheckResult) -> tuple[Finding, ...]:
    return result.at_least("warning")


def _counts_tile(result: CheckResult) -> Tile:
    """"2 critical · 1 warning · 3 info": every finding by severity."""
    counts = {s: sum(f.severity == s for f in result.findings) for s in ("critical", "warning", "info")}
    value = " · ".join(f"{n} {s}" for s, n in counts.items() if n) or "none"
    return Tile("findings", value, _worst(result.findings))


def _rows_tile(result: CheckResult, inputs: int = 2) -> Tile | None:
    """Rows of the first ``inputs`` inputs: "20,000 reference / 21,000 current"."""
    if not result.inputs:
        return None
    return Tile("rows", " / ".join(f"{i.rows:,} {i.name}" for i in result.inputs[:inputs]))


def _names(names: Iterable[str], most: int = 3) -> str:
    """"a, b, c" or "a, b, c and 2 more"; "none" for no names."""
    shown = sorted(names)
    more = f" and {len(shown) - most} more" if len(shown) > most else ""
    return ", ".join(shown[:most]) + more if shown else "none"


def _scope_text(scope: Mapping[str, Any]) -> str:
    """A finding's scope in a few words: "region=eu, 2026-03-07 18:00–2026-03-08 00:00"."""
    parts = []
    segment = scope.get("segment")
    if isinstance(segment, Mapping):
        parts.append(", ".join(f"{k}={v}" for k, v in segment.items()))
    window = scope.get("window")
    if isinstance(window, list | tuple) and len(window) == 2:
        parts.append("–".join(str(w)[:16].replace("T", " ") for w in window))
    return "; ".join(parts) or "all traffic"


def _tiles(*tiles: Tile | None) -> tuple[Tile, ...]:
    return tuple(t for t in tiles if t is not None)


def generic_glance(result: CheckResult) -> Glance:
    """Any check: the findings by severity and the worst finding (for checks without their own)."""
    alerting = _alerting(result)
    level = _worst(result.findings)
    if alerting:
        top = alerting[0]
        headline = f"{_plural(len(alerting), 'finding')} to act on; worst: {top.kind} on {top.subject}"
        worst: Tile | None = Tile("worst", f"{top.kind}: {top.subject}", top.severity)
    else:
        headline = "nothing to act on" + (f" ({_plural(len(result.findings), 'note')})" if result.findings else "")
        worst = None
    return Glance(result.check, level, headline, _tiles(_counts_tile(result), worst, _rows_tile(result)))


# -- drift ----------------------------------------------------------------------------------------
COLUMN_KINDS = ("distribution_drift", "prediction_drift", "label_drift", "missing_rate_change", "new_category",
                "out_of_range")  # drift alerts on one column's values


def drift_glance(result: CheckResult) -> Glance:
    """"6 of 14 columns drifted, 2 schema changes"; tiles: columns drifted, schema changes, the
    largest effect against its threshold, other alerts (gaps, multivariate drift) if any, rows."""
    schema = [f for f in result.findings if f.kind.startswith("schema_")]
    drifted = [f for f in _alerting(result) if f.kind in COLUMN_KINDS]
    other = [f for f in _alerting(result) if f.kind not in COLUMN_KINDS and f not in schema]
    changed = sorted({f.subject for f in drifted})
    compared = _compared_columns(result)
    count = f"{len(changed)} of {compared}" if compared else str(len(changed))
    noun = "column" if (compared or len(changed)) == 1 else "columns"
    headline = f"{count} {noun} drifted, {_plural(len(schema), 'schema change')}"
    worst = max(drifted, key=_effect_ratio, default=None)
    worst_tile = None
    if worst is not None and _effect_ratio(worst) > 0:
        worst_tile = Tile("largest shift", f"{worst.subject} ({_effect_ratio(worst):.1f}× its threshold)",
                          worst.severity)
    return Glance(result.check, _worst(result.findings), headline, _tiles(
        Tile("columns drifted", count, _worst(drifted)),
        Tile("schema changes", str(len(schema)), _worst(schema)),
        worst_tile,
        Tile("other alerts", _names({f.kind.replace("_", " ") for f in other}), _worst(other)) if other else None,
        _rows_tile(result)))


def _compared_columns(result: CheckResult) -> int | None:
    """Columns compared (from the ``columns`` table; None without it, e.g. read back from JSON)."""
    table = result.tables.get("columns")
    return table["column"].n_unique() if table is not None and "column" in table.columns else None


def _effect_ratio(finding: Finding) -> float:
    effect, threshold = finding.metrics.get("effect"), finding.metrics.get("threshold")
    if isinstance(effect, int | float) and isinstance(threshold, int | float) and threshold > 0:
        return abs(float(effect)) / float(threshold)
    return 0.0


# -- leakage --------------------------------------------------------------------------------------
FEATURE_LEAK_KINDS = ("future_data", "non_asof_join", "late_arrival", "feature_mismatch", "target_proxy")
SPLIT_KINDS = {"split_entity_overlap": "entity overlap", "split_time_overlap": "time overlap",
               "duplicate_rows": "duplicate rows"}  # kind -> its name in a tile


def leakage_glance(result: CheckResult) -> Glance:
    """"3 features leak, 3 critical; the split leaks (3 problems)"; tiles: leaking features,
    split problems, stale features."""
    leaks = [f for f in _alerting(result) if f.kind in FEATURE_LEAK_KINDS]
    features = sorted({f.subject for f in leaks})
    critical = sorted({f.subject for f in leaks if f.severity == "critical"})
    split = [f for f in _alerting(result) if f.kind in SPLIT_KINDS]
    stale = [f for f in _alerting(result) if f.kind == "stale_feature"]
    parts = [f"{_plural(len(features), 'feature')} leak{'s' if len(features) == 1 else ''}"
             + (f", {len(critical)} critical" if critical else "")]
    if split:
        parts.append(f"the split leaks ({_plural(len(split), 'problem')})")
    return Glance(result.check, _worst(result.findings), "; ".join(parts), _tiles(
        Tile("leaking features", _names(features), _worst(leaks)),
        Tile("split problems", _names(SPLIT_KINDS[f.kind] for f in split), _worst(split)),
        Tile("stale features", _names({f.subject for f in stale}), _worst(stale)) if stale else None,
        _rows_tile(result, 1)))


# -- performance ----------------------------------------------------------------------------------
DROP_KINDS = ("performance_drop", "segment_disparity")
CALIBRATION_KINDS = ("calibration_drift", "overconfident", "underconfident")


def performance_glance(result: CheckResult) -> Glance:
    """The worst alert with its scope; tiles: drops and disparities, calibration, unlabelled rows."""
    alerting = _alerting(result)
    drops = [f for f in alerting if f.kind in DROP_KINDS]
    calibration = [f for f in alerting if f.kind in CALIBRATION_KINDS]
    top = next(iter(drops or alerting), None)
    if top is None:
        headline = "no performance alert"
        worst = None
    else:
        headline = f"worst: {top.kind.replace('_', ' ')} on {_scope_text(top.scope)} ({_change(top)})"
        worst = Tile("worst alert", f"{top.kind} · {_scope_text(top.scope)}", top.severity)
    unlabelled = next((f for f in result.findings if f.kind == "unlabelled_rows"), None)
    share = unlabelled.metrics.get("affected_share") if unlabelled is not None else None
    return Glance(result.check, _worst(result.findings), headline, _tiles(
        worst,
        Tile("drops and disparities", str(len(drops)), _worst(drops)),
        Tile("calibration alerts", str(len(calibration)), _worst(calibration)),
        Tile("unlabelled", f"{share:.1%}", "info") if isinstance(share, int | float) else None))


def _change(finding: Finding) -> str:
    """"77.0% → 65.2%" from a finding's value and baseline; its subject when it has none."""
    value, baseline = finding.metrics.get("value"), finding.metrics.get("baseline")
    if isinstance(value, int | float) and isinstance(baseline, int | float):
        if 0 <= value <= 1 and 0 <= baseline <= 1:
            return f"{baseline:.1%} → {value:.1%}"
        return f"{baseline:.3g} → {value:.3g}"
    return finding.subject


# -- shadow ---------------------------------------------------------------------------------------
_VERDICT_LEVELS: dict[str, Level] = {"promote": "ok", "hold": "warning", "rollback": "critical"}


def shadow_glance(result: CheckResult) -> Glance:
    """The verdict (the status line: "ROLLBACK: 3 of 9 guardrails breached", else its first reason);
    tiles: guardrails breached, the stage plan, requests compared. The reasons stay in the verdict block."""
    verdict = result.verdict
    if verdict is None:
        return generic_glance(result)
    raw = verdict if isinstance(verdict, Mapping) else verdict.to_dict()
    decision = str(raw["decision"])
    level = _VERDICT_LEVELS.get(decision, "warning")
    reasons = list(raw.get("reasons") or [])
    guardrails = list(raw.get("guardrails") or [])
    breached = [g for g in guardrails if g.get("status") == "breached"]
    why = f"{len(breached)} of {len(guardrails)} guardrails breached" if breached else (reasons or [""])[0]
    headline = decision.upper() + (f": {why}" if why else "")
    stage, following = raw.get("stage"), raw.get("next_stage")
    plan = (Tile("traffic", f"{stage:.0%} → {following:.0%}", level)
            if isinstance(stage, int | float) and isinstance(following, int | float) else None)
    overall = next((g for g in guardrails if g.get("scope") == "all"), None)
    return Glance(result.check, level, headline, _tiles(
        Tile("guardrails breached", f"{len(breached)} of {len(guardrails)}", "critical" if breached else "ok")
        if guardrails else None,
        plan,
        Tile("requests compared", f"{overall['n']:,}") if overall and isinstance(overall.get("n"), int) else None))


GLANCES: dict[str, Callable[[CheckResult], Glance]] = {
    "drift": drift_glance,
    "leakage": leakage_glance,
    "performance": performance_glance,
    "shadow": shadow_glance,
}
