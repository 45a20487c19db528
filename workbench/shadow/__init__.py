"""Shadow-vs-production and canary comparison: reconciliation of the two request logs, paired
(shadow) or two-sample (canary) statistics, and the promote / hold / rollback verdict."""

from workbench.shadow.compare import compare_logs
from workbench.shadow.paired import cohen_kappa, mcnemar_exact, paired_difference
from workbench.shadow.reconcile import Reconciliation, reconcile
from workbench.shadow.verdict import GuardrailCheck, Guardrails, Verdict, decide

__all__ = ["GuardrailCheck", "Guardrails", "Reconciliation", "Verdict", "cohen_kappa", "compare_logs", "decide",
           "mcnemar_exact", "paired_difference", "reconcile"]
