"""Shadow-vs-production and canary comparison: reconciliation of the two request logs, paired
(shadow) or two-sample (canary) statistics, and the promote / hold / rollback verdict."""

from workbench.params import deprecated_alias
from workbench.shadow.compare import check_shadow
from workbench.shadow.paired import cohen_kappa, mcnemar_exact, paired_difference
from workbench.shadow.reconcile import Reconciliation, reconcile
from workbench.shadow.verdict import GuardrailCheck, Guardrails, Verdict, decide

# earlier names, kept for one release: each warns (DeprecationWarning naming the new name) and delegates
compare_logs = deprecated_alias("compare_logs", "check_shadow", "workbench.shadow.compare")

__all__ = ["GuardrailCheck", "Guardrails", "Reconciliation", "Verdict", "check_shadow", "cohen_kappa", "decide",
           "mcnemar_exact", "paired_difference", "reconcile"]
