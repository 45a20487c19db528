"""From spans to requests: one row per request (a trace) and one row per request and stage.

A request is a trace: its spans share a ``trace_id``. Its start, service and latency are its root
span's (the earliest root when a trace has several); a trace whose root is missing (not exported yet,
or sampled away) keeps a row, flagged ``root_missing``, timed from its earliest start to its latest
end. Tokens are summed over the trace's spans that carry them; a stage's latency is the sum of the
durations of the trace's spans of that stage (spans of one stage that run in parallel add up).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from workbench.engine.inputs import require_columns
from workbench.engine.reserved import PREFIX
from workbench.errors import ConfigError, InputError
from workbench.telemetry.spans import FLAGS, TOKENS, read_spans

STAGE_SOURCES = ("name", "gen_ai.operation.name")
SPAN_FLAGS = tuple(f for f in FLAGS if f != "is_root")
Stage = str | Mapping[str, str]
Prices = Mapping[str, Any]
COST, MODEL, IN, OUT, IN_R, OUT_R = (f"{PREFIX}{n}" for n in ("cost", "model", "in", "out", "in_r", "out_r"))
NEEDED = ("trace_id", "span_id", "name", "start_time", "end_time", "duration_ms", "status_code", "service.name",
          "gen_ai.request.model", "gen_ai.response.model", *TOKENS, *FLAGS)


def _spans(spans: Any) -> pl.LazyFrame:
    lf = spans.lazy() if isinstance(spans, pl.DataFrame | pl.LazyFrame) else read_spans(spans).lazy()
    require_columns(lf.collect_schema(), {c: c for c in NEEDED}, name="spans")
    return lf


def _stage_expr(stage: Stage) -> pl.Expr:
    """The stage of a span (null: not a stage): its name (root spans left out), its
    ``gen_ai.operation.name``, or the stage a mapping gives its name."""
    if isinstance(stage, Mapping):
        bad = {k: v for k, v in stage.items() if not (isinstance(k, str) and isinstance(v, str) and v)}
        if bad or not stage:
            raise ConfigError("The 'stage' parameter of requests_from_spans must map span names to stage names "
                              f"(e.g. {{'retrieve docs': 'retrieve'}}). Got {dict(stage)!r}.")
        return pl.col("name").replace_strict(dict(stage), default=None, return_dtype=pl.String)
    if stage == "name":
        return pl.when(~pl.col("is_root")).then(pl.col("name"))
    if stage == "gen_ai.operation.name":
        return pl.col("gen_ai.operation.name")
    raise ConfigError(f"The 'stage' parameter of requests_from_spans must be one of {list(STAGE_SOURCES)} or a "
                      f"mapping of span names to stages. Got {stage!r}.")


def stages_from_spans(spans: Any, *, stage: Stage = "name") -> pl.DataFrame:
    """One row per request and stage: ``request_id``, ``stage``, ``latency_ms`` (the summed durations of
    the request's spans of that stage), ``spans`` (how many) and ``first_start`` (the earliest of their
    starts); sorted by request and first start.

    ``spans``: the table :func:`read_spans` returns (or a source it reads). ``stage``: ``"name"``
    (each non-root span's name), ``"gen_ai.operation.name"`` (spans that carry it), or a mapping of span
    names to stages (``{"vector search": "retrieve", "cohere rerank": "rerank"}``; other spans are left out).
    """
    return _stages(_spans(spans), _stage_expr(stage)).collect()


def _stages(lf: pl.LazyFrame, stage: pl.Expr) -> pl.LazyFrame:
    return (lf.with_columns(stage.alias("stage")).filter(pl.col("stage").is_not_null())
            .group_by(pl.col("trace_id").alias("request_id"), "stage")
            .agg(pl.col("duration_ms").sum().alias("latency_ms"), pl.len().cast(pl.Int64).alias("spans"),
                 pl.col("start_time").min().alias("first_start"))
            .sort("request_id", "first_start", "stage"))


def requests_from_spans(spans: Any, *, stage: Stage = "name", prices: Prices | None = None) -> pl.DataFrame:
    """One row per request (trace), sorted by start time then id.

    Columns: ``request_id`` (the trace id), ``start_time`` (UTC), ``service.name``, ``model`` (the
    response model, else the request model, of the request's first GenAI span), ``input_tokens`` and
    ``output_tokens`` (summed over its spans; null when none carries a count), ``latency_ms``,
    ``stage_latency`` (list of ``{stage, latency_ms}`` in order of first start: see
    :func:`stages_from_spans`), ``error`` (a span has status error), ``spans`` (count), ``cost`` (when
    ``prices`` is given, in the prices' currency), and the flags ``root_missing``, ``parent_missing``,
    ``clock_skew``, ``negative_duration``, ``invalid_tokens`` (true when a span of the request has it).

    ``prices``: model -> price per 1,000 tokens, as ``{"input": 0.0025, "output": 0.01}`` or a pair
    ``(input, output)``; a span is priced by its response model, else its request model. A model with
    tokens and no price raises :class:`InputError` naming it.
    """
    lf = _spans(spans)
    stages = (_stages(lf, _stage_expr(stage)).group_by("request_id")
              .agg(pl.struct("stage", "latency_ms").sort_by("first_start", "stage").alias("stage_latency")))
    if prices is not None:
        lf = _priced(lf, prices)
    model = pl.coalesce("gen_ai.response.model", "gen_ai.request.model")
    root = pl.col("is_root")
    span_ms = (pl.col("end_time").max() - pl.col("start_time").min()).dt.total_microseconds() / 1000
    summed = [pl.when(pl.col(k).is_not_null().any()).then(pl.col(k).sum()).alias(out)
              for k, out in zip(TOKENS, ("input_tokens", "output_tokens"), strict=True)]
    requests = lf.sort("start_time", "span_id").group_by(pl.col("trace_id").alias("request_id")).agg(
        pl.coalesce(pl.col("start_time").filter(root).first(), pl.col("start_time").min()).alias("start_time"),
        pl.coalesce(pl.col("service.name").filter(root).first(), pl.col("service.name").drop_nulls().first()),
        model.drop_nulls().first().alias("model"), *summed,
        pl.coalesce(pl.col("duration_ms").filter(root).first(), span_ms).alias("latency_ms"),
        (pl.col("status_code") == "error").any().alias("error"), pl.len().cast(pl.Int64).alias("spans"),
        *([pl.col(COST).sum().alias("cost")] if prices is not None else []),
        (~root.any()).alias("root_missing"), *(pl.col(f).any() for f in SPAN_FLAGS),
    )
    out = requests.join(stages, on="request_id", how="left").with_columns(
        pl.col("stage_latency").fill_null(pl.lit([], pl.List(pl.Struct({"stage": pl.String(),
                                                                          "latency_ms": pl.Float64()})))))
    order = ["request_id", "start_time", "service.name", "model", "input_tokens", "output_tokens", "latency_ms",
             "stage_latency", "error", "spans", *(["cost"] if prices is not None else []), "root_missing",
             *SPAN_FLAGS]
    return out.select(order).sort("start_time", "request_id").collect()


def _price_table(prices: Prices) -> pl.DataFrame:
    rows = []
    for model, price in prices.items():
        pair = (price.get("input"), price.get("output")) if isinstance(price, Mapping) else price
        if not (isinstance(model, str) and isinstance(pair, tuple | list) and len(pair) == 2
                and all(isinstance(p, int | float) and not isinstance(p, bool) and p >= 0 for p in pair)):
            raise ConfigError(f"The 'prices' parameter of requests_from_spans must map each model to its price per "
                              f"1,000 tokens, e.g. {{'gpt-4o': {{'input': 0.0025, 'output': 0.01}}}}; got "
                              f"{model!r}: {price!r}.")
        rows.append({MODEL: model, IN: float(pair[0]), OUT: float(pair[1])})
    return pl.DataFrame(rows, schema={MODEL: pl.String, IN: pl.Float64, OUT: pl.Float64})


def _priced(lf: pl.LazyFrame, prices: Prices) -> pl.LazyFrame:
    """Each span's cost (``__cost``): its tokens at its model's price; a model with tokens and no price is refused."""
    table = _price_table(prices).lazy()
    used = pl.any_horizontal(pl.col(k).is_not_null() for k in TOKENS)
    by_response = table.rename({MODEL: "gen_ai.response.model"})
    by_request = table.rename({MODEL: "gen_ai.request.model", IN: IN_R, OUT: OUT_R})
    lf = (lf.join(by_response, on="gen_ai.response.model", how="left", maintain_order="left")
            .join(by_request, on="gen_ai.request.model", how="left", maintain_order="left"))
    price_in, price_out = pl.coalesce(IN, IN_R), pl.coalesce(OUT, OUT_R)
    unknown = (lf.filter(used & price_in.is_null())
               .select(pl.coalesce("gen_ai.response.model", "gen_ai.request.model").unique().sort()).collect())
    if unknown.height:
        names = unknown.to_series().to_list()
        example = next((n for n in names if n is not None), "my-model")
        raise InputError(f"spans: no price for the model(s) {names} (spans with token counts; None: a span without a "
                         f"model attribute). Add them to prices, e.g. prices={{..., {example!r}: {{'input': 0.0025, "
                         "'output': 0.01}}} (per 1,000 tokens), or leave prices out to skip the cost.")
    tokens_in, tokens_out = (pl.col(k).fill_null(0) for k in TOKENS)
    cost = (tokens_in * price_in + tokens_out * price_out) / 1000
    return lf.with_columns(pl.when(used).then(cost).otherwise(0.0).alias(COST))
