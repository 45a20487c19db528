"""Interactive notebook explorers (ipywidgets + plotly). They render results; they never compute."""

from workbench.widgets.drift import DriftExplorer
from workbench.widgets.leakage import LeakageAuditWidget
from workbench.widgets.performance import CalibrationExplorer, SubgroupExplorer
from workbench.widgets.shadow import ShadowComparison

__all__ = ["CalibrationExplorer", "DriftExplorer", "LeakageAuditWidget", "ShadowComparison", "SubgroupExplorer"]
