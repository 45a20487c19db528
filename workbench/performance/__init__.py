"""Model performance where it is served: calibration (this release) and subgroup performance
with localized alerts (issue 4, in progress). Checks reduce the logs to binned summaries first."""

from workbench.performance.calibration import calibration
from workbench.performance.subgroups import subgroups

__all__ = ["calibration", "subgroups"]
