"""Multivariate drift: can a classifier tell current rows from reference rows?

A gradient-boosted classifier (scikit-learn's ``HistGradientBoostingClassifier``) is trained
to predict "current" from the columns, with stratified k-fold cross-validation. Its
out-of-fold ROC AUC is 0.5 when the joint distributions agree and rises toward 1 as they
separate, whatever the columns' interactions. The features that drive it are ranked by
permutation importance (drop in held-out AUC when a column is shuffled). Datetime columns are
left out by default (time alone separates any two periods). The classifier is trained on at
most ``max_rows`` rows per side, taken at a fixed stride through each input (deterministic);
the result says how many rows were used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from workbench import params
from workbench.drift.fit import column_kind, open_input
from workbench.drift.summaries import COUNT, row_count
from workbench.engine.columns import every_kth
from workbench.engine.frames import Frame, collect
from workbench.engine.inputs import FrameLike
from workbench.engine.reserved import refuse_reserved
from workbench.errors import ConfigError, InputError
from workbench.findings.model import CheckResult, Finding
from workbench.stats import auc_interval

MAX_LEVELS = 250


def domain_classifier(
    reference: FrameLike,
    current: FrameLike,
    *,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    max_rows: int = 50_000,
    folds: int = 5,
    auc_threshold: float = 0.55,
    confidence: float = 0.95,
    seed: int = 0,
) -> CheckResult:
    """Cross-validated AUC of a reference-vs-current classifier, with an interval and drivers.

    Finding ``multivariate_drift`` when the AUC's interval lies above ``auc_threshold``
    (``critical`` when above 0.65 too). Returns a :class:`~workbench.findings.CheckResult`
    (check ``"multivariate"``) with the table ``drivers`` (column, importance, its spread).
    """
    owner = "domain_classifier"
    columns = None if columns is None else params.column_names(columns, name="columns", owner=owner)
    exclude = params.column_names(exclude, name="exclude", owner=owner)
    folds = params.count(folds, name="folds", minimum=2, owner=owner)
    max_rows = params.count(max_rows, name="max_rows", minimum=2 * folds, owner=owner)
    auc_threshold = params.open_unit(auc_threshold, name="auc_threshold", owner=owner)
    if auc_threshold < 0.5:
        raise ConfigError(f"The 'auc_threshold' parameter of domain_classifier must be between 0.5 (no separation) "
                          f"and 1. Got {auc_threshold!r}.")
    confidence = params.open_unit(confidence, name="confidence", owner=owner)
    seed = params.count(seed, name="seed", minimum=0, owner=owner)
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split

    ref, cur = open_input(reference, name="reference"), open_input(current, name="current")
    usable = [c for c in ref.schema if c in cur.schema and c not in set(exclude)
              and column_kind(ref.schema[c]) in ("numeric", "categorical", "boolean")
              and column_kind(cur.schema[c]) == column_kind(ref.schema[c])]
    if columns is not None:
        bad = [c for c in columns if c not in usable]
        if bad:
            raise InputError(f"columns {bad} cannot be used by the domain classifier (missing on one side, "
                             f"datetime, or of another type). Usable: {usable}")
        usable = list(columns)
    if not usable:
        raise InputError("no column is usable by the domain classifier (numeric, string or boolean on both sides).")
    refuse_reserved(usable, name="domain_classifier")
    a, n_ref_total = _strided(ref, usable, max_rows)
    b, n_cur_total = _strided(cur, usable, max_rows)
    if min(a.height, b.height) < 2 * folds:
        raise InputError(f"too few rows for a {folds}-fold domain classifier: {a.height} reference, "
                         f"{b.height} current.")
    X, categorical = _encode(pl.concat([a, b], how="vertical_relaxed"), usable)
    y = np.r_[np.zeros(a.height), np.ones(b.height)]
    model = HistGradientBoostingClassifier(max_iter=100, categorical_features=categorical, random_state=seed)
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    proba = cross_val_predict(model, X, y, cv=cv, method="predict_proba")[:, 1]
    auc = float(roc_auc_score(y, proba))
    lo, hi = auc_interval(auc, b.height, a.height, confidence)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    fitted = model.fit(X_tr, y_tr)
    imp = permutation_importance(fitted, X_te, y_te, scoring="roc_auc", n_repeats=3, random_state=seed)
    drivers = pl.DataFrame({"column": usable, "importance": imp.importances_mean, "importance_std": imp.importances_std}
                           ).sort("importance", descending=True)
    findings = []
    if lo >= auc_threshold:
        top = [r for r in drivers.iter_rows(named=True) if r["importance"] > 0][:3]
        driven = ", ".join(f"{r['column']} (AUC drop {r['importance']:.3f})" for r in top) or "no single column"
        sampled = (a.height < n_ref_total) or (b.height < n_cur_total)
        if sampled:
            sample_text = (f" on {a.height:,} of {n_ref_total:,} reference and {b.height:,} of {n_cur_total:,} "
                           "current rows, every k-th row")
        else:
            sample_text = f" on all {a.height:,} reference and {b.height:,} current rows"
        findings.append(Finding(
            "multivariate", "multivariate_drift", "critical" if lo >= 0.65 else "warning", "all columns",
            f"A classifier tells current rows from reference rows with AUC {auc:.3f} ({confidence:.0%} CI "
            f"{lo:.3f}–{hi:.3f}; {folds}-fold cross-validation{sample_text}); driven by {driven}.",
            "Look at the driving columns first (with their per-column drift); a high AUC with no single drifted "
            "column means the columns' relationship changed.",
            {"value": auc, "interval": [lo, hi], "threshold": auc_threshold, "confidence": confidence,
             "n": b.height, "n_reference": a.height}, {}))
    return CheckResult(
        check="multivariate", findings=tuple(findings), inputs=(),
        parameters={"auc": auc, "interval": [lo, hi], "folds": folds, "columns": usable, "seed": seed,
                    "sampled": {"reference": [a.height, n_ref_total], "current": [b.height, n_cur_total]},
                    "rule": {"statement": f"alert when the AUC's {confidence:.0%} interval is above {auc_threshold}"}},
        tables={"drivers": drivers},
    )


def _strided(frame: Frame, columns: list[str], max_rows: int) -> tuple[pl.DataFrame, int]:
    """Every k-th row so that at most ``max_rows`` remain (k = ceil(rows / max_rows)), and the row count."""
    total = row_count(frame)
    sample = every_kth(frame, max(1, -(-total // max_rows)), columns)
    return collect(sample.lf, sample, check="the domain classifier", counts=False), total


def _encode(frame: pl.DataFrame, columns: list[str]) -> tuple[np.ndarray, list[bool]]:
    """Numbers as floats (NaN for missing); strings and booleans as codes of their most frequent
    ``MAX_LEVELS`` values (the rest share one code, missing is NaN)."""
    out, categorical = [], []
    for c in columns:
        s = frame[c]
        if s.dtype.is_numeric():
            out.append(s.cast(pl.Float64).fill_nan(None).to_numpy().astype(float))
            categorical.append(False)
        else:
            s = s.cast(pl.String)
            levels = s.drop_nulls().value_counts(sort=True, name=COUNT).head(MAX_LEVELS)[c].to_list()
            mapping = {v: i for i, v in enumerate(levels)}
            codes = s.replace_strict(mapping, default=len(levels), return_dtype=pl.Float64)
            out.append(codes.to_numpy().astype(float))
            categorical.append(True)
    return np.column_stack(out), categorical
