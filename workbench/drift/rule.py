"""The drift decision rule: when a difference is an alarm.

A column (in a window or segment) raises ``distribution_drift`` only when all of these hold:

1. **Enough data**: at least ``min_support`` valid values on each side; otherwise the comparison
   is reported as ``insufficient`` and never alerts.
2. **Significant after multiple-testing control**: the test's p-value (two-sample KS at the bin
   edges for numeric and datetime columns, conservative; Pearson chi-square on the bins for
   categorical and boolean ones, rare bins pooled so every expected count is at least 5) is
   adjusted with Benjamini–Hochberg across *every* test of the run (columns × windows ×
   segments × drift, missing-rate, new-category and range tests) and is at most ``fdr``.
3. **Practically large**: the governing effect size reaches its threshold —

   * numeric and datetime columns: the Wasserstein distance scaled by the reference's robust
     spread (``wasserstein``; 0.1 = a tenth of a standard deviation's worth of mass moved);
   * categorical and boolean columns: either the total variation distance (``total_variation``;
     0.1 = a tenth of the traffic changed categories, however spread out) or the largest change
     of one category's share, ``max |p_i − q_i|`` over the categories and the pooled "other or
     new" bin (``category_share``; 0.05 = five percentage points), whichever stands higher
     against its own threshold. The share change is never above the total variation and
     equals it when one category gains what the others lose, so a 10-point move of one category
     is a total variation of 0.1: on the old threshold alone it was a coin flip (the estimate
     falls just under 0.1 half the time); against the 5-point threshold its interval lies
     above it from about a thousand rows per side;
   * numeric columns whose mass sits on one value (no spread): the total variation.

   The severity is ``critical`` when the governing effect's bootstrap interval lies entirely
   above its threshold, ``warning`` when only the point estimate does.

A significant difference below the threshold is recorded (status ``small``) but raises nothing,
which is what keeps a million rows from alarming on a trivial shift; the test keeps small
samples, heavy tails and many categories from alarming on noise. The same pattern (test +
threshold on the effect, with its interval) applies to the missing rate (absolute change
``missing_rate``), new categories (share above the Good–Turing estimate of unseen values,
``new_category_share``) and values outside the reference range (share above what a sample of
the reference's size would leave out, ``out_of_range_share``).

Compared with Evidently's defaults (``DataDriftPreset``): Evidently switches rule at 1,000
reference rows — below it a KS or chi-square p-value < 0.05 per column with no multiple-testing
control; above it a normed Wasserstein or Jensen–Shannon distance ≥ 0.1 with no test and no
interval — and calls the dataset drifted when half the columns drift. The workbench applies one
rule at every size: effect threshold *and* controlled significance, with an interval.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from workbench import params


@params.renamed_fields("min_rows", owner="DriftRule")
@dataclass(frozen=True)
class DriftRule:
    """Thresholds of the drift decision rule (see the module docstring)."""

    wasserstein: float = 0.1
    total_variation: float = 0.1
    category_share: float = 0.05
    fdr: float = params.DEFAULT_FDR
    min_support: int = 100
    confidence: float = 0.95
    missing_rate: float = 0.05
    new_category_share: float = 0.01
    out_of_range_share: float = 0.01
    resamples: int = 400

    def __post_init__(self) -> None:
        """Refuse values the rule cannot use (:mod:`workbench.params`): the Wasserstein threshold
        is a number > 0 (in reference standard deviations, so it may exceed 1); the other
        thresholds are shares in (0, 1), as are ``fdr`` and ``confidence``; ``min_support`` is a
        count >= 1 and ``resamples`` >= 50."""
        params.positive_number(self.wasserstein, name="wasserstein", owner="DriftRule")
        for name in ("total_variation", "category_share", "missing_rate", "new_category_share", "out_of_range_share",
                     "fdr", "confidence"):
            params.open_unit(getattr(self, name), name=name, owner="DriftRule")
        params.count(self.min_support, name="min_support", owner="DriftRule")
        params.count(self.resamples, name="resamples", minimum=50, owner="DriftRule")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "statement": self.statement()}

    def statement(self) -> str:
        return (f"alert when n >= {self.min_support} per side, Benjamini–Hochberg q <= {self.fdr} across all tests, "
                f"and the effect reaches its threshold (scaled Wasserstein >= {self.wasserstein} for numeric, "
                f"total variation >= {self.total_variation} or one category's share moved by >= "
                f"{self.category_share * 100:g} points for categorical); critical when the "
                f"{self.confidence:.0%} interval is entirely above it")
