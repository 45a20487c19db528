"""Training/serving skew: the same requests, as logged at serving time and as rebuilt for training.

``check_skew`` joins the two by a request id and counts, per feature, the rows whose
values differ. Two values are the same when both are missing, or both are present and equal —
numbers within a relative tolerance ``|a − b| <= rtol · max(1, |a|, |b|)`` (so float round-trips
do not count), everything else exactly (strings, booleans, datetimes). One lazy pass computes
every count; examples come from a second, bounded query per skewed feature.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import narwhals as nw
import polars as pl

from workbench import params
from workbench.drift.summaries import alias
from workbench.engine.frames import Frame, collect, count, frame_summary, open_frame, refuse_nested
from workbench.engine.inputs import FrameLike, require_columns
from workbench.engine.reserved import PREFIX, refuse_reserved
from workbench.errors import InputError
from workbench.findings.model import CheckResult, Finding, Severity
from workbench.stats import wilson_interval

SKEW_SHARE = 0.01
SERVING_ID = f"{PREFIX}serving_id"  # serving's request id in the join (serving's features: PREFIX + "serving_<i>")


def check_skew(
    training: FrameLike,
    serving: FrameLike,
    *,
    id: str,
    columns: Sequence[str] | None = None,
    rtol: float = 1e-9,
    critical_share: float = SKEW_SHARE,
    max_examples: int = 5,
    confidence: float = 0.95,
) -> CheckResult:
    """Share of joined requests whose feature values differ between ``training`` and ``serving``.

    Inputs: two frames keyed by ``id`` (the key of one request, joining the two; unique and
    non-null on each side), ``columns`` to compare
    (default: every column both have, except ``id``). Any difference is a finding of kind
    ``training_serving_skew`` — ``critical`` when the share's Wilson interval lies above
    ``critical_share``, else ``warning`` — with the share, its interval, the mean absolute
    difference for numbers and up to ``max_examples`` example rows. Requests found on one side
    only are counted (``coverage`` in the parameters), never dropped silently. Returns a
    :class:`~workbench.findings.CheckResult` (check ``"skew"``) with the table ``features``.
    """
    owner = "check_skew"
    id = params.column_name(id, name="id", owner=owner, optional=False)  # type: ignore[assignment]
    columns = None if columns is None else params.column_names(columns, name="columns", owner=owner)
    rtol = params.non_negative_number(rtol, name="rtol", owner=owner)
    critical_share = params.open_unit(critical_share, name="critical_share", owner=owner)
    max_examples = params.count(max_examples, name="max_examples", minimum=0, owner=owner)
    confidence = params.open_unit(confidence, name="confidence", owner=owner)
    tr_frame, sv_frame, common = _inputs(training, serving, id, columns)
    joined, serving_names = _joined(tr_frame, sv_frame, id, common)
    counts = _counts(joined, tr_frame, sv_frame, id, common, serving_names, rtol)
    matched = counts["matched"]
    if matched == 0:
        raise InputError(f"no {id!r} value appears in both training and serving: check that the logs cover the "
                         "same requests and that the ids are written the same way.")
    differing = [c for c in common if counts[alias(c, "diff")]]
    examples = _examples(joined, tr_frame, sv_frame, id, differing, serving_names, rtol, max_examples)
    rows = [_feature_row(c, tr_frame.schema, sv_frame.schema, counts, confidence) for c in common]
    findings = [_finding(r["feature"], r["differing"], matched, r["share_low"], r["share_high"],
                         r["mean_abs_difference"], examples[r["feature"]], critical_share, confidence,
                         r["training_dtype"] != r["serving_dtype"]) for r in rows if r["differing"]]
    if not findings:
        findings += _too_few(id, matched, critical_share, confidence)
    coverage = {"matched": matched, "training_only": counts["training_only"], "serving_only": counts["serving_only"]}
    findings += _coverage_finding(id, coverage)
    return CheckResult(
        check="skew", findings=tuple(findings),
        inputs=(frame_summary(tr_frame), frame_summary(sv_frame)),
        parameters={"id": id, "rtol": rtol, "engine": tr_frame.engine, "sampled": False,
                    "critical_share": critical_share, "coverage": coverage,
                    "rule": {"statement": f"any differing value is a finding; critical when the share's "
                                          f"{confidence:.0%} interval is above {critical_share:.0%}"}},
        tables={"features": pl.DataFrame(rows, infer_schema_length=None)},
    )


# -- the steps ----------------------------------------------------------------------------------
def _inputs(training: FrameLike, serving: FrameLike, id: str,
            columns: Sequence[str] | None) -> tuple[Frame, Frame, list[str]]:
    """Both inputs on one engine, with the id (same dtype, unique, non-null) and the columns to compare."""
    tr_frame, sv_frame = open_frame(training, name="training"), open_frame(serving, name="serving")
    if tr_frame.engine != sv_frame.engine:
        raise InputError(f"training is on {tr_frame.engine} but serving on {sv_frame.engine}: the skew check joins "
                         "them request by request, so both must be on one engine (e.g. both Spark tables).")
    ts, ss = tr_frame.schema, sv_frame.schema
    for name, schema in (("training", ts), ("serving", ss)):
        require_columns(schema, {"id": id}, name=name)
    if ts[id] != ss[id]:
        raise InputError(f"id column {id!r} is {ts[id]} in training but {ss[id]} in serving; cast one side, e.g. "
                         f"pl.col({id!r}).cast(pl.{ss[id]}), so the same request has the same id.")
    common = [c for c in ts if c in ss and c != id]
    if columns is not None:
        missing = [c for c in columns if c not in common]
        if missing:
            raise InputError(f"columns {missing} are not in both training and serving. Common columns: {common}")
        common = list(columns)
    if not common:
        raise InputError("training and serving share no column besides the id: nothing to compare.")
    for frame in (tr_frame, sv_frame):
        refuse_reserved([id, *common], name=frame.name)
        refuse_nested(frame, [id, *common], check="training/serving skew")
        _check_keys(frame, id)
    return tr_frame, sv_frame, common


def _joined(tr_frame: Frame, sv_frame: Frame, id: str, common: list[str]) -> tuple[nw.LazyFrame, dict[str, str]]:
    """The full join of both sides on the id; the serving side's columns under reserved names (returned), so
    the join keeps both ids (null where a side lacks the request) and no serving column meets a training one."""
    serving = {c: f"{PREFIX}serving_{i}" for i, c in enumerate(common)}
    serving_side = sv_frame.lf.select(nw.col(id).alias(SERVING_ID), *(nw.col(c).alias(serving[c]) for c in common))
    return tr_frame.lf.select(id, *common).join(serving_side, left_on=id, right_on=SERVING_ID, how="full"), serving


def _both(id: str) -> nw.Expr:
    return ~nw.col(id).is_null() & ~nw.col(SERVING_ID).is_null()


def _counts(joined: nw.LazyFrame, tr_frame: Frame, sv_frame: Frame, id: str, common: list[str],
            serving: dict[str, str], rtol: float) -> dict[str, Any]:
    """One pass over the join: requests on both sides or one only, and per column the differing requests
    (``alias(c, "diff")``) and, for numbers, their mean absolute difference (``alias(c, "gap")``)."""
    ts, ss, both = tr_frame.schema, sv_frame.schema, _both(id)
    aggs = [count(both).alias("matched"), count(~nw.col(id).is_null() & ~both).alias("training_only"),
            count(~nw.col(SERVING_ID).is_null() & ~both).alias("serving_only")]
    for c in common:
        differs = _differs(c, serving[c], ts[c], ss[c], rtol)
        aggs.append(count(both & differs).alias(alias(c, "diff")))
        if ts[c].is_numeric() and ss[c].is_numeric():
            gap = (nw.col(c).cast(nw.Float64) - nw.col(serving[c]).cast(nw.Float64)).abs()
            aggs.append(nw.when(both & differs).then(gap).mean().alias(alias(c, "gap")))
    row = collect(joined.select(aggs), tr_frame, check="training/serving skew").row(0, named=True)
    return {k: (int(v) if k in ("matched", "training_only", "serving_only") else v) for k, v in row.items()}


def _examples(joined: nw.LazyFrame, tr_frame: Frame, sv_frame: Frame, id: str, differing: list[str],
              serving: dict[str, str], rtol: float, max_examples: int) -> dict[str, list[dict[str, Any]]]:
    """Up to ``max_examples`` differing requests per column in ``differing`` (lowest ids first), keyed by the
    id column's name unless that is one of the value keys."""
    id_key = id if id not in ("training", "serving") else f"{id} (id)"
    out = {}
    for c in differing:
        differs = _differs(c, serving[c], tr_frame.schema[c], sv_frame.schema[c], rtol)
        picked = collect(joined.filter(_both(id) & differs).select(
            nw.col(id).alias(f"{PREFIX}id"), nw.col(c).alias(f"{PREFIX}training"),
            nw.col(serving[c]).alias(f"{PREFIX}serving")).sort(f"{PREFIX}id").head(max_examples),
            tr_frame, check="training/serving skew", counts=False).rows()
        out[c] = [{id_key: i, "training": a, "serving": b} for i, a, b in picked]
    return out


def _feature_row(c: str, ts: Any, ss: Any, counts: dict[str, Any], confidence: float) -> dict[str, Any]:
    """The ``features`` table's row of column ``c``: the differing share with its Wilson interval."""
    matched, k = counts["matched"], int(counts[alias(c, "diff")])
    lo, hi = wilson_interval(k, matched, confidence)
    return {"feature": c, "training_dtype": str(ts[c]), "serving_dtype": str(ss[c]), "compared": matched,
            "differing": k, "share": k / matched, "share_low": lo, "share_high": hi,
            "mean_abs_difference": counts.get(alias(c, "gap"))}


def _too_few(id: str, matched: int, critical_share: float, confidence: float) -> list[Finding]:
    """No difference seen, but too few requests to rule out a critical share: say so."""
    _, bound = wilson_interval(0, matched, confidence)
    if bound <= critical_share:
        return []
    return [Finding(
        "skew", "insufficient_data", "info", id,
        f"Only {matched:,} request(s) are in both training and serving: none differs, but with so few the "
        f"share of skewed requests could still be up to {bound:.0%} ({confidence:.0%} confidence), above "
        f"the critical {critical_share:.0%}.",
        f"Compare at least {_needed(critical_share, confidence):,} requests to rule that out.",
        {"n": matched, "share_high": bound}, {})]


def _coverage_finding(id: str, coverage: dict[str, int]) -> list[Finding]:
    """Requests on one side only, counted (never dropped silently)."""
    if not (coverage["training_only"] or coverage["serving_only"]):
        return []
    return [Finding(
        "skew", "skew_coverage", "info", id,
        f"{coverage['serving_only']:,} served requests are not in training and {coverage['training_only']:,} "
        f"training rows were never served; {coverage['matched']:,} requests are in both and were compared.",
        "Check that the training rebuild covers the same time range and filters as the serving logs.",
        {"n": coverage["matched"], **coverage}, {})]


def _check_keys(frame: Frame, id: str) -> None:
    name = frame.name
    stats = collect(frame.lf.select(count(nw.col(id).is_null()).alias("nulls"), nw.len().alias("rows"),
                                    nw.col(id).n_unique().alias("unique")), frame, check="training/serving skew"
                    ).row(0, named=True)
    if stats["nulls"]:
        raise InputError(f"{name}: {stats['nulls']:,} rows have a null {id!r}; drop or fill them before comparing.")
    dupes = stats["rows"] - stats["unique"]
    if dupes:
        raise InputError(f"{name}: {dupes:,} duplicate values of {id!r}; keep one row per request first, e.g. "
                         f"df.unique(subset={id!r}, keep='last') after sorting by the log time.")


def _needed(share: float, confidence: float) -> int:
    """The fewest requests, none differing, whose Wilson upper bound is at most ``share``."""
    n = 1
    while wilson_interval(0, n, confidence)[1] > share:
        n *= 2
    low, high = n // 2, n
    while low + 1 < high:
        mid = (low + high) // 2
        low, high = (mid, high) if wilson_interval(0, mid, confidence)[1] > share else (low, mid)
    return high


def _differs(c: str, serving: str, t: pl.DataType, s: pl.DataType, rtol: float) -> nw.Expr:
    """Rows where training's ``c`` and serving's copy of it (column ``serving``) differ."""
    a, b = nw.col(c), nw.col(serving)
    one_missing = a.is_null() != b.is_null()
    if t.is_numeric() and s.is_numeric():
        a, b = a.cast(nw.Float64), b.cast(nw.Float64)
        scale = nw.max_horizontal(nw.lit(1.0), a.abs(), b.abs())
        both_nan = a.is_nan() & b.is_nan()
        far = ((a - b).abs() > rtol * scale) & ~both_nan
        return one_missing | (~a.is_null() & ~b.is_null() & far.fill_null(False))
    if t != s:
        a, b = a.cast(nw.String), b.cast(nw.String)
    return one_missing | (~a.is_null() & ~b.is_null() & (a != b))


def _finding(c: str, k: int, n: int, lo: float, hi: float, gap: float | None, examples: list[dict],
             critical_share: float, confidence: float, type_differs: bool) -> Finding:
    severity: Severity = "critical" if lo >= critical_share else "warning"
    gap_text = f"; mean absolute difference {gap:.4g}" if gap is not None else ""
    type_text = " (the two sides store it with different types)" if type_differs else ""
    message = (f"{c} differs between training and serving for {k / n:.1%} of the same requests{type_text} "
               f"({k:,} of {n:,}; {confidence:.0%} CI {lo:.1%}–{hi:.1%}{gap_text}).")
    return Finding("skew", "training_serving_skew", severity, c, message,
                   "Compare how the training pipeline and the serving path compute this feature (time windows, "
                   "units, defaults for missing values, joins); make them share one implementation.",
                   {"affected_rows": k, "affected_share": k / n, "n": n, "interval": [lo, hi],
                    "confidence": confidence, "mean_abs_difference": gap},
                   {}, tuple(examples))
