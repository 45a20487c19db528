"""Drift and schema-evolution explorer: reference profiles, per-column drift with a documented
decision rule, schema changes, training/serving skew and a multivariate domain classifier.

Checks: :func:`check_drift` (``workbench drift``) and :func:`check_skew` (``workbench skew``); the reference
profile: :func:`fit_profile`. Also importable from ``workbench`` itself."""

from typing import Any

from workbench.drift.check import check_drift
from workbench.drift.fit import fit_profile
from workbench.drift.profile import ColumnProfile, DriftProfile
from workbench.drift.rule import DriftRule
from workbench.drift.skew import check_skew
from workbench.engine.partitions import schema_history
from workbench.findings.model import CheckResult
from workbench.params import deprecated_alias


def domain_classifier(*args: Any, **kwargs: Any) -> CheckResult:
    """See :func:`workbench.drift.multivariate.domain_classifier` (imported lazily: it needs scikit-learn)."""
    from workbench.drift.multivariate import domain_classifier as run

    return run(*args, **kwargs)



# earlier names, kept for one release: each warns (DeprecationWarning naming the new name) and delegates
drift = deprecated_alias("drift", "check_drift", "workbench.drift.check")
training_serving_skew = deprecated_alias("training_serving_skew", "check_skew", "workbench.drift.skew")

__all__ = ["ColumnProfile", "DriftProfile", "DriftRule", "check_drift", "check_skew", "domain_classifier",
           "fit_profile", "schema_history"]
