"""Interactive notebook explorers (ipywidgets + plotly). They render results; they never compute."""

from workbench.widgets.leakage import LeakageAuditWidget

__all__ = ["LeakageAuditWidget"]
