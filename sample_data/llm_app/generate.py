"""Deterministic generator of the LLM-application sample (issue 19): a week of RAG traffic.

Run ``python sample_data/llm_app/generate.py [--seed N] [--size N] [--out DIR] [--no-problems]`` to rewrite
``sample_data/llm_app/`` (``--no-problems``: the same week without the planted problems, null data):

* ``requests.parquet``: one row per request, in the request-table conventions (``request_id``,
  ``timestamp``, ``api_key``, ``user_id``, ``region``, ``query_type``, ``model``, ``model_version``,
  ``prompt_version``, ``input_tokens``, ``output_tokens``, ``cost`` (USD), ``latency_ms``, ``status``,
  ``grounded`` (null when not judged), ``k``, ``retrieved``, ``first_relevant_rank``, ``relevance_known``,
  ``retrieval_latency_ms``);
* ``spans.otlp.jsonl.gz``: the same requests as OpenTelemetry spans (a root ``POST /v1/answer``, then
  ``retrieve``, ``rerank`` and ``chat <model>`` with the GenAI semantic-convention attributes), recorded
  with the OpenTelemetry Python SDK and written as the Collector's file exporter writes them;
* ``prices.yaml``: USD per 1,000 input and output tokens per model;
* ``planted.json``: what was planted (scope, start, end, size) and the decoys, for the tests.

The week runs Monday 2026-11-23 to Sunday 2026-11-29 (UTC); day 1 is the Monday. Planted problems:
ungrounded answers rise from 4% to 11% for ``query_type=billing`` once ``model_version`` switches from
v6 to v7 (day 5, 09:00; exactly these rates, rounded, per query type and model version); the tokens of
``api_key=key_42`` jump ~20x for three hours (day 3, 14:00-17:00: four times its requests, five times the
tokens each); a vector-index rebuild in ``region=apac`` (day 6,
02:00, to the end) halves hit rate@k and raises empty retrievals from 2% to 15%; ``region=eu`` moves
its gpt-4o-mini traffic to gpt-4o (day 4, 12:00, to the end): its cost per request rises ~2.6x.
Decoys (nothing to alert on): ``api_key=key_07`` sends 10x the median key's traffic every day; the
weekend has 40% less traffic; ``prompt_version=rag-v4-canary`` is 30 requests (day 4, 10:00-16:00), all
judged, 3 ungrounded; the judged share goes from 10% to 20% on day 3 at 00:00 with the ungrounded rate
unchanged; generation latency follows a slow day-of-week wave (+-5%).

The simulation is vectorised numpy (``simulate``); ``bench/make_llm_data.py`` runs it at scale, day by day.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

SEED = 20261203
SIZE = 20_000
OUT = Path(__file__).parent
START = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)  # a Monday
DAYS = 7
HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US

REGIONS, REGION_P = ("us", "eu", "apac"), (0.45, 0.30, 0.25)
QUERY_TYPES, QUERY_P = ("billing", "technical", "account", "general"), (0.30, 0.30, 0.15, 0.25)
OUTPUT_MEDIAN = {"billing": 180, "technical": 350, "account": 150, "general": 220}  # tokens
MODELS = ("gpt-4o", "gpt-4o-mini")
PRICES = {"gpt-4o": {"input": 0.0025, "output": 0.01}, "gpt-4o-mini": {"input": 0.00015, "output": 0.0006}}
MS_PER_TOKEN = 16.0  # generation speed, the same for both models: latency moves only where planted
SNAPSHOT = {"v6": "2026-08-06", "v7": "2026-11-20"}  # gen_ai.response.model = f"{model}-{snapshot}"
N_KEYS, USERS_PER_KEY, K = 60, 40, 8
HEAVY_KEY, SPIKE_KEY = 7, 42
PROMPT, CANARY = "rag-v3", "rag-v4-canary"


def _at(day: int, hour: float = 0) -> dt.datetime:
    """Day ``day`` (1 = the Monday) at ``hour`` UTC."""
    return START + dt.timedelta(days=day - 1, hours=hour)


def _us(when: dt.datetime) -> int:
    """Microseconds since START."""
    return (when - START) // dt.timedelta(microseconds=1)


V7_AT = _at(5, 9)
SPIKE = (_at(3, 14), _at(3, 17))
REBUILD_AT = _at(6, 2)
EU_SWITCH_AT = _at(4, 12)
CANARY_WINDOW = (_at(4, 10), _at(4, 16))
JUDGE_MORE_AT = _at(3)
UNGROUNDED, UNGROUNDED_PLANTED = 0.04, 0.11
HIT, HIT_REBUILT = 0.82, 0.47  # P(a relevant document is retrieved | relevance known, retrieval not empty)
EMPTY, EMPTY_REBUILT = 0.02, 0.15
JUDGED, JUDGED_LATER = 0.10, 0.20
RELEVANCE_KNOWN, ERROR = 0.30, 0.01
WEEKEND = 0.6
SPIKE_REQUESTS, SPIKE_TOKENS = 4, 5


def hourly_weights() -> np.ndarray:
    """Relative traffic of each hour of the week: a diurnal wave peaking at 15:00 UTC, weekends at 60%."""
    hours = np.arange(DAYS * 24)
    diurnal = 1 + 0.6 * np.sin(2 * np.pi * (hours % 24 - 9) / 24)
    return diurnal * np.where(hours // 24 >= 5, WEEKEND, 1.0)


def key_weights() -> np.ndarray:
    """Each API key's share of the traffic: lognormal spread, key_07 at 10x the median, key_42 at the median."""
    w = np.random.default_rng(SEED).lognormal(0, 0.5, N_KEYS)
    median = np.median(np.delete(w, [HEAVY_KEY, SPIKE_KEY]))
    w[HEAVY_KEY], w[SPIKE_KEY] = 10 * median, median
    return w / w.sum()


def _timestamps(rng: np.random.Generator, n: int, hours: np.ndarray) -> np.ndarray:
    """``n`` sorted request times (µs since START) over the given hours of the week, by hourly_weights."""
    w = hourly_weights()[hours]
    hour = hours[rng.choice(len(hours), n, p=w / w.sum())]
    return np.sort(hour * HOUR_US + rng.integers(0, HOUR_US, n))


def _hex_ids(rng: np.random.Generator, n: int, nbytes: int) -> pl.Series:
    """``n`` random ids of ``nbytes`` bytes as lower-case hex text."""
    import pyarrow as pa

    raw = rng.integers(0, 256, (n, nbytes), dtype=np.uint8)
    raw[:, -1] |= 1  # never all zeros (an invalid id)
    ids = pa.FixedSizeBinaryArray.from_buffers(pa.binary(nbytes), n, [None, pa.py_buffer(raw.tobytes())])
    return pl.Series(pl.from_arrow(ids)).cast(pl.Binary).bin.encode("hex")


def _lognormal_us(rng: np.random.Generator, median_ms: float, sigma: float, n: int) -> np.ndarray:
    return np.round(rng.lognormal(np.log(median_ms * 1000), sigma, n)).astype(np.int64)


def simulate(seed: int = SEED, size: int = SIZE, *, days: tuple[int, ...] = tuple(range(1, DAYS + 1)),
             canary: bool = True, problems: bool = True) -> pl.DataFrame:
    """The request table of ``size`` requests over the week (the requests falling in ``days`` only when a
    subset is given: the bench simulates day by day), sorted by time; the span layout rides along in
    columns starting with ``_`` (see :data:`SPAN_PLAN`), dropped by :func:`request_table`.

    ``canary``: plant the 30-request canary decoy (on day 4). ``problems=False``: the same week without the
    four planted problems (v7 still ships, with no effect; the decoys stay): null data for alarm-rate checks.
    Deterministic in (seed, size, days, canary, problems).
    """
    rng = np.random.default_rng([seed, *days])
    hours = np.concatenate([np.arange((d - 1) * 24, d * 24) for d in days])
    share = np.concatenate([[0], np.cumsum(hourly_weights())]) / hourly_weights().sum()
    n = sum(round(size * share[d * 24]) - round(size * share[(d - 1) * 24]) for d in days)  # days add up to size
    t = _timestamps(rng, n, hours)
    c: dict[str, Any] = {"t": t, "problems": problems}
    _segments(rng, c)
    _keys(rng, c)
    _retrieval(rng, c)
    _tokens(rng, c)
    _latency(rng, c)
    if canary and 4 in days:
        _canary(rng, c)
    _judgments(rng, c)
    return _frame(rng, c)


LEVELS = {"region": REGIONS, "query_type": QUERY_TYPES, "model": MODELS, "model_version": ("v6", "v7"),
          "prompt_version": (PROMPT, CANARY), "status": ("ok", "error")}  # the simulation keeps codes (indices)


def _is(c: dict[str, Any], column: str, value: str) -> np.ndarray:
    """Rows of the simulated column (codes) equal to ``value``."""
    return c[column] == LEVELS[column].index(value)


def _segments(rng: np.random.Generator, c: dict[str, Any]) -> None:
    n, t = len(c["t"]), c["t"]
    c["region"] = rng.choice(len(REGIONS), n, p=REGION_P)
    c["query_type"] = rng.choice(len(QUERY_TYPES), n, p=QUERY_P)
    switched = _is(c, "region", "eu") & (t >= _us(EU_SWITCH_AT)) & c["problems"]
    small = ~_is(c, "query_type", "technical") & ~switched
    c["model"] = small.astype(np.int64)
    c["model_version"] = (t >= _us(V7_AT)).astype(np.int64)
    c["prompt_version"] = np.zeros(n, np.int64)
    c["status"] = (rng.random(n) < ERROR).astype(np.int64)


def _keys(rng: np.random.Generator, c: dict[str, Any]) -> None:
    """API keys by their weights; in the spike window key_42's weight is multiplied by SPIKE_REQUESTS."""
    n, t = len(c["t"]), c["t"]
    w = key_weights()
    key = rng.choice(N_KEYS, n, p=w)
    spiking = (t >= _us(SPIKE[0])) & (t < _us(SPIKE[1])) & c["problems"]
    boosted = w.copy()
    boosted[SPIKE_KEY] *= SPIKE_REQUESTS
    key = np.where(spiking, rng.choice(N_KEYS, n, p=boosted / boosted.sum()), key)
    c["key"], c["spiking"] = key, spiking & (key == SPIKE_KEY)
    c["user"] = rng.integers(0, USERS_PER_KEY, n)


def _retrieval(rng: np.random.Generator, c: dict[str, Any]) -> None:
    n, t = len(c["t"]), c["t"]
    rebuilt = _is(c, "region", "apac") & (t >= _us(REBUILD_AT)) & c["problems"]
    empty = rng.random(n) < np.where(rebuilt, EMPTY_REBUILT, EMPTY)
    partial = rng.random(n) < 0.1
    c["retrieved"] = np.where(empty, 0, np.where(partial, rng.integers(1, K, n), K))
    c["relevance_known"] = rng.random(n) < RELEVANCE_KNOWN
    hit = c["relevance_known"] & ~empty & (rng.random(n) < np.where(rebuilt, HIT_REBUILT, HIT))
    rank = np.minimum(rng.geometric(0.55, n), np.maximum(c["retrieved"], 1))
    c["first_relevant_rank"] = np.where(hit, rank, -1)


def _tokens(rng: np.random.Generator, c: dict[str, Any]) -> None:
    """Input: a 350-token prompt plus ~220 per retrieved document; output: lognormal by query type."""
    n = len(c["t"])
    per_doc = rng.lognormal(np.log(220), 0.35, n)
    tokens_in = np.round(350 + rng.normal(0, 40, n).clip(-200, 200) + c["retrieved"] * per_doc)
    median_out = np.array([OUTPUT_MEDIAN[q] for q in QUERY_TYPES])[c["query_type"]]
    tokens_out = np.round(rng.lognormal(np.log(median_out), 0.6, n)).clip(5, 4000)
    grow = np.where(c["spiking"], SPIKE_TOKENS, 1)
    tokens_out = np.where(_is(c, "status", "error"), 0, tokens_out * grow)
    c["input_tokens"], c["output_tokens"] = (tokens_in * grow).astype(np.int64), tokens_out.astype(np.int64)
    price_in = np.array([PRICES[m]["input"] for m in MODELS])[c["model"]]
    price_out = np.array([PRICES[m]["output"] for m in MODELS])[c["model"]]
    c["cost"] = (c["input_tokens"] * price_in + c["output_tokens"] * price_out) / 1000


def latency_wave(t_us: np.ndarray) -> np.ndarray:
    """The day-of-week latency decoy: generation time x (1 + 5% cos), slowest Thursday noon, fastest Sunday night."""
    days = t_us / DAY_US
    return 1 + 0.05 * np.cos(2 * np.pi * (days - 3.5) / 7)


def _latency(rng: np.random.Generator, c: dict[str, Any]) -> None:
    """Span layout in µs: pre, retrieve, rerank, generate, post (the root span is their sum)."""
    n = len(c["t"])
    c["pre_us"] = rng.integers(500, 4000, n)
    c["retrieve_us"] = _lognormal_us(rng, 40, 0.4, n)
    c["rerank_us"] = _lognormal_us(rng, 12, 0.3, n)
    generate_ms = (250 + np.maximum(c["output_tokens"], 20) * MS_PER_TOKEN) * rng.lognormal(0, 0.2, n)
    c["generate_us"] = np.round(generate_ms * 1000 * latency_wave(c["t"])).astype(np.int64)
    c["post_us"] = rng.integers(300, 2000, n)


def _judgments(rng: np.random.Generator, c: dict[str, Any]) -> None:
    """A judged sample (10%, 20% from day 3) of the ok requests. Ungrounded: exactly 4% (rounded) of the
    judged requests of each query type and model version, 11% for billing on v7, at random rows (so days,
    regions and keys vary around these rates); the canary's rows are its own (see _canary)."""
    n, t = len(c["t"]), c["t"]
    canary = _is(c, "prompt_version", CANARY)
    judged = _is(c, "status", "ok") & (rng.random(n) < np.where(t >= _us(JUDGE_MORE_AT), JUDGED_LATER, JUDGED))
    block = c["query_type"] * len(LEVELS["model_version"]) + c["model_version"]
    rate = np.full(len(QUERY_TYPES) * len(LEVELS["model_version"]), UNGROUNDED)
    rate[QUERY_TYPES.index("billing") * len(LEVELS["model_version"]) + LEVELS["model_version"].index("v7")] = \
        UNGROUNDED_PLANTED if c["problems"] else UNGROUNDED
    ungrounded = _exactly(rng, block, judged & ~canary, rate)
    chosen = np.flatnonzero(canary)
    ungrounded[chosen[rng.choice(len(chosen), 3, replace=False)] if len(chosen) else chosen] = True
    c["judged"], c["grounded"] = judged | canary, ~ungrounded


def _exactly(rng: np.random.Generator, block: np.ndarray, eligible: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """True for exactly round(rate[b] * eligible rows of block b) rows of each block b, chosen at random."""
    rows = np.flatnonzero(eligible)
    order = np.lexsort((rng.random(len(rows)), block[rows]))
    blocks = block[rows][order]
    rank = np.arange(len(rows)) - np.searchsorted(blocks, blocks, side="left")
    quota = np.round(rate * np.bincount(blocks, minlength=len(rate)))
    out = np.zeros(len(block), bool)
    out[rows[order]] = rank < quota[blocks]
    return out


def _canary(rng: np.random.Generator, c: dict[str, Any]) -> None:
    """30 ok requests in the canary window get prompt_version rag-v4-canary (all judged, 3 ungrounded: _judgments)."""
    t = c["t"]
    window = np.flatnonzero((t >= _us(CANARY_WINDOW[0])) & (t < _us(CANARY_WINDOW[1])) & _is(c, "status", "ok")
                            & ~c["spiking"])
    chosen = np.sort(rng.choice(window, 30, replace=False))
    c["prompt_version"][chosen] = LEVELS["prompt_version"].index(CANARY)


SPAN_PLAN = ("_pre_us", "_retrieve_us", "_rerank_us", "_generate_us", "_post_us", "_span_ids")


def _frame(rng: np.random.Generator, c: dict[str, Any]) -> pl.DataFrame:
    n = len(c["t"])
    latency_us = c["pre_us"] + c["retrieve_us"] + c["rerank_us"] + c["generate_us"] + c["post_us"]
    keys = [f"key_{i:02d}" for i in range(N_KEYS)]
    frame = pl.DataFrame({
        "request_id": _hex_ids(rng, n, 16),
        "timestamp": np.datetime64(START.replace(tzinfo=None), "us") + c["t"].astype("timedelta64[us]"),
        "api_key": pl.Series(keys).gather(c["key"]), "user_id": c["user"],
        **{name: pl.Series(levels).gather(c[name]) for name, levels in LEVELS.items()},
        "input_tokens": c["input_tokens"], "output_tokens": c["output_tokens"], "cost": c["cost"],
        "latency_ms": latency_us / 1000, "grounded": c["grounded"], "judged": c["judged"],
        "k": np.full(n, K, np.int64), "retrieved": c["retrieved"].astype(np.int64),
        "first_relevant_rank": c["first_relevant_rank"].astype(np.int64),
        "relevance_known": c["relevance_known"], "retrieval_latency_ms": c["retrieve_us"] / 1000,
        "_pre_us": c["pre_us"], "_retrieve_us": c["retrieve_us"], "_rerank_us": c["rerank_us"],
        "_generate_us": c["generate_us"], "_post_us": c["post_us"],
        "_span_ids": _hex_ids(rng, 4 * n, 8).reshape((n, 4)).cast(pl.List(pl.String)),
    })
    return frame.with_columns(
        pl.col("timestamp").dt.replace_time_zone("UTC"),
        pl.format("u{}-{}", pl.col("api_key").str.slice(4), "user_id").alias("user_id"),
        pl.when(pl.col("judged")).then(pl.col("grounded")).alias("grounded"),
        pl.col("first_relevant_rank").replace(-1, None),
    ).drop("judged")


COLUMNS = ("request_id", "timestamp", "api_key", "user_id", "region", "query_type", "model", "model_version",
           "prompt_version", "input_tokens", "output_tokens", "cost", "latency_ms", "status", "grounded", "k",
           "retrieved", "first_relevant_rank", "relevance_known", "retrieval_latency_ms")


def request_table(simulated: pl.DataFrame) -> pl.DataFrame:
    """The request table users have: the simulated frame without its span layout."""
    return simulated.select(COLUMNS)


ROOT_NAME, SCOPE = "POST /v1/answer", ("rag.app", "2.3.0")
RESOURCE = {"service.name": "rag-api", "service.version": "2.3.0", "deployment.environment.name": "prod"}
BATCH = 50  # requests per exported line (one ExportTraceServiceRequest)


def span_layout(simulated: pl.DataFrame) -> pl.DataFrame:
    """One row per span (4 per request) with its ids, times (ns since the epoch), kind, status and
    attributes: what both OTLP writers (the SDK one here, the polars one in the bench) export."""
    start_ns = pl.col("timestamp").dt.epoch("us") * 1000
    ends = [pl.col(c) * 1000 for c in ("_pre_us", "_retrieve_us", "_rerank_us", "_generate_us")]
    t1 = start_ns + ends[0]
    t2 = t1 + ends[1]
    t3 = t2 + ends[2]
    t4 = t3 + ends[3]
    ids = pl.col("_span_ids")
    error = pl.col("status") == "error"
    common = {"trace_id": pl.col("request_id"), "row": pl.int_range(pl.len())}
    root = simulated.select(**common, order=pl.lit(0), span_id=ids.list.get(0), parent=pl.lit(None, pl.String),
                            name=pl.lit(ROOT_NAME), start=start_ns, end=t4 + pl.col("_post_us") * 1000, error=error)
    stages = [("retrieve", t1, t2, 1), ("rerank", t2, t3, 2), ("generate", t3, t4, 3)]
    parts = [root] + [simulated.select(**common, order=pl.lit(i), span_id=ids.list.get(i), parent=ids.list.get(0),
                                       name=pl.lit(n) if n != "generate" else pl.format("chat {}", "model"),
                                       start=a, end=b, error=error if n == "generate" else pl.lit(False))
                      for n, a, b, i in stages]
    attrs = simulated.select(
        pl.int_range(pl.len()).alias("row"), "api_key", "user_id", "region", "query_type", "model",
        "model_version", "prompt_version", "k", "retrieved", "input_tokens", "output_tokens",
        pl.format("{}-{}", "model", pl.col("model_version").replace_strict(SNAPSHOT)).alias("response_model"))
    return (pl.concat(parts).join(attrs, on="row").sort("row", "order")
            .with_columns(pl.col("order").cast(pl.Int8)))


def _attributes(span: dict[str, Any]) -> dict[str, Any]:
    """The attributes each span carries (GenAI semantic conventions on the generate span)."""
    if span["order"] == 0:
        return {"http.request.method": "POST", "http.route": "/v1/answer",
                "http.response.status_code": 500 if span["error"] else 200, "user.id": span["user_id"],
                "app.api_key": span["api_key"], "app.region": span["region"], "app.query_type": span["query_type"],
                "app.model_version": span["model_version"], "app.prompt_version": span["prompt_version"]}
    if span["order"] == 1:
        return {"db.system": "qdrant", "db.operation.name": "search", "retrieval.k": span["k"],
                "retrieval.returned": span["retrieved"]}
    if span["order"] == 2:
        return {"rerank.model": "bge-reranker-v2", "rerank.kept": min(span["retrieved"], 4)}
    return {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
            "gen_ai.request.model": span["model"], "gen_ai.response.model": span["response_model"],
            "gen_ai.usage.input_tokens": span["input_tokens"], "gen_ai.usage.output_tokens": span["output_tokens"],
            "gen_ai.request.temperature": 0.1}


class _Ids:
    """An OpenTelemetry IdGenerator handing out the planned ids, in the order the SDK asks for them."""

    def __init__(self) -> None:
        self.trace: Iterator[int] = iter(())
        self.span: Iterator[int] = iter(())

    def generate_trace_id(self) -> int:
        return next(self.trace)

    def generate_span_id(self) -> int:
        return next(self.span)

    def is_trace_id_random(self) -> bool:
        return True


def write_otlp_sdk(layout: pl.DataFrame, path: Path) -> Path:
    """Record the spans with the OpenTelemetry Python SDK and write them gzipped as the Collector's file
    exporter writes OTLP/JSON: one ExportTraceServiceRequest of BATCH requests per line, hex ids,
    integer enums, 64-bit integers as strings (the OTLP exporters' own encoder, ``encode_spans``)."""
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind, Status, StatusCode

    ids = _Ids()
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource(RESOURCE), id_generator=ids)  # type: ignore[arg-type]
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer(*SCOPE)
    kinds = (SpanKind.SERVER, SpanKind.CLIENT, SpanKind.INTERNAL, SpanKind.CLIENT)
    lines = []
    rows = layout.iter_rows(named=True)
    for spans in _batches(rows, 4 * BATCH):
        ids.trace = (int(s["trace_id"], 16) for s in spans[::4])
        ids.span = (int(s["span_id"], 16) for s in spans)
        for i in range(0, len(spans), 4):
            root_row = spans[i]
            root = tracer.start_span(ROOT_NAME, kind=SpanKind.SERVER, start_time=root_row["start"],
                                     attributes=_attributes(root_row))
            context = trace.set_span_in_context(root)
            for s in spans[i + 1:i + 4]:
                child = tracer.start_span(s["name"], context=context, kind=kinds[s["order"]], start_time=s["start"],
                                          attributes=_attributes(s))
                if s["error"]:
                    child.set_status(Status(StatusCode.ERROR, "upstream model error"))
                child.end(end_time=s["end"])
            root.set_status(Status(StatusCode.ERROR if root_row["error"] else StatusCode.OK))
            root.end(end_time=root_row["end"])
        lines.append(_encode(exporter.get_finished_spans()))
        exporter.clear()
    path.write_bytes(gzip.compress("".join(lines).encode(), mtime=0))
    return path


def _batches(rows: Iterator[dict[str, Any]], n: int) -> Iterator[list[dict[str, Any]]]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == n:
            yield batch
            batch = []
    if batch:
        yield batch


def _encode(spans: Any) -> str:
    """One JSON line as the Collector's file exporter writes it (hex ids, integer enums)."""
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    doc = MessageToDict(encode_spans(spans), use_integers_for_enums=True)
    for resource in doc["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return json.dumps(doc, separators=(",", ":")) + "\n"


def prices_yaml() -> str:
    """prices.yaml: USD per 1,000 tokens per model (``requests_from_spans(prices=...)`` reads this mapping)."""
    lines = ["# USD per 1,000 tokens, by model (the request table's `model`, the spans' gen_ai.request.model)"]
    for model, price in PRICES.items():
        lines.append(f"{model}:\n  input: {price['input']}\n  output: {price['output']}")
    return "\n".join(lines) + "\n"


def _window(a: dt.datetime, b: dt.datetime | None = None) -> list[str]:
    return [a.isoformat(), (b or _at(DAYS + 1)).isoformat()]


def planted(table: pl.DataFrame | pl.LazyFrame, *, problems: bool = True) -> dict[str, Any]:
    """What was planted and the decoys, with their exact scope, window and size (counted in ``table``);
    ``problems=False``: the table was simulated without the problems (only the decoys are listed)."""
    table = table.lazy()

    def count(*conditions: pl.Expr) -> int:
        return table.filter(*conditions).select(pl.len()).collect().item()

    def between(window: list[str]) -> pl.Expr:
        a, b = (dt.datetime.fromisoformat(w) for w in window)
        return pl.col("timestamp").is_between(a, b, closed="left")

    billing = _window(V7_AT)
    spike = _window(*SPIKE)
    rebuild = _window(REBUILD_AT)
    eu = _window(EU_SWITCH_AT)
    canary = table.filter(pl.col("prompt_version") == CANARY).collect()
    out: dict[str, Any] = {
        "start": START.isoformat(), "end": _at(DAYS + 1).isoformat(), "requests": count(),
        "hallucination_rate_increase": {
            "segment": {"query_type": "billing"}, "cause": {"model_version": "v7"}, "window": billing,
            "ungrounded_rate": [UNGROUNDED, UNGROUNDED_PLANTED], "requests": count(between(billing),
                                                                                    pl.col("query_type") == "billing"),
            "judged": count(between(billing), pl.col("query_type") == "billing", pl.col("grounded").is_not_null())},
        "token_spike": {"segment": {"api_key": f"key_{SPIKE_KEY:02d}"}, "window": spike, "factor": 20,
                        "requests_factor": SPIKE_REQUESTS, "tokens_per_request_factor": SPIKE_TOKENS,
                        "requests": count(between(spike), pl.col("api_key") == f"key_{SPIKE_KEY:02d}")},
        "retrieval_quality_drop": {"segment": {"region": "apac"}, "window": rebuild, "cause": "vector index rebuild",
                                   "hit_rate_given_relevance_known": [round(HIT * (1 - EMPTY), 4),
                                                                      round(HIT_REBUILT * (1 - EMPTY_REBUILT), 4)],
                                   "empty_rate": [EMPTY, EMPTY_REBUILT],
                                   "requests": count(between(rebuild), pl.col("region") == "apac")},
        "cost_increase": {"segment": {"region": "eu"}, "window": eu, "cause": {"model": ["gpt-4o-mini", "gpt-4o"]},
                          "requests": count(between(eu), pl.col("region") == "eu")},
        "decoys": {
            "heavy_api_key": {"segment": {"api_key": f"key_{HEAVY_KEY:02d}"}, "times_median_key": 10},
            "weekend": {"days": _window(_at(6)), "traffic_factor": WEEKEND},
            "tiny_segment": {"segment": {"prompt_version": CANARY}, "window": _window(*CANARY_WINDOW),
                             "requests": canary.height, "judged": canary["grounded"].count(),
                             "ungrounded": int((~canary["grounded"]).sum())},
            "judged_share": {"from": JUDGED, "to": JUDGED_LATER, "at": JUDGE_MORE_AT.isoformat(),
                             "ungrounded_rate": UNGROUNDED},
            "latency_day_of_week": {"amplitude": 0.05, "slowest": _at(4, 12).isoformat(),
                                    "fastest": _at(8).isoformat(), "applies_to": "generation time"},
        },
    }
    if not problems:
        out = {"start": out["start"], "end": out["end"], "requests": out["requests"], "problems": None,
               "decoys": out["decoys"]}
    return out


def write(out: Path = OUT, *, seed: int = SEED, size: int = SIZE, problems: bool = True) -> dict[str, Path]:
    """Write the four files into ``out`` (created; the generator itself is left alone) and return their paths.
    ``problems=False``: the week without the planted problems (see :func:`simulate`)."""
    out.mkdir(parents=True, exist_ok=True)
    simulated = simulate(seed, size, problems=problems)
    table = request_table(simulated)
    paths = {"requests": out / "requests.parquet", "spans": out / "spans.otlp.jsonl.gz",
             "prices": out / "prices.yaml", "planted": out / "planted.json"}
    table.write_parquet(paths["requests"], statistics=False)
    write_otlp_sdk(span_layout(simulated), paths["spans"])
    paths["prices"].write_text(prices_yaml())
    paths["planted"].write_text(json.dumps(planted(table, problems=problems), indent=2) + "\n")
    return paths


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED}: the shipped files)")
    ap.add_argument("--size", type=int, default=SIZE, help=f"requests in the week (default {SIZE:,})")
    ap.add_argument("--out", type=Path, default=OUT, help="folder to write (default: this one)")
    ap.add_argument("--no-problems", action="store_true", help="leave the planted problems out (null data)")
    a = ap.parse_args(argv)
    write(a.out, seed=a.seed, size=a.size, problems=not a.no_problems)


if __name__ == "__main__":
    main()
