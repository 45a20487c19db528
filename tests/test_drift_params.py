"""Parameters of drift, fit_profile, check_skew, schema_history and domain_classifier are
validated at the boundary (workbench.params): a wrong value is refused naming the parameter and
what was given, never read as something else; a tiny or empty current is reported, not passed."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from workbench.drift import check_drift, check_skew, domain_classifier, fit_profile, schema_history
from workbench.errors import ConfigError

RNG = np.random.default_rng(0)
REF = pl.DataFrame({"x": RNG.normal(0, 1, 500), "c": RNG.choice(["a", "b", "c"], 500),
                    "t": [dt.datetime(2025, 1, 1) + dt.timedelta(minutes=i) for i in range(500)]})
SKEW = pl.DataFrame({"id": range(20), "x": np.arange(20.0)})


@pytest.mark.parametrize("window", [dt.timedelta(0), dt.timedelta(hours=-1), "0s", "-1d", 0, -3600.0])
def test_a_window_of_zero_or_less_is_refused_not_read_as_no_window(window):
    with pytest.raises(ConfigError, match=r"The 'window' parameter of check_drift must be a duration greater than "
                                          r"zero"):
        check_drift(REF, REF, timestamp="t", window=window)


def test_a_window_given_as_a_timedelta_or_seconds_cuts_windows_of_that_length():
    for window in (dt.timedelta(hours=6), 6 * 3600, "6h"):
        result = check_drift(REF, REF, timestamp="t", window=window)
        assert result.parameters["window"] == 6 * 3600
        starts = result.to_polars("columns").filter(pl.col("scope_kind") == "window")["window_start"].unique()
        assert sorted(starts.to_list()) == [dt.datetime(2025, 1, 1, 0), dt.datetime(2025, 1, 1, 6)]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"bins": 1}, r"'bins' parameter of check_drift must be an integer of at least 2. Got 1"),
    ({"bins": 10.0}, r"'bins' parameter of check_drift must be an integer"),
    ({"max_categories": 0}, r"'max_categories' parameter of check_drift must be an integer of at least 1"),
    ({"multivariate": "yes"}, r"'multivariate' parameter of check_drift must be true or false. Got 'yes'"),
    ({"seed": -1}, r"'seed' parameter of check_drift must be an integer of at least 0"),
    ({"rule": {"fdr": 0.1}}, r"'rule' parameter of check_drift must be a DriftRule"),
    ({"columns": [1, 2]}, r"'columns' parameter of check_drift must be a column name or a list"),
    ({"exclude": None}, r"'exclude' parameter of check_drift must be a column name or a list"),
    ({"by": 3}, r"'by' parameter of check_drift must be a column name or a list"),
    ({"timestamp": ["t"]}, r"'timestamp' parameter of check_drift must be a column name"),
    ({"score": 1}, r"'score' parameter of check_drift must be a column name"),
    ({"prediction": ""}, r"'prediction' parameter of check_drift must be a column name"),
    ({"target": True}, r"'target' parameter of check_drift must be a column name"),
])
def test_drift_parameters_are_validated(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        check_drift(REF, REF, **kwargs)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"bins": 0}, r"'bins' parameter of fit_profile must be an integer of at least 2"),
    ({"max_categories": True}, r"'max_categories' parameter of fit_profile must be an integer"),
    ({"max_known_categories": 0}, r"'max_known_categories' parameter of fit_profile must be an integer"),
    ({"edge_rows": 10}, r"'edge_rows' parameter of fit_profile must be an integer of at least 1000. Got 10"),
    ({"categorical": 5}, r"'categorical' parameter of fit_profile must be a column name or a list"),
    ({"by": [None]}, r"'by' parameter of fit_profile must be a column name or a list"),
    ({"columns": "x", "exclude": 1}, r"'exclude' parameter of fit_profile"),
])
def test_fit_profile_parameters_are_validated(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        fit_profile(REF, **kwargs)


def test_one_column_name_as_a_string_is_one_column():
    assert list(fit_profile(REF, columns="x").columns) == ["x"]
    assert list(fit_profile(REF, exclude=("x", "t")).columns) == ["c"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"id": None}, r"'id' parameter of check_skew must be a column name"),
    ({"rtol": -1e-9}, r"'rtol' parameter of check_skew must be a number of zero or more"),
    ({"rtol": float("nan")}, r"'rtol' parameter of check_skew"),
    ({"critical_share": 1.5}, r"'critical_share' parameter of check_skew must be a number strictly "
                              r"between 0 and 1"),
    ({"confidence": 0}, r"'confidence' parameter of check_skew must be a number strictly between"),
    ({"max_examples": -1}, r"'max_examples' parameter of check_skew must be an integer of at least 0"),
    ({"columns": 7}, r"'columns' parameter of check_skew must be a column name or a list"),
])
def test_skew_parameters_are_validated(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        check_skew(SKEW, SKEW, **{"id": "id", **kwargs})


def test_skew_with_an_exact_tolerance_counts_every_difference():
    serving = SKEW.with_columns(x=pl.col("x") + 1e-12)
    result = check_skew(SKEW, serving, id="id", rtol=0)
    assert result.tables["features"]["differing"].to_list() == [20]


def test_schema_history_needs_a_path():
    with pytest.raises(ConfigError, match=r"'path' parameter of schema_history must be a directory or a glob"):
        schema_history(REF)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"folds": 1}, r"'folds' parameter of domain_classifier must be an integer of at least 2"),
    ({"max_rows": 5}, r"'max_rows' parameter of domain_classifier must be an integer of at least 10"),
    ({"auc_threshold": 0.3}, r"'auc_threshold' parameter of domain_classifier must be between 0.5"),
    ({"auc_threshold": 1.0}, r"'auc_threshold' parameter of domain_classifier must be a number strictly between"),
    ({"confidence": 95}, r"'confidence' parameter of domain_classifier must be a number strictly between"),
    ({"seed": 1.5}, r"'seed' parameter of domain_classifier must be an integer"),
    ({"exclude": 4}, r"'exclude' parameter of domain_classifier must be a column name or a list"),
])
def test_domain_classifier_parameters_are_validated(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        domain_classifier(REF, REF, **kwargs)


@pytest.mark.parametrize("kwargs", [{}, {"timestamp": "t"}, {"by": "c"}])
@pytest.mark.parametrize("rows", [0, 1])
def test_an_empty_or_one_row_current_is_insufficient_data_not_a_pass(rows, kwargs):
    result = check_drift(REF, REF.head(rows), **kwargs)
    overall = [f for f in result.findings if f.kind == "insufficient_data" and f.subject == "all"]
    assert len(overall) == 1 and overall[0].metrics["n"] == rows
    assert f"{rows:,} current and 500 reference rows" in overall[0].message
    assert set(result.to_polars("columns")["status"]) == {"insufficient"}
    assert not result.at_least("warning")


def test_a_current_with_no_column_in_common_and_no_rows_still_says_so():
    result = check_drift(REF, REF.select("c").rename({"c": "other"}).head(0), columns=["x"])
    assert result.to_polars("columns").height == 0
    assert "insufficient_data" in {f.kind for f in result.findings}


def test_multivariate_on_a_nearly_empty_current_is_skipped_and_said_so():
    result = check_drift(REF, REF.head(5), multivariate=True)
    assert "fewer than min_support=100" in result.parameters["multivariate"]["skipped"]
    assert [f.kind for f in result.findings] == ["insufficient_data"]


def test_skew_with_too_few_requests_to_rule_out_a_critical_share_says_so():
    # 0 differing of n: the Wilson upper bound falls to the critical 1% at n = 381
    import polars as pl

    from workbench.drift import check_skew
    from workbench.stats import wilson_interval

    assert wilson_interval(0, 380)[1] > 0.01 >= wilson_interval(0, 381)[1]
    for n, expected in ((380, ["insufficient_data"]), (381, [])):
        frame = pl.DataFrame({"id": range(n), "x": [1.0] * n})
        result = check_skew(frame, frame, id="id")
        assert [f.kind for f in result.findings] == expected
    finding = check_skew(frame.head(1), frame.head(1), id="id").findings[0]
    assert finding.severity == "info" and "Compare at least 381 requests" in finding.suggestion
