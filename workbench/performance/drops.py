"""Localized performance drops: every (scope × time window) against the same scope's baseline,
with the machinery of :mod:`workbench.localize` and two metrics: accuracy (a proportion: the
margin in points) and MAE for a regression (a mean: the margin relative).

A scope is all traffic, one segment value, or a combination of up to ``depth`` segment values.
Its baseline is the same scope outside the window (all its other windows). Per cell: accuracy (or
MAE for a regression) in the window vs the baseline — Newcombe's interval and a one-sided z-test
(Welch's for MAE) — tested when both sides have at least ``min_support`` rows. Benjamini–Hochberg
at ``fdr`` runs over the single windows of one scope depth. The last 2, 3, 6, 12 and 24 windows
of every scope are tested together too, so that a recent drop spread over several windows, none
significant alone, is found: the spans of one scope are one scan test (its p-value the smallest
span p-value times the number of spans, Bonferroni), with Benjamini–Hochberg across the scopes of
one depth. Each family is corrected on its own, so that true drops in one family do not loosen
the threshold of another. A cell alerts when significant and worse by at least ``margin``.

Alerting windows of one scope at most one window apart merge into one alert over their span
(numbers recomputed on the whole span). Among overlapping alerts of one scope (runs, recent spans)
the one with the strongest evidence — the largest z of being worse — is kept: the scan-statistic
rule, whose z is largest at the true onset of a step change (an earlier start adds unaffected
rows, a later one drops affected rows), where the largest drop would pick a short noisy span. An
alert whose drop disappears once the rows of a stronger overlapping alert on another or a
narrower segment are left out — the rest would not have been flagged in its family (p-value above
the family's Benjamini–Hochberg cutoff) or is worse by less than ``margin`` — is explained by it
(listed, not repeated): all traffic, or plan=pro, dropping only because region=eu did. An alert
covers the narrower scopes it contains whose alerts overlap its span (region=X covers
region=X & device=Y: pieces of the same incident) unless one is clearly worse (its interval
wholly beyond the parent's), which is kept and named in the parent's message. Alerts are ranked by
impact: rows × drop."""

from __future__ import annotations

import datetime as dt

import polars as pl

from workbench.findings.model import Finding
from workbench.localize import Localized, Metric, Wording, findings, localize, mean, proportion, window_start

__all__ = ["ACCURACY", "MAE", "localized_drops", "window_start"]

ACCURACY = proportion("accuracy", "correct", label="Accuracy")
# a narrower alert's gap in "Worst in ..." is listed by difference, smallest first, as it always was
MAE = mean("mae", "sum_ae", "sum_se", label="MAE", worst_order=lambda a: a["difference"])
SUGGESTION = ("Look at what changed for this traffic in this span (an upstream source, a deployment, a new kind of "
              "request); the windows table shows the cells around it.")


def localized_drops(cells: pl.DataFrame, by: list[str], depth: int, regression: bool, every: dt.timedelta,
                    zone: str | None, *, min_support: int, margin: float, confidence: float, fdr: float,
                    target: str, names: dict[str, str] | None = None) -> tuple[pl.DataFrame, list[Finding]]:
    """Table ``windows`` (every scope × window: n, value, baseline, difference with interval, p, q)
    and the ``performance_drop`` findings, from ``cells`` summed per ``__wb_window`` and the segment
    columns ``by``; ``names`` gives the user's name of each (scope labels and the findings' segments
    use it; default: the column's own name)."""
    metric: Metric = MAE if regression else ACCURACY
    names = names or {b: b for b in by}
    found: Localized = localize(cells, by, depth, metric, every, zone, min_support=min_support, margin=margin,
                                confidence=confidence, fdr=fdr, names=names)
    wording = Wording("performance", "performance_drop", target, SUGGESTION, change="drop")
    return found.table, findings(found.alerts, metric, wording, margin=margin, confidence=confidence, every=every,
                                 zone=zone, last=found.last, names=names)
