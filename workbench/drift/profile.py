"""The reference profile: what drift needs to know about the reference, and nothing more.

A :class:`DriftProfile` holds, per column, the bin edges (reference quantiles), the reference
counts per bin, the kept category set, null/NaN counts, range and moments. It is small (a few
KB per column), frozen, saved as JSON and reused by scheduled runs so that the reference is
scanned once.

Binning, stated precisely:

* numeric and datetime columns (datetimes as epoch microseconds): ``edges`` are the distinct
  reference quantiles at ``1/n_bins, ..., (n_bins-1)/n_bins`` (``interpolation="lower"``,
  so every edge is an observed value). Bin ``i`` holds values ``x`` with
  ``edges[i-1] < x <= edges[i]``; the first bin is ``(-inf, edges[0]]`` and the last
  ``(edges[-1], +inf]``. Repeated quantiles (integer-valued or zero-inflated columns) collapse,
  so a point mass gets a bin of its own. NaN and null are missing, not binned.
* categorical and boolean columns (as strings): the ``max_categories`` most frequent
  reference categories each get a bin; the remaining reference categories share one "other"
  bin, the last; values never seen in the reference are counted as new and fall in that bin
  too (the new-category test counts them apart). Bins are numbered, never named by a
  sentinel value, so no category can be taken for a bin.
  Up to ``max_known_categories`` reference categories are remembered to tell "rare" from
  "new"; beyond that, ``known`` is ``None`` and new categories cannot be told apart (the
  column's status says so).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from workbench.errors import InputError

PROFILE_VERSION = 1
OTHER_LABEL = "(other or new)"

ColumnKind = Literal["numeric", "datetime", "categorical", "boolean"]


@dataclass(frozen=True)
class ColumnProfile:
    """Reference summary of one column (see the module docstring for the binning)."""

    name: str
    kind: ColumnKind
    dtype: str
    rows: int
    nulls: int
    nans: int = 0
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()
    counts: tuple[int, ...] = ()
    known: tuple[str, ...] | None = None
    distinct: int = 0
    singletons: int = 0
    minimum: float | None = None
    maximum: float | None = None
    mean: float | None = None
    n_bins: int = 10

    @property
    def valid(self) -> int:
        """Rows with a value (not null, not NaN)."""
        return self.rows - self.nulls - self.nans

    @property
    def labels(self) -> tuple[str, ...]:
        """One label per bin, in bin order."""
        if self.kind in ("numeric", "datetime"):
            return bin_labels(self.edges, datetime=self.kind == "datetime")
        return (*self.categories, OTHER_LABEL)

    @property
    def spread(self) -> float | None:
        """Robust scale of the reference: the inner edge range divided by the same range of a
        standard normal, so it equals the standard deviation for normal data; ``None`` when
        the inner edges collapse (most of the mass on one value) or when the spread is not a
        finite float (edges near ±1.8e308, or infinite): the total variation governs then.

        The range is taken in halves when ``edges[-1] - edges[0]`` would overflow, so edges at
        -1e308 and 1e308 still give a finite spread."""
        if self.kind not in ("numeric", "datetime") or len(self.edges) < 2:
            return None
        lo, hi = self.edges[0], self.edges[-1]
        width = hi - lo
        spread = width / self.normal_width if math.isfinite(width) else (hi / 2 - lo / 2) * (2 / self.normal_width)
        return spread if math.isfinite(spread) and spread > 0 else None

    @property
    def unscaled(self) -> bool:
        """True for a numeric column whose inner edges are spread but whose spread is not a finite
        float (see :attr:`spread`): its scaled Wasserstein distance cannot be computed."""
        if self.kind not in ("numeric", "datetime") or len(self.edges) < 2:
            return False
        return self.spread is None and self.edges[-1] != self.edges[0]

    @property
    def normal_width(self) -> float:
        from workbench.stats.tails import norm_ppf

        return norm_ppf(1 - 1 / self.n_bins) - norm_ppf(1 / self.n_bins)


@dataclass(frozen=True)
class DriftProfile:
    """A fitted reference: column profiles plus how they were made.

    Create with :func:`workbench.drift.fit_profile`; save with :meth:`save`, load with
    :meth:`load`. Pass it as ``reference`` to :func:`workbench.check_drift`.
    """

    columns: Mapping[str, ColumnProfile]
    rows: int
    fingerprint: str
    n_bins: int
    max_categories: int
    source_columns: tuple[str, ...]
    source_dtypes: Mapping[str, str]
    edge_rows: int = 0  # rows the bin edges were computed from (every k-th row); counts use all rows
    segments: Mapping[str, Mapping[str, Mapping[str, ColumnProfile]]] = field(default_factory=dict)
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    version: int = PROFILE_VERSION

    def __getitem__(self, name: str) -> ColumnProfile:
        return self.columns[name]

    def segment(self, by: str, value: Any, column: str) -> ColumnProfile | None:
        """The profile of ``column`` restricted to the reference rows where ``by == value``: its own
        counts, missing values and rare-value statistics on the whole reference's bins and
        category set; ``None`` if the reference has no such rows. Needs a profile fitted with
        ``by=[..., by, ...]``."""
        part = self.segments[by].get(segment_key(value))
        if part is None or column not in part:
            return None
        whole = self.columns[column]
        return replace(part[column], categories=whole.categories, known=whole.known, distinct=whole.distinct)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["columns"] = [asdict(c) for c in self.columns.values()]
        out["segments"] = {b: {v: [_compact(c) for c in cols.values()] for v, cols in values.items()}
                           for b, values in self.segments.items()}
        return out

    def save(self, path: str | Path) -> Path:
        """Write the profile as JSON (a few KB per column); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1, allow_nan=False), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> DriftProfile:
        """Read a profile written by :meth:`save`."""
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise InputError(f"no drift profile at {str(path)!r}; create one with fit_profile(...).save(path)") from exc
        except json.JSONDecodeError as exc:
            raise InputError(f"{str(path)!r} is not a drift profile (invalid JSON: {exc})") from exc
        if not isinstance(raw, dict) or raw.get("version") != PROFILE_VERSION:
            raise InputError(f"{str(path)!r} is not a version-{PROFILE_VERSION} drift profile; fit it again.")
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> DriftProfile:
        cols = {c["name"]: _column_from_dict(c) for c in raw["columns"]}
        segments = {b: {v: {c["name"]: _column_from_dict(c) for c in part} for v, part in values.items()}
                    for b, values in raw.get("segments", {}).items()}
        return cls(columns=cols, segments=segments, rows=raw["rows"], fingerprint=raw["fingerprint"],
                   n_bins=raw["n_bins"], max_categories=raw["max_categories"],
                   source_columns=tuple(raw["source_columns"]), source_dtypes=dict(raw["source_dtypes"]),
                   edge_rows=raw.get("edge_rows", raw["rows"]), created_at=raw["created_at"],
                   version=raw["version"])


def segment_key(value: Any) -> str:
    """How a segment value is keyed in a profile (JSON keys are strings)."""
    return "__null__" if value is None else str(value)


def _compact(column: ColumnProfile) -> dict[str, Any]:
    """A segment's column profile without what it shares with the whole reference's."""
    out = asdict(column)
    out.update(categories=[], known=None)
    return out


def _column_from_dict(raw: Mapping[str, Any]) -> ColumnProfile:
    c = dict(raw)
    for key in ("edges", "categories", "counts"):
        c[key] = tuple(c[key])
    if c.get("known") is not None:
        c["known"] = tuple(c["known"])
    return ColumnProfile(**c)


def bin_labels(edges: Sequence[float], *, datetime: bool = False) -> tuple[str, ...]:
    """Human labels of numeric bins: ``≤ e0``, ``(e0, e1]``, ..., ``> ek``."""
    fmt = _format_time if datetime else _format_number
    if not edges:
        return ("all",)
    labels = [f"≤ {fmt(edges[0])}"]
    labels += [f"({fmt(a)}, {fmt(b)}]" for a, b in itertools.pairwise(edges)]
    labels.append(f"> {fmt(edges[-1])}")
    return tuple(labels)


def _format_number(x: float) -> str:
    return f"{x:.4g}"


def _format_time(x: float) -> str:
    return dt.datetime.fromtimestamp(x / 1e6, dt.UTC).strftime("%Y-%m-%d %H:%M")
