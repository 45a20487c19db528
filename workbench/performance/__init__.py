"""Model performance where it is served: labels joined as they arrive, subgroup performance with
localized alerts, calibration, and label-free estimates. Checks reduce the logs to additive
summaries first (counts and sums per cell, score bin and window).

:func:`check_performance` (``workbench performance``) joins the labels and runs :func:`check_subgroups`
(segments and localized drops) and, given a score and a reference, :func:`check_calibration`.
Also importable from ``workbench`` itself."""

from workbench.params import deprecated_alias
from workbench.performance.calibration import check_calibration
from workbench.performance.check import check_performance
from workbench.performance.subgroups import check_subgroups

# earlier names, kept for one release: each warns (DeprecationWarning naming the new name) and delegates
calibration = deprecated_alias("calibration", "check_calibration", "workbench.performance.calibration")
performance = deprecated_alias("performance", "check_performance", "workbench.performance.check")
subgroups = deprecated_alias("subgroups", "check_subgroups", "workbench.performance.subgroups")

__all__ = ["check_calibration", "check_performance", "check_subgroups"]
