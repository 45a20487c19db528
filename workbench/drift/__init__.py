"""Drift and schema-evolution explorer: reference profiles, per-column drift with a documented
decision rule, schema changes, training/serving skew and a multivariate domain classifier."""

from workbench.drift.check import drift
from workbench.drift.fit import fit_profile
from workbench.drift.profile import ColumnProfile, DriftProfile
from workbench.drift.rule import DriftRule
from workbench.drift.schema import schema_history

__all__ = ["ColumnProfile", "DriftProfile", "DriftRule", "drift", "fit_profile", "schema_history"]
