"""Model performance where it is served: labels joined as they arrive, subgroup performance with
localized alerts, calibration, and label-free estimates. Checks reduce the logs to additive
summaries first (counts and sums per cell, score bin and window)."""

from workbench.performance.calibration import calibration
from workbench.performance.check import performance
from workbench.performance.subgroups import subgroups

__all__ = ["calibration", "performance", "subgroups"]
