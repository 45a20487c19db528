"""The summaries: one lazy aggregation of the request rows per (time window × segment values), per
(entity × window) for usage, per (day × segment values) for the trend, and the per-request
quantiles; every plan collected together (:func:`polars.collect_all`, one read of the rows where
polars can share it). The results are small tables of additive sums; the decisions use only them.

Sums per cell (each a count or a sum over the cell's requests):
``requests``; ``judged`` (``grounded`` not null), ``ungrounded``; ``known`` (relevance known),
``hits`` (a relevant document ranked, among those), ``rr_sum``/``rr_sq`` (1/rank, 0 when none, and
its square); ``retrievals`` (``retrieved`` not null), ``empty`` (``retrieved == 0``); ``rlat_n``,
``rlat_sum``, ``rlat_sq`` (retrieval latency); ``tokens_n`` (requests with both token counts),
``input_tokens``, ``output_tokens``; ``cost_n``, ``cost``; ``errors``; ``latency_sum``/``latency_n``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from workbench.llm import columns as C
from workbench.localize import WINDOW

QUANTILES = (0.5, 0.9, 0.99)


@dataclass(frozen=True)
class Summaries:
    cells: pl.DataFrame  # WINDOW × segments: the sums
    versions: dict[str, pl.DataFrame]  # version column -> WINDOW × segments × version: requests
    usage: dict[str, pl.DataFrame]  # entity (internal) -> entity × WINDOW: requests, tokens, cost
    daily: pl.DataFrame  # day × segments: requests, tokens, cost
    quantiles: pl.DataFrame  # quantity, mean, p50, p90, p99, max
    by_query_type: pl.DataFrame | None  # query type: the sums


def _sums(names: set[str]) -> list[pl.Expr]:
    aggs = [pl.len().cast(pl.Int64).alias("requests")]
    if C.GROUNDED in names:
        g = pl.col(C.GROUNDED)
        aggs += [g.is_not_null().sum().cast(pl.Int64).alias("judged"), (~g).sum().cast(pl.Int64).alias("ungrounded")]
    if C.RANK in names:
        known, rank = pl.col(C.KNOWN), pl.col(C.RANK)
        rr = pl.when(known).then((1.0 / rank).fill_null(0.0))
        aggs += [known.sum().cast(pl.Int64).alias("known"),
                 (known & rank.is_not_null()).sum().cast(pl.Int64).alias("hits"),
                 rr.sum().alias("rr_sum"), (rr**2).sum().alias("rr_sq")]
    if C.RETRIEVED in names:
        r = pl.col(C.RETRIEVED)
        aggs += [r.is_not_null().sum().cast(pl.Int64).alias("retrievals"),
                 (r == 0).sum().cast(pl.Int64).alias("empty")]
    if C.RLAT in names:
        lat = pl.col(C.RLAT)
        aggs += [lat.is_not_null().sum().cast(pl.Int64).alias("rlat_n"), lat.sum().alias("rlat_sum"),
                 (lat**2).sum().alias("rlat_sq")]
    if C.IN in names or C.OUT in names:
        both = pl.all_horizontal([pl.col(c).is_not_null() for c in (C.IN, C.OUT) if c in names])
        aggs += [both.sum().cast(pl.Int64).alias("tokens_n"),
                 *(pl.when(both).then(pl.col(c)).sum().cast(pl.Int64).alias(n)
                   for c, n in ((C.IN, "input_tokens"), (C.OUT, "output_tokens")) if c in names)]
    if C.COST in names:
        aggs += [pl.col(C.COST).is_not_null().sum().cast(pl.Int64).alias("cost_n"), pl.col(C.COST).sum().alias("cost")]
    if C.ERROR in names:
        aggs.append(pl.col(C.ERROR).sum().cast(pl.Int64).alias("errors"))
    if C.LAT in names:
        aggs += [pl.col(C.LAT).is_not_null().sum().cast(pl.Int64).alias("latency_n"),
                 pl.col(C.LAT).sum().alias("latency_sum")]
    return aggs


def tokens_expr(names: set[str]) -> pl.Expr:
    """A request's total tokens (input + output), null unless every token column present has a value."""
    parts = [pl.col(c) for c in (C.IN, C.OUT) if c in names]
    return (parts[0] if len(parts) == 1 else parts[0] + parts[1]).alias("tokens")


def summarize(rows: pl.LazyFrame, segments: list[str], versions: list[str], entities: list[str],
              every: dt.timedelta) -> Summaries:
    """Every summary of the check, collected together."""
    names = set(rows.collect_schema())
    width = int(every.total_seconds() * 1_000_000)
    lf = rows.with_columns((pl.col(C.TS).dt.epoch("us") // width).alias(WINDOW),
                           pl.col(C.TS).dt.truncate("1d").alias("day"))
    sums = _sums(names)
    plans = [lf.group_by(WINDOW, *segments).agg(sums)]
    plans += [lf.group_by(WINDOW, *segments, v).agg(pl.len().cast(pl.Int64).alias("requests")) for v in versions]
    has_tokens = bool({C.IN, C.OUT} & names)
    usage_aggs = [pl.len().cast(pl.Int64).alias("requests")]
    if has_tokens:
        usage_aggs.append(tokens_expr(names).sum().alias("tokens"))
    if C.COST in names:
        usage_aggs.append(pl.col(C.COST).sum().alias("cost"))
    plans += [lf.group_by(e, WINDOW).agg(usage_aggs) for e in entities]
    daily_aggs = [a for a in sums if a.meta.output_name() in ("requests", "tokens_n", "input_tokens", "output_tokens",
                                                               "cost_n", "cost")]
    plans.append(lf.group_by("day", *segments).agg(daily_aggs))
    plans.append(_quantiles(lf, names))
    if C.QTYPE in names:
        plans.append(lf.group_by(C.QTYPE).agg(sums).sort(C.QTYPE))
    done = pl.collect_all(plans)
    n_v, n_e = len(versions), len(entities)
    daily = 1 + n_v + n_e
    return Summaries(done[0], dict(zip(versions, done[1:1 + n_v], strict=True)),
                     dict(zip(entities, done[1 + n_v:daily], strict=True)), done[daily], done[daily + 1],
                     done[daily + 2] if C.QTYPE in names else None)


def _quantiles(lf: pl.LazyFrame, names: set[str]) -> pl.LazyFrame:
    """Per quantity (input, output and total tokens, cost per request): requests with a value,
    mean, median, 90th and 99th percentile (nearest rank) and maximum."""
    quantities = [(n, pl.col(c)) for n, c in (("input_tokens", C.IN), ("output_tokens", C.OUT)) if c in names]
    if {C.IN, C.OUT} <= names:
        quantities.append(("total_tokens", pl.col(C.IN) + pl.col(C.OUT)))
    if C.COST in names:
        quantities.append(("cost", pl.col(C.COST)))
    if not quantities:
        return pl.LazyFrame(schema={"quantity": pl.String})
    frames = []
    for name, expr in quantities:
        x = expr.cast(pl.Float64)
        frames.append(lf.select(
            pl.lit(name).alias("quantity"), x.count().cast(pl.Int64).alias("requests"), x.mean().alias("mean"),
            *(x.quantile(q, interpolation="nearest").alias(f"p{round(q * 100)}") for q in QUANTILES),
            x.max().alias("max")))
    return pl.concat(frames)
