"""Shadow-vs-production and canary comparison (work in progress, issue 5): reconciliation of the
two request logs and the paired statistics the comparison and its verdict are built on."""

from workbench.shadow.compare import compare_logs
from workbench.shadow.paired import cohen_kappa, mcnemar_exact
from workbench.shadow.reconcile import Reconciliation, reconcile

__all__ = ["Reconciliation", "cohen_kappa", "compare_logs", "mcnemar_exact", "reconcile"]
