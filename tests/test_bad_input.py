"""Bad input gives a clear error naming the column and the fix, or a finding; inputs are untouched."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from workbench.errors import ConfigError, InputError
from workbench.leakage import Source, asof, check_leakage, make_rule, window

T0 = dt.datetime(2025, 1, 10)


def _training(**extra):
    data = {"id": [1, 2, 1], "pt": [T0, T0, T0 + dt.timedelta(days=2)], "y": [0, 1, 0], "spend": [5.0, 0.0, 7.0]}
    data.update(extra)
    return pl.DataFrame(data)


def _events(**extra):
    data = {"id": [1, 1, 2], "t": [T0 - dt.timedelta(days=1), T0 + dt.timedelta(days=1), T0 + dt.timedelta(days=3)],
            "x": [5.0, 2.0, 4.0]}
    data.update(extra)
    return pl.DataFrame(data)


def _audit(training, events=None, **kw):
    kw.setdefault("features", {"spend": window("ev", "x")})
    return check_leakage(training, entity="id", prediction_time="pt", target="y",
                         sources={"ev": Source(events if events is not None else _events(), entity="id", time="t")},
                         **kw)


def test_correct_small_case_is_clean():
    result = _audit(_training())
    assert result.at_least("warning") == ()


def test_misspelled_column_suggests_the_closest_name():
    with pytest.raises(InputError, match=r"prediction_time='pred_time' is not a column of training\."):
        check_leakage(_training(), entity="id", prediction_time="pred_time")
    with pytest.raises(InputError, match=r"target='yy' is not a column of training\. Did you mean 'y'\?"):
        check_leakage(_training(), entity="id", prediction_time="pt", target="yy")


def test_missing_source_column_names_the_source():
    with pytest.raises(InputError, match=r"column of feature 'spend'='amount' is not a column of source 'ev'"):
        _audit(_training(), features={"spend": window("ev", "amount")})


def test_string_timestamps_are_rejected_with_a_parse_hint():
    bad = _training().with_columns(pl.col("pt").dt.to_string())
    with pytest.raises(InputError, match=r"prediction_time column 'pt' must be a datetime or date, got String.*"
                                         r"str\.to_datetime"):
        _audit(bad)


def test_naive_and_aware_timestamps_mixed_are_rejected():
    aware = _events().with_columns(pl.col("t").dt.replace_time_zone("UTC"))
    with pytest.raises(InputError, match=r"Mixed naive and time-zone-aware timestamps: training\.pt is naive but "
                                         r"ev\.t is in UTC.*replace_time_zone"):
        _audit(_training(), aware)


def test_aware_timestamps_in_different_zones_are_compared_in_utc():
    tr = _training().with_columns(pl.col("pt").dt.replace_time_zone("UTC").dt.convert_time_zone("Asia/Tokyo"))
    ev = _events().with_columns(pl.col("t").dt.replace_time_zone("UTC").dt.convert_time_zone("America/New_York"))
    assert _audit(tr, ev).at_least("warning") == ()


def test_nulls_in_keys_or_times_are_rejected_with_counts():
    with pytest.raises(InputError, match=r"training: 1 row\(s\) have a null 'id'.*drop_nulls\(\['id'\]\)"):
        _audit(_training(id=[1, None, 1]))
    events = _events(t=[T0, None, T0])
    with pytest.raises(InputError, match=r"source 'ev': 1 row\(s\) have a null 't'"):
        _audit(_training(), events)


def test_empty_training_is_rejected():
    with pytest.raises(InputError, match="training is empty"):
        _audit(_training().clear())


def test_duplicate_entity_time_keys_become_a_finding():
    dup = pl.concat([_training(), _training().head(1).with_columns(spend=pl.lit(5.0))])
    dup = dup.with_columns(pl.Series("y", [0, 1, 0, 1]))
    (finding,) = _audit(dup).by_kind("duplicate_rows")
    assert finding.subject == "(id, pt)" and finding.metrics["affected_rows"] == 1


def test_declaration_on_missing_source_suggests_the_name():
    with pytest.raises(ConfigError, match=r"feature 'spend' is declared on source 'evs', which was not given\. "
                                          r"Did you mean 'ev'\?"):
        _audit(_training(), features={"spend": window("evs", "x")})


def test_window_on_a_non_numeric_column_is_rejected():
    events = _events(x=["a", "b", "c"])
    with pytest.raises(InputError, match=r"feature 'spend': sum needs a numeric column .* 'x' is String"):
        _audit(_training(), events)


def test_asof_on_a_source_without_time_is_rejected():
    with pytest.raises(ConfigError, match=r"feature 'spend' is a asof feature but source 'attrs' has no time"):
        check_leakage(_training(), entity="id", prediction_time="pt", features={"spend": asof("attrs", "x")},
                      sources={"attrs": Source(_events(), entity="id")})


def test_entity_types_that_cannot_join_are_rejected():
    with pytest.raises(InputError, match=r"entity types differ: training\.id is Int64 but source 'ev'\.id is String"):
        _audit(_training(), _events(id=["1", "1", "2"]))


def test_non_binary_target_skips_the_proxy_check_with_a_visible_finding():
    # the skip used to be only a line in the checks table, and the run passed
    result = _audit(_training(y=[0, 1, 2]))
    status = dict(result.to_polars("checks").iter_rows())
    assert status["target_proxy"].startswith("skipped: target 'y' is not a 0/1 or boolean label (Int64; values "
                                             "include [0, 1, 2])")
    (skipped,) = result.by_kind("check_skipped")
    assert skipped.severity == "warning" and skipped.subject == "target_proxy"
    assert result.at_least("warning") == (skipped,)


def test_missing_file_and_unsupported_input_are_clear():
    with pytest.raises(InputError, match=r"training: no file found at 'nope\.parquet'"):
        check_leakage("nope.parquet", entity="id", prediction_time="pt")
    with pytest.raises(InputError, match=r"training: unsupported input of type dict"):
        check_leakage({"id": [1]}, entity="id", prediction_time="pt")


def test_bad_duration_and_agg_are_config_errors():
    with pytest.raises(ConfigError, match=r"'window' parameter must be a duration such as '90d'.*"
                                          r"cannot read '90 days'"):
        window("ev", "x", window="90 days")


@pytest.mark.parametrize("bad", ["0s", 0, "-3d", dt.timedelta(0), dt.timedelta(hours=-1)])
def test_a_window_or_ttl_of_zero_or_less_is_refused_naming_it(bad):
    # a zero window used to be accepted and then gave false critical feature_mismatch / future_data findings
    with pytest.raises(ConfigError, match=r"'window' parameter must be a duration greater than zero"):
        window("ev", "x", window=bad)
    with pytest.raises(ConfigError, match=r"'ttl' parameter must be a duration greater than zero"):
        asof("snap", "x", ttl=bad)


def test_rule_options_must_be_booleans_and_the_embargo_not_negative():
    with pytest.raises(ConfigError, match=r"'inclusive' parameter must be true or false. Got 'maybe'"):
        make_rule(inclusive="maybe")
    with pytest.raises(ConfigError, match=r"'use_available_time' parameter must be true or false. Got 1"):
        make_rule(use_available_time=1)
    with pytest.raises(ConfigError, match=r"'embargo' parameter must be a duration of zero or more"):
        make_rule(embargo="-1h")
    assert make_rule(embargo="0s").embargo == dt.timedelta(0)
    with pytest.raises(ConfigError, match=r"agg must be one of \['sum', 'count', 'mean', 'min', 'max'\]"):
        window("ev", "x", agg="median")


def test_inputs_are_not_modified_pandas_and_polars():
    training, events = _training(), _events()
    before_t, before_e = training.clone(), events.clone()
    pd_training = training.to_pandas()
    pd_before = pd_training.copy()
    _audit(training, events)
    _audit(pd_training, events.to_pandas())
    assert training.equals(before_t) and events.equals(before_e)
    assert pd_training.equals(pd_before)


def test_pandas_arrow_and_duckdb_inputs_give_the_same_findings():
    import duckdb

    base = [f.to_dict() for f in _audit(_training()).findings]
    assert [f.to_dict() for f in _audit(_training().to_pandas()).findings] == base
    assert [f.to_dict() for f in _audit(_training().to_arrow()).findings] == base
    con = duckdb.connect()
    rel = con.from_arrow(_training().to_arrow())
    assert [f.to_dict() for f in _audit(rel.pl()).findings] == base  # read into polars: audited there
    on_duckdb = _audit(rel, con.from_arrow(_events().to_arrow()))  # every input on duckdb: audited there
    assert on_duckdb.parameters["engine"] == "duckdb"
    assert [f.to_dict() for f in on_duckdb.findings] == base
    with pytest.raises(InputError, match=r"source 'ev' is on polars but training is on duckdb: give every input on "
                                         r"one engine \(e.g. all as duckdb tables\), or all as polars frames"):
        _audit(rel)
    with pytest.raises(InputError, match=r"feature 'spend': the leakage audit could not build its queries on duckdb: "
                                         r".*different connections.* Create the training set and every source from "
                                         r"one duckdb connection"):
        _audit(rel, duckdb.connect().from_arrow(_events().to_arrow()))


def test_leak_in_the_small_case_is_found_with_its_lag():
    leaky = _training(spend=[7.0, 4.0, 7.0])  # row 0 includes the event one day after its prediction
    (finding,) = _audit(leaky).by_kind("future_data")
    assert finding.metrics["affected_rows"] == 2
    assert finding.metrics["lag_seconds"]["max"] == 3 * 86400


@pytest.mark.parametrize(("separator", "word"), [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_a_csv_with_another_separator_says_which_and_how_to_read_it(tmp_path, separator, word):
    from workbench import check_drift
    from workbench.cli import main

    path, current = tmp_path / "reference.csv", tmp_path / "current.csv"
    frame = pl.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]})
    frame.write_csv(path, separator=separator)
    frame.write_csv(current)
    expected = (f"reference: '{path}' reads as one column {'x' + separator + 'c'!r}: it looks {word}-separated "
                f"({separator!r}), and CSV files are read comma-separated. Save it comma-separated or as parquet, "
                f"or (in Python) pass the frame read with its separator: pl.scan_csv('{path}', "
                f"separator={separator!r}).")
    with pytest.raises(InputError) as caught:
        check_drift(str(path), str(current))
    assert str(caught.value) == expected
    assert main(["drift", "--reference", str(path), "--current", str(current), "--quiet"]) == 2


def test_a_one_column_csv_is_read_as_it_is(tmp_path):
    from workbench import check_drift

    path = tmp_path / "one.csv"
    pl.DataFrame({"amount; in EUR": [1.0, 2.0, 3.0] * 50}).write_csv(path)
    assert check_drift(str(path), str(path)).to_polars("columns")["column"].unique().to_list() == ["amount; in EUR"]
