"""``check_leakage``: the point-in-time leakage auditor, from inputs to a :class:`CheckResult`.

One shape, like every check: the inputs are checked and opened on their engine (:mod:`.inputs`);
the per-row classification (:mod:`.per_row`) and the summaries of it and of the training table
(:mod:`.summaries`, :mod:`.training`) run there; the statistics (:mod:`.statistics`), decisions
and findings (:mod:`.checks`, :mod:`.result`) are computed from the summaries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workbench.engine.frames import Store, frame_summary
from workbench.engine.inputs import FrameLike
from workbench.findings.model import CheckResult
from workbench.leakage import summaries
from workbench.leakage.inputs import Options, Prepared, binary_target, check_parameters, prepare
from workbench.leakage.per_row import PerRow
from workbench.leakage.result import Summaries, build_result
from workbench.leakage.spec import AsOf, FeatureDecl, PointInTimeRule, Source
from workbench.leakage.training import duplicate_counts, proxy_summary, split_summary
from workbench.progress import advance, staged


@staged("check_leakage", ["reading the inputs", "point-in-time features", "lateness, proxies and split"])
def check_leakage(
    training: FrameLike,
    *,
    entity: str,
    prediction_time: str,
    target: str | None = None,
    positive: Any = None,
    features: Mapping[str, FeatureDecl] | None = None,
    sources: Mapping[str, Source] | None = None,
    feature_timestamps: Mapping[str, str] | None = None,
    split: str | None = None,
    train_value: str = "train",
    test_value: str = "test",
    rule: PointInTimeRule | None = None,
    proxy_auc: float = 0.9,
    max_examples: int = 50,
) -> CheckResult:
    """Audit a training set for point-in-time leakage.

    ``entity`` is the key of the thing the features describe (a customer, an account): each
    feature's value is looked up point in time by it in its source. It is not a request ``id``
    (docs/vocabulary.md).

    Inputs: ``training`` has one row per (``entity``, ``prediction_time``) with the ``target``
    label (binary: boolean or 0/1, or any values with ``positive``, the value that is the
    positive class), feature columns and optionally a ``split`` column (values ``train_value`` /
    ``test_value``). ``sources`` are the tables the features come from; ``features`` declares
    how each training column is meant to be computed from a source (:func:`window`,
    :func:`asof`, :func:`static`); ``feature_timestamps`` maps a feature to a training column
    holding the time its value was observed. ``rule`` is the point-in-time rule (default:
    strictly before the prediction time, on both the event and the available time).

    Where it runs is where the inputs are (recorded in ``parameters["engine"]``): a Spark
    DataFrame on Spark and a duckdb relation on duckdb, with every source on the same engine
    (their as-of lookups are window functions there; only summaries come back); anything else
    (polars, pandas, arrow frames, parquet/CSV paths) on polars, with sorted frames and
    ``join_asof``. To audit a duckdb relation on polars, pass ``relation.pl()``.

    Checks: recompute-and-compare of declared features (``future_data``, ``non_asof_join``,
    ``late_arrival``, ``feature_mismatch``), feature timestamps (``future_data``), staleness
    against each as-of feature's TTL (``stale_feature``), lateness profile per source with an
    available time (``late_data_profile``), target proxies (``target_proxy``: an AUC at or above
    ``proxy_auc`` alone is info; separation, sentinel values or timing evidence escalate it, see
    :func:`checks.proxy_finding`), split contamination (``split_entity_overlap``,
    ``split_time_overlap``) and duplicates (``duplicate_rows``). A check asked for that cannot run
    is a ``check_skipped`` warning; too little data an ``insufficient_data`` info.

    Returns a :class:`~workbench.findings.CheckResult` with check ``"leakage"``, the rule in
    ``parameters`` and the tables ``features``, ``lag_histogram``, ``examples``, ``lateness``,
    ``lateness_histogram``, ``proxy`` and ``checks``. Inputs are never modified.
    """
    opts = check_parameters(entity=entity, prediction_time=prediction_time, target=target, positive=positive,
                            split=split, train_value=train_value, test_value=test_value, features=features,
                            sources=sources, feature_timestamps=feature_timestamps, rule=rule, proxy_auc=proxy_auc,
                            max_examples=max_examples)
    prep = prepare(training, opts)
    store = Store(prep.engine, prep.training.lf.to_native(), truncate=True)  # duckdb drops its tables through it
    try:
        return _audit(prep, store, opts)
    finally:
        store.release()


def _audit(prep: Prepared, store: Store, opts: Options) -> CheckResult:
    """Summaries on the inputs' engine, then the result from them."""
    engine, tz, rule = prep.engine, prep.time_zone, opts.rule
    advance()
    rows = PerRow(prep, store, opts)
    features = [summaries.feature_summary(
        rows.feature(name, decl), engine, feature=name, declaration=decl.describe(), time_zone=tz,
        ttl_seconds=decl.ttl.total_seconds() if isinstance(decl, AsOf) and decl.ttl is not None else None,
        max_examples=opts.max_examples) for name, decl in opts.features.items()]
    stamps = [summaries.timestamp_summary(rows.labels, engine, index=i, feature=name, column=column,
                                          strict=not rule.inclusive)
              for i, (name, column) in enumerate(opts.feature_timestamps.items())]
    advance()
    lateness = [summaries.lateness_summary(name, engine, *rows.lateness(name))
                for name, (source, _) in prep.sources.items()
                if source.time is not None and source.available_time is not None]
    label = binary_target(prep.training, opts.target, opts.positive) if opts.target is not None else None
    keys = {opts.entity, opts.prediction_time, opts.target, opts.split, *opts.feature_timestamps.values()}
    proxy = proxy_summary(prep.training, label.y, keys) if label is not None and label.y is not None else None
    split = split_summary(rows.labels, prep.training, opts.split, opts.train_value, opts.test_value, tz) \
        if opts.split is not None else None
    duplicates = duplicate_counts(prep.training, opts.entity, opts.prediction_time, opts.split,
                                  train_value=opts.train_value, test_value=opts.test_value)
    inputs = [frame_summary(prep.training)] + [frame_summary(src) for _, src in prep.sources.values()]
    return build_result(Summaries(rows.n, features, stamps, lateness, label, proxy, split, duplicates), opts,
                        engine=engine, inputs=inputs)
