"""Fit a :class:`DriftProfile` from a reference (two lazy passes, no raw rows in Python)."""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from workbench import params
from workbench.drift.profile import ColumnKind, ColumnProfile, DriftProfile, segment_key
from workbench.drift.summaries import (
    COUNT,
    ROWS,
    VALUE,
    Agg,
    ColumnRead,
    aggregate,
    alias,
    numeric_aggs,
    prepare,
    quantiles,
    row_count,
    run,
    value_column,
    value_counts,
)
from workbench.engine.batch import Summary
from workbench.engine.frames import Frame, frame_summary, open_frame, refuse_nested
from workbench.engine.inputs import FrameLike
from workbench.engine.partitions import partition_files, scan_partitions
from workbench.engine.reserved import refuse_reserved
from workbench.errors import InputError, did_you_mean
from workbench.findings.model import InputSummary


def column_kind(dtype: pl.DataType) -> ColumnKind | None:
    """How drift reads a dtype: numeric, datetime, categorical or boolean; ``None`` if it cannot."""
    if dtype == pl.Boolean:
        return "boolean"
    if isinstance(dtype, pl.Datetime) or dtype == pl.Date:
        return "datetime"
    if dtype.is_numeric():
        return "numeric"
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum | pl.Categorical):
        return "categorical"
    return None


def open_input(data: FrameLike, *, name: str) -> Frame:
    """Wrap an input for the summaries stage (:func:`workbench.engine.open_frame`: a duckdb relation runs
    on duckdb, a Spark DataFrame on Spark, anything else on polars). A directory or glob of parquet files
    whose schemas differ is read file by file and aligned by column name (missing columns become null,
    differing types are relaxed to a common type), so schema evolution never stops a run."""
    return open_frame(scan_partitions(data, name=name) if isinstance(data, str | Path) else data, name=name)


def drift_columns(schema: pl.Schema, columns: Sequence[str] | None, exclude: Sequence[str], *,
                  name: str, categorical: Sequence[str] = ()) -> tuple[dict[str, ColumnKind], dict[str, str]]:
    """Columns to profile with their kinds, and skipped columns with the reason."""
    if columns is not None:
        missing = [c for c in columns if c not in schema]
        if missing:
            hints = "".join(did_you_mean(c, schema) for c in missing)
            raise InputError(f"{name}: columns {missing} not found.{hints} Available columns: {sorted(schema)}")
    chosen = [c for c in (columns if columns is not None else schema) if c not in set(exclude)]
    kinds: dict[str, ColumnKind] = {}
    skipped: dict[str, str] = {}
    for c in chosen:
        kind = column_kind(schema[c])
        if c in categorical and kind is not None:
            kind = "categorical"
        if kind is None:
            skipped[c] = f"dtype {schema[c]} is not supported for drift (numeric, datetime, string, boolean are)"
        else:
            kinds[c] = kind
    return kinds, skipped


@params.renamed_keywords("n_bins", owner="fit_profile")
def fit_profile(
    reference: FrameLike,
    *,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    bins: int = 10,
    max_categories: int = 20,
    max_known_categories: int = 10_000,
    categorical: Sequence[str] = (),
    edge_rows: int | None = 50_000,
    by: Sequence[str] = (),
) -> DriftProfile:
    """Fit the reference profile that :func:`workbench.check_drift` compares against.

    Inputs: ``reference`` (any supported input), the ``columns`` to profile (default: every
    column of a supported dtype, minus ``exclude``), ``bins`` quantile bins for numeric and
    datetime columns, ``max_categories`` kept categories per categorical column (the rest share
    an "other" bin, and the column's status says so), ``max_known_categories`` remembered to
    recognise new categories; ``categorical`` names columns read as categories whatever their
    dtype (class labels stored as integers). Bin edges are quantiles of at most ``edge_rows``
    rows, every k-th row of the reference (``None``: of all rows); the profile records how many.
    Edges only place the bins: every count, and so every statistic, uses all rows. ``by`` names
    segment columns: each segment value's counts are kept too (on the same bins), so that
    :func:`~workbench.check_drift` can compare a segment with the same segment of the reference.
    Output: a small frozen :class:`DriftProfile` (save it with ``.save(path)``). Two lazy passes
    over the reference.
    """
    plan = plan_profile(reference, columns=columns, exclude=exclude, bins=bins, max_categories=max_categories,
                        max_known_categories=max_known_categories, categorical=categorical, edge_rows=edge_rows,
                        by=by)
    return plan.count()


@dataclass(frozen=True)
class ProfilePlan:
    """A reference after its first pass (bin edges and exact ranges), before anything is
    counted. :meth:`preliminary` is enough to plan the current side's summaries; the counting
    pass (bins, value counts) finishes the profile."""

    reference: Any
    frame: Frame
    reads: dict[str, ColumnRead]
    edges: dict[str, tuple[float, ...]]
    ranges: dict[str, tuple[float | None, float | None]]
    n_bins: int
    max_categories: int
    max_known: int
    total: int
    stride: int
    by: tuple[str, ...] = ()

    @property
    def numeric(self) -> list[str]:
        return [c for c, r in self.reads.items() if r.kind in ("numeric", "datetime")]

    @property
    def categorical(self) -> list[str]:
        return [c for c in self.reads if c not in self.numeric]

    def counts(self) -> list[Summary]:
        """Bin counts of the numeric columns (one aggregate), then value counts per categorical column,
        grouped by the segment columns ``by`` when there are any."""
        aggs = [Agg(ROWS, "rows")]
        for c in self.numeric:
            aggs += numeric_aggs(c, self.edges[c], lossless=self.frame.schema[c].is_numeric())
        prepared = prepare(self.frame, self.reads, keys=self.by)
        return [aggregate(prepared, aggs), *(value_counts(prepared, c) for c in self.categorical)]

    def count(self) -> DriftProfile:
        """The counting pass over the reference: the fitted profile."""
        return self.finish(run(self.frame, self.counts(), self.by))

    def preliminary(self) -> DriftProfile:
        """The profile without counts: kinds, bin edges and ranges (categories come with the counts)."""
        cols = {}
        for c, r in self.reads.items():
            lo, hi = self.ranges.get(c, (None, None))
            edges = self.edges.get(c, ())
            cols[c] = ColumnProfile(c, r.kind, str(r.dtype), self.total, 0, edges=edges,
                                    counts=(0,) * (len(edges) + 1), minimum=lo, maximum=hi, n_bins=self.n_bins)
        return self._profile(cols, "")

    def finish(self, counted: Sequence[pl.DataFrame]) -> DriftProfile:
        """The fitted profile, from the results of :meth:`counts`."""
        numeric, value_counts = counted[0], dict(zip(self.categorical, counted[1:], strict=True))
        cols = self._columns(numeric, value_counts)
        segments: dict[str, dict[str, dict[str, ColumnProfile]]] = {}
        for b in self.by:
            segments[b] = {}
            for v in numeric[b].unique().to_list():
                rows = numeric.filter(pl.col(b).is_null() if v is None else pl.col(b) == v)
                counts = {c: vc.filter(pl.col(b).is_null() if v is None else pl.col(b) == v)
                          for c, vc in value_counts.items()}
                segments[b][segment_key(v)] = self._columns(rows, counts, within=cols)
        fingerprint = input_summary(self.reference, self.frame, int(numeric[ROWS].sum())).fingerprint
        return replace(self._profile(cols, fingerprint), segments=segments)

    def _columns(self, numeric: pl.DataFrame, value_counts: dict[str, pl.DataFrame],
                 within: dict[str, ColumnProfile] | None = None) -> dict[str, ColumnProfile]:
        """Column profiles from grouped counts (summed over the groups given). ``within``: the
        whole reference's profiles, whose categories a segment's counts are binned on."""
        row = numeric.select(pl.exclude(self.by).sum()).row(0, named=True)
        cols = {}
        for c, r in self.reads.items():
            if c in self.numeric:
                cols[c] = numeric_profile(r, self.edges[c], row, self.n_bins, self.ranges[c])
                continue
            counts = value_counts[c].group_by(VALUE).agg(pl.col(COUNT).sum())
            top = self.max_categories if within is None else within[c].categories
            cols[c] = categorical_profile(r, counts, row, top, self.max_known, self.n_bins)
        return cols

    def _profile(self, cols: dict[str, ColumnProfile], fingerprint: str) -> DriftProfile:
        return DriftProfile(
            columns=cols, rows=self.total, fingerprint=fingerprint, n_bins=self.n_bins,
            max_categories=self.max_categories, source_columns=tuple(self.frame.schema),
            source_dtypes={c: str(t) for c, t in self.frame.schema.items()}, edge_rows=-(-self.total // self.stride),
        )


def plan_profile(
    reference: FrameLike,
    *,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    bins: int = 10,
    max_categories: int = 20,
    max_known_categories: int = 10_000,
    categorical: Sequence[str] = (),
    edge_rows: int | None = 50_000,
    by: Sequence[str] = (),
) -> ProfilePlan:
    """First pass over a reference (see :func:`fit_profile` for the arguments)."""
    owner = "fit_profile"
    columns = None if columns is None else params.column_names(columns, name="columns", owner=owner)
    exclude = params.column_names(exclude, name="exclude", owner=owner)
    categorical = params.column_names(categorical, name="categorical", owner=owner)
    by = tuple(params.column_names(by, name="by", owner=owner))
    n_bins = params.count(bins, name="bins", minimum=2, owner=owner)
    max_categories = params.count(max_categories, name="max_categories", owner=owner)
    max_known_categories = params.count(max_known_categories, name="max_known_categories", owner=owner)
    if edge_rows is not None:
        edge_rows = params.count(edge_rows, name="edge_rows", minimum=1000, owner=owner)
    frame = open_input(reference, name="reference")
    missing = [b for b in by if b not in frame.schema]
    if missing:
        hints = "".join(did_you_mean(b, frame.schema) for b in missing)
        raise InputError(f"by={missing} not found in the reference.{hints} Available columns: {sorted(frame.schema)}")
    chosen = [c for c in (columns if columns is not None else frame.schema) if c not in set(exclude)]
    refuse_nested(frame, [*chosen, *by], check="drift", excludable=True)
    kinds, _ = drift_columns(frame.schema, columns, exclude, name="reference", categorical=categorical)
    refuse_reserved([*kinds, *by], name="reference")
    reads = {c: ColumnRead(c, k, frame.schema[c]) for c, k in kinds.items()}
    total = row_count(frame)
    if total == 0:
        raise InputError("reference is empty: a drift reference needs rows.")
    stride = 1 if edge_rows is None or total <= edge_rows else -(-total // edge_rows)
    edges, ranges = _edges_pass(frame, reads, n_bins, stride)
    return ProfilePlan(reference, frame, reads, edges, ranges, n_bins, max_categories, max_known_categories, total,
                       stride, by)


def input_summary(data: FrameLike, frame: Frame, rows: int) -> InputSummary:
    """What was analysed: for files, a fingerprint of their paths, sizes and modification times
    (no extra pass over the data); otherwise a content hash computed on the input's engine."""
    if isinstance(data, str | Path):
        files = partition_files(data)
        if files and all(os.path.exists(f) for f in files):
            h = hashlib.sha1()
            for f in files:
                st = os.stat(f)
                h.update(f"{os.path.abspath(f)}|{st.st_size}|{st.st_mtime_ns}".encode())
            return InputSummary(frame.name, rows, tuple(frame.schema), f"files:{h.hexdigest()[:16]}")
    return frame_summary(frame)


def _edges_pass(frame: Frame, reads: dict[str, ColumnRead], n_bins: int, stride: int) -> tuple[dict, dict]:
    """Quantile edges (of every ``stride``-th row) and exact ranges of the numeric columns."""
    probs = tuple(i / n_bins for i in range(1, n_bins))
    numeric = {c: r for c, r in reads.items() if r.kind in ("numeric", "datetime")}
    if not numeric:
        return {}, {}
    sample = prepare(frame, numeric, stride=stride)
    ranges = aggregate(prepare(frame, numeric), [Agg(alias(c, op), op, c) for c in numeric for op in ("min", "max")])
    q, r = (result.row(0, named=True) for result in run(frame, [quantiles(sample, list(numeric), probs), ranges]))
    edges: dict[str, tuple[float, ...]] = {}
    value_ranges: dict[str, tuple[float | None, float | None]] = {}
    for c in numeric:
        values = [v for v in (q[value_column(c)] or []) if v is not None and np.isfinite(v)]
        edges[c] = tuple(float(v) for v in np.unique(values))
        value_ranges[c] = (r[alias(c, "min")], r[alias(c, "max")])
    return edges, value_ranges


def counts_from_cumulative(row: dict, name: str, n_edges: int, valid: int) -> np.ndarray:
    """Bin counts from cumulative ``<= edge`` counts and the number of valid values."""
    cum = np.array([row[alias(name, f"le{i}")] or 0 for i in range(n_edges)] + [valid], dtype=np.int64)
    return np.diff(cum, prepend=0)


def numeric_profile(read: ColumnRead, edges: tuple[float, ...], row: dict, n_bins: int,
                    value_range: tuple[float | None, float | None]) -> ColumnProfile:
    rows = int(row[ROWS])
    nulls = int(row.get(alias(read.name, "missing"), row[alias(read.name, "nulls")]))
    valid = int(row[alias(read.name, "valid")])
    total = row[alias(read.name, "sum")]
    mean = total / valid if valid and total is not None and math.isfinite(total) else None
    return ColumnProfile(
        name=read.name, kind=read.kind, dtype=str(read.dtype), rows=rows, nulls=nulls, nans=rows - nulls - valid,
        edges=edges, counts=tuple(int(x) for x in counts_from_cumulative(row, read.name, len(edges), valid)),
        minimum=value_range[0], maximum=value_range[1], mean=mean, n_bins=n_bins,
    )


def categorical_profile(read: ColumnRead, counts: pl.DataFrame, row: dict, top: int | tuple[str, ...],
                        max_known: int, n_bins: int) -> ColumnProfile:
    """A categorical column's profile from its value counts: ``top`` is how many of the most
    frequent categories to keep, or the categories to count (a segment uses the whole
    reference's, so both share one set of bins)."""
    rows = int(row[ROWS])
    values = counts.filter(pl.col(VALUE).is_not_null()).sort([COUNT, VALUE], descending=[True, False])
    nulls = rows - int(values[COUNT].sum())
    categories = tuple(values.head(top)[VALUE].to_list()) if isinstance(top, int) else top
    per_value = dict(zip(values[VALUE].to_list(), values[COUNT].to_list(), strict=True))
    kept = [int(per_value.get(c, 0)) for c in categories]
    known = tuple(values[VALUE].to_list()) if values.height <= max_known else None
    return ColumnProfile(
        name=read.name, kind=read.kind, dtype=str(read.dtype), rows=rows, nulls=nulls, categories=categories,
        counts=(*kept, int(values[COUNT].sum()) - sum(kept)), known=known, distinct=values.height,
        singletons=int((values[COUNT] == 1).sum()), n_bins=n_bins,
    )

