"""The LLM check on simulated request logs: the planted problems are found with their scope, span
and numbers, worded for action; logs where nothing changed stay quiet (false alerts per 1,000
tested cells measured); tables and summary hold real values."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest
from llm_logs import SPIKE_FROM, SPIKE_HOURS, START, llm_logs

from workbench import check_llm, validate_findings
from workbench.llm import LLMResult


@pytest.fixture(scope="module")
def planted() -> tuple[pl.DataFrame, LLMResult]:
    logs = llm_logs(1, hallucination=True, spike=True, retrieval=True)
    return logs, check_llm(logs)


def test_the_planted_ungrounded_rise_is_found_on_its_segment_since_the_version_switch(planted):
    logs, result = planted
    found = result.by_kind("hallucination_rate_increase")
    assert [f.scope["segment"] for f in found] == [{"query_type": "billing"}]
    f = found[0]
    assert f.severity == "critical"
    assert f.scope["window"] == ["2026-03-07T12:00:00+00:00", "2026-03-08T00:00:00+00:00"]
    assert f.metrics["since"] == ["model_version=v7"]
    assert "on query_type=billing since model_version=v7 in the last 12 hours" in f.message
    span = logs.filter(pl.col("query_type") == "billing", pl.col("timestamp") >= START + dt.timedelta(hours=156))
    judged = span.filter(pl.col("grounded").is_not_null())
    assert f.metrics["judged"] == judged.height and f.metrics["requests"] == span.height
    assert f.metrics["value"] == pytest.approx((~judged["grounded"]).mean())
    assert f"judged {judged.height:,} of {span.height:,}" in f.message
    low, high = f.metrics["interval"]
    assert low < f.metrics["effect"] < high and low > 0.02  # 4% -> 11%: the whole interval is above the margin


def test_the_key_jumping_twenty_fold_for_three_hours_is_a_token_spike_with_its_cost(planted):
    logs, result = planted
    spikes = result.by_kind("token_spike")
    assert [f.scope["segment"] for f in spikes] == [{"api_key": "key-007"}]
    f = spikes[0]
    start = START + dt.timedelta(hours=SPIKE_FROM)
    assert f.scope["window"] == [start.isoformat(), (start + dt.timedelta(hours=SPIKE_HOURS)).isoformat()]
    assert 15 < f.metrics["factor"] < 27
    assert f.metrics["interval"][0] < f.metrics["factor"] < f.metrics["interval"][1] * 1.5
    key = logs.filter(pl.col("api_key") == "key-007")
    hourly = key.group_by(pl.col("timestamp").dt.truncate("1h")).agg(pl.col("cost").sum())["cost"]
    span = key.filter(pl.col("timestamp").is_between(start, start + dt.timedelta(hours=3), closed="left"))
    assert f.metrics["extra_cost"] == pytest.approx(span["cost"].sum() - 3 * hourly.median())
    assert f"extra cost ${f.metrics['extra_cost']:,.2f}" in f.message
    assert "user_id=user-003" in f.metrics["explains"]  # the key's user is the same incident
    assert not result.by_kind("cost_increase")  # the cost rose with the tokens: one finding


def test_the_halved_hit_rate_after_an_index_rebuild_is_one_retrieval_finding(planted):
    _, result = planted
    drops = result.by_kind("retrieval_quality_drop")
    assert [(f.subject, f.scope.get("segment")) for f in drops] == [("hit_rate", None)]
    f = drops[0]
    assert f.scope["window"][0] == "2026-03-07T12:00:00+00:00"
    assert f.metrics["baseline"] == pytest.approx(0.7, abs=0.03) and f.metrics["value"] == pytest.approx(0.35, abs=0.03)
    assert f.metrics["mrr"]["value"] < 0.6 * f.metrics["mrr"]["baseline"]
    assert "MRR fell with it on all traffic" in f.message


def test_the_result_validates_and_carries_tables_and_a_ten_second_summary(planted):
    logs, result = planted
    validate_findings(json.loads(result.to_json()))
    assert result.check == "llm" and len(result.at_least("warning")) == 3
    assert result.summary.startswith(f"{logs.height:,} requests over 7 days from 2026-03-01 00:00 UTC.")
    judged = logs["grounded"].is_not_null().sum()
    assert f"Judged {judged:,} ({judged / logs.height:.1%})" in result.summary
    assert f"Cost ${logs['cost'].sum():,.2f}" in result.summary
    assert "3 alerts; top: Ungrounded answers rose" in result.summary
    daily = result.tables["daily"].filter(pl.col("scope") == "all").sort("day")
    by_day = logs.group_by(pl.col("timestamp").dt.truncate("1d").alias("day")).agg(
        pl.len().alias("requests"), pl.col("cost").sum()).sort("day")
    assert daily["requests"].to_list() == by_day["requests"].to_list()
    assert daily["cost"].to_numpy() == pytest.approx(by_day["cost"].to_numpy())
    dist = result.tables["distributions"].filter(pl.col("quantity") == "input_tokens").row(0, named=True)
    tokens = np.sort(logs["input_tokens"].to_numpy())
    assert dist["p50"] == tokens[int(np.ceil(0.5 * len(tokens))) - 1] or dist["p50"] == np.median(tokens)
    assert dist["max"] == tokens[-1] and dist["mean"] == pytest.approx(tokens.mean())
    quality = result.tables["quality_by_query_type"].filter(pl.col("query_type") == "billing").row(0, named=True)
    billing = logs.filter(pl.col("query_type") == "billing")
    assert quality["requests"] == billing.height
    assert quality["ungrounded_rate"] == pytest.approx((~billing["grounded"].drop_nulls()).mean())
    assert quality["ungrounded_low"] < quality["ungrounded_rate"] < quality["ungrounded_high"]
    assert quality["error_rate"] == pytest.approx((billing["status"] != "ok").mean())
    assert quality["latency_ms_mean"] == pytest.approx(billing["latency_ms"].mean())


def test_every_table_row_of_a_cell_matches_a_direct_computation(planted):
    logs, result = planted
    t = result.tables["ungrounded"].filter(pl.col("scope") == "region=eu, query_type=billing", pl.col("windows") == 1,
                                           pl.col("window_start") == dt.datetime(2026, 3, 3, 5, tzinfo=dt.UTC))
    cell = logs.filter(pl.col("region") == "eu", pl.col("query_type") == "billing",
                       pl.col("timestamp").dt.truncate("1h") == dt.datetime(2026, 3, 3, 5, tzinfo=dt.UTC),
                       pl.col("grounded").is_not_null())
    assert t["n"].item() == cell.height and t["value"].item() == pytest.approx((~cell["grounded"]).mean())


@pytest.mark.parametrize("seed", [11, 12])
def test_logs_with_nothing_planted_are_quiet(seed):
    result = check_llm(llm_logs(seed, per_hour=600))
    assert result.at_least("warning") == ()
    assert result.summary.endswith("No alerts.")


def test_false_alerts_per_thousand_tested_cells_on_null_logs():
    """Fixed seeds, weeks of hourly logs with nothing planted: every tested cell (scope × window or
    recent span of the ungrounded rate and the four retrieval metrics, and every active window of
    every tested key, user and segment value) counts; at most 1 false alert per 1,000 (docs/alarm-rates.md)."""
    alerts = cells = 0
    for seed, diurnal in ((21, 1.0), (22, 4.0), (23, 8.0)):  # flat traffic, and daily cycles of 4x and 8x
        result = check_llm(llm_logs(seed, per_hour=800, diurnal=diurnal))
        cells += sum(int(result.tables[t]["tested"].sum()) for t in ("ungrounded", "retrieval"))
        cells += int(result.tables["usage"]["active_windows"].sum())
        alerts += len(result.at_least("warning"))
    assert cells > 80_000
    assert alerts / cells * 1000 <= 1.0


def test_a_naturally_heavy_key_is_quiet_and_its_history_is_in_the_usage_table(planted):
    _, result = planted
    usage = result.tables["usage"].filter(pl.col("quantity") == "tokens", pl.col("entity") == "api_key")
    heavy = usage.sort("usual_per_window", descending=True).row(0, named=True)
    assert heavy["value"] == "key-000" and heavy["q_value"] > 0.01
    assert usage.filter(pl.col("value") == "key-007")["q_value"].item() <= 0.01


def test_a_cost_rise_without_a_token_rise_is_a_cost_increase():
    logs = llm_logs(5, per_hour=600)
    late = (pl.col("api_key") == "key-002") & (pl.col("timestamp") >= START + dt.timedelta(hours=160))
    logs = logs.with_columns(pl.when(late).then(pl.col("cost") * 12).otherwise(pl.col("cost")).alias("cost"))
    result = check_llm(logs)
    found = result.by_kind("cost_increase")
    assert [f.scope["segment"] for f in found] == [{"api_key": "key-002"}]
    assert not result.by_kind("token_spike")
    assert "its tokens did not spike" in found[0].message and found[0].metrics["extra_cost"] > 0


def test_parts_without_their_columns_are_skipped_and_said_so():
    logs = llm_logs(3, hours=48, per_hour=200).drop("grounded", "first_relevant_rank", "relevance_known", "retrieved",
                                                    "retrieval_latency_ms", "cost")
    result = check_llm(logs)
    skipped = result.parameters["skipped"]
    assert skipped["grounded"] == "no column 'grounded'" and skipped["cost"] == "no column 'cost'"
    assert "hallucination_rate_increase" in skipped and "retrieval_quality_drop" in skipped
    assert set(result.tables) == {"daily", "distributions", "quality_by_query_type", "usage"}
    assert "Judged" not in result.summary and "Cost" not in result.summary


def test_a_change_in_the_judged_share_is_said_in_the_message():
    logs = llm_logs(6, hallucination=True)
    rng = np.random.default_rng(0)
    late_billing = (pl.col("query_type") == "billing") & (pl.col("timestamp") >= START + dt.timedelta(hours=156))
    extra = pl.Series(rng.random(logs.height) < 0.35)  # judge about 45% instead of 15% of billing's last 12 hours
    verdict = pl.Series(rng.random(logs.height) >= 0.11)  # at the planted rate
    logs = logs.with_columns(pl.when(late_billing & pl.lit(extra) & pl.col("grounded").is_null())
                             .then(pl.lit(verdict)).otherwise(pl.col("grounded")).alias("grounded"))
    f = check_llm(logs).by_kind("hallucination_rate_increase")[0]
    assert f.metrics["judging_rate_differs"] is True
    assert f.metrics["judged_share"] > 0.3 and f.metrics["baseline_judged_share"] == pytest.approx(0.15, abs=0.01)
    assert f"The judged share differs: {f.metrics['judged_share']:.1%} of requests judged in this span vs " in f.message


def test_the_usage_scan_equals_a_brute_force_over_every_run():
    from scipy import stats

    from workbench.llm.usage import MAX_SPAN, scan_value

    rng = np.random.default_rng(4)
    totals = rng.lognormal(8, 0.4, 40)
    totals[30:33] *= 20
    scan = scan_value(totals)
    x = np.log(totals)
    m = np.median(x)
    s = max(1.4826 * np.median(np.abs(x - m)), 0.1)
    assert scan["median_log"] == pytest.approx(m) and scan["spread"] == pytest.approx(s)
    assert s == pytest.approx(stats.median_abs_deviation(x, scale="normal"), rel=1e-3)
    brute = {(start, k): (x[start:start + k].mean() - m) / (s / np.sqrt(k))
             for k in range(1, MAX_SPAN + 1) for start in range(0, 40 - k + 1)}
    assert scan["runs"] == len(brute)
    got = {(int(a), int(k)): z for a, k, z in zip(scan["start"], scan["length"], scan["z"], strict=True)}
    assert got.keys() == brute.keys() and all(got[r] == pytest.approx(brute[r]) for r in brute)
    assert max(got, key=got.get) == (30, 3)
    assert scan["p_scan"] == pytest.approx(min(1.0, stats.norm.sf(max(brute.values())) * len(brute)))
