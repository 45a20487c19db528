"""Generate a realistic OTLP/JSON trace export of RAG requests and the same spans as parquet.

    python bench/gen_traces_data.py --mb 1000 --out bench/data/traces/1000

Each request is a trace of 4 or 5 spans: ``POST /ask`` (server, service ``gateway``), ``retrieve``
(client, vector search attributes), ``rerank`` (internal) and one or two ``chat <model>`` spans
(client, service ``llm-worker``, GenAI attributes: operation, provider, request and response model,
input and output tokens, temperature). The export is written as the OpenTelemetry Collector's file
exporter writes it: JSON lines, each one ``ExportTraceServiceRequest`` of a batch of 100 requests
(two resources, hex ids, integer enums, 64-bit integers as strings), until the file reaches ``--mb``
megabytes. ``spans.parquet`` holds the same spans as ``read_spans`` returns them. Deterministic (seeded).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

T0 = 1_780_000_000_000_000_000
MS = 1_000_000
MODELS = ("gpt-4o", "gpt-4o-mini", "claude-sonnet", "llama-3-70b")
ROUTES = ("/ask", "/chat", "/search")


def _kv(key: str, value: object) -> dict:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": value}}


def _span(trace: str, span: str, parent: str, name: str, kind: int, start: int, end: int, attrs: dict,
          error: bool = False) -> dict:
    out = {"traceId": trace, "spanId": span, "name": name, "kind": kind, "startTimeUnixNano": str(start),
           "endTimeUnixNano": str(end), "attributes": [_kv(k, v) for k, v in attrs.items()],
           "status": {"code": 2, "message": "upstream error"} if error else {}}
    if parent:
        out["parentSpanId"] = parent
    return out


def request(rng: random.Random, start: int) -> tuple[list[dict], list[dict]]:
    """One RAG request: (the gateway's spans, the LLM worker's spans)."""
    trace = f"{rng.getrandbits(128):032x}"
    ids = [f"{rng.getrandbits(64):016x}" for _ in range(5)]
    retrieve, rerank = rng.randint(5, 60) * MS, rng.randint(2, 20) * MS
    generates = [int(rng.lognormvariate(6, 0.6)) * MS for _ in range(1 if rng.random() < 0.8 else 2)]
    error = rng.random() < 0.02
    total = retrieve + rerank + sum(generates) + 2 * MS
    root = {"http.route": rng.choice(ROUTES), "http.response.status_code": 500 if error else 200,
            "user.id": f"u{rng.randint(1, 50_000)}", "app.query_type": rng.choice(("billing", "tech", "other"))}
    gateway = [_span(trace, ids[0], "", "POST /ask", 2, start, start + total, root, error)]
    t = start + MS
    gateway.append(_span(trace, ids[1], ids[0], "retrieve", 3, t, t + retrieve,
                         {"db.system": "qdrant", "retrieval.k": 8, "retrieval.empty": rng.random() < 0.03}))
    t += retrieve
    gateway.append(_span(trace, ids[2], ids[0], "rerank", 1, t, t + rerank, {"rerank.kept": rng.randint(1, 8)}))
    t += rerank
    worker = []
    for i, duration in enumerate(generates):
        model = rng.choice(MODELS)
        worker.append(_span(trace, ids[3 + i], ids[0], f"chat {model}", 3, t, t + duration, {
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai" if model.startswith("gpt") else "other",
            "gen_ai.request.model": model, "gen_ai.response.model": f"{model}-2026-01",
            "gen_ai.usage.input_tokens": rng.randint(200, 6000), "gen_ai.usage.output_tokens": rng.randint(20, 900),
            "gen_ai.request.temperature": 0.2}, error and i == len(generates) - 1))
        t += duration
    return gateway, worker


def _resource(service: str, spans: list[dict]) -> dict:
    return {"resource": {"attributes": [_kv("service.name", service), _kv("deployment.environment", "prod"),
                                        _kv("telemetry.sdk.language", "python")]},
            "scopeSpans": [{"scope": {"name": "rag.app", "version": "1.4.0"}, "spans": spans}]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=1000)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20)
    target, written, n = a.mb * 1_000_000, 0, 0
    path = a.out / "export.jsonl"
    with open(path, "w") as fh:
        while written < target:
            gateway, worker = [], []
            for _ in range(100):
                g, w = request(rng, T0 + n * 37 * MS)
                gateway += g
                worker += w
                n += 1
            line = json.dumps({"resourceSpans": [_resource("gateway", gateway), _resource("llm-worker", worker)]},
                              separators=(",", ":")) + "\n"
            fh.write(line)
            written += len(line)
    from workbench.telemetry import read_spans

    spans = read_spans(path)
    spans.write_parquet(a.out / "spans.parquet")
    print(json.dumps({"requests": n, "spans": spans.height, "json_mb": round(written / 1e6),
                      "parquet_mb": round((a.out / "spans.parquet").stat().st_size / 1e6)}))


if __name__ == "__main__":
    main()
