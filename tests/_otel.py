"""Real span exports for the telemetry tests: RAG requests recorded with the OpenTelemetry Python SDK
(kept in memory by ``InMemorySpanExporter``), encoded by the OTLP exporters' own encoder
(``encode_spans``) and written as JSON the way the Collector's file exporter writes it (hex ids,
integer enums, one ``ExportTraceServiceRequest`` per line) or as protobuf's default JSON mapping
(base64 ids, enum names), with snake_case field names, numbers for 64-bit integers, one document."""

from __future__ import annotations

import base64
import gzip
import json
import random
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

T0 = 1_780_000_000_000_000_000  # ns since the epoch (2026-05-28)
MS = 1_000_000
MODELS = ("gpt-4o", "claude-sonnet")


class Recorder:
    """Two services (a gateway and an LLM worker) writing to one in-memory exporter."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracers = {}
        for service in ("gateway", "llm-worker"):
            provider = TracerProvider(resource=Resource.create({"service.name": service, "deployment": "test"}))
            provider.add_span_processor(SimpleSpanProcessor(self.exporter))
            self.tracers[service] = provider.get_tracer("rag.app", "1.0")

    def span(self, service: str, name: str, start: int, end: int, *, parent: Any = None,
             kind: SpanKind = SpanKind.INTERNAL, attributes: dict | None = None,
             status: Status | None = None) -> Any:
        ctx = trace.set_span_in_context(parent) if parent is not None else None
        span = self.tracers[service].start_span(name, context=ctx, kind=kind, start_time=start, attributes=attributes)
        if status is not None:
            span.set_status(status)
        span.end(end_time=end)
        return span

    @property
    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.exporter.get_finished_spans()


def rag_request(rec: Recorder, start: int, rng: random.Random, *, error: bool = False) -> None:
    """A root span, retrieve, rerank and one or two generate spans (GenAI attributes) on the worker."""
    retrieve = rng.randint(5, 40) * MS
    rerank = rng.randint(2, 15) * MS
    generates = [rng.randint(100, 900) * MS for _ in range(rng.choice((1, 1, 2)))]
    total = retrieve + rerank + sum(generates) + 3 * MS
    tier = rng.choice(("free", "pro"))
    root = rec.tracers["gateway"].start_span("POST /ask", kind=SpanKind.SERVER, start_time=start,
                                             attributes={"http.route": "/ask", "user.tier": tier})
    t = start + MS
    rec.span("gateway", "retrieve", t, t + retrieve, parent=root, kind=SpanKind.CLIENT,
             attributes={"retrieval.k": 5, "retrieval.scores": [0.9, 0.5], "db.system": "qdrant"})
    t += retrieve
    rec.span("gateway", "rerank", t, t + rerank, parent=root, attributes={"rerank.kept": 3, "cache.hit": False})
    t += rerank
    for i, duration in enumerate(generates):
        model = rng.choice(MODELS)
        attributes = {"gen_ai.operation.name": "chat", "gen_ai.request.model": model,
                      "gen_ai.response.model": f"{model}-2026", "gen_ai.usage.input_tokens": rng.randint(50, 4000),
                      "gen_ai.usage.output_tokens": rng.randint(10, 800), "gen_ai.request.temperature": 0.2}
        attributes["gen_ai.provider.name" if i == 0 else "gen_ai.system"] = "openai"
        failed = error and i == len(generates) - 1
        rec.span("llm-worker", f"chat {model}", t, t + duration, parent=root, kind=SpanKind.CLIENT,
                 attributes=attributes, status=Status(StatusCode.ERROR, "rate limited") if failed else None)
        t += duration
    if not error:
        root.set_status(Status(StatusCode.OK))
    root.end(end_time=start + total)


def record(n: int, seed: int = 0) -> Recorder:
    rec = Recorder()
    rng = random.Random(seed)
    for i in range(n):
        rag_request(rec, T0 + i * 997 * MS, rng, error=i % 7 == 3)
    return rec


def _hex(value: str) -> str:
    return base64.b64decode(value).hex() if value else value


def _walk(node: Any, fn: Callable[[str, Any], Any]) -> Any:
    if isinstance(node, dict):
        return {k: fn(k, _walk(v, fn)) for k, v in node.items()}
    if isinstance(node, list):
        return [_walk(v, fn) for v in node]
    return node


def requests(spans: Iterable[ReadableSpan], *, batch: int = 7, ids: str = "hex", snake: bool = False,
             numbers: bool = False) -> list[dict]:
    """The spans as ExportTraceServiceRequest dicts of ``batch`` spans each: ``ids="hex"`` as the Collector
    writes (hex ids, integer enums), ``"base64"`` as protobuf's default JSON mapping (base64 ids, enum
    names); ``snake``: proto field names; ``numbers``: 64-bit integers as JSON numbers, not strings."""
    spans = list(spans)
    out = []
    for i in range(0, len(spans), batch):
        message = encode_spans(spans[i:i + batch])
        doc = MessageToDict(message, use_integers_for_enums=ids == "hex", preserving_proto_field_name=snake)
        if ids == "hex":
            doc = _walk(doc, lambda k, v: _hex(v) if k in ("traceId", "spanId", "parentSpanId", "trace_id",
                                                            "span_id", "parent_span_id") else v)
        if numbers:
            doc = _walk(doc, lambda k, v: int(v) if k in ("intValue", "int_value", "startTimeUnixNano",
                                                          "endTimeUnixNano", "start_time_unix_nano",
                                                          "end_time_unix_nano") else v)
        out.append(doc)
    return out


def write_lines(path: Path, docs: Iterable[dict], *, gz: bool = False) -> Path:
    text = "".join(json.dumps(d) + "\n" for d in docs).encode()
    path.write_bytes(gzip.compress(text) if gz else text)
    return path
