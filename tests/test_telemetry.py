"""read_spans, requests_from_spans, stages_from_spans on real exports: spans recorded with the OpenTelemetry
SDK come back exactly (ids, parents, times in µs, attributes, status), in every JSON form a receiver must
accept; the request and stage tables equal a brute-force computation over the SDK's in-memory spans."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import defaultdict

import polars as pl
import pytest
from _otel import record, requests, write_lines
from polars.testing import assert_frame_equal

from workbench.telemetry import SPAN_COLUMNS, otlp, read_spans, requests_from_spans, stages_from_spans
from workbench.telemetry import spans as spans_module

PRICES = {"gpt-4o": {"input": 2.5, "output": 10.0}, "claude-sonnet-2026": (3.0, 15.0)}
KINDS = {0: "internal", 1: "server", 2: "client", 3: "producer", 4: "consumer"}
STATUS = {0: "unset", 1: "ok", 2: "error"}


@pytest.fixture(scope="module")
def rec():
    return record(40, seed=7)


@pytest.fixture(scope="module")
def export(rec, tmp_path_factory):
    return write_lines(tmp_path_factory.mktemp("otlp") / "traces.json", requests(rec.spans))


@pytest.fixture(scope="module")
def spans(export):
    return read_spans(export)


def _utc(ns: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=ns // 1000)


def _text(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def test_every_recorded_span_comes_back_exactly(rec, spans):
    assert spans.height == len(rec.spans) > 150
    assert list(spans.schema.items()) == list(SPAN_COLUMNS.items())
    rows = {r["span_id"]: r for r in spans.iter_rows(named=True)}
    for s in rec.spans:
        row = rows[format(s.context.span_id, "016x")]
        assert row["trace_id"] == format(s.context.trace_id, "032x")
        assert row["parent_span_id"] == (format(s.parent.span_id, "016x") if s.parent else None)
        assert row["is_root"] is (s.parent is None)
        assert (row["name"], row["kind"]) == (s.name, KINDS[s.kind.value])
        assert (row["start_time"], row["end_time"]) == (_utc(s.start_time), _utc(s.end_time))
        assert row["duration_ms"] == (s.end_time - s.start_time) / 1e6
        assert (row["status_code"], row["status_message"]) == (STATUS[s.status.status_code.value], s.status.description)
        assert row["service.name"] == s.resource.attributes["service.name"]
        assert row["scope_name"] == "rag.app"
        attrs = dict(s.attributes)
        for key in ("gen_ai.operation.name", "gen_ai.request.model", "gen_ai.response.model",
                    "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"):
            assert row[key] == attrs.get(key)
        assert row["gen_ai.provider.name"] == attrs.get("gen_ai.provider.name", attrs.get("gen_ai.system"))
        got = {p["key"]: p["value"] for p in row["attributes"]}
        assert set(got) == set(attrs)
        for key, value in attrs.items():
            if isinstance(value, tuple):
                assert [float(v["doubleValue"]) for v in json.loads(got[key])["values"]] == list(value)
            elif isinstance(value, float):
                assert float(got[key]) == value
            else:
                assert got[key] == _text(value)
        assert not any(row[f] for f in ("parent_missing", "clock_skew", "negative_duration", "invalid_tokens"))


def _sorted(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort("span_id")


def _lines(docs):
    return [json.dumps(d) for d in docs]


@pytest.mark.parametrize("variant", ["base64", "snake", "numbers", "document", "gzip", "folder", "shuffled", "glob",
                                     "list"])
def test_every_json_form_reads_the_same_table(variant, rec, spans, tmp_path):
    """Metamorphic: ids in base64 vs hex, enum names vs integers, snake_case vs lowerCamelCase, 64-bit integers
    as numbers vs strings, one pretty-printed document vs lines, gzip, lines shuffled and split across files."""
    docs = requests(rec.spans)
    if variant in ("base64", "snake", "numbers"):
        source = write_lines(tmp_path / "t.json", requests(rec.spans, **{
            "base64": {"ids": "base64"}, "snake": {"snake": True, "ids": "base64"}, "numbers": {"numbers": True},
        }[variant]))
    elif variant == "document":
        merged = {"resourceSpans": [rs for d in docs for rs in d["resourceSpans"]]}
        source = tmp_path / "t.json"
        source.write_text(json.dumps(merged, indent=2))
    elif variant == "gzip":
        source = write_lines(tmp_path / "t.json.gz", docs, gz=True)
    else:
        lines = _lines(requests(rec.spans, batch=3))
        random.Random(1).shuffle(lines)
        for i in range(0, len(lines), 10):
            (tmp_path / f"part-{i:03d}.jsonl").write_text("\n".join(lines[i:i + 10]) + "\n")
        source = {"folder": tmp_path, "shuffled": tmp_path, "glob": str(tmp_path / "part-*.jsonl"),
                  "list": sorted(tmp_path.glob("*.jsonl"))}[variant]
    assert_frame_equal(_sorted(read_spans(source)), _sorted(spans))


def test_attributes_argument_adds_typed_columns(export):
    keys = ["retrieval.k", "gen_ai.request.temperature", "cache.hit", "http.route", "retrieval.scores"]
    df = read_spans(export, attributes=keys)
    assert [df.schema[k] for k in keys] == [pl.Int64, pl.Float64, pl.Boolean, pl.String, pl.String]
    retrieve = df.filter(pl.col("name") == "retrieve")
    assert retrieve["retrieval.k"].to_list() == [5] * retrieve.height
    assert json.loads(retrieve["retrieval.scores"][0]) == {"values": [{"doubleValue": 0.9}, {"doubleValue": 0.5}]}
    assert df.filter(pl.col("name") == "rerank")["cache.hit"].to_list() == [False] * retrieve.height
    assert set(df.filter(pl.col("is_root"))["http.route"]) == {"/ask"}
    chats = df.filter(pl.col("gen_ai.operation.name") == "chat")
    assert chats["gen_ai.request.temperature"].unique().to_list() == [0.2]


def _brute_force(rec, *, stage_of):
    """Per trace, from the SDK's spans: tokens, latency, stage latencies, error, model and cost."""
    by_trace = defaultdict(list)
    for s in rec.spans:
        by_trace[format(s.context.trace_id, "032x")].append(s)
    out = {}
    for trace_id, group in by_trace.items():
        root = next(s for s in group if s.parent is None)
        genai = sorted((s for s in group if "gen_ai.usage.input_tokens" in s.attributes), key=lambda s: s.start_time)
        stages: dict[str, float] = defaultdict(float)
        for s in group:
            if stage_of(s) is not None:
                stages[stage_of(s)] += (s.end_time - s.start_time) / 1e6
        cost = 0.0
        for s in genai:
            price = PRICES.get(s.attributes["gen_ai.response.model"]) or PRICES[s.attributes["gen_ai.request.model"]]
            p_in, p_out = (price["input"], price["output"]) if isinstance(price, dict) else price
            cost += (s.attributes["gen_ai.usage.input_tokens"] * p_in + s.attributes["gen_ai.usage.output_tokens"]
                     * p_out) / 1000
        out[trace_id] = {
            "start_time": _utc(root.start_time), "service.name": "gateway",
            "model": genai[0].attributes["gen_ai.response.model"],
            "input_tokens": sum(s.attributes["gen_ai.usage.input_tokens"] for s in genai),
            "output_tokens": sum(s.attributes["gen_ai.usage.output_tokens"] for s in genai),
            "latency_ms": (root.end_time - root.start_time) / 1e6, "stages": dict(stages),
            "error": any(s.status.status_code.value == 2 for s in group), "spans": len(group), "cost": cost}
    return out


def test_requests_equal_a_brute_force_computation_over_the_sdk_spans(rec, spans):
    expected = _brute_force(rec, stage_of=lambda s: s.name if s.parent is not None else None)
    table = requests_from_spans(spans, prices=PRICES)
    assert table.height == len(expected) == 40
    assert table["start_time"].is_sorted()
    assert table["error"].sum() == 6
    for row in table.iter_rows(named=True):
        want = expected[row["request_id"]]
        for key in ("start_time", "service.name", "model", "input_tokens", "output_tokens", "error", "spans"):
            assert row[key] == want[key], key
        assert row["latency_ms"] == pytest.approx(want["latency_ms"], abs=1e-9)
        assert row["cost"] == pytest.approx(want["cost"], rel=1e-12)
        assert {s["stage"]: s["latency_ms"] for s in row["stage_latency"]} == pytest.approx(want["stages"])
        assert row["stage_latency"][0]["stage"] == "retrieve"
        assert not any(row[f] for f in ("root_missing", "parent_missing", "clock_skew", "invalid_tokens"))


@pytest.mark.parametrize("stage", ["gen_ai.operation.name", {"retrieve": "retrieval", "rerank": "retrieval"}])
def test_stages_follow_the_chosen_mapping(stage, rec, spans):
    if isinstance(stage, dict):
        def stage_of(s):
            return stage.get(s.name)
    else:
        def stage_of(s):
            return s.attributes.get("gen_ai.operation.name")
    expected = _brute_force(rec, stage_of=stage_of)
    table = stages_from_spans(spans, stage=stage)
    assert table.columns == ["request_id", "stage", "latency_ms", "spans", "first_start"]
    got = defaultdict(dict)
    for row in table.iter_rows(named=True):
        got[row["request_id"]][row["stage"]] = row["latency_ms"]
    assert set(got) == set(expected)
    for trace_id, want in expected.items():
        assert got[trace_id] == pytest.approx(want["stages"])


def test_requests_without_prices_have_no_cost_column(spans):
    table = requests_from_spans(spans)
    assert "cost" not in table.columns
    assert table.schema["stage_latency"] == pl.List(pl.Struct({"stage": pl.String, "latency_ms": pl.Float64}))


@pytest.mark.parametrize("form", ["parquet", "pandas", "arrow", "lazy"])
def test_a_flattened_table_reads_back_the_same(form, spans, tmp_path):
    if form == "parquet":
        spans.write_parquet(tmp_path / "spans.parquet")
        source = tmp_path / "spans.parquet"
    else:
        source = {"pandas": spans.to_pandas, "arrow": spans.to_arrow, "lazy": spans.lazy}[form]()
    assert_frame_equal(read_spans(source), spans)


def test_a_minimal_flattened_table_gets_every_column(spans):
    minimal = spans.select("trace_id", "span_id", "parent_span_id", "name",
                           pl.col("start_time").dt.replace_time_zone(None), "end_time", "user_column"
                           if "user_column" in spans.columns else pl.lit(1).alias("user_column"))
    df = read_spans(minimal)
    assert df.columns == [*SPAN_COLUMNS, "user_column"]
    assert_frame_equal(df.select("start_time", "duration_ms", "is_root"), spans.select("start_time", "duration_ms",
                                                                                       "is_root"))
    assert set(df["kind"]) == {"unspecified"} and set(df["status_code"]) == {"unset"}


def test_the_fast_json_path_equals_polars_ndjson_reader(rec, tmp_path):
    """otlp.decode sends lines with array attributes to read_ndjson and the others to str.json_decode; the
    reference reads every line with read_ndjson: the same spans either way."""
    path = write_lines(tmp_path / "t.json", requests(rec.spans, batch=1))
    lines = otlp.scan_lines([path]).collect()
    nested = lines.filter(pl.col("line").str.contains('"arrayValue"')).height
    assert 0 < nested < lines.height
    reference = pl.read_ndjson(path, schema=otlp.REQUEST).with_row_index(otlp.ORDER).lazy()
    columns = spans_module._otlp_columns(otlp.flatten(reference), []).collect().drop(otlp.ORDER)
    assert_frame_equal(read_spans(path), spans_module._finish(columns, typed=[], name="reference"))


def test_reading_in_chunks_gives_the_same_table(export, spans, monkeypatch):
    monkeypatch.setattr(spans_module, "CHUNK_BYTES", 5_000)
    assert len(spans_module._chunks(otlp.scan_lines([export]).collect())) > 3
    assert_frame_equal(read_spans(export), spans)


def test_renaming_snake_case_keys_leaves_values_alone(tmp_path):
    """Proto field names are renamed only where they are keys: values that spell them stay as they were."""
    from _otel import T0, Recorder

    rec = Recorder()
    values = {"a": "trace_id", "b": '{"trace_id": 1, "int_value" : 2}', "c": "string_value:"}
    rec.span("gateway", "span_id", T0, T0 + 5, attributes=values)
    snake = read_spans(write_lines(tmp_path / "s.json", requests(rec.spans, snake=True, ids="base64")))
    camel = read_spans(write_lines(tmp_path / "c.json", requests(rec.spans)))
    assert_frame_equal(snake, camel)
    assert {p["key"]: p["value"] for p in snake["attributes"][0]} == values
    assert snake["name"].to_list() == ["span_id"]
