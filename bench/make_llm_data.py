"""The LLM-application sample at scale (issue 19 benchmark), written to bench/data (git-ignored).

    python bench/make_llm_data.py --requests 10000000 --otlp-mb 1000 --out bench/data/llm/10000000

The generator is ``sample_data/llm_app/generate.py`` (its ``simulate``, run one day at a time with the
same planted problems and decoys at the same times, see ``sample_data/README.md``); written:

* ``requests.parquet``: the request table (one row group per day, sorted by time within a day), the
  columns of the shipped sample. Segment columns for the benchmark (3, ``by=``): ``region``,
  ``query_type``, ``model_version``; hourly windows over the week 2026-11-23 .. 2026-11-30 UTC.
* ``spans.otlp.jsonl``: the spans behind a slice of it (the first requests of Monday, until the file
  reaches ``--otlp-mb`` megabytes), OTLP/JSON as the Collector's file exporter writes it, built from
  polars columns (the same lines the OpenTelemetry SDK writes for the sample, at scale);
* ``prices.yaml``, ``planted.json`` (counted in this table), ``summary.json`` (sizes, times, the slice).

Deterministic in (``--seed``, ``--requests``, ``--no-problems``). Measured 2026-12-03 while other sessions
kept both cores busy (load average ~15): 10M requests, no export: 23 s of CPU (89 s wall), peak RSS 2.1 GB
(one day in memory at a time); with the 1 GB export (430,000 requests, 1.72M spans): 35 s of CPU (174 s
wall), peak RSS 2.8 GB. ``read_spans`` + ``requests_from_spans`` read that export back into the table's
tokens (equal), latencies (within 1e-11 ms) and cost (relative 2e-16).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path
from types import ModuleType

import polars as pl
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 10_000  # requests per OTLP block (a multiple of the generator's BATCH)


def generator() -> ModuleType:
    """``sample_data/llm_app/generate.py`` as a module (sample_data is not a package)."""
    spec = importlib.util.spec_from_file_location("llm_app_generate", ROOT / "sample_data" / "llm_app" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    writes, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ in the shipped sample_data
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = writes
    return module


def _attr(key: str, value: pl.Expr | str, kind: str = "stringValue") -> pl.Expr:
    """One OTLP attribute as JSON text; int values are strings (64-bit), as the Collector writes them."""
    value = pl.lit(value) if isinstance(value, str) else value
    quote = kind in ("stringValue", "intValue")
    body = pl.concat_str([pl.lit('"'), value.cast(pl.String), pl.lit('"')]) if quote else value.cast(pl.String)
    return pl.concat_str([pl.lit(f'{{"key":"{key}","value":{{"{kind}":'), body, pl.lit("}}")])


def _join(*parts: pl.Expr) -> pl.Expr:
    return pl.concat_str([pl.lit("["), pl.concat_str(list(parts), separator=","), pl.lit("]")])


def _attributes() -> pl.Expr:
    """The attributes of each span, in the generator's order (its ``_attributes``)."""
    c, n = pl.col, "intValue"
    root = _join(_attr("http.request.method", "POST"), _attr("http.route", "/v1/answer"),
                 _attr("http.response.status_code", pl.when(c("error")).then(500).otherwise(200), n),
                 _attr("user.id", c("user_id")), _attr("app.api_key", c("api_key")), _attr("app.region", c("region")),
                 _attr("app.query_type", c("query_type")), _attr("app.model_version", c("model_version")),
                 _attr("app.prompt_version", c("prompt_version")))
    retrieve = _join(_attr("db.system", "qdrant"), _attr("db.operation.name", "search"),
                     _attr("retrieval.k", c("k"), n), _attr("retrieval.returned", c("retrieved"), n))
    rerank = _join(_attr("rerank.model", "bge-reranker-v2"), _attr("rerank.kept", pl.min_horizontal("retrieved", 4), n))
    generate = _join(_attr("gen_ai.operation.name", "chat"), _attr("gen_ai.provider.name", "openai"),
                     _attr("gen_ai.request.model", c("model")), _attr("gen_ai.response.model", c("response_model")),
                     _attr("gen_ai.usage.input_tokens", c("input_tokens"), n),
                     _attr("gen_ai.usage.output_tokens", c("output_tokens"), n),
                     _attr("gen_ai.request.temperature", pl.lit("0.1"), "doubleValue"))
    order = c("order")
    return (pl.when(order == 0).then(root).when(order == 1).then(retrieve).when(order == 2).then(rerank)
            .otherwise(generate))


def _status() -> pl.Expr:
    error, order = pl.col("error"), pl.col("order")
    return (pl.when(order == 0).then(pl.when(error).then(pl.lit('{"code":2}')).otherwise(pl.lit('{"code":1}')))
            .when((order == 3) & error).then(pl.lit('{"message":"upstream model error","code":2}'))
            .otherwise(pl.lit("{}")))


def otlp_lines(layout: pl.DataFrame, g: ModuleType) -> pl.Series:
    """The layout's spans (``generate.span_layout``) as OTLP/JSON lines, one ExportTraceServiceRequest of
    ``g.BATCH`` requests each: what ``generate.write_otlp_sdk`` writes, built with polars expressions."""
    kind = pl.col("order").replace_strict({0: 2, 1: 3, 2: 1, 3: 3}, return_dtype=pl.String)
    parent = pl.when(pl.col("parent").is_null()).then(pl.lit("")).otherwise(
        pl.concat_str([pl.lit('"parentSpanId":"'), pl.col("parent"), pl.lit('",')]))
    span = pl.concat_str([
        pl.lit('{"traceId":"'), pl.col("trace_id"), pl.lit('","spanId":"'), pl.col("span_id"), pl.lit('",'), parent,
        pl.lit('"name":"'), pl.col("name"), pl.lit('","kind":'), kind, pl.lit(',"startTimeUnixNano":"'),
        pl.col("start").cast(pl.String), pl.lit('","endTimeUnixNano":"'), pl.col("end").cast(pl.String),
        pl.lit('","attributes":'), _attributes(), pl.lit(',"status":'), _status(), pl.lit(',"flags":256}')])
    resource = ",".join(f'{{"key":"{k}","value":{{"stringValue":"{v}"}}}}' for k, v in g.RESOURCE.items())
    head = (f'{{"resourceSpans":[{{"resource":{{"attributes":[{resource}]}},"scopeSpans":[{{"scope":'
            f'{{"name":"{g.SCOPE[0]}","version":"{g.SCOPE[1]}"}},"spans":[')
    return (layout.with_columns(span.alias("json"), (pl.col("row") // g.BATCH).alias("batch"),
                                ((pl.col("order") + 3) % 4).alias("export_order"))  # the root ends last
            .sort("row", "export_order")
            .group_by("batch", maintain_order=True).agg(pl.col("json").str.join(","))
            .select(pl.concat_str([pl.lit(head), pl.col("json"), pl.lit("]}]}]}")]))
            .to_series())


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=10_000_000)
    ap.add_argument("--otlp-mb", type=float, default=1000, help="size of the OTLP/JSON export (0: none)")
    ap.add_argument("--seed", type=int, default=None, help="default: the sample's seed")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--no-problems", action="store_true", help="leave the planted problems out (null data)")
    a = ap.parse_args(argv)
    g = generator()
    seed = g.SEED if a.seed is None else a.seed
    a.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    target, written, sliced, last = a.otlp_mb * 1e6, 0, 0, None
    export = a.out / "spans.otlp.jsonl"
    writer = None
    with open(export, "w") as fh:
        for day in range(1, g.DAYS + 1):
            simulated = g.simulate(seed, a.requests, days=(day,), problems=not a.no_problems)
            table = g.request_table(simulated).to_arrow()
            writer = writer or pq.ParquetWriter(a.out / "requests.parquet", table.schema)
            writer.write_table(table)
            offset = 0
            while written < target and offset < simulated.height:
                chunk = simulated.slice(offset, CHUNK)
                text = "\n".join(otlp_lines(g.span_layout(chunk), g)) + "\n"
                fh.write(text)
                written += len(text)
                offset += chunk.height
                sliced += chunk.height
                last = chunk["timestamp"][-1]
    if writer is not None:
        writer.close()
    seconds = time.perf_counter() - t0
    requests = pl.scan_parquet(a.out / "requests.parquet")
    (a.out / "prices.yaml").write_text(g.prices_yaml())
    (a.out / "planted.json").write_text(json.dumps(g.planted(requests, problems=not a.no_problems), indent=2) + "\n")
    summary = {"requests": requests.select(pl.len()).collect().item(), "seconds": round(seconds, 1),
               "parquet_mb": round((a.out / "requests.parquet").stat().st_size / 1e6, 1),
               "otlp_mb": round(written / 1e6, 1), "otlp_requests": sliced, "otlp_spans": 4 * sliced,
               "otlp_slice": [g.START.isoformat(), last.isoformat() if last is not None else None]}
    (a.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
