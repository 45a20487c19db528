"""Guardrails and the promote / hold / rollback verdict of a shadow or canary comparison.

The decision rule
-----------------
Each guardrail measures a *harm* of the candidate with a tolerance: the p95 latency ratio
(candidate / production, tolerance ``latency_ratio``), the error-rate increase (points,
``error_increase``), the accuracy drop on labelled requests (points, ``accuracy_drop``; for a
regression model the ratio of mean absolute errors, ``mae_ratio``), overall and in every segment
with at least ``min_support`` labelled requests. For each one the comparison
computes one-sided confidence bounds of the harm from its counts or order statistics.

* **rollback** when some harm is *established* beyond its tolerance: its lower bound exceeds the
  tolerance at level ``alpha_rollback = (1 - confidence) / (tests × looks)`` — Bonferroni over the
  guardrail tests of one check (overall and segments) and over the ``looks`` planned checks of the
  same candidate. Hence, whatever the data, the chance that a candidate whose every harm is within
  tolerance is ever rolled back over all planned looks is at most ``1 - confidence``.
* **promote** when every overall harm is *shown* within tolerance — its upper bound at level
  ``alpha_promote = (1 - confidence) / looks`` is at most the tolerance (an intersection–union
  test: no correction across guardrails is needed, only across looks) — no segment shows a
  significant accuracy regression (the ``accuracy_regression`` findings, Benjamini–Hochberg), the
  coverage gap is within ``max_coverage_gap`` and every guardrail had enough data.
* **hold** otherwise, with the reasons: too little data (fewer than ``min_requests`` compared or
  ``min_labelled`` labelled requests: "insufficient data", never a confident verdict), a harm not
  yet shown within tolerance (with the sample size that would probably settle it), a suspect
  segment, requests the candidate did not log, or no labels when accuracy is required.

With a stage plan (traffic shares such as 1% → 5% → 25% → 100%), promote means *advance to the
next stage* (or finish at the last one), hold means stay, rollback means back to 0%.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from workbench import params
from workbench.errors import ConfigError

Decision = Literal["promote", "hold", "rollback"]
Status = Literal["breached", "within", "unproven", "suspect", "insufficient", "not_checked"]
DEFAULT_STAGES = (0.01, 0.05, 0.25, 1.0)


@params.renamed_fields("min_segment", owner="Guardrails")
@dataclass(frozen=True)
class Guardrails:
    """Tolerances and data requirements of the verdict (see the module docstring for the rule).

    ``latency_ratio``: largest acceptable ratio of the candidate's ``latency_quantile`` latency
    to production's. ``error_increase`` and ``accuracy_drop``: largest acceptable increase of the
    error rate and drop of accuracy, as proportions (0.005 = half a point); for a regression model,
    ``mae_ratio`` is the largest acceptable ratio of mean absolute errors (candidate / production).
    ``max_coverage_gap``: largest share of production's requests the candidate may miss. ``min_requests``: compared
    requests needed for anything but hold; ``min_labelled``: labelled requests needed to judge
    accuracy; ``min_support``: labelled requests a segment needs to be tested. ``looks``: how many
    times the same candidate will be checked (e.g. 168 for hourly checks over a week); the
    verdict's error rates hold over all of them. ``require_accuracy``: without labels, hold
    (True) or judge on operations alone (False). ``confidence``: 1 - the total false-rollback rate.
    """

    latency_ratio: float = 1.2
    latency_quantile: float = 0.95
    error_increase: float = 0.005
    accuracy_drop: float = 0.01
    mae_ratio: float = 1.02
    max_coverage_gap: float = 0.01
    min_requests: int = 1000
    min_labelled: int = 500
    min_support: int = 100
    looks: int = 1
    require_accuracy: bool = True
    confidence: float = 0.95

    def __post_init__(self) -> None:
        """Every field checked by its kind (:mod:`workbench.params`); a wrong one raises ConfigError."""
        owner = "Guardrails"
        confidence = params.open_unit(self.confidence, name="confidence", owner=owner)
        if confidence < 0.5:
            raise ConfigError(f"guardrails: confidence must be in [0.5, 1) (1 - the false-rollback rate), "
                              f"got {self.confidence}.")
        for name in ("min_requests", "min_labelled", "min_support", "looks"):
            params.count(getattr(self, name), name=name, minimum=1, owner=owner)
        for name in ("latency_ratio", "mae_ratio"):
            if params.positive_number(getattr(self, name), name=name, owner=owner) < 1:
                raise ConfigError(f"guardrails: {name} is candidate / production and must be >= 1, "
                                  f"got {getattr(self, name)}.")
        for name in ("error_increase", "accuracy_drop", "max_coverage_gap"):
            params.proportion(getattr(self, name), name=name, owner=owner)
        params.open_unit(self.latency_quantile, name="latency_quantile", owner=owner)
        params.boolean(self.require_accuracy, name="require_accuracy", owner=owner)

    def alpha_rollback(self, tests: int) -> float:
        """One-sided level of each rollback test when ``tests`` guardrail tests run per look."""
        return (1 - self.confidence) / (max(tests, 1) * self.looks)

    @property
    def alpha_promote(self) -> float:
        """One-sided level of each promote (non-inferiority) bound."""
        return (1 - self.confidence) / self.looks


@dataclass(frozen=True)
class GuardrailCheck:
    """One guardrail evaluated on one scope. ``estimate`` and the bounds are harms (bigger is
    worse): ``harm_low`` is the lower bound at the rollback level, ``harm_high`` the upper bound
    at the promote level. ``flagged``: a significant regression finding exists for this scope."""

    guardrail: str
    scope: str
    n: int
    needed: int
    estimate: float
    tolerance: float
    harm_low: float
    harm_high: float
    unit: str
    overall: bool = True
    flagged: bool = False
    status: Status = "not_checked"
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class PendingCheck:
    """A guardrail whose bounds wait for the decision levels, which depend on how many tests run.
    ``build(alpha_rollback, alpha_promote)`` gives the :class:`GuardrailCheck`."""

    n: int
    needed: int
    build: Callable[[float, float], GuardrailCheck]


@dataclass(frozen=True)
class Verdict:
    """The decision, the evaluated guardrails with their status, the reasons (one sentence each,
    most serious first) and, with a stage plan, where the candidate's traffic should go next."""

    decision: Decision
    reasons: tuple[str, ...]
    checks: tuple[GuardrailCheck, ...]
    stage: float | None = None
    next_stage: float | None = None
    levels: dict[str, float] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 promote, 1 rollback, 3 hold (the CLI's documented exit status)."""
        return {"promote": 0, "rollback": 1, "hold": 3}[self.decision]

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "reasons": list(self.reasons), "stage": self.stage,
                "next_stage": self.next_stage, "exit_code": self.exit_code, "levels": self.levels,
                "guardrails": [c.to_dict() for c in self.checks]}


def judge(check: GuardrailCheck) -> GuardrailCheck:
    """Set a check's status and message from its bounds (the rule in the module docstring)."""
    from dataclasses import replace

    fmt = _format(check.unit)
    where = "" if check.scope == "all" else f" on {check.scope}"
    name = _name(check.guardrail)
    if check.n < check.needed:
        return replace(check, status="insufficient",
                       message=f"insufficient data for {name}{where}: {check.n:,} of the {check.needed:,} "
                               "requests needed.")
    if check.harm_low > check.tolerance:
        return replace(check, status="breached",
                       message=f"{name}{where} is {fmt(check.estimate)}, beyond the tolerance of "
                               f"{fmt(check.tolerance)} with confidence (bound {fmt(check.harm_low)}; n={check.n:,}).")
    if not check.overall:
        if check.flagged:
            return replace(check, status="suspect",
                           message=f"{name}{where} is {fmt(check.estimate)} (tolerance {fmt(check.tolerance)}), "
                                   f"significant but not yet established at the rollback level (n={check.n:,}).")
        return replace(check, status="within", message=f"{name}{where}: no established regression (n={check.n:,}).")
    if check.harm_high <= check.tolerance:
        return replace(check, status="within",
                       message=f"{name}{where} is {fmt(check.estimate)}, shown within the tolerance of "
                               f"{fmt(check.tolerance)} (bound {fmt(check.harm_high)}; n={check.n:,}).")
    more = _more_needed(check)
    return replace(check, status="unproven",
                   message=f"{name}{where} is {fmt(check.estimate)}; not yet shown within {fmt(check.tolerance)} "
                           f"(bound {fmt(check.harm_high)}; n={check.n:,}){more}.")


def decide(checks: Sequence[GuardrailCheck], guardrails: Guardrails, *, extra_holds: Sequence[str] = (),
           stage: float | None = None, stages: Sequence[float] | None = None) -> Verdict:
    """The verdict from judged checks plus reasons to hold found elsewhere (coverage, missing
    labels). ``stage``: the candidate's current traffic share in (0, 1]; ``stages``: the plan
    (:func:`check_stages`). Without any check nor reason to hold, the verdict is hold (nothing
    was judged), never promote."""
    if not isinstance(guardrails, Guardrails):
        raise ConfigError(f"guardrails must be a Guardrails(...), got {type(guardrails).__name__}.")
    if isinstance(checks, GuardrailCheck | str) or not all(isinstance(c, GuardrailCheck) for c in checks):
        raise ConfigError("checks must be a sequence of GuardrailCheck (as check_shadow builds them), got "
                         f"{checks!r:.80}.")
    if isinstance(extra_holds, str) or not all(isinstance(r, str) for r in extra_holds):
        raise ConfigError(f"extra_holds must be a sequence of sentences (str), got {extra_holds!r:.80}.")
    stage = None if stage is None else params.share(stage, name="stage", owner="decide")
    stages = None if stages is None else check_stages(stages)
    if not checks and not extra_holds:
        extra_holds = ["nothing to judge: no guardrail was checked."]
    judged = tuple(judge(c) if c.status == "not_checked" else c for c in checks)
    order = {"breached": 0, "insufficient": 1, "unproven": 2, "suspect": 3, "within": 4}
    ranked = sorted(judged, key=lambda c: order.get(c.status, 5))
    breached = [c.message for c in ranked if c.status == "breached"]
    holding = [c.message for c in ranked if c.status in ("insufficient", "unproven", "suspect")]
    if breached:
        decision: Decision = "rollback"
        reasons = breached + holding + list(extra_holds)
    elif holding or extra_holds:
        decision = "hold"
        reasons = [*(m for m in holding if m.startswith("insufficient")), *extra_holds,
                   *(m for m in holding if not m.startswith("insufficient"))]
    else:
        decision = "promote"
        reasons = [c.message for c in ranked if c.overall]
    next_stage = _next_stage(decision, stage, stages) if stages else None
    if next_stage is not None or stages:
        reasons.append(_stage_sentence(decision, stage, next_stage))
    tests = sum(c.status != "insufficient" for c in judged)
    levels = {"alpha_rollback": guardrails.alpha_rollback(tests), "alpha_promote": guardrails.alpha_promote,
              "looks": guardrails.looks, "tests": tests}
    return Verdict(decision, tuple(reasons), judged, stage, next_stage, levels)


def snap_stage(share: float, stages: Sequence[float]) -> float:
    """The planned stage nearest (on a log scale) to an observed traffic share."""
    if share <= 0:
        return stages[0]
    return min(stages, key=lambda s: abs(math.log(s) - math.log(share)))


def check_stages(stages: Sequence[float]) -> tuple[float, ...]:
    """Validate a stage plan: increasing traffic shares in (0, 1] (:func:`workbench.params.share`)."""
    if isinstance(stages, str) or not isinstance(stages, Sequence):
        raise ConfigError(f"stages must be a sequence of increasing traffic shares in (0, 1], e.g. "
                          f"{DEFAULT_STAGES}; got {stages!r}.")
    plan = tuple(params.share(s, name=f"stages[{i}]") for i, s in enumerate(stages))
    if not plan or any(b <= a for a, b in itertools.pairwise(plan)):
        raise ConfigError(f"stages must be increasing traffic shares in (0, 1], e.g. {DEFAULT_STAGES}; got {stages}.")
    return plan


def _next_stage(decision: Decision, stage: float | None, stages: Sequence[float]) -> float | None:
    if decision == "rollback":
        return 0.0
    if stage is None:
        return None
    if decision == "hold":
        return stage
    later = [s for s in stages if s > stage]
    return later[0] if later else stage


def _stage_sentence(decision: Decision, stage: float | None, next_stage: float | None) -> str:
    if decision == "rollback":
        return "Stage plan: roll the candidate back to 0% of traffic."
    if stage is None:
        return "Stage plan: the current stage is unknown; pass stage= to be told where to go next."
    if decision == "hold":
        return f"Stage plan: stay at {stage:.0%} of traffic and check again with more data."
    if next_stage == stage:
        return f"Stage plan: {stage:.0%} was the last stage; the candidate can replace production."
    return f"Stage plan: advance from {stage:.0%} to {next_stage:.0%} of traffic."


def _more_needed(check: GuardrailCheck) -> str:
    """Rough sample size that would settle a non-inferiority bound: widths shrink as 1/sqrt(n)."""
    width = check.harm_high - check.estimate
    room = check.tolerance - check.estimate
    if not (math.isfinite(width) and width > 0):
        return ""
    if room <= 0:
        return "; the estimate itself is beyond the tolerance"
    needed = check.n * (width / room) ** 2
    return f"; about {math.ceil(needed - check.n):,} more requests would probably settle it"


_NAMES = {"error_rate": "error-rate increase", "accuracy": "accuracy drop", "mae_ratio": "MAE ratio"}


def _name(guardrail: str) -> str:
    if guardrail.startswith("latency_p"):
        return f"{guardrail.removeprefix('latency_')} latency ratio"
    return _NAMES.get(guardrail, guardrail)


def _format(unit: str):
    if unit == "ratio":
        return lambda v: f"{v:.2f}x" if math.isfinite(v) else "n/a"
    return lambda v: f"{v * 100:+.2f} points" if math.isfinite(v) else "n/a"
