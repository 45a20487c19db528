"""Bad span input: each a clear error naming the file, line or span and the fix, or a documented flag —
never a traceback. Exports are recorded with the OpenTelemetry SDK, then damaged the way real ones are."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import polars as pl
import pytest
from _otel import MS, T0, Recorder, record, requests, write_lines
from opentelemetry.trace import SpanKind

from workbench.errors import ConfigError, InputError
from workbench.telemetry import read_spans, requests_from_spans, stages_from_spans


@pytest.fixture(scope="module")
def rec():
    return record(6, seed=3)


@pytest.fixture()
def docs(rec):
    return requests(rec.spans, batch=5)


def _spans_of(doc):
    return [s for rs in doc["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]


def test_a_csv_given_as_otlp_is_refused_naming_the_fix(tmp_path):
    path = tmp_path / "traces.json"
    path.write_text("trace_id,span_id,name\nabc,def,root\n")
    with pytest.raises(InputError, match=r"traces.json: line 1 is not JSON.*'trace_id,span_id,name'.*looks like CSV"):
        read_spans(path)


def test_a_csv_span_table_without_the_span_columns_is_refused(tmp_path):
    path = tmp_path / "spans.csv"
    path.write_text("id,when\n1,2026-01-01\n")
    with pytest.raises(InputError, match=r"lacks the column\(s\) \['trace_id', 'span_id', 'name', 'start_time', "):
        read_spans(path)


def test_a_prometheus_export_is_refused(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text("# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\nhttp_requests_total 3\n")
    with pytest.raises(InputError, match="looks like Prometheus metrics text: spans come from a trace export"):
        read_spans(path)


def test_an_otlp_metrics_export_is_refused(tmp_path):
    path = write_lines(tmp_path / "metrics.json", [{"resourceMetrics": [{"scopeMetrics": []}]}])
    with pytest.raises(InputError, match=r"line 1 is an OTLP metrics export \('resourceMetrics'\), not traces"):
        read_spans(path)


def test_a_truncated_last_line_names_the_line_and_the_fix(docs, tmp_path):
    path = write_lines(tmp_path / "t.json", docs)
    text = path.read_text()
    path.write_text(text[: len(text) - 200])
    lines = len(docs)
    with pytest.raises(InputError, match=rf"t.json: line {lines}, the last line, is cut short .*head -n {lines - 1}"):
        read_spans(path)


def test_an_invalid_line_in_the_middle_is_named(docs, tmp_path):
    path = tmp_path / "t.json"
    lines = [json.dumps(d) for d in docs]
    lines.insert(1, '{"resourceSpans": [}')
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"t.json: line 2 is not valid JSON .*Remove or repair that line"):
        read_spans(path)


def test_a_line_of_another_signal_in_the_middle_is_named(docs, tmp_path):
    path = write_lines(tmp_path / "t.json", [docs[0], {"resourceLogs": []}, "oops", *docs[1:]])
    with pytest.raises(InputError, match=r"line 2 is an OTLP logs export|line 3 is a JSON str"):
        read_spans(path)


def test_spans_whose_parent_is_missing_are_kept_and_flagged(rec, docs, tmp_path):
    roots = {s["spanId"] for d in docs for s in _spans_of(d) if not s.get("parentSpanId")}
    for d in docs:
        for rs in d["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                ss["spans"] = [s for s in ss["spans"] if s["spanId"] not in roots]
    spans = read_spans(write_lines(tmp_path / "t.json", docs))
    assert spans.height == len(rec.spans) - 6
    assert spans["parent_missing"].all() and not spans["is_root"].any()
    table = requests_from_spans(spans)
    assert table.height == 6 and table["root_missing"].all() and table["parent_missing"].all()
    extent = spans.group_by("trace_id").agg(((pl.col("end_time").max() - pl.col("start_time").min())
                                             .dt.total_microseconds() / 1000).alias("ms"), pl.col("start_time").min())
    expected = dict(zip(extent["trace_id"], extent["ms"], strict=True))
    assert {r["request_id"]: r["latency_ms"] for r in table.iter_rows(named=True)} == expected
    assert table["start_time"].to_list() == sorted(extent["start_time"].to_list())


def test_a_negative_duration_is_flagged_not_refused(docs, tmp_path):
    span = _spans_of(docs[0])[1]
    span["endTimeUnixNano"] = str(int(span["startTimeUnixNano"]) - 2 * MS)
    spans = read_spans(write_lines(tmp_path / "t.json", docs))
    flagged = spans.filter(pl.col("negative_duration"))
    assert flagged["span_id"].to_list() == [span["spanId"]]
    assert flagged["duration_ms"].to_list() == [-2.0]
    assert requests_from_spans(spans)["negative_duration"].sum() == 1


def test_clock_skew_between_services_is_flagged(tmp_path):
    rec = Recorder()
    root = rec.tracers["gateway"].start_span("POST /ask", kind=SpanKind.SERVER, start_time=T0)
    skewed = rec.span("llm-worker", "chat gpt-4o", T0 - 5 * MS, T0 + 40 * MS, parent=root)
    rec.span("gateway", "retrieve", T0 + MS, T0 + 3 * MS, parent=root)
    root.end(end_time=T0 + 50 * MS)
    spans = read_spans(write_lines(tmp_path / "t.json", requests(rec.spans)))
    assert spans.filter(pl.col("clock_skew"))["span_id"].to_list() == [format(skewed.context.span_id, "016x")]
    assert requests_from_spans(spans)["clock_skew"].to_list() == [True]


@pytest.mark.parametrize(("value", "valid"), [({"intValue": "-5"}, None), ({"doubleValue": 3.5}, None),
                                              ({"stringValue": "many"}, None), ({"doubleValue": 12.0}, 12),
                                              ({"stringValue": "12"}, 12)])
def test_token_counts_that_are_negative_or_not_integers_are_flagged(value, valid, docs, tmp_path):
    span = next(s for s in _spans_of(docs[0]) if s["name"].startswith("chat"))
    for attribute in span["attributes"]:
        if attribute["key"] == "gen_ai.usage.input_tokens":
            attribute["value"] = value
    spans = read_spans(write_lines(tmp_path / "t.json", docs))
    row = spans.filter(pl.col("span_id") == span["spanId"]).row(0, named=True)
    assert row["gen_ai.usage.input_tokens"] == valid
    assert row["invalid_tokens"] is (valid is None)
    assert spans["invalid_tokens"].sum() == (valid is None)


def test_an_empty_file_alone_is_refused_and_beside_others_adds_nothing(docs, tmp_path):
    (tmp_path / "a-empty.json").write_text("")
    with pytest.raises(InputError, match=r"every file is empty .*a-empty.json"):
        read_spans(tmp_path / "a-empty.json")
    write_lines(tmp_path / "b.json", docs)
    assert read_spans(tmp_path).equals(read_spans(tmp_path / "b.json"))


def test_an_export_without_spans_is_refused(tmp_path):
    path = write_lines(tmp_path / "t.json", [{}, {"resourceSpans": []}])
    with pytest.raises(InputError, match="no spans found"):
        read_spans(path)


def test_ids_that_are_neither_hex_nor_base64_name_the_span(docs, tmp_path):
    span = _spans_of(docs[0])[0]
    span["spanId"] = "xyz123"
    with pytest.raises(InputError, match=rf"span_id that is neither 16 hex digits nor the base64 of 8 bytes, e.g. span "
                                         rf"'{span['name']}' with span_id='xyz123'"):
        read_spans(write_lines(tmp_path / "t.json", docs))


def test_mixed_case_hex_and_unpadded_url_safe_base64_ids_are_read(docs, tmp_path):
    expected = read_spans(write_lines(tmp_path / "a.json", docs))
    changed = copy.deepcopy(docs)
    for d in changed:
        for s in _spans_of(d):
            s["traceId"] = s["traceId"].upper()
            s["spanId"] = base64.urlsafe_b64encode(bytes.fromhex(s["spanId"])).decode().rstrip("=")
    assert read_spans(write_lines(tmp_path / "b.json", changed)).equals(expected)


def test_a_model_without_a_price_is_named_with_the_fix(rec, tmp_path):
    spans = read_spans(write_lines(tmp_path / "t.json", requests(rec.spans)))
    with pytest.raises(InputError, match=r"no price for the model\(s\) \['claude-sonnet-2026'\].*Add them to prices"):
        requests_from_spans(spans, prices={"gpt-4o": (2.5, 10.0)})


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"prices": {"gpt-4o": (1.0,)}}, "must map each model to its price per 1,000 tokens"),
    ({"prices": {"gpt-4o": {"input": -1, "output": 2}}}, "must map each model to its price"),
    ({"stage": "span"}, r"must be one of \['name', 'gen_ai.operation.name'\]"),
    ({"stage": {"retrieve": 3}}, "must map span names to stage names"),
])
def test_bad_parameters_are_config_errors(kwargs, message, rec, tmp_path):
    spans = read_spans(write_lines(tmp_path / "t.json", requests(rec.spans)))
    with pytest.raises(ConfigError, match=message):
        requests_from_spans(spans, **kwargs)


def test_attributes_that_are_already_columns_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"names \['service.name'\], which read_spans already returns"):
        read_spans(tmp_path, attributes=["service.name", "http.route"])


def test_missing_paths_and_mixed_sources_are_refused(docs, tmp_path):
    with pytest.raises(InputError, match="no file found at"):
        read_spans(tmp_path / "nope.json")
    write_lines(tmp_path / "t.json", docs)
    (tmp_path / "s.parquet").write_bytes(b"")
    with pytest.raises(InputError, match="mixes flattened tables"):
        read_spans(tmp_path)


def test_a_frame_without_the_span_columns_is_refused_by_the_request_table():
    with pytest.raises(InputError, match="is not a column of spans"):
        stages_from_spans(pl.DataFrame({"trace_id": ["a"]}))


def test_a_time_column_of_text_is_refused_with_the_fix():
    frame = pl.DataFrame({"trace_id": ["a" * 32], "span_id": ["b" * 16], "name": ["x"], "start_time": ["2026-01-01"],
                          "end_time": ["2026-01-01"]})
    with pytest.raises(InputError, match=r"'start_time' must be a datetime, got String. Parse it first"):
        read_spans(frame)


def test_read_spans_takes_a_path_as_str(docs, tmp_path):
    path = write_lines(tmp_path / "t.json", docs)
    assert read_spans(str(path)).equals(read_spans(Path(path)))


def test_a_cut_gzip_file_is_named(rec, tmp_path):
    docs = requests(rec.spans, batch=1) * 40  # several gzip blocks: the first line reads, the end is missing
    whole = write_lines(tmp_path / "whole.json.gz", docs, gz=True).read_bytes()
    (tmp_path / "cut.json.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError, match=r"cut.json.gz: cannot be read as gzip .*may be cut short"):
        read_spans(tmp_path / "cut.json.gz")


def test_windows_line_endings_read_the_same(docs, tmp_path):
    path = write_lines(tmp_path / "t.json", docs)
    (tmp_path / "crlf.json").write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert read_spans(tmp_path / "crlf.json").equals(read_spans(path))


def test_a_flattened_column_of_the_wrong_type_is_named(docs, tmp_path):
    spans = read_spans(write_lines(tmp_path / "t.json", docs))
    with pytest.raises(InputError, match=r"column\(s\) of the wrong type \{'attributes': 'String'\}: expected "
                                         r"\{'attributes': \"List\(Struct"):
        read_spans(spans.with_columns(pl.lit("{}").alias("attributes")))
