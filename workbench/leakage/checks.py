"""The leakage auditor's checks, each from a prepared frame to findings and small tables.

Finding kinds (the ``kind`` field of the findings JSON):

``future_data``        a feature uses data from after the prediction time.
``non_asof_join``      a snapshot feature took a snapshot from after the prediction time
                       (latest instead of as-of).
``late_arrival``       a feature uses data that happened before the prediction time but
                       became available only after it (event time used without ingestion time,
                       or a backfill written later).
``feature_mismatch``   the training value differs from the point-in-time value and no timing
                       explanation reproduces it (a bug or a wrong declaration).
``stale_feature``      the point-in-time snapshot is older than the feature's TTL (scope ``window``:
                       the first and last prediction time of those rows; examples with ``age_hours``).
``late_data_profile``  (info) how late a source's rows arrive and the delay that covers them.
``target_proxy``       a feature looks like an encoded outcome. Predictiveness alone (AUC >=
                       ``proxy_auc``) is at most info; near-deterministic separation, a sentinel
                       value or failed point-in-time checks escalate it (see :func:`proxy_finding`).
``split_entity_overlap``  the same entities are in train and test.
``split_time_overlap``    train and test prediction times overlap.
``duplicate_rows``     exact duplicate rows (``affected_rows``: each group's copies beyond the first;
                       ``cross_split_rows``: those of them whose group has rows in both train and
                       test), or repeated (entity, prediction time) keys.
``check_skipped``      (warning) a check asked for could not run (e.g. a target that is not binary
                       without ``positive=``); the run is then not a clean pass.
``insufficient_data``  (info) too few rows, or too few of one class, for a statistical statement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import numpy as np
import polars as pl

from workbench.engine.frames import Engine, collect_on, count
from workbench.engine.ranks import order_statistics
from workbench.findings.model import Finding
from workbench.leakage.summaries import histogram_of, quantiles_of
from workbench.stats import auc_from_counts, auc_interval, wilson_interval
from workbench.stats.durations import format_duration

CHECK = "leakage"
CHECK_NAME = "the leakage audit"
TIMING_KINDS = ("future_data", "non_asof_join", "late_arrival")  # violations with a timing explanation
VIOLATION_KINDS = (*TIMING_KINDS, "feature_mismatch")


def violation_severity(rows: int, n: int) -> str:
    """Point-in-time violations are facts, not estimates: critical from 1% of rows or 50 rows."""
    return "critical" if rows >= 50 or rows / max(n, 1) >= 0.01 else "warning"


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%" if share >= 0.001 else f"{100 * share:.2f}%"


_WHAT = {
    "future_data": "uses data from after the prediction time",
    "non_asof_join": "takes a snapshot from after the prediction time (latest instead of as-of)",
    "late_arrival": "uses data that happened before the prediction time but arrived only after it",
    "feature_mismatch": "differs from its point-in-time recomputation with no timing explanation",
}


def _suggest(kind: str, feature: str, describe: str, rule_text: str) -> str:
    return {
        "future_data": f"Recompute {feature} as {describe} using only rows with {rule_text}.",
        "non_asof_join": f"Join {feature} as-of the prediction time ({describe}, keeping snapshots with "
                         f"{rule_text}), not the latest snapshot.",
        "late_arrival": f"Filter {feature}'s source on its available/ingestion time, not only its event time "
                        f"(keep rows with {rule_text}), or delay predictions by the source's suggested "
                        "availability delay.",
        "feature_mismatch": f"Compare the pipeline that built {feature} with its declaration ({describe}); "
                            "fix whichever is wrong.",
    }[kind]


def violation_findings(feature: str, describe: str, rule_text: str, per_row: nw.LazyFrame, engine: Engine, *,
                       n: int, time_zone: str | None, max_examples: int = 50, name: str = "training"
                       ) -> tuple[list[Finding], list[pl.DataFrame], list[pl.DataFrame], dict[str, int]]:
    """Findings, lag histograms, example rows and the row count per status of one feature's
    per-row classification, summarized on its engine.

    ``per_row``: ``__wb_status, __lag_s, __pit`` per label row with its display columns ``__wb_entity``,
    ``__wb_pt`` (microseconds since the epoch), ``__wb_value`` (the training value) and ``__wb_row`` (its
    position in the training input, null where rows have no order); ``n``: the label rows.
    """
    per_kind = per_row.group_by("__wb_status").agg(nw.len().alias("__wb_rows"),
                                                   nw.col("__wb_lag_s").count().alias("__wb_lags"))
    stats = collect_on(per_kind, engine, name, check=CHECK_NAME)
    per_status = dict(zip(stats["__wb_status"].to_list(), stats["__wb_rows"].to_list(), strict=True))
    lag_counts = dict(zip(stats["__wb_status"].to_list(), stats["__wb_lags"].to_list(), strict=True))
    findings, hists, examples = [], [], []
    for kind in VIOLATION_KINDS:
        k = int(per_status.get(kind, 0))
        if k == 0:
            continue
        rows = per_row.filter(nw.col("__wb_status") == kind)
        q = quantiles_of(rows, engine, "__wb_lag_s", n=int(lag_counts[kind]), name=name, check=CHECK_NAME)
        lo, hi = wilson_interval(k, n)
        metrics: dict[str, Any] = {
            "n": n, "affected_rows": k, "affected_share": k / n, "interval": [lo, hi], "confidence": 0.95,
            "lag_seconds": q,
        }
        lag_text = ""
        if q["p50"] is not None:
            lag_text = (f"; the leaking data lies a median {format_duration(q['p50'])} "
                        f"(max {format_duration(q['max'])}) past the prediction time")
        message = (f"Feature '{feature}' {_WHAT[kind]} in {k:,} of {n:,} rows ({_pct(k / n)}){lag_text}.")
        shown = _examples(rows, engine, max_examples, time_zone, name)
        findings.append(Finding(
            check=CHECK, kind=kind, severity=violation_severity(k, n), subject=feature, message=message,
            suggestion=_suggest(kind, feature, describe, rule_text), metrics=metrics,
            evidence=tuple(shown.head(5).drop("row", "age_hours").to_dicts()),
        ))
        hist = histogram_of(rows, engine, "__wb_lag_s", name=name, check=CHECK_NAME)
        hists.append(hist.select(pl.lit(feature).alias("feature"), pl.lit(kind).alias("kind"), pl.all()))
        examples.append(shown.select(pl.lit(feature).alias("feature"), pl.lit(kind).alias("kind"), pl.all()))
    return findings, hists, examples, {k: int(v) for k, v in per_status.items()}


def _examples(rows: nw.LazyFrame, engine: Engine, limit: int, time_zone: str | None, name: str, *,
              age: bool = False) -> pl.DataFrame:
    """The first ``limit`` rows by prediction time, entity and training value (the same rows on
    every engine), for display; ``age_hours`` is the snapshot's age (from ``__wb_age_s``) with
    ``age``, else null."""
    extra = ["__wb_age_s"] if age else []
    picked = collect_on(rows.sort("__wb_pt", "__wb_entity", "__wb_value", nulls_last=False).head(limit)
                        .select("__wb_entity", "__wb_pt", "__wb_value", "__wb_pit", "__wb_lag_s", *extra, "__wb_row"),
                        engine, name, check=CHECK_NAME, counts=False)
    return picked.select(
        pl.col("__wb_entity").alias("entity"), epoch_to_datetime(pl.col("__wb_pt"), time_zone).alias("prediction_time"),
        _as_text(pl.col("__wb_value"), picked.schema["__wb_value"]).alias("training_value"),
        _as_text(pl.col("__wb_pit"), picked.schema["__wb_pit"]).alias("point_in_time_value"),
        (pl.col("__wb_lag_s") / 3600).alias("lag_hours"),
        ((pl.col("__wb_age_s") / 3600) if age else pl.lit(None, pl.Float64)).alias("age_hours"),
        pl.col("__wb_row").cast(pl.Int64).alias("row"))


def epoch_to_datetime(us: pl.Expr, time_zone: str | None) -> pl.Expr:
    """Microseconds since the epoch as a datetime in ``time_zone`` (naive when None)."""
    out = pl.from_epoch(us, time_unit="us")
    return out.dt.replace_time_zone("UTC").dt.convert_time_zone(time_zone) if time_zone else out


def _as_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Values as text for display; floats rounded to 9 decimals so sums read as 1214.79, not 1214.7900000000002."""
    return (expr.round(9) if dtype.is_float() else expr).cast(pl.String)


def staleness_finding(feature: str, ttl_s: float, per_row: nw.LazyFrame, engine: Engine, *, n: int,
                      time_zone: str | None, max_examples: int = 50, name: str = "training"
                      ) -> tuple[Finding, pl.DataFrame] | None:
    """The finding and example rows of the label rows whose point-in-time snapshot
    (``__wb_age_s`` seconds old) is older than the TTL (``ttl_s`` seconds) while the training value
    (``__wb_value``) is set; None when there is none.

    ``per_row``: as for :func:`violation_findings`, with ``__wb_age_s``. The finding's scope
    ``window`` is the first and last prediction time of the stale rows (ISO 8601, in
    ``time_zone``); its metrics carry the age quantiles (seconds); the examples are the first
    ``max_examples`` stale rows by prediction time, with ``age_hours``.
    """
    stale = per_row.filter((nw.col("__wb_age_s") > ttl_s) & ~nw.col("__wb_value").is_null())
    found = collect_on(stale.select(nw.len().alias("__wb_k"), nw.col("__wb_pt").min().alias("__wb_first"),
                                    nw.col("__wb_pt").max().alias("__wb_last")),
                       engine, name, check=CHECK_NAME).row(0, named=True)
    k = int(found["__wb_k"])
    if k == 0:
        return None
    q = quantiles_of(stale, engine, "__wb_age_s", n=k, name=name, check=CHECK_NAME)
    lo, hi = wilson_interval(k, n)
    first, last = pl.select(epoch_to_datetime(pl.lit(found["__wb_first"], pl.Int64), time_zone).alias("a"),
                            epoch_to_datetime(pl.lit(found["__wb_last"], pl.Int64), time_zone).alias("b")).row(0)
    shown = _examples(stale, engine, max_examples, time_zone, name, age=True)
    finding = Finding(
        check=CHECK, kind="stale_feature", severity="warning" if k / n < 0.05 else "critical", subject=feature,
        scope={"window": [first.isoformat(), last.isoformat()]},
        message=(f"Feature '{feature}' is older than its TTL of {format_duration(ttl_s)} at prediction time in "
                 f"{k:,} of {n:,} rows ({_pct(k / n)}; median age {format_duration(q['p50'])}, max "
                 f"{format_duration(q['max'])}), with prediction times from {first:%Y-%m-%d %H:%M} to "
                 f"{last:%Y-%m-%d %H:%M}."),
        suggestion=(f"Treat {feature} as missing when its snapshot is older than {format_duration(ttl_s)}, "
                    "or fix the upstream job that stopped refreshing it (look at its runs in that window)."),
        metrics={"n": n, "affected_rows": k, "affected_share": k / n, "interval": [lo, hi], "confidence": 0.95,
                 "ttl_seconds": ttl_s, "age_seconds": q},
        evidence=tuple(shown.head(5).drop("row", "lag_hours").to_dicts()),
    )
    return finding, shown.select(pl.lit(feature).alias("feature"), pl.lit("stale_feature").alias("kind"), pl.all())


def timestamp_findings(feature: str, ts_column: str, lags: nw.LazyFrame, engine: Engine, *, n: int, strict: bool,
                       name: str = "training") -> tuple[list[Finding], list[pl.DataFrame]]:
    """Rows whose feature timestamp is not before the cutoff (``lags``: column ``__wb_lag_s`` =
    timestamp - cutoff in seconds, one row per label row)."""
    lag = nw.col("__wb_lag_s")
    leaking = lags.filter(lag >= 0 if strict else lag > 0)
    k = int(collect_on(leaking.select(nw.len().alias("__wb_k")), engine, name, check=CHECK_NAME).item())
    if k == 0:
        return [], []
    q = quantiles_of(leaking, engine, "__wb_lag_s", n=k, name=name, check=CHECK_NAME)
    lo, hi = wilson_interval(k, n)
    op = "at or after" if strict else "after"
    finding = Finding(
        check=CHECK, kind="future_data", severity=violation_severity(k, n), subject=feature,
        message=(f"Feature '{feature}' has its timestamp {ts_column!r} {op} the prediction time in {k:,} of {n:,} "
                 f"rows ({_pct(k / n)}; median {format_duration(q['p50'])} later)."),
        suggestion=f"Rebuild {feature} with an as-of join so that {ts_column} is before the prediction time.",
        metrics={"n": n, "affected_rows": k, "affected_share": k / n, "interval": [lo, hi], "confidence": 0.95,
                 "lag_seconds": q, "evidence": "timestamp", "timestamp_column": ts_column},
    )
    hist = histogram_of(leaking, engine, "__wb_lag_s", name=name, check=CHECK_NAME)
    return [finding], [hist.select(pl.lit(feature).alias("feature"), pl.lit("future_data").alias("kind"), pl.all())]


def lateness_profile(source: str, lateness: nw.LazyFrame, engine: Engine, happened: int, unavailable: int
                     ) -> tuple[Finding, pl.DataFrame, pl.DataFrame]:
    """Lateness distribution of a source and the share of its events not yet available at prediction.

    ``lateness``: column ``__wb_late_s`` = available - event time per source row (seconds).
    ``happened``: (label row, event) pairs with the event before the cutoff; ``unavailable``:
    those not yet available.
    """
    name = f"source {source!r}"
    late = nw.col("__wb_late_s")
    totals = collect_on(lateness.select(late.count().alias("__wb_n"), count(late > 0).alias("__wb_late")),
                        engine, name, check=CHECK_NAME).row(0, named=True)
    n = int(totals["__wb_n"])
    q = quantiles_of(lateness, engine, "__wb_late_s", n=n, name=name, check=CHECK_NAME)
    late_share = int(totals["__wb_late"] or 0) / n if n else 0.0
    delay = q["p99"] or 0.0
    share = unavailable / happened if happened else 0.0
    table = pl.DataFrame({
        "source": [source], "events": [n], "late_share": [late_share],
        "lateness_p50_hours": [_hours(q["p50"])], "lateness_p90_hours": [_hours(q["p90"])],
        "lateness_p99_hours": [_hours(q["p99"])], "lateness_max_hours": [_hours(q["max"])],
        "unavailable_at_prediction_share": [share], "suggested_delay_hours": [delay / 3600],
    })
    hist = histogram_of(lateness, engine, "__wb_late_s", name=name, check=CHECK_NAME)
    finding = Finding(
        check=CHECK, kind="late_data_profile", severity="info", subject=source,
        message=(f"Source '{source}': rows become available a median {format_duration(q['p50'])} after their "
                 f"time (p99 {format_duration(q['p99'])}, max {format_duration(q['max'])}); "
                 f"{_pct(share)} of the events before a prediction were not yet available at it."),
        suggestion=(f"Features from '{source}' computed by event time should wait about {format_duration(delay)} "
                    "(the p99 lateness) or filter on the available time."),
        metrics={"n": n, "value": share, "affected_rows": unavailable, "affected_share": share,
                 "lateness_seconds": q, "suggested_delay_seconds": delay, "pairs_before_prediction": happened},
    )
    return finding, table, hist.select(pl.lit(source).alias("source"), pl.all())


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


# -- target proxy ------------------------------------------------------------------------------

def single_feature_auc(counts: pl.DataFrame) -> tuple[float, int, int]:
    """AUC of a feature from per-value counts ``(score, pos, neg)`` sorted by score; oriented >= 0.5."""
    auc = auc_from_counts(counts["pos"].to_numpy(), counts["neg"].to_numpy())
    return max(auc, 1 - auc), int(counts["pos"].sum()), int(counts["neg"].sum())


def missing_as_null(column: str, dtype: pl.DataType) -> nw.Expr:
    """``column`` with NaN as null (floats): NaN and null are both missing in this project."""
    value = nw.col(column)
    return nw.when(~value.is_nan()).then(value).alias(column) if dtype.is_float() else value


PROXY_MAX_GROUPS = 100_000  # numbers with more distinct values are counted per quantile bin


def proxy_counts(training: pl.LazyFrame | nw.LazyFrame, feature: str, target: str, dtype: pl.DataType,
                 max_groups: int = PROXY_MAX_GROUPS, *, engine: Engine = "polars", name: str = "training",
                 distinct: int | None = None) -> pl.DataFrame:
    """Positive/negative label counts per feature value: the summary the AUC is computed from,
    counted on the input's engine.

    Returns ``score, pos, neg, value`` ordered by score (``value``: the feature value; null for
    a null category and for the bins of a binned number). Numeric features with more than
    ``max_groups`` distinct values are counted per quantile bin (1,000 bins, edges at the
    nearest-rank quantiles; ties within a bin count one half, so the AUC is then a slight
    underestimate); rows with a missing number (null or NaN) are left out. Categorical values (null included,
    as its own value) are scored by their smoothed positive rate (prior weight 10 rows).
    ``distinct``: the number of distinct non-null values, when already known (saves a pass).
    """
    lf = training if isinstance(training, nw.LazyFrame) else nw.from_native(training)
    y = nw.col(target).cast(nw.Int64)
    value = nw.col(feature)
    numeric = dtype.is_numeric() or dtype == pl.Boolean
    if numeric:  # numbers are their own score; missing ones (null, NaN) are left out
        lf = lf.with_columns(missing_as_null(feature, dtype))
        lf = lf.filter(~value.is_null())
        value = value.cast(nw.Float64)
        if distinct is None:
            distinct = int(collect_on(lf.select(value.n_unique().alias("__wb_d")), engine, name,
                                      check=CHECK_NAME).item())
        if distinct > max_groups:
            n = int(collect_on(lf.select(nw.len().alias("__wb_n")), engine, name, check=CHECK_NAME).item())
            ranks = sorted({round(p * (n - 1)) + 1 for p in np.linspace(0, 1, 1001)[1:-1]})
            edges = order_statistics(lf.select(value.alias("__wb_v")), engine, "__wb_v", ranks, name=name,
                                     check=CHECK_NAME, n=n)
            value = _bisect_right(value, np.unique(edges[~np.isnan(edges)]).tolist(), 0, None).cast(nw.Float64)
    counts = collect_on(lf.group_by(value.alias("__wb_v")).agg(y.sum().alias("__wb_pos"),
                                                               (1 - y).sum().alias("__wb_neg")),
                        engine, name, check=CHECK_NAME).rename({"__wb_v": "v", "__wb_pos": "pos", "__wb_neg": "neg"})
    counts = counts.with_columns(pl.col("pos", "neg").fill_null(0).cast(pl.Int64))
    if numeric:
        binned = distinct > max_groups
        shown = pl.lit(None) if binned else (pl.col("v") == 1) if dtype == pl.Boolean else pl.col("v")
        return counts.select(pl.col("v").cast(pl.Float64).alias("score"), "pos", "neg", shown.alias("value")) \
            .sort("score")
    total_pos, total_neg = counts["pos"].sum(), counts["neg"].sum()
    prior = total_pos / max(total_pos + total_neg, 1)
    rate = (pl.col("pos") + 10 * prior) / (pl.col("pos") + pl.col("neg") + 10)
    return counts.with_columns(rate.alias("score")).sort("score", "v", nulls_last=False) \
        .select("score", "pos", "neg", pl.col("v").alias("value"))


def _bisect_right(v: nw.Expr, cuts: list[float], lo: int, hi: int | None) -> nw.Expr:
    """The number of ``cuts`` (sorted) at or below ``v``, as a balanced tree of comparisons."""
    hi = len(cuts) if hi is None else hi
    if lo >= hi:
        return nw.lit(lo, nw.Int64)
    mid = (lo + hi) // 2
    return nw.when(v < cuts[mid]).then(_bisect_right(v, cuts, lo, mid)).otherwise(_bisect_right(v, cuts, mid + 1, hi))


MIN_CLASS_SUPPORT = 10
# Near-deterministic separation: the best single cut of the feature (a threshold, or putting its
# nulls on one side) with balanced accuracy >= 92.5%, counted on the 95% bounds of its rates.
SEPARATION_J = 0.85
CRITICAL_J = 0.95  # ... and >= 97.5%: critical
NEAR_ONE_AUC = 0.99  # an AUC whose 95% lower bound is at least this is near-deterministic too
# A sentinel: a value whose rows are all but <= 1% of one class (upper 95% bound <= 5%, so at
# least ~70 rows); for a number, the rows of the values next to it on each side (at least
# NEIGHBOUR_ROWS of them) must be mixed (>= 10% of the other class), so that the end of a smooth
# trend (the top counts of a strong count feature) is not a sentinel.
SENTINEL_OTHER_SHARE = 0.01
SENTINEL_OTHER_UPPER = 0.05
MIXED_NEIGHBOUR = 0.10
NEIGHBOUR_ROWS = 20


@dataclass(frozen=True)
class ProxyEvidence:
    """What the per-value counts of one feature say beyond its AUC.

    ``separation``: the balanced separation (Youden's J = TPR - FPR, between 0 and 1) of its best
    single cut, with ``separation_lower`` computed from the Wilson bounds of the two rates at that
    cut and ``cut`` describing it. ``sentinel``: the best value whose rows are ~all of the
    minority class (``value``, ``rows``, ``class``, ``purity``, ``class_share``: the share of that
    class's rows it holds), or None.
    """

    separation: float = 0.0
    separation_lower: float = 0.0
    cut: str = ""
    sentinel: dict[str, Any] | None = None

    def kinds(self, auc_lower: float) -> list[str]:
        """The leak evidence found: ``'separation'`` and/or ``'sentinel'``."""
        out = []
        if self.separation_lower >= SEPARATION_J or (not math.isnan(auc_lower) and auc_lower >= NEAR_ONE_AUC):
            out.append("separation")
        if self.sentinel is not None:
            out.append("sentinel")
        return out


def _best_cut(pos: np.ndarray, neg: np.ndarray) -> tuple[float, float, int]:
    """The cut between ordered groups that best separates the classes: (J, its lower bound, index
    of the last group below the cut); J is 0 with fewer than two groups."""
    n_pos, n_neg = int(pos.sum()), int(neg.sum())
    if len(pos) < 2 or n_pos == 0 or n_neg == 0:
        return 0.0, 0.0, -1
    below_pos, below_neg = np.cumsum(pos)[:-1], np.cumsum(neg)[:-1]
    j = below_neg / n_neg - below_pos / n_pos  # > 0: positives above the cut
    i = int(np.argmax(np.abs(j)))
    tp, fp = (n_pos - below_pos[i], n_neg - below_neg[i]) if j[i] >= 0 else (below_pos[i], below_neg[i])
    lower = wilson_interval(int(tp), n_pos)[0] - wilson_interval(int(fp), n_neg)[1]
    return float(abs(j[i])), float(lower), i


def _mixed_around(k: int, rows: np.ndarray, other: np.ndarray) -> bool:
    """The values next to value ``k`` on each side (the nearest ones holding at least
    ``NEIGHBOUR_ROWS`` rows, or all there are) hold at least ``MIXED_NEIGHBOUR`` of the other class."""
    for step in (-1, 1):
        j, n, o = k + step, 0.0, 0.0
        while 0 <= j < len(rows) and n < NEIGHBOUR_ROWS:
            n, o = n + rows[j], o + other[j]
            j += step
        if n and o / n < MIXED_NEIGHBOUR:
            return False
    return True


def _pure_in(k_class: int, k_other: int) -> bool:
    m = k_class + k_other
    return m > 0 and k_other / m <= SENTINEL_OTHER_SHARE and wilson_interval(k_other, m)[1] <= SENTINEL_OTHER_UPPER


def proxy_evidence(counts: pl.DataFrame, null_pos: int, null_neg: int, *, ordered: bool, exact: bool
                   ) -> ProxyEvidence:
    """Separation and sentinel evidence from a feature's per-value counts.

    ``counts``: ``score, pos, neg, value`` by increasing score (:func:`proxy_counts`; nulls left out
    for numbers, a value of their own for categories); ``null_pos`` / ``null_neg``: the label counts
    of the feature's null rows when they are not in ``counts`` (else 0); ``ordered``: a number
    (its values have neighbours); ``exact``: one group per value (not quantile bins).
    """
    pos, neg = counts["pos"].to_numpy().astype(float), counts["neg"].to_numpy().astype(float)
    labels = counts["value"].to_list() if "value" in counts.columns else [None] * len(pos)
    cuts = []
    if len(pos):
        j, lo, i = _best_cut(pos, neg)
        where = f"values above {counts['score'][i]:.6g}" if ordered else "its categories by their positive rate"
        cuts.append((j, lo, where if i >= 0 else ""))
    if null_pos + null_neg:
        non_null = np.array([pos.sum(), neg.sum()])
        j, lo, _ = _best_cut(np.array([null_pos, non_null[0]]), np.array([null_neg, non_null[1]]))
        cuts.append((j, lo, "null or not"))
    best = max(cuts, default=(0.0, 0.0, ""), key=lambda c: c[1])
    total_pos, total_neg = int(pos.sum()) + null_pos, int(neg.sum()) + null_neg
    minority = [c for c, mine, other in (("positive", total_pos, total_neg), ("negative", total_neg, total_pos))
                if 0 < mine <= other]
    groups: list[tuple[str, int, int, int | None]] = []  # (value, positives, negatives, index among numbers)
    if exact:
        for k in range(len(pos)):
            groups.append((_value_text(labels[k]), int(pos[k]), int(neg[k]), k if ordered else None))
    if null_pos + null_neg:
        groups += [("null", null_pos, null_neg, None), ("any non-null value", int(pos.sum()), int(neg.sum()), None)]
    sentinel = None
    for label, k_pos, k_neg, index in groups:
        for cls in minority:
            k_c, k_o = (k_pos, k_neg) if cls == "positive" else (k_neg, k_pos)
            if not _pure_in(k_c, k_o):
                continue
            other = neg if cls == "positive" else pos
            if index is not None and not _mixed_around(index, pos + neg, other):
                continue
            if sentinel is None or k_c > sentinel["rows_of_class"]:
                total = total_pos if cls == "positive" else total_neg
                sentinel = {"value": label, "rows": k_c + k_o, "rows_of_class": k_c, "class": cls,
                            "purity": k_c / (k_c + k_o), "class_share": k_c / total}
    return ProxyEvidence(best[0], best[1], best[2], sentinel)


def _value_text(value: Any) -> str:
    """A feature value as shown in a message: null, -1 (not -1.0), 'CLOSED', True."""
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def proxy_finding(feature: str, auc: float, n_pos: int, n_neg: int, *, threshold: float, lineage: str,
                  evidence: ProxyEvidence | None = None) -> Finding | None:
    """Grade a feature as target-proxy (target leak) evidence.

    The rule (also in the README, "Finding kinds"):

    * predictiveness alone (``auc >= threshold``) is at most ``info``: honest features reach 0.9;
    * it is escalated only on evidence a leak has: near-deterministic ``separation`` (the best
      single cut of the feature separates the classes with J = TPR - FPR whose lower bound is
      >= ``SEPARATION_J``, or the AUC's 95% lower bound is >= ``NEAR_ONE_AUC``), a ``sentinel``
      (a value whose rows are ~all one class, see :func:`proxy_evidence`), or timing evidence from
      lineage (``lineage='leaky'``: the declared feature failed its point-in-time checks);
    * with separation or a sentinel and no clean lineage: ``warning``; ``critical`` when the
      separation is near-perfect (J lower bound >= ``CRITICAL_J`` or AUC lower bound >=
      ``NEAR_ONE_AUC``). Leaky lineage with an AUC at the threshold or any evidence: ``critical``;
    * ``lineage='clean'`` (declared and point-in-time correct): ``info`` at most, whatever the
      evidence;
    * with fewer than ``MIN_CLASS_SUPPORT`` positives or negatives the AUC is inconclusive and
      only separation and sentinel evidence (whose bounds account for the sample size) count.

    ``lineage``: ``'leaky'``, ``'clean'``, ``'mismatch'`` (declared, differs without a timing
    explanation) or ``'none'`` (undeclared). Returns None when there is nothing to report.
    """
    evidence = evidence or ProxyEvidence()
    lo, hi = auc_interval(auc, n_pos, n_neg)
    conclusive = min(n_pos, n_neg) >= MIN_CLASS_SUPPORT
    kinds = evidence.kinds(lo if conclusive else math.nan)  # separation and sentinels carry their own bounds
    strong = conclusive and not math.isnan(auc) and auc >= threshold
    if not strong and not kinds:
        return None
    n = n_pos + n_neg
    base = {"n": n, "value": None if math.isnan(auc) else auc, "interval": [lo, hi], "confidence": 0.95,
            "threshold": threshold, "positives": n_pos, "negatives": n_neg, "lineage": lineage,
            "evidence": kinds, "separation": evidence.separation, "separation_lower": evidence.separation_lower,
            "sentinel": evidence.sentinel}
    auc_text = "AUC n/a" if math.isnan(auc) else f"AUC {auc:.3f} (95% CI {lo:.3f}–{hi:.3f}, n={n:,})"
    found = _evidence_text(evidence, kinds)
    if lineage == "clean":
        return Finding(check=CHECK, kind="target_proxy", severity="info", subject=feature,
                       message=f"Feature '{feature}' alone predicts the label strongly ({auc_text}{found}) but its "
                               "declared lineage is point-in-time correct, so this is not a leak.",
                       suggestion="No action needed; keep its declaration so the audit keeps checking it.",
                       metrics={**base, "suspicion": "none"})
    if lineage == "leaky":
        return Finding(check=CHECK, kind="target_proxy", severity="critical", subject=feature,
                       message=f"Feature '{feature}' alone predicts the label ({auc_text}{found}) and uses data "
                               "from after the prediction time: a target leak.",
                       suggestion=f"Rebuild {feature} point-in-time correctly and retrain; "
                                  "expect lower offline scores.",
                       metrics={**base, "suspicion": "high"})
    if not kinds:
        return Finding(check=CHECK, kind="target_proxy", severity="info", subject=feature,
                       message=f"Feature '{feature}' alone predicts the label strongly ({auc_text}); strong honest "
                               "features do this, and nothing in its values looks like an encoded outcome "
                               "(no near-deterministic separation, no sentinel value).",
                       suggestion=f"If {feature}'s value could be written after the outcome, declare its lineage "
                                  "(features= or feature_timestamps=) so the audit checks its timing.",
                       metrics={**base, "suspicion": "low"})
    critical = evidence.separation_lower >= CRITICAL_J or (not math.isnan(lo) and lo >= NEAR_ONE_AUC)
    return Finding(check=CHECK, kind="target_proxy", severity="critical" if critical else "warning",
                   subject=feature,
                   message=f"Feature '{feature}' looks like an encoded outcome ({auc_text}{found}).",
                   suggestion=f"Find out when {feature}'s value is written; drop it if it is recorded after the "
                              "outcome, or declare its lineage (features= or feature_timestamps=) so the audit "
                              "can check its timing.",
                   metrics={**base, "suspicion": "high" if critical else "medium"})


def _evidence_text(evidence: ProxyEvidence, kinds: list[str]) -> str:
    parts = []
    if "separation" in kinds:
        parts.append(f"one cut ({evidence.cut}) separates the classes almost perfectly: "
                     f"J = TPR - FPR = {evidence.separation:.3f}, lower bound {evidence.separation_lower:.3f}")
    if "sentinel" in kinds and evidence.sentinel is not None:
        s = evidence.sentinel
        parts.append(f"its value {s['value']} occurs in {s['rows']:,} rows, {100 * s['purity']:.1f}% of them "
                     f"{s['class']} ({100 * s['class_share']:.1f}% of all {s['class']} rows): a sentinel")
    return "; " + "; ".join(parts) if parts else ""


# -- split contamination -----------------------------------------------------------------------

def split_findings(stats: dict[str, Any], *, train: str, test: str, entity: str) -> list[Finding]:
    """Entity and time overlap between the train and test splits, from precomputed counts."""
    out = []
    shared, test_entities = stats["shared_entities"], stats["test_entities"]
    if shared:
        share = shared / max(test_entities, 1)
        lo, hi = wilson_interval(shared, test_entities)
        out.append(Finding(
            check=CHECK, kind="split_entity_overlap", severity="critical" if share >= 0.05 else "warning",
            subject=entity,
            message=(f"{shared:,} of {test_entities:,} {entity} values in '{test}' ({_pct(share)}) also appear in "
                     f"'{train}'; the test score measures memorised entities."),
            suggestion=f"Split by {entity} (group split) so that no {entity} is on both sides.",
            metrics={"n": test_entities, "affected_rows": stats["test_rows_shared"],
                     "affected_share": stats["test_rows_shared"] / max(stats["test_rows"], 1),
                     "value": shared, "entity_share": share, "interval": [lo, hi], "confidence": 0.95,
                     "train_entities": stats["train_entities"]},
        ))
    if stats["overlap_start"] is not None:
        rows = stats["test_rows_in_overlap"]
        share = rows / max(stats["test_rows"], 1)
        start, end = stats["overlap_start"], stats["overlap_end"]
        out.append(Finding(
            check=CHECK, kind="split_time_overlap", severity="critical" if share >= 0.05 else "warning",
            subject="prediction_time", scope={"window": [start.isoformat(), end.isoformat()]},
            message=(f"'{train}' and '{test}' overlap in time from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}: "
                     f"{rows:,} of {stats['test_rows']:,} test rows ({_pct(share)}) lie inside the training period."),
            suggestion=f"Split by time: put every '{test}' prediction after the last '{train}' prediction "
                       "(plus the label horizon).",
            metrics={"n": stats["test_rows"], "affected_rows": rows, "affected_share": share,
                     "train_rows_in_overlap": stats["train_rows_in_overlap"]},
        ))
    return out


def duplicate_findings(exact_extra: int, cross_split: int, key_extra: int, n: int, key_text: str, *,
                       sides: tuple[str, str] = ("train", "test")) -> list[Finding]:
    """Exact duplicate rows and repeated keys, from counts over the ``n`` training rows.

    ``exact_extra``: the copies beyond the first of each group of identical rows;
    ``cross_split``: those of them whose group has rows on both ``sides`` of the split (each
    counted once, so at most ``exact_extra``); ``key_extra``: the rows repeating a key beyond
    the exact duplicates. A cross-split copy puts a training row in the test set: critical.
    """
    out = []
    if exact_extra:
        severity = "critical" if cross_split else "warning"
        cross = ""
        if cross_split:
            cross = (f"; {cross_split:,} of these copies belong to a group of identical rows with rows in both "
                     f"'{sides[0]}' and '{sides[1]}', so the test set holds rows the model was trained on")
        out.append(Finding(
            check=CHECK, kind="duplicate_rows", severity=severity, subject="all columns",
            message=f"{exact_extra:,} rows are exact copies of another row ({_pct(exact_extra / n)}, counting "
                    f"each group's copies beyond the first){cross}.",
            suggestion="Deduplicate the training set before splitting (e.g. df.unique()).",
            metrics={"n": n, "affected_rows": exact_extra, "affected_share": exact_extra / n,
                     "cross_split_rows": cross_split},
        ))
    if key_extra:
        out.append(Finding(
            check=CHECK, kind="duplicate_rows", severity="warning", subject=key_text,
            message=f"{key_extra:,} rows repeat an existing {key_text} key ({_pct(key_extra / n)}).",
            suggestion=f"Keep one row per {key_text}, or find the join that multiplied them.",
            metrics={"n": n, "affected_rows": key_extra, "affected_share": key_extra / n},
        ))
    return out
