"""Localized changes: every (scope × time window) against the same scope's baseline.

Shared by the checks that look for where and when a statistic got worse (performance drops, the
LLM check's ungrounded-answer rate and retrieval quality, the service checks). The statistic is a
:class:`~workbench.localize.metrics.Metric` (a proportion or a mean, from additive sums per cell);
the input is a small table of those sums per time window (:data:`WINDOW`) and segment columns.

The rule
--------
A scope is all traffic, one segment value, or a combination of up to ``depth`` segment values.
Its baseline is the same scope outside the window (all its other windows). Per cell: the metric
in the window vs the baseline — for a proportion Newcombe's interval and a one-sided pooled z-test,
for a mean a normal interval and Welch's one-sided z-test — tested when both sides have at least
``min_support`` rows (the metric's ``count``). Benjamini–Hochberg at ``fdr`` runs over the single
windows of one scope depth. The last 2, 3, 6, 12 and 24 windows of every scope are tested together
too, so that a recent change spread over several windows, none significant alone, is found: the
spans of one scope are one scan test (its p-value the smallest span p-value times the number of
spans, Bonferroni), with Benjamini–Hochberg across the scopes of one depth. Each family is
corrected on its own, so that true changes in one family do not loosen the threshold of another.
A cell alerts when significant and worse by at least ``margin`` (points for a proportion, relative
for a mean).

Alerting windows of one scope at most one window apart merge into one alert over their span
(numbers recomputed on the whole span). Among overlapping alerts of one scope (runs, recent spans)
the one with the strongest evidence — the largest z of being worse — is kept: the scan-statistic
rule, whose z is largest at the true onset of a step change (an earlier start adds unaffected
rows, a later one drops affected rows), where the largest change would pick a short noisy span. An
alert whose change disappears once the rows of a stronger overlapping alert on another or a
narrower segment are left out — the rest would not have been flagged in its family (p-value above
the family's Benjamini–Hochberg cutoff) or is worse by less than ``margin`` — is explained by it
(listed, not repeated): all traffic, or plan=pro, dropping only because region=eu did. An alert
covers the narrower scopes it contains whose alerts overlap its span (region=X covers
region=X & device=Y: pieces of the same incident) unless one is clearly worse (its interval
wholly beyond the parent's), which is kept and named in the parent's message. Alerts are ranked by
impact: rows × difference.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl

from workbench.localize.metrics import Metric, mean, proportion
from workbench.localize.scopes import (
    MAX_GAP,
    RECENT_SPANS,
    WINDOW,
    correct_families,
    explain_away,
    merge_runs,
    recent_spans,
    scope_cells,
    strongest,
)
from workbench.localize.words import Wording, findings, window_start

__all__ = ["MAX_GAP", "RECENT_SPANS", "WINDOW", "Localized", "Metric", "Wording", "findings", "localize", "mean",
           "proportion", "window_start"]


@dataclass(frozen=True)
class Localized:
    """What :func:`localize` found: ``table`` (every scope × window and recent span: n, value,
    baseline, difference with interval, p, q), ``alerts`` (after merging, the scan rule and
    explaining away; before folding) and ``last`` (the index of the last window)."""

    table: pl.DataFrame
    alerts: list[dict[str, Any]]
    last: int


def localize(cells: pl.DataFrame, by: list[str], depth: int, metric: Metric, every: dt.timedelta, zone: str | None,
             *, min_support: int, margin: float, confidence: float, fdr: float,
             names: dict[str, str] | None = None, spans: tuple[int, ...] = RECENT_SPANS) -> Localized:
    """Test ``metric`` on every scope × window of ``cells`` (the metric's sums per :data:`WINDOW`
    and the segment columns ``by``; windows ``every`` long, shown in ``zone``); ``names`` gives
    the user's name of each segment column (scope labels; default: the column's own name);
    ``spans``: the lengths of the recent spans tested (default the last 2, 3, 6, 12 and 24
    windows). Rule: module docstring. Word the alerts with :func:`findings`."""
    names = names or {b: b for b in by}
    rows = scope_cells(cells, by, depth, metric, confidence, min_support, names)
    bounds = cells.select(pl.col(WINDOW).min().alias("first"), pl.col(WINDOW).max().alias("last")).row(0) \
        if cells.height else (0, 0)
    first, last = int(bounds[0]), int(bounds[1])
    recent = recent_spans(rows, first, last, metric, confidence, min_support, spans)
    correct_families(rows, recent, fdr)
    flagged = [r for r in rows if r["tested"] and r["q_value"] <= fdr and r["worse_by"] >= margin]
    alerts = merge_runs(flagged, rows, metric, confidence)
    alerts += [{**r, "windows": r["last"] - r["first"] + 1} for r in recent
               if r["tested"] and r["q_value"] <= fdr and r["worse_by"] >= margin]
    alerts = explain_away(strongest(alerts), cells, metric, confidence, margin)
    table = pl.DataFrame([{("window_index" if k == WINDOW else k): v for k, v in r.items()
                           if k not in ("segment", "sums", "first", "last", "z", "cutoff")}
                          | {"window_start": window_start(r.get("first", r[WINDOW]), every, zone),
                             "windows": r["last"] - r["first"] + 1} for r in rows + recent],
                         infer_schema_length=None)
    return Localized(table, alerts, last)
