"""The LLM check's input boundary: every input kind, column names as keywords, judgments in a
separate table, scores with a threshold, prices per model, time zones, spans read with the
telemetry part from a real OpenTelemetry SDK export; and bad input answered with an error that
names the column and the fix."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from _otel import record, requests, write_lines
from llm_logs import PRICES, llm_logs

from workbench import check_llm
from workbench.errors import ConfigError, InputError
from workbench.telemetry import requests_from_spans


@pytest.fixture(scope="module")
def logs() -> pl.DataFrame:
    return llm_logs(4, hours=48, per_hour=300)


def _core(result) -> list:
    return [(f.kind, f.subject, dict(f.scope), f.message) for f in result.findings]


def test_pandas_arrow_lazy_and_parquet_inputs_give_the_same_result(logs, tmp_path):
    expected = check_llm(logs)
    path = tmp_path / "requests.parquet"
    logs.write_parquet(path)
    for given in (logs.lazy(), logs.to_arrow(), logs.to_pandas(), str(path)):
        result = check_llm(given)
        assert _core(result) == _core(expected)
        assert result.summary == expected.summary
        assert result.tables["daily"].equals(expected.tables["daily"])


def test_every_column_is_a_keyword(logs):
    renamed = logs.rename({"timestamp": "ts", "grounded": "is_grounded", "api_key": "key", "cost": "usd"})
    result = check_llm(renamed, timestamp="ts", grounded="is_grounded", api_key="key", cost="usd")
    assert result.summary == check_llm(logs).summary
    assert result.parameters["columns"]["grounded"] == "is_grounded"


def test_a_column_named_explicitly_and_absent_is_an_error_naming_it(logs):
    with pytest.raises(InputError, match=r"grounded='is_grounded' is not a column of requests"):
        check_llm(logs, grounded="is_grounded")
    with pytest.raises(InputError, match=r"timestamp='time' is not a column of requests\. Did you mean 'timestamp'"):
        check_llm(logs, timestamp="time")


def test_judgments_in_a_separate_table_are_joined_by_id_and_unmatched_ids_reported(logs):
    judged = logs.filter(pl.col("grounded").is_not_null()).select("request_id", "grounded")
    stray = pl.DataFrame({"request_id": ["nope-1", "nope-2"], "grounded": [False, True]})
    result = check_llm(logs.drop("grounded"), judgments=pl.concat([judged, stray]))
    expected = check_llm(logs)
    assert [f for f in _core(result) if f[0] != "unmatched_judgments"] == _core(expected)
    note = result.by_kind("unmatched_judgments")[0]
    assert note.severity == "info" and note.metrics["n"] == 2 and note.metrics["examples"] == ["nope-1", "nope-2"]
    assert "2 judgments have a request id that is not in the requests" in note.message
    assert result.parameters["notes"]["unmatched_judgments"] == 2


def test_a_request_judged_twice_is_refused(logs):
    judged = logs.filter(pl.col("grounded").is_not_null()).select("request_id", "grounded").head(3)
    with pytest.raises(InputError, match=r"judgments: 1 request ids are judged more than once in column 'request_id'"):
        check_llm(logs.drop("grounded"), judgments=pl.concat([judged, judged.head(1)]))
    with pytest.raises(InputError, match=r"requests: 1 request ids appear more than once in column 'request_id'"):
        check_llm(pl.concat([logs, logs.head(1)]).drop("grounded"), judgments=judged)


def test_a_grounded_score_needs_a_threshold_and_then_equals_the_booleans(logs):
    scored = logs.with_columns(pl.when(pl.col("grounded")).then(0.9).when(~pl.col("grounded")).then(0.2)
                               .otherwise(None).alias("grounded"))
    with pytest.raises(ConfigError, match=r"holds scores \(Float64\), not true/false: pass grounded_threshold="):
        check_llm(scored)
    assert check_llm(scored, grounded_threshold=0.5).summary == check_llm(logs).summary
    with pytest.raises(ConfigError, match="grounded_threshold applies to a score"):
        check_llm(logs, grounded_threshold=0.5)
    with pytest.raises(InputError, match=r"1 rows have a grounded score in column 'grounded' outside \[0, 1\]"):
        check_llm(scored.with_columns(pl.when(pl.int_range(pl.len()) == 5).then(1.5).otherwise(pl.col("grounded"))
                                      .alias("grounded")), grounded_threshold=0.5)


def test_negative_tokens_are_refused_naming_the_column_and_rows(logs):
    bad = logs.with_columns(pl.when(pl.int_range(pl.len()).is_in([3, 17])).then(-5).otherwise(pl.col("output_tokens"))
                            .alias("output_tokens"))
    with pytest.raises(InputError, match=r"2 rows have a negative output_tokens in column 'output_tokens' "
                                         r"\(rows \[3, 17\]\)"):
        check_llm(bad)


def test_null_tokens_are_left_out_and_counted(logs):
    holes = logs.with_columns(pl.when(pl.int_range(pl.len()) < 10).then(None).otherwise(pl.col("input_tokens"))
                              .alias("input_tokens"))
    result = check_llm(holes)
    assert result.parameters["notes"]["null_input_tokens"] == 10
    dist = result.tables["distributions"].filter(pl.col("quantity") == "input_tokens")
    assert dist["requests"].item() == logs.height - 10


def test_tokens_that_are_not_integers_are_refused(logs):
    with pytest.raises(InputError, match=r"input_tokens column 'input_tokens' must hold integer counts, got String"):
        check_llm(logs.with_columns(pl.col("input_tokens").cast(pl.String)))


def test_prices_per_model_give_the_cost_and_an_unknown_model_is_named(logs):
    priced = check_llm(logs.drop("cost"), prices=PRICES)
    assert priced.parameters["cost_source"] == "prices"
    assert priced.tables["daily"]["cost"].sum() == pytest.approx(check_llm(logs).tables["daily"]["cost"].sum())
    with pytest.raises(InputError, match=r"no price for the model\(s\) \['small-model'\] in column 'model'\. Add them "
                                         r"to prices, e\.g\. prices=\{\.\.\., 'small-model'"):
        check_llm(logs.drop("cost"), prices={"gpt-4o": (0.0025, 0.01)})
    with pytest.raises(ConfigError, match="must map each model to its price per 1,000 tokens"):
        check_llm(logs.drop("cost"), prices={"gpt-4o": 3})


def test_naive_and_aware_timestamps_give_the_same_instants(logs):
    aware = check_llm(logs)
    naive = check_llm(logs.with_columns(pl.col("timestamp").dt.replace_time_zone(None)))
    berlin = check_llm(logs.with_columns(pl.col("timestamp").dt.convert_time_zone("Europe/Berlin")))
    assert naive.parameters["time_zone"] == "naive (read as UTC)" and berlin.parameters["time_zone"] == "Europe/Berlin"
    assert naive.summary == aware.summary == berlin.summary
    assert naive.tables["ungrounded"]["n"].to_list() == berlin.tables["ungrounded"]["n"].to_list()
    start = berlin.tables["ungrounded"]["window_start"][0]
    assert start == dt.datetime(2026, 3, 1, 1, tzinfo=start.tzinfo) and str(start.tzinfo) == "Europe/Berlin"


def test_a_timestamp_that_is_not_a_time_is_refused(logs):
    with pytest.raises(InputError, match=r"timestamp column 'timestamp' must be a datetime or date, got String\. "
                                         r"Parse it first"):
        check_llm(logs.with_columns(pl.col("timestamp").cast(pl.String)))


def test_empty_input_is_refused(logs):
    with pytest.raises(InputError, match=r"requests: no rows\. Pass the request log"):
        check_llm(logs.head(0))


def test_bad_parameters_name_the_parameter(logs):
    with pytest.raises(ConfigError, match=r"margins: unknown metric 'hit'; the metrics are \['empty_retrieval_rate'"):
        check_llm(logs, margins={"hit": 0.1})
    with pytest.raises(ConfigError, match="'fdr' parameter of check_llm must be a number strictly between 0 and 1"):
        check_llm(logs, fdr=2)
    with pytest.raises(InputError, match="start with '__wb_'"):
        check_llm(logs.rename({"region": "__wb_region"}), by=["__wb_region"])


def test_requests_read_from_an_opentelemetry_sdk_export(tmp_path):
    """Spans recorded with the OpenTelemetry SDK, exported as the Collector writes OTLP/JSON, read by
    workbench.telemetry into one row per request: check_llm takes it with timestamp="start_time"."""
    rec = record(240, seed=3)
    path = write_lines(tmp_path / "traces.jsonl", requests(rec.spans))
    prices = {"gpt-4o-2026": (0.0025, 0.01), "claude-sonnet-2026": (0.003, 0.015)}
    table = requests_from_spans(path, prices=prices)
    result = check_llm(table, timestamp="start_time", window="10s", min_windows=5)
    assert result.parameters["by"] == ["model"] and result.parameters["cost_source"] == "column"
    assert result.at_least("warning") == ()
    assert result.summary.startswith(f"{table.height:,} requests over")
    assert f"Cost ${table['cost'].sum():,.2f}" in result.summary
    tokens = result.tables["distributions"].filter(pl.col("quantity") == "output_tokens")
    assert tokens["max"].item() == table["output_tokens"].max()
    assert {"grounded", "api_key", "user_id"} <= set(result.parameters["skipped"])
    assert result.tables["usage"]["entity"].unique().to_list() == ["model"]
