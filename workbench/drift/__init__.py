"""Drift and schema-evolution explorer: reference profiles, per-column drift with a documented
decision rule, schema changes, training/serving skew and a multivariate domain classifier."""

from typing import Any

from workbench.drift.check import drift
from workbench.drift.fit import fit_profile
from workbench.drift.profile import ColumnProfile, DriftProfile
from workbench.drift.rule import DriftRule
from workbench.drift.skew import training_serving_skew
from workbench.engine.partitions import schema_history
from workbench.findings.model import CheckResult


def domain_classifier(*args: Any, **kwargs: Any) -> CheckResult:
    """See :func:`workbench.drift.multivariate.domain_classifier` (imported lazily: it needs scikit-learn)."""
    from workbench.drift.multivariate import domain_classifier as run

    return run(*args, **kwargs)


__all__ = ["ColumnProfile", "DriftProfile", "DriftRule", "domain_classifier", "drift", "fit_profile",
           "schema_history", "training_serving_skew"]
