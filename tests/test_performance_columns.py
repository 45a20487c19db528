"""User columns named like any column the performance checks use internally — as a segment,
target, score, prediction, id, label, timestamp or just an extra column — give the same results
as ordinary names; a used column with the reserved prefix is refused."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import workbench.engine.frames
from workbench.errors import InputError
from workbench.performance import check_calibration, check_performance, check_subgroups, columns
from workbench.performance.summaries import SUMS

# the roles a user column can play, with the ordinary name each has in the baseline
ROLES = {"id": "rid", "timestamp": "ts", "by0": "region", "by1": "device", "score": "score", "prediction": "pred",
         "label": "outcome", "label_time": "label_at"}
# helper names of earlier versions (workbench.engine.labels' own helpers are that module's: not here)
PAST_HELPERS = ("__y", "__p", "__pred", "__ts", "__window", "__bin", "__all", "bin")


def data(seed: int, n: int = 2_400) -> dict[str, pl.DataFrame]:
    """Predictions over 3 days (region eu worse throughout, us in the last 12 hours; scores
    overconfident), their labels arriving 6 hours later, and a labelled reference, under the
    ordinary names."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2.5, n)
    region = rng.choice(["us", "eu", "apac"], n)
    y = (rng.random(n) < 1 / (1 + np.exp(-0.6 * z))).astype(np.int8)
    p = 1 / (1 + np.exp(-z))
    seconds = np.sort(rng.integers(0, 3 * 86_400, n))
    wrong = ((region == "eu") & (rng.random(n) < 0.3)) | ((region == "us") & (seconds > 2.5 * 86_400)
                                                           & (rng.random(n) < 0.9))
    pred = np.where(wrong, 1 - (p >= 0.5), p >= 0.5).astype(np.int8)
    ts = np.datetime64("2026-03-01T00:00:00", "us") + seconds.astype("timedelta64[s]")
    predictions = pl.DataFrame({"rid": np.arange(n), "ts": ts, "region": region,
                                "device": rng.choice(["mobile", "desktop"], n), "score": p, "pred": pred})
    labels = pl.DataFrame({"rid": np.arange(n), "outcome": y, "label_at": ts + np.timedelta64(6, "h")})
    reference = predictions.with_columns(outcome=pl.Series((rng.random(n) < p).astype(np.int8)))
    return {"predictions": predictions, "labels": labels, "reference": reference}


def run_performance(d: dict[str, pl.DataFrame], names: dict[str, str]) -> Any:
    return check_performance(d["predictions"], labels=d["labels"], id=names["id"], label=names["label"],
                             label_time=names["label_time"], as_of=dt.datetime(2026, 3, 3, 12), by=[names["by0"],
                             names["by1"]], prediction=names["prediction"], score=names["score"], timestamp=names["ts"],
                             window="12h", reference=d["reference"], calibration_window="1d", min_support=50)


def run_direct(d: dict[str, pl.DataFrame], names: dict[str, str]) -> tuple[Any, Any]:
    labelled = d["predictions"].join(d["labels"].drop(names["label_time"]), on=names["id"])
    by = [names["by0"], names["by1"]]
    sub = check_subgroups(labelled, target=names["label"], by=by, prediction=names["prediction"], score=names["score"],
                          timestamp=names["ts"], window="12h", min_support=50)
    cal = check_calibration(d["reference"], labelled, score=names["score"], target=names["label"], by=by,
                            timestamp=names["ts"], window="1d", resamples=50)
    return sub, cal


def recorded_summary_columns() -> set[str]:
    """The columns of every summary the checks compute on the engine, recorded from one run."""
    seen: set[str] = set()
    original = workbench.engine.frames.collect_on

    def recording(*args: Any, **kwargs: Any) -> pl.DataFrame:
        out = original(*args, **kwargs)
        seen.update(out.columns)
        return out

    workbench.engine.frames.collect_on = recording
    try:
        d = data(0, 600)
        run_performance(d, named(ROLES))
        run_direct(d, named(ROLES))
    finally:
        workbench.engine.frames.collect_on = original
    return seen


def named(names: dict[str, str]) -> dict[str, str]:
    return {**names, "ts": names["timestamp"]}


def result_columns() -> set[str]:
    d = data(0, 600)
    results = [run_performance(d, named(ROLES)), *run_direct(d, named(ROLES))]
    return {c for r in results for t in r.tables.values() for c in t.columns}


def engine_names() -> list[str]:
    """Every name a check gives a column that can sit beside the user's in a frame, from the code:
    the statistics of every summary computed on the engine (recorded from a run), the calibration
    sums, and the helper names of earlier versions; the reserved-prefix names are tested apart."""
    names = recorded_summary_columns() | set(SUMS) | set(PAST_HELPERS)
    return sorted(n for n in names if not n.startswith(columns.PREFIX) and n not in ROLES.values())


ENGINE_NAMES = engine_names()
# names of the frames derived in polars from the summaries (drops' "_total" sums, the AUC's ranks)
# and the result tables' own columns: never beside a user column, each tested in one role
DERIVED = {f"{s}_total" for s in ("n", "correct", "sum_ae", "sum_se")} | {"below", "u", "n_pos", "n_neg"}
TABLE_NAMES = sorted((result_columns() | DERIVED) - set(ENGINE_NAMES) - set(ROLES.values()))
RESERVED = [*columns.INTERNAL, columns.segment(0), columns.segment(1)]


def renamed(d: dict[str, pl.DataFrame], names: dict[str, str], extras: list[str]) -> dict[str, pl.DataFrame]:
    """The data with each role's column renamed and an extra column (unused) under every name of
    ``extras`` that the role columns do not take (none under the label's name in predictions:
    performance refuses a label name already there)."""
    mapping = {ROLES[r]: names[r] for r in ROLES}
    out = {}
    for key, frame in d.items():
        frame = frame.rename({k: v for k, v in mapping.items() if k in frame.columns})
        taken = set(frame.columns) | ({names["label"]} if key == "predictions" else set())
        frame = frame.with_columns(pl.lit(7, pl.Int64).alias(e) for e in extras if e not in taken)
        out[key] = frame
    return out


def rotation(names: list[str], i: int) -> dict[str, str]:
    """The ``i``-th assignment of ``names`` to the roles: over len(names) rotations every name
    plays every role."""
    step = max(1, len(names) // len(ROLES))
    return {role: names[(i + k * step) % len(names)] for k, role in enumerate(ROLES)}


def block(names: list[str], i: int) -> dict[str, str]:
    """The ``i``-th block of len(ROLES) consecutive names, one per role (wrapping around)."""
    return {role: names[(i * len(ROLES) + k) % len(names)] for k, role in enumerate(ROLES)}


def normalized(result: Any, names: dict[str, str]) -> dict[str, Any]:
    """A result with the user's names mapped back to the ordinary ones (scope labels, segments)."""
    back = {names[r]: ROLES[r] for r in ROLES}

    def label(text: str) -> str:
        """'region=eu, device=mobile' with the ordinary names (window labels have no '=')."""
        parts = [p.split("=", 1) for p in text.split(", ")]
        return ", ".join(f"{back.get(p[0], p[0])}={p[1]}" if len(p) == 2 else p[0] for p in parts)

    tables = {}
    for key, table in result.tables.items():
        if "scope" in table.columns and table["scope"].dtype == pl.String:
            table = table.with_columns(pl.col("scope").map_elements(label, return_dtype=pl.String))
        tables[key] = table
    findings = sorted(
        ((f.check, f.kind, f.severity, _plain(dict(f.metrics), label),
          _plain({k: ({back.get(c, c): v for c, v in s.items()} if k == "segment" else s)
                  for k, s in f.scope.items()}, label)) for f in result.findings), key=repr)
    return {"tables": tables, "findings": findings}


def _plain(value: Any, label: Any) -> Any:
    """Comparable form: NaN as a marker, floats rounded to 12 significant digits, scope texts
    (``also_in``, ...) through ``label``."""
    if isinstance(value, dict):
        return {k: _plain(v, label) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_plain(v, label) for v in value]
    if isinstance(value, float):
        return "nan" if math.isnan(value) else float(f"{value:.12g}")
    return label(value) if isinstance(value, str) else value


def assert_same(result: Any, baseline: Any, names: dict[str, str]) -> None:
    got, want = normalized(result, names), normalized(baseline, named(ROLES) | {"label": ROLES["label"]})
    assert got["findings"] == want["findings"]
    assert got["tables"].keys() == want["tables"].keys()
    for key in want["tables"]:
        assert_frame_equal(got["tables"][key], want["tables"][key], check_exact=False, rel_tol=1e-12)


@pytest.fixture(scope="module")
def baseline():
    d = data(1, 1_200)
    return d, run_performance(d, named(ROLES)), run_direct(d, named(ROLES))


def test_the_baseline_has_findings_with_segments_to_compare(baseline):
    _, result, (sub, cal) = baseline
    assert {"segment_disparity", "overconfident", "calibration_drift"} <= {f.kind for f in result.findings}
    (drop,) = sub.by_kind("performance_drop")
    assert drop.scope["segment"] == {"region": "us"} and cal.by_kind("overconfident")


def test_the_names_come_from_the_code_and_cover_every_kind_of_internal_column():
    assert {"n", "pos", "sum_p", "sum_logit", "correct", "tp", "neg", "bin", "__y", "__window"} <= set(ENGINE_NAMES)
    assert {"scope", "scope_kind", "window_index", "slope_note", "depth", "side"} <= set(TABLE_NAMES)


def check_same(baseline: tuple, names: dict[str, str]) -> None:
    d, want_performance, (want_sub, want_cal) = baseline
    names = named(names)
    user = renamed(d, names, [*ENGINE_NAMES, *TABLE_NAMES, *RESERVED])
    assert_same(run_performance(user, names), want_performance, names)
    sub, cal = run_direct(user, names)
    assert_same(sub, want_sub, names)
    assert_same(cal, want_cal, names)


@pytest.mark.parametrize("i", range(len(ENGINE_NAMES)))
def test_user_columns_named_like_summary_columns_in_every_role_give_the_same_results(baseline, i):
    check_same(baseline, rotation(ENGINE_NAMES, i))


@pytest.mark.parametrize("i", range(-(-len(TABLE_NAMES) // len(ROLES))))
def test_user_columns_named_like_result_columns_give_the_same_results(baseline, i):
    check_same(baseline, block(TABLE_NAMES, i))


@pytest.mark.parametrize("name", RESERVED)
@pytest.mark.parametrize("role", ["by0", "score", "label"])
def test_a_used_column_with_the_reserved_prefix_is_refused(name, role):
    names = named({**ROLES, role: name})
    user = renamed(data(2, 300), names, [])
    with pytest.raises(InputError, match=f"names starting with '{columns.PREFIX}' are reserved"):
        run_direct(user, names)
