"""Statistics shared by every check, computed from small summaries with numpy: intervals and AUC
(:mod:`.intervals`), multiple-testing control (:mod:`.multiple`), distribution tails (:mod:`.tails`),
distances between histograms (:mod:`.distances`) and durations in words (:mod:`.durations`).
Nothing here knows an engine or a check."""

from workbench.stats.durations import format_duration
from workbench.stats.intervals import (
    PROBABILITY_EPS,
    auc_from_counts,
    auc_interval,
    log_loss_terms,
    two_proportions,
    wilson_interval,
)
from workbench.stats.multiple import benjamini_hochberg

__all__ = ["PROBABILITY_EPS", "auc_from_counts", "auc_interval", "benjamini_hochberg", "format_duration",
           "log_loss_terms", "two_proportions", "wilson_interval"]
