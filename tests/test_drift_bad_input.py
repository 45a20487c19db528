"""Bad input to drift: a clear error naming the problem, or a finding; never a crash or a silent answer."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest

from workbench.drift import DriftProfile, DriftRule, check_drift, fit_profile
from workbench.errors import ConfigError, InputError, WorkbenchError

RNG = np.random.default_rng(0)
REF = pl.DataFrame({"x": RNG.normal(0, 1, 2000), "c": RNG.choice(["a", "b", "c"], 2000),
                    "t": [dt.datetime(2025, 1, 1) + dt.timedelta(minutes=i) for i in range(2000)]})


def kinds(result) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in result.findings:
        out.setdefault(f.subject, set()).add(f.kind)
    return out


def test_all_null_column_is_reported_not_compared():
    ref = REF.with_columns(empty=pl.lit(None, dtype=pl.Float64))
    result = check_drift(ref, ref)
    assert "column_skipped" in kinds(result)["empty"]
    assert not result.at_least("warning")


def test_column_that_becomes_all_null_is_a_missing_rate_alarm():
    cur = REF.with_columns(x=pl.lit(None, dtype=pl.Float64))
    found = kinds(check_drift(REF, cur))
    assert "missing_rate_change" in found["x"]


def test_missing_rate_finding_counts_all_rows_for_n_affected_rows_and_share():
    # reference: 100 of 2,000 missing; current: 600 of 1,500 rows missing (300 null, 300 NaN)
    ref = pl.DataFrame({"x": [None] * 100 + list(RNG.normal(0, 1, 1900))}, schema={"x": pl.Float64})
    values = RNG.normal(0, 1, 1500)
    values[300:600] = np.nan
    cur = pl.DataFrame({"x": values}).with_columns(
        pl.when(pl.int_range(pl.len()) < 300).then(None).otherwise(pl.col("x")).alias("x"))
    found = [f for f in check_drift(ref, cur).findings if f.kind == "missing_rate_change"]
    assert len(found) == 1
    m = found[0].metrics
    assert (m["n"], m["n_reference"], m["affected_rows"]) == (1500, 2000, 600)
    assert m["affected_share"] == pytest.approx(600 / 1500) == pytest.approx(m["value"])
    assert m["baseline"] == pytest.approx(100 / 2000)
    assert "n=1,500" in found[0].message


def test_constant_column_compares_by_shares_and_flags_a_new_value():
    ref = pl.DataFrame({"k": [5.0] * 1000})
    assert not check_drift(ref, ref).findings
    moved = check_drift(ref, pl.DataFrame({"k": [5.0] * 500 + [6.0] * 500}))
    assert {"distribution_drift", "out_of_range"} <= kinds(moved)["k"]
    row = moved.to_polars("columns").row(0, named=True)
    assert row["effect"] == "total_variation" and row["effect_value"] == pytest.approx(0.5)


def test_single_row_is_inconclusive():
    result = check_drift(REF.head(1), REF.head(1))
    assert {f.kind for f in result.findings} <= {"insufficient_data"}
    assert set(result.to_polars("columns")["status"]) == {"insufficient"}


def test_nan_and_infinities_are_counted_not_crashing():
    x = RNG.normal(0, 1, 2000)
    cur = pl.DataFrame({"x": np.concatenate([x[:1700], [np.nan] * 200, [np.inf] * 50, [-np.inf] * 50]),
                        "c": REF["c"], "t": REF["t"]})
    result = check_drift(REF, cur)
    found = kinds(result)
    assert {"missing_rate_change", "out_of_range"} <= found["x"]
    oor = next(f for f in result.findings if f.kind == "out_of_range")
    assert 50 <= oor.metrics["below"] <= 53 and 50 <= oor.metrics["above"] <= 53  # the infinities, and a tail value
    json.loads(result.to_json())  # NaN never reaches the JSON


def test_mismatched_dtypes_are_a_schema_finding_and_compared_as_the_reference_reads_them():
    cur = REF.with_columns(pl.col("x").round(6).cast(pl.String), pl.col("c").cast(pl.Categorical))
    cur = cur.with_columns(pl.when(pl.int_range(pl.len()) < 100).then(pl.lit("n/a")).otherwise(pl.col("x")).alias("x"))
    result = check_drift(REF, cur)
    schema = result.to_polars("schema")
    assert ("x", "type_changed", "Float64", "String") in schema.select(
        "column", "change", "reference_dtype", "current_dtype").rows()
    row = result.to_polars("columns").filter(pl.col("column") == "x").row(0, named=True)
    assert row["n_current"] == 1900 and row["status"] == "stable"  # 100 unparseable values are missing
    assert "missing_rate_change" in kinds(result)["x"]
    assert "distribution_drift" not in kinds(result).get("c", set())


def test_unsupported_current_dtype_is_skipped_with_the_reason():
    cur = REF.with_columns(x=pl.lit([1, 2]))
    result = check_drift(REF, cur)
    skipped = [f for f in result.findings if f.kind == "column_skipped"]
    assert skipped and "List" in skipped[0].message


@pytest.mark.slow
def test_a_million_distinct_values_are_capped_and_said_so():
    n = 1_000_000
    ids = pl.DataFrame({"id": pl.int_range(0, n, eager=True).cast(pl.String)})
    profile = fit_profile(ids)
    assert len(profile["id"].categories) == 20 and profile["id"].known is None
    assert profile["id"].distinct == n
    result = check_drift(profile, pl.DataFrame({"id": pl.int_range(n, 2 * n, eager=True).cast(pl.String)}))
    assert not result.at_least("warning")
    capped = [f for f in result.findings if f.kind == "column_capped"]
    assert capped and "1,000,000 reference categories" in capped[0].message


def test_a_sparse_window_is_inconclusive():
    cur = REF.with_columns(t=pl.when(pl.int_range(pl.len()) < 30).then(pl.lit(dt.datetime(2025, 2, 1)))
                           .otherwise(pl.col("t")))
    result = check_drift(REF, cur, timestamp="t")
    sparse = [f for f in result.findings if f.kind == "insufficient_data"]
    assert [f.scope["window"][0] for f in sparse] == ["2025-02-01T00:00:00"]


def test_an_empty_window_between_windows_with_data_is_a_gap_finding():
    cur = REF.with_columns(t=pl.when(pl.int_range(pl.len()) < 1000).then(pl.col("t"))
                           .otherwise(pl.col("t") + dt.timedelta(days=2)))
    result = check_drift(REF, cur, timestamp="t")
    gaps = result.by_kind("empty_window")
    assert [g.scope["window"] for g in gaps] == [["2025-01-02T00:00:00", "2025-01-03T00:00:00"]]
    assert gaps[0].severity == "warning"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"score": "scroe"}, r"score='scroe' is not a column of the reference or current. Did you mean 'score'"),
        ({"target": "x_label"}, r"target='x_label' is not a column"),
        ({"by": "regoin"}, r"by=\['regoin'\] not found in the reference"),
        ({"timestamp": "tt"}, r"timestamp='tt' is not a column of current. Did you mean 't'"),
        ({"window": "1h"}, r"window needs timestamp"),
        ({"timestamp": "t", "window": "soon"}, r"'window' parameter of check_drift .*cannot read 'soon'"),
        ({"timestamp": "x"}, r"timestamp column 'x' must be a datetime"),
        ({"columns": ["nope"]}, r"columns \['nope'\] not found"),
    ],
)
def test_bad_arguments_name_the_problem(kwargs, message):
    """Each message names the input the column is missing from (both: "the reference or current")."""
    ref = REF.with_columns(score=pl.lit(0.5))
    with pytest.raises(WorkbenchError, match=message):
        check_drift(ref, ref, **kwargs)


def test_a_role_column_missing_on_one_side_names_that_side():
    plain = REF.drop("t")
    scored = plain.with_columns(score=pl.lit(0.5))
    with pytest.raises(WorkbenchError, match=r"score='score' is not a column of current\. Available columns of "
                                             r"current: \['c', 'x'\]"):
        check_drift(scored, plain, score="score")
    with pytest.raises(WorkbenchError, match=r"score='score' is not a column of the reference\. Columns of the "
                                             r"reference: \['c', 'x'\]\. Available columns of current: \['c', "
                                             r"'score', 'x'\]"):
        check_drift(plain, scored, score="score")


def test_an_empty_reference_is_an_error():
    with pytest.raises(InputError, match="reference is empty"):
        check_drift(REF.head(0), REF)


@pytest.mark.parametrize(("field", "value"), [("fdr", 0), ("wasserstein", 0), ("wasserstein", float("nan")),
                                              ("total_variation", 1.5), ("category_share", 0), ("min_support", 0),
                                              ("min_support", True), ("confidence", 1), ("resamples", 10)])
def test_rule_values_are_validated(field, value):
    with pytest.raises(ConfigError, match=f"The '{field}' parameter of DriftRule must be"):
        DriftRule(**{field: value})


def test_a_wasserstein_threshold_above_one_standard_deviation_is_allowed():
    assert DriftRule(wasserstein=1.5).wasserstein == 1.5


def test_bad_profile_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "x.profile.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="is not a drift profile"):
        DriftProfile.load(bad)
    with pytest.raises(InputError, match="no drift profile at"):
        DriftProfile.load(tmp_path / "missing.profile.json")


def test_inputs_are_not_modified():
    before = REF.clone()
    pdf = REF.to_pandas()
    check_drift(REF, pdf, timestamp="t")
    assert REF.equals(before)
    assert pl.from_pandas(pdf).equals(before)
