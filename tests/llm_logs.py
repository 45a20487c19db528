"""Simulated LLM request logs (the request-log convention of the LLM check) with optional planted
changes, for the tests of :mod:`workbench.llm` and the alarm simulation.

A week of hourly traffic by default: API keys of very different sizes (a few heavy callers, a long
tail), each key belonging to one user; segments ``region``, ``query_type``, ``model``; versions
``model_version``, ``prompt_version``; heavy-tailed token counts (log-normal per request); a
``judged`` share of requests carries ``grounded``; retrieval facts with relevance known for a
share of requests. Planted (each optional):

* ``hallucination``: from hour ``onset`` on, ``query_type=billing`` answers are ungrounded at 11%
  instead of 4%, and ``model_version`` switches from v6 to v7 there at the same hour;
* ``spike``: API key ``key-007`` sends 20 times its usual requests for 3 hours from hour 100;
* ``retrieval``: from hour ``onset`` on (an index rebuild), the hit rate of every request halves.

``diurnal``: the traffic's daily cycle, peak hour over trough hour (1: flat).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
PRICES = {"gpt-4o": {"input": 0.0025, "output": 0.01}, "small-model": (0.00015, 0.0006)}
SPIKE_KEY, SPIKE_FROM, SPIKE_HOURS, SPIKE_FACTOR = "key-007", 100, 3, 20


def llm_logs(seed: int, *, hours: int = 168, per_hour: int = 1000, keys: int = 60, judged: float = 0.15,
             hallucination: bool = False, spike: bool = False, retrieval: bool = False, onset: int | None = None,
             ungrounded: float = 0.04, diurnal: float = 1.0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    onset = hours - 12 if onset is None else onset
    weights = 1 / np.arange(1, keys + 1) ** 1.1  # a few heavy keys, a long tail
    weights /= weights.sum()
    # traffic by hour of day: peak / trough = ``diurnal`` (1: flat), mean ``per_hour``
    cycle = np.exp(np.log(diurnal) / 2 * np.sin(2 * np.pi * (np.arange(hours) % 24 - 9) / 24))
    counts = rng.poisson(per_hour * cycle / cycle[:24].mean())
    hour = np.repeat(np.arange(hours), counts)
    key_index = rng.choice(keys, len(hour), p=weights)
    if spike:
        extra = []
        for h in range(SPIKE_FROM, SPIKE_FROM + SPIKE_HOURS):
            usual = round(float(per_hour * weights[7]))
            extra.append(np.full(rng.poisson(usual * (SPIKE_FACTOR - 1)), h))
        add = np.concatenate(extra)
        hour = np.concatenate([hour, add])
        key_index = np.concatenate([key_index, np.full(len(add), 7)])
        order = np.argsort(hour, kind="stable")
        hour, key_index = hour[order], key_index[order]
    n = len(hour)
    seconds = (hour * 3600 + rng.integers(0, 3600, n)).astype("timedelta64[s]")
    ts = pl.Series(np.datetime64(START.replace(tzinfo=None), "us") + seconds).dt.replace_time_zone("UTC")
    region = rng.choice(["us", "eu", "apac"], n, p=[0.5, 0.3, 0.2])
    query_type = rng.choice(["billing", "technical", "general", "account"], n, p=[0.25, 0.35, 0.25, 0.15])
    model = rng.choice(["gpt-4o", "small-model"], n, p=[0.6, 0.4])
    late = hour >= onset
    billing_late = late & (query_type == "billing")
    model_version = np.where(billing_late & hallucination, "v7", "v6")
    rate = np.where(billing_late & hallucination, 0.11, ungrounded)
    is_judged = rng.random(n) < judged
    grounded = np.where(rng.random(n) < rate, False, True)
    input_tokens = np.round(rng.lognormal(6.5, 0.8, n)).astype(np.int64)
    output_tokens = np.round(rng.lognormal(5.0, 0.9, n)).astype(np.int64)
    price_in = np.where(model == "gpt-4o", 0.0025, 0.00015)
    price_out = np.where(model == "gpt-4o", 0.01, 0.0006)
    cost = (input_tokens * price_in + output_tokens * price_out) / 1000
    hit = rng.random(n) < np.where(late & retrieval, 0.35, 0.7)
    rank = np.where(hit, rng.integers(1, 6, n), 0)
    known = rng.random(n) < 0.3
    retrieved = np.where(rng.random(n) < 0.02, 0, 5)
    return pl.DataFrame({
        "request_id": np.char.add(f"r{seed}-", np.arange(n).astype(str)), "timestamp": ts,
        "api_key": [f"key-{i:03d}" for i in key_index], "user_id": [f"user-{i // 2:03d}" for i in key_index],
        "region": region, "query_type": query_type, "model": model, "model_version": model_version,
        "prompt_version": np.full(n, "p3"), "input_tokens": input_tokens, "output_tokens": output_tokens,
        "cost": cost, "latency_ms": rng.lognormal(6.5, 0.4, n), "status": np.where(rng.random(n) < 0.01, "error", "ok"),
        "grounded": pl.Series(grounded).set(pl.Series(~is_judged), None), "k": np.full(n, 5),
        "retrieved": retrieved,
        "first_relevant_rank": pl.Series(rank).set(pl.Series(~(known & hit & (retrieved > 0))), None),
        "relevance_known": known, "retrieval_latency_ms": rng.lognormal(3.5, 0.3, n),
    })
