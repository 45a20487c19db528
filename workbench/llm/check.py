"""``check_llm``: answer quality, usage and retrieval of an LLM application, from its request log.

The rule
--------
The request rows are summarized once into small tables of additive sums (per time window ×
segment values, per entity × window, per day × segment values; :mod:`workbench.llm.summaries`),
and every decision is made on those:

* ``hallucination_rate_increase`` and ``retrieval_quality_drop``: every scope (all traffic, each
  segment value, each combination of up to ``depth`` of them) × window against the same scope's
  other windows, with :mod:`workbench.localize` (Benjamini–Hochberg at ``fdr`` per family, recent
  spans, merging, explaining away, hierarchy folding; :mod:`workbench.llm.quality`);
* ``token_spike`` and ``cost_increase``: every API key, user and segment value against its own
  per-window history on a log scale (:mod:`workbench.llm.usage`).

Parts whose columns are absent are skipped and named in the result's ``parameters["skipped"]``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from workbench import params
from workbench.engine.fingerprints import summarize_input
from workbench.engine.inputs import FrameLike
from workbench.errors import ConfigError
from workbench.findings.model import CheckResult, Finding
from workbench.llm import columns as C
from workbench.llm.prepare import Prices, prepare
from workbench.llm.quality import MARGINS, Search, hallucinations, retrieval
from workbench.llm.summaries import Summaries, summarize
from workbench.llm.usage import Spikes, spikes, word
from workbench.localize import WINDOW, window_start
from workbench.stats import wilson_interval


@dataclass(frozen=True)
class LLMResult(CheckResult):
    """A :class:`~workbench.findings.CheckResult` with ``summary``: the run in a few sentences
    (requests, judged share, ungrounded rate, cost, top alert)."""

    summary: str = ""


def check_llm(
    requests: FrameLike,
    *,
    judgments: FrameLike | None = None,
    request_id: str | None = "request_id",
    timestamp: str = "timestamp",
    api_key: str | None = "api_key",
    user_id: str | None = "user_id",
    model: str | None = "model",
    input_tokens: str | None = "input_tokens",
    output_tokens: str | None = "output_tokens",
    cost: str | None = "cost",
    latency_ms: str | None = "latency_ms",
    status: str | None = "status",
    grounded: str | None = "grounded",
    grounded_threshold: float | None = None,
    k: str | None = "k",
    retrieved: str | None = "retrieved",
    first_relevant_rank: str | None = "first_relevant_rank",
    relevance_known: str | None = "relevance_known",
    retrieval_latency_ms: str | None = "retrieval_latency_ms",
    query_type: str | None = "query_type",
    by: str | Sequence[str] | None = None,
    versions: str | Sequence[str] | None = None,
    depth: int = 2,
    window: str | dt.timedelta = "1h",
    prices: Prices | None = None,
    currency: str = "USD",
    min_support: int = 50,
    margins: Mapping[str, float] | None = None,
    confidence: float = 0.95,
    fdr: float = params.DEFAULT_FDR,
    spike_factor: float = 3.0,
    min_share: float = 0.1,
    min_windows: int = 24,
) -> LLMResult:
    """Check an LLM application's request log (``requests``: a polars, pandas or arrow frame, a
    duckdb relation, or a parquet/CSV path; one row per request).

    Columns, each a keyword (defaults: the request-log convention; an optional column left at its
    default name and absent skips its part, said in ``parameters["skipped"]``): ``timestamp``
    (required; a naive time is read as UTC), ``api_key``, ``user_id``, ``model``, ``input_tokens``
    and ``output_tokens`` (integers; null: left out of the token statistics and counted), ``cost``
    (per request, in ``currency``; else computed from ``prices``: model -> price per 1,000 tokens,
    ``{"gpt-4o": {"input": 0.0025, "output": 0.01}}``), ``latency_ms``, ``status`` ("ok" or not),
    ``grounded`` (true/false, null when not judged; or a score in [0, 1] with
    ``grounded_threshold``: at or above it is grounded), ``k``, ``retrieved`` (documents returned;
    0 = empty), ``first_relevant_rank`` (1..k, null when none), ``relevance_known``,
    ``retrieval_latency_ms``, ``query_type``. ``judgments``: a separate table of ``request_id``
    and ``grounded`` joined on the id (ids not in ``requests`` are reported). ``by``: the segment
    columns (default: those of region, query_type, model present), combined up to ``depth``;
    ``versions``: the version columns an alert is aligned with (default: model_version,
    prompt_version present).

    Decisions: ``window`` (default 1 hour) per cell; ``min_support`` rows on each side of a
    tested cell (judged requests for the ungrounded rate); ``margins``: the smallest change worth
    an alert per metric (defaults :data:`workbench.llm.quality.MARGINS`: points for rates, relative
    for MRR and latency); ``fdr`` the false-discovery rate of every family; usage spikes need
    ``min_windows`` active windows of history, ``spike_factor`` times the usual total, and an extra
    of at least ``min_share`` of all traffic's mean usage per window times the run's windows.

    Returns an :class:`LLMResult` (check ``"llm"``): findings ``hallucination_rate_increase``,
    ``retrieval_quality_drop``, ``token_spike``, ``cost_increase`` (and ``unmatched_judgments``,
    info); tables ``ungrounded``, ``retrieval`` (every metric × scope × window), ``usage`` (every
    tested key, user and segment value), ``daily`` (cost and tokens per day and segment),
    ``distributions`` (per-request tokens and cost quantiles), ``quality_by_query_type``; and
    ``summary``. Rule: module docstring.
    """
    owner = C.OWNER
    every = params.positive_duration(window, name="window", owner=owner)
    depth = params.count(depth, name="depth", owner=owner)
    min_support = params.count(min_support, name="min_support", owner=owner)
    min_windows = params.count(min_windows, name="min_windows", minimum=3, owner=owner)
    confidence = params.open_unit(confidence, name="confidence", owner=owner)
    fdr = params.open_unit(fdr, name="fdr", owner=owner)
    spike_factor = params.positive_number(spike_factor, name="spike_factor", owner=owner)
    min_share = params.proportion(min_share, name="min_share", owner=owner)
    threshold = None if grounded_threshold is None else params.open_unit(grounded_threshold,
                                                                         name="grounded_threshold", owner=owner)
    if not isinstance(currency, str) or not currency:
        raise ConfigError(f"The 'currency' parameter of {owner} must be a currency code such as 'USD'. "
                          f"Got {currency!r}.")
    chosen = _margins(margins)
    given = {"request_id": request_id, "timestamp": timestamp, "api_key": api_key, "user_id": user_id,
             "model": model, "input_tokens": input_tokens, "output_tokens": output_tokens, "cost": cost,
             "latency_ms": latency_ms, "status": status, "grounded": grounded, "k": k, "retrieved": retrieved,
             "first_relevant_rank": first_relevant_rank, "relevance_known": relevance_known,
             "retrieval_latency_ms": retrieval_latency_ms, "query_type": query_type}
    if timestamp is None:
        raise ConfigError(f"The 'timestamp' parameter of {owner} must name the column of each request's time.")
    prep = prepare(requests, given, by, versions, judgments=judgments, prices=prices, grounded_threshold=threshold)
    cols = prep.columns
    segments = cols.segments
    entities = [C.ENTITY_NAMES[r] for r in C.ENTITY_NAMES if r in cols.roles] + list(segments)
    entity_names = {C.ENTITY_NAMES[r]: cols.roles[r] for r in C.ENTITY_NAMES if r in cols.roles} | segments
    summaries = summarize(prep.rows, list(segments), list(cols.version_names), entities, every)
    constant = [c for c in segments if summaries.cells[c].n_unique() == 1]
    varying = {c: u for c, u in segments.items() if c not in constant}
    cells = summaries.cells.group_by(WINDOW, *varying).agg(pl.exclude(WINDOW, *segments).sum()) if constant \
        else summaries.cells
    search = Search(varying, min(depth, len(varying)), every, prep.zone, min_support, confidence, fdr, chosen)
    found: list[Finding] = []
    tables: dict[str, pl.DataFrame] = {}
    skipped = dict(cols.skipped)
    available = set(cells.columns)
    if "judged" in available:
        tables["ungrounded"], part = hallucinations(cells, summaries.versions, cols.version_names, search)
        found += part
    else:
        skipped["hallucination_rate_increase"] = "no grounded column (judgments)"
    retrieval_table, part = retrieval(cells, available, search)
    if retrieval_table is not None:
        tables["retrieval"] = retrieval_table
        found += part
    else:
        skipped["retrieval_quality_drop"] = "no first_relevant_rank, retrieved or retrieval_latency_ms column"
    usage_findings, usage_table = _usage(summaries, entity_names, every, prep.zone, currency, confidence, fdr,
                                         spike_factor, min_share, min_windows, skipped)
    found += usage_findings
    if usage_table is not None:
        tables["usage"] = usage_table
    found += _unmatched(prep.notes)
    tables |= _tables(summaries, cols, prep.zone, confidence)
    parameters = {"columns": cols.roles, "by": cols.by, "constant_segments": [segments[c] for c in constant],
                  "versions": cols.versions, "depth": search.depth,
                  "window": every, "min_support": min_support, "margins": chosen, "confidence": confidence, "fdr": fdr,
                  "spike_factor": spike_factor, "min_share": min_share, "min_windows": min_windows,
                  "currency": currency,
                  "cost_source": prep.cost_source, "grounded_threshold": threshold,
                  "time_zone": prep.zone or "naive (read as UTC)", "skipped": skipped, "notes": prep.notes,
                  "engine": "polars", "sampled": False, "rule": {"statement": _RULE}}
    inputs = (summarize_input(prep.source, name="requests"),)
    draft = CheckResult("llm", tuple(found), inputs, parameters=parameters, tables=tables)  # findings in order
    return LLMResult("llm", draft.findings, inputs, parameters=parameters, tables=tables,
                     summary=_summary(summaries, draft, prep.cost_source, currency))


_RULE = ("Ungrounded rate and retrieval quality: every scope (segment values up to depth) x window against the same "
         "scope's other windows, Benjamini-Hochberg at fdr per family, alert when worse by at least the metric's "
         "margin. Usage: every API key, user and segment value against its own per-window history on a log scale "
         "(median and MAD), scan over runs of windows, alert when significant and at least spike_factor times usual.")


def _margins(margins: Mapping[str, float] | None) -> dict[str, float]:
    chosen = dict(MARGINS)
    for name, value in (margins or {}).items():
        if name not in MARGINS:
            raise ConfigError(f"margins: unknown metric {name!r}; the metrics are {sorted(MARGINS)}.")
        chosen[name] = params.positive_number(value, name=f"margins[{name!r}]", owner=C.OWNER)
    return chosen


def _usage(s: Summaries, names: dict[str, str], every: dt.timedelta, zone: str | None, currency: str,
           confidence: float, fdr: float, spike_factor: float, min_share: float, min_windows: int,
           skipped: dict[str, str]) -> tuple[list[Finding], pl.DataFrame | None]:
    """The usage findings and table ``usage`` (a row per tested entity value and quantity)."""
    if not s.usage or not any({"tokens", "cost"} & set(f.columns) for f in s.usage.values()):
        skipped["token_spike"] = "no token or cost column, or no api_key/user_id/segment column"
        return [], None
    o = Spikes(min_windows, spike_factor, fdr, every, zone, currency, confidence, min_share, _traffic(s.cells))
    tokens, tested = spikes(s.usage, names, "tokens", o)
    costs, tested_cost = spikes(s.usage, names, "cost", o)
    last = _int(s.cells[WINDOW].max()) if s.cells.height else 0
    schema = {"quantity": pl.String, "entity": pl.String, "value": pl.String, "active_windows": pl.Int64,
              "usual_per_window": pl.Float64, "log_spread": pl.Float64, "runs": pl.Int64, "p_scan": pl.Float64,
              "q_value": pl.Float64}
    return word(tokens + costs, tokens, o, last), pl.DataFrame(tested + tested_cost, schema=schema)


def _traffic(cells: pl.DataFrame) -> dict[str, float]:
    """All traffic's mean tokens and cost per window (from its first to its last window)."""
    windows = _int(cells[WINDOW].max()) - _int(cells[WINDOW].min()) + 1 if cells.height else 1
    tokens = sum(float(cells[c].sum()) for c in ("input_tokens", "output_tokens") if c in cells.columns)
    cost = float(cells["cost"].sum()) if "cost" in cells.columns else 0.0
    return {"tokens": tokens / windows, "cost": cost / windows}


def _unmatched(notes: Mapping[str, Any]) -> list[Finding]:
    if not notes.get("unmatched_judgments"):
        return []
    n = notes["unmatched_judgments"]
    return [Finding("llm", "unmatched_judgments", "info", "grounded",
                    f"{n:,} judgments have a request id that is not in the requests (e.g. {notes['unmatched_ids']}); "
                    "they are left out of the ungrounded rate.",
                    "Check that judgments and requests cover the same period and use the same id column.",
                    {"n": n, "affected_rows": n, "examples": notes["unmatched_ids"]})]


def _tables(s: Summaries, cols: C.Columns, zone: str | None, confidence: float) -> dict[str, pl.DataFrame]:
    segments = cols.segments
    daily = [s.daily.group_by("day").agg(pl.exclude("day", *segments).sum()).with_columns(scope=pl.lit("all"))]
    for internal, user in segments.items():
        daily.append(s.daily.group_by("day", internal).agg(pl.exclude("day", *segments).sum()).select(
            "day", pl.format("{}={}", pl.lit(user), pl.col(internal)).alias("scope"), pl.exclude("day", internal)))
    trend = pl.concat([d.select("day", "scope", pl.exclude("day", "scope")) for d in daily], how="diagonal_relaxed")
    if zone:
        trend = trend.with_columns(pl.col("day").dt.replace_time_zone("UTC").dt.convert_time_zone(zone))
    out = {"daily": trend.sort("scope", "day"), "distributions": s.quantiles}
    if s.by_query_type is not None:
        out["quality_by_query_type"] = _quality_table(s.by_query_type, confidence)
    return out


def _quality_table(frame: pl.DataFrame, confidence: float) -> pl.DataFrame:
    """Per query type: requests, judged, ungrounded rate with its Wilson interval, hit rate, MRR,
    empty-retrieval rate, mean retrieval latency, mean cost, error rate, mean latency and tokens per
    request."""
    rows = []
    for r in frame.iter_rows(named=True):
        row: dict[str, Any] = {"query_type": r[C.QTYPE], "requests": r["requests"]}
        if "judged" in r:
            lo, hi = wilson_interval(r["ungrounded"], r["judged"], confidence)
            row |= {"judged": r["judged"], "ungrounded_rate": r["ungrounded"] / r["judged"] if r["judged"] else None,
                    "ungrounded_low": lo, "ungrounded_high": hi}
        if "known" in r:
            row |= {"relevance_known": r["known"], "hit_rate": r["hits"] / r["known"] if r["known"] else None,
                    "mrr": r["rr_sum"] / r["known"] if r["known"] else None}
        if "retrievals" in r:
            row["empty_retrieval_rate"] = r["empty"] / r["retrievals"] if r["retrievals"] else None
        if "rlat_n" in r:
            row["retrieval_latency_ms_mean"] = r["rlat_sum"] / r["rlat_n"] if r["rlat_n"] else None
        if "cost_n" in r:
            row["cost_per_request"] = r["cost"] / r["cost_n"] if r["cost_n"] else None
        if "errors" in r:
            row["error_rate"] = r["errors"] / r["requests"]
        if "latency_n" in r:
            row["latency_ms_mean"] = r["latency_sum"] / r["latency_n"] if r["latency_n"] else None
        if "tokens_n" in r:
            total = r.get("input_tokens", 0) + r.get("output_tokens", 0)
            row["tokens_per_request"] = total / r["tokens_n"] if r["tokens_n"] else None
        rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)


def _summary(s: Summaries, result: CheckResult, cost_source: str | None, currency: str) -> str:
    total = s.cells.select(pl.exclude(WINDOW, *[c for c in s.cells.columns if c.startswith("__wb_segment")]).sum()) \
        .row(0, named=True)
    first, last = _int(s.cells[WINDOW].min()), _int(s.cells[WINDOW].max())
    every = result.parameters["window"]
    span = (last - first + 1) * every
    parts = [f"{total['requests']:,} requests over {_duration(span)} from "
             f"{window_start(first, every, None):%Y-%m-%d %H:%M} UTC"]
    if "judged" in total:
        judged, bad = total["judged"], total["ungrounded"]
        rate = f"; {bad / judged:.1%} ungrounded" if judged else ""
        parts.append(f"judged {judged:,} ({judged / total['requests']:.1%}){rate}")
    if total.get("known"):
        parts.append(f"hit rate@k {total['hits'] / total['known']:.1%}")
    if cost_source is not None and "cost" in total:
        per = total["cost"] / total["requests"]
        money, unit = (f"${total['cost']:,.2f}", f"${per:.4f}") if currency == "USD" else (
            f"{total['cost']:,.2f} {currency}", f"{per:.4f} {currency}")
        parts.append(f"cost {money} ({unit} per request)")
    alerts = result.at_least("warning")
    if alerts:
        parts.append(f"{len(alerts)} alert{'s' if len(alerts) != 1 else ''}; top: {alerts[0].message}")
    else:
        parts.append("no alerts")
    return ". ".join(p[0].upper() + p[1:] for p in parts) + ("" if parts[-1].endswith(".") else ".")


def _int(value: Any) -> int:
    return int(value)


def _duration(span: dt.timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:g} hours" if hours < 48 else f"{hours / 24:.3g} days"


__all__ = ["LLMResult", "check_llm"]
