"""Options of performance, subgroups and calibration are validated at the boundary (named, with
what was given and what is allowed) instead of being accepted, misread or crashing; a tiny input
says it is too small instead of passing silently."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import polars as pl
import pytest

from workbench.errors import ConfigError, WorkbenchError
from workbench.performance import check_calibration, check_performance, check_subgroups

END = dt.datetime(2026, 3, 8)


def logs(seed: int = 0, n: int = 3_000) -> pl.DataFrame:
    """Calibrated scores over a week, three regions, labels in ``y`` and as a separate frame."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2, n)
    p = 1 / (1 + np.exp(-z))
    ts = np.datetime64("2026-03-01T00:00:00", "us") + np.sort(rng.integers(0, 7 * 86_400, n)).astype(
        "timedelta64[s]")
    return pl.DataFrame({"rid": np.arange(n), "ts": ts, "region": rng.choice(["us", "eu", "apac"], n), "score": p,
                         "pred": (p >= 0.5).astype(np.int8), "y": (rng.random(n) < p).astype(np.int8)})


def run(check: str, **kwargs):
    """One call of ``check`` on small valid data, with ``kwargs`` overriding its options."""
    df = logs()
    if check == "check_performance":
        return check_performance(df, **({"target": "y", "by": "region", "score": "score"} | kwargs))
    if check == "check_subgroups":
        return check_subgroups(df, **({"target": "y", "by": "region", "prediction": "pred"} | kwargs))
    return check_calibration(df, df, **({"target": "y", "score": "score", "resamples": 50} | kwargs))


ALL = ("check_performance", "check_subgroups", "check_calibration")
UNIT = ("confidence", "fdr")


@pytest.mark.parametrize("check", ALL)
@pytest.mark.parametrize("name", UNIT)
@pytest.mark.parametrize("value", [0, 1, 1.5, -0.1, "0.9", True, None])
def test_confidence_and_fdr_must_lie_strictly_between_0_and_1(check, name, value):
    with pytest.raises(ConfigError, match=rf"The '{name}' parameter of {check} must be a number strictly between "
                                          rf"0 and 1\. Got {value!r}"):
        run(check, **{name: value})


@pytest.mark.parametrize("check", ["check_performance", "check_subgroups"])
@pytest.mark.parametrize("value", [2.0, 0, 1, -0.5, "0.5"])
def test_a_threshold_outside_the_open_unit_interval_is_refused(check, value):
    with pytest.raises(ConfigError, match=rf"The 'threshold' parameter of {check} must be a number strictly "
                                          rf"between 0 and 1\. Got {value!r}"):
        run(check, threshold=value, **({"score": "score"} if check == "check_subgroups" else {}))


@pytest.mark.parametrize("check", ALL)
@pytest.mark.parametrize("value", [dt.timedelta(0), "0s", 0, "-1h", dt.timedelta(hours=-2)])
def test_a_window_of_zero_or_less_is_refused_not_turned_into_the_default(check, value):
    with pytest.raises(ConfigError, match=rf"The 'window' parameter of {check} must be a duration greater than "
                                          "zero"):
        run(check, timestamp="ts", window=value)


def test_a_calibration_window_of_zero_is_refused():
    with pytest.raises(ConfigError, match="The 'calibration_window' parameter of check_performance must be a duration "
                                          "greater than zero"):
        run("check_performance", timestamp="ts", reference=logs(1), calibration_window="0s")


@pytest.mark.parametrize(("check", "name"),
                         [*((c, "window") for c in ALL), ("check_performance", "calibration_window")])
def test_a_window_error_says_leaving_it_out_gives_the_default_day_not_that_it_turns_it_off(check, name):
    extra = {"reference": logs(1)} if name == "calibration_window" else {}
    with pytest.raises(ConfigError, match=r"Got '0s'\. Leave it out \(None\) for the default of one day\.$") as err:
        run(check, timestamp="ts", **extra, **{name: "0s"})
    assert "turn it off" not in str(err.value)


def test_a_duration_that_none_turns_off_keeps_saying_so():
    from workbench import params

    with pytest.raises(ConfigError, match=r"'ttl' parameter must be a duration greater than zero.*Got '0s'\. To "
                                          r"turn it off, leave it out \(None\)\.$"):
        params.optional_positive_duration("0s", name="ttl")
    with pytest.raises(ConfigError, match=r"Got '0s'\.$"):
        params.positive_duration("0s", name="window")  # no hint unless the call site gives one


@pytest.mark.parametrize(
    ("check", "name", "value", "rule"),
    [("check_performance", "depth", 0, "an integer of at least 1"),
     ("check_subgroups", "depth", "2", "an integer of at least 1"),
     ("check_subgroups", "depth", 1.5, "an integer of at least 1"),
     ("check_subgroups", "depth", True, "an integer of at least 1"),
     ("check_performance", "min_support", 0, "an integer of at least 1"),
     ("check_subgroups", "min_support", 2.5, "an integer of at least 1"),
     ("check_subgroups", "margin", 0, "a number greater than zero"),
     ("check_performance", "margin", "5%", "a number greater"),
     ("check_subgroups", "auc", "yes", "true or false"),
     ("check_calibration", "bins", "10", "an integer of at least 1"),
     ("check_calibration", "bins", 0, "an integer of at least 1"),
     ("check_calibration", "min_support", 0, "an integer of at least 1"),
     ("check_calibration", "resamples", 10, "an integer of at least 50"),
     ("check_calibration", "seed", -1, "an integer of at least 0"),
     ("check_calibration", "ece_margin", 0, "a number greater than zero"),
     ("check_calibration", "slope_margin", -0.2, "a number greater than zero")],
)
def test_counts_margins_and_switches_of_the_wrong_type_or_range_are_refused(check, name, value, rule):
    with pytest.raises(ConfigError, match=rf"The '{name}' parameter of {check} must be {rule}.*Got {value!r}"):
        run(check, **{name: value})


@pytest.mark.parametrize("check", ALL)
@pytest.mark.parametrize(("by", "message"), [(3, "a column name or a list of column names. Got 3"),
                                             ([1], r"The 'by\[0\]' parameter of .* must be a column name"),
                                             ("__wb_y", "names starting with '__wb_' are reserved")])
def test_by_must_name_columns_and_not_use_the_reserved_prefix(check, by, message):
    with pytest.raises(WorkbenchError, match=message):
        run(check, by=by)


def test_as_of_as_an_iso_string_equals_the_datetime():
    df = logs(2)
    labels = df.select("rid", pl.col("y").alias("label"), (pl.col("ts") + pl.duration(hours=30)).alias("lt"))
    common = {"labels": labels, "id": "rid", "label_time": "lt", "by": "region", "prediction": "pred"}
    as_string = check_performance(df.drop("y"), as_of="2026-03-06", **common)
    as_datetime = check_performance(df.drop("y"), as_of=dt.datetime(2026, 3, 6), **common)
    assert as_string.parameters["labels"] == as_datetime.parameters["labels"]
    assert 0 < as_string.parameters["labels"]["labelled"] < df.height
    assert as_string.to_polars("segments").equals(as_datetime.to_polars("segments"))


@pytest.mark.parametrize("value", [20260308, "next tuesday", 3.5])
def test_as_of_of_another_type_is_refused(value):
    df = logs(3)
    labels = df.select("rid", pl.col("y").alias("label"), pl.col("ts").alias("lt"))
    with pytest.raises(ConfigError, match=r"The 'as_of' parameter of check_performance must be a datetime or an "
                                          r"ISO time"):
        check_performance(df.drop("y"), labels=labels, id="rid", label_time="lt", as_of=value, by="region",
                          prediction="pred")


def one_row() -> pl.DataFrame:
    return logs(4).head(1)


def test_one_row_is_not_a_clean_pass_in_subgroups():
    result = check_subgroups(one_row(), target="y", by="region", prediction="pred", timestamp="ts")
    (f,) = result.findings
    assert (f.check, f.kind, f.severity) == ("subgroups", "insufficient_data", "info")
    assert f.metrics["n"] == 1 and "min_support=100" in f.message


def test_one_row_is_not_a_clean_pass_in_calibration():
    result = check_calibration(one_row(), one_row(), score="score", target="y", by="region")
    (f,) = result.findings
    assert (f.check, f.kind, f.severity) == ("calibration", "insufficient_data", "info")
    assert f.metrics["n"] == 1 and f.metrics["n_reference"] == 1 and "needs at least 200" in f.message


def test_one_row_in_performance_says_so_and_does_not_call_the_estimate_biased():
    """A one-row reference cannot show the scores miscalibrated: the estimate's assumption is
    unchecked, not failed (it was a warning before)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = check_performance(one_row(), target="y", by="region", score="score", timestamp="ts",
                                   reference=one_row())
    assert {(f.check, f.kind, f.severity) for f in result.findings} == {
        ("subgroups", "insufficient_data", "info"), ("calibration", "insufficient_data", "info")}
    assert result.parameters["estimate_assumption"]["checked"] is False
    assert "could not be checked" in result.parameters["estimate_assumption"]["statement"]


def test_enough_rows_give_no_insufficient_data_finding():
    result = check_subgroups(logs(5), target="y", by="region", prediction="pred")
    assert not result.by_kind("insufficient_data")
    assert not check_calibration(logs(6), logs(7), score="score", target="y", resamples=50).by_kind("insufficient_data")


def test_a_window_without_timestamp_is_still_refused():
    with pytest.raises(ConfigError, match="window needs timestamp"):
        run("check_performance", window="1d")
