"""The parameters of :func:`workbench.check_shadow`, checked at the boundary
(:mod:`workbench.params`) and kept together for the steps of the comparison."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from workbench import params
from workbench.errors import ConfigError
from workbench.shadow.task import check_task
from workbench.shadow.verdict import DEFAULT_STAGES, Guardrails, check_stages

Mode = Literal["shadow", "canary"]
MODES: tuple[str, ...] = get_args(Mode)


@dataclass(frozen=True)
class Options:
    """What the comparison was asked for (see :func:`workbench.check_shadow`): ``mode`` and
    whether the requests are ``paired`` (shadow mode), the ``task`` as given, the levels, the
    user's ``large_change`` (None: derived from the data), the labels' ``as_of``, ``label`` and
    ``label_time``, the guardrails and the traffic ``plan`` with the current ``stage``."""

    mode: str
    task: str
    confidence: float
    fdr: float
    disagreement_margin: float
    large_change: float | None
    as_of: dt.datetime | None
    guard: Guardrails
    stage: float | None
    plan: tuple[float, ...] | None
    label: str
    label_time: str | None

    @property
    def paired(self) -> bool:
        """Both models answered the same requests (shadow mode), compared request by request."""
        return self.mode == "shadow"


def options(*, mode: object, task: object, confidence: float, fdr: float, disagreement_margin: float,
            large_change: float | None, as_of: dt.datetime | str | None, guardrails: Guardrails | None,
            stage: float | None,
            stages: Sequence[float] | None, prediction: str | None, labelled: bool, label: str,
            label_time: str | None) -> Options:
    """The validated :class:`Options`; a wrong parameter raises naming it and what it takes.
    ``labelled``: labels were given (they need a ``prediction``)."""
    owner = "check_shadow"
    if not isinstance(mode, str) or mode not in MODES:
        raise ConfigError(f"mode must be one of {list(MODES)}: 'shadow' (both models answered the same requests) or "
                         f"'canary' (each side served its own share of the traffic); got {mode!r}.")
    task = check_task(task)
    confidence = params.open_unit(confidence, name="confidence", owner=owner)
    fdr = params.open_unit(fdr, name="fdr", owner=owner)
    disagreement_margin = params.proportion(disagreement_margin, name="disagreement_margin", owner=owner)
    if large_change is not None:
        large_change = params.positive_number(large_change, name="large_change", owner=owner)
    as_of = params.datetime_value(as_of, name="as_of", owner=owner)
    if guardrails is not None and not isinstance(guardrails, Guardrails):
        raise ConfigError(f"guardrails must be a Guardrails(...), got {type(guardrails).__name__}.")
    if stage is not None:
        stage = params.share(stage, name="stage", owner=owner)
    plan = check_stages(stages if stages is not None else DEFAULT_STAGES) \
        if (stages is not None or stage is not None) else None
    if labelled and not prediction:
        raise ConfigError("labels need prediction=: accuracy compares each side's prediction with the label.")
    if labelled and (not isinstance(label, str) or not (label_time is None or isinstance(label_time, str))):
        raise ConfigError(f"label and label_time must be column names of the labels, got {label!r} and "
                         f"{label_time!r}.")
    return Options(mode, task, confidence, fdr, disagreement_margin, large_change, as_of, guardrails or Guardrails(),
                   stage, plan, label, label_time)
