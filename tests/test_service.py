"""check_service on simulated request logs and spans: every planted incident found where it was planted,
exact idempotency counts against a brute-force count, the statistics against scipy and brute force, bad input
reported (never a crash), and at most 1 false alert per 1,000 tested cells on null logs."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from collections import defaultdict

import numpy as np
import polars as pl
import pytest
from scipy import stats as sst

import workbench
from tests.service_data import START, Plan, make_log, make_spans, trace_id
from workbench import validate_findings
from workbench.errors import ConfigError, InputError
from workbench.service import check_service
from workbench.service.quantiles import exceedance_pvalue, quantile_interval
from workbench.service.rates import compare
from workbench.service.stages import baseline_order_statistic
from workbench.telemetry import read_spans, requests_from_spans

PLANTED = Plan(storm=True, always_fails=True, outage=True, timeouts=True, duplicates=10)


@pytest.fixture(scope="module")
def planted_log() -> pl.DataFrame:
    return make_log(np.random.default_rng(1), 20_000, PLANTED)


@pytest.fixture(scope="module")
def planted(planted_log):
    return check_service(planted_log)


def _at(hours: float) -> str:
    return (START + dt.timedelta(hours=hours)).isoformat()


def _rule(result, kind, rule):
    return [f for f in result.by_kind(kind) if f.metrics.get("rule") == rule]


@pytest.mark.slow
def test_it_is_exported_lazily_and_says_service(planted):
    assert workbench.check_service is check_service
    assert planted.check == "service"
    validate_findings(json.loads(planted.to_json()))  # schema-valid JSON (NaN and infinity become null)


def test_the_retry_storm_is_localized_to_the_client_and_its_hour(planted):
    storms = _rule(planted, "retry_storm", "retry_rate")
    c3 = [f for f in storms if f.scope.get("segment") == {"client_id": "c3"}]
    assert len(c3) == 1
    f = c3[0]
    assert f.scope["window"] == [_at(3), _at(4)]
    assert f.metrics["ratio"] > 10 and f.metrics["ratio_interval"][0] > 1.5
    assert f.severity == "critical"
    assert f.metrics["explains"]  # the regions it lives in rise only because of it
    # no other client is blamed for the storm hour
    assert not [g for g in storms if g.scope.get("segment", {}).get("client_id") not in (None, "c3")
                and g.scope["window"][0] >= _at(3) and g.scope["window"][1] <= _at(4)]


def test_retries_without_backoff_name_the_client(planted):
    found = _rule(planted, "retry_storm", "no_backoff")
    assert [f.scope["segment"] for f in found] == [{"client_id": "c3"}]
    f = found[0]
    assert f.metrics["value"] > 0.7 and f.metrics["interval"][0] > 0.5
    table = planted.tables["backoff"].filter(pl.col("scope") == "client_id=c3").row(0, named=True)
    assert table["without_backoff"] == f.metrics["affected_rows"]


def test_retries_of_an_error_that_always_fails(planted_log, planted):
    found = _rule(planted, "retry_storm", "always_fails")
    assert [f.scope["error_class"] for f in found] == ["InvalidInput"]
    # brute force: retries whose previous attempt failed with InvalidInput
    rows = planted_log.sort("idempotency_key", "attempt").to_dicts()
    n = sum(1 for a, b in itertools.pairwise(rows) if a["idempotency_key"] == b["idempotency_key"]
            and a["error_class"] == "InvalidInput")
    assert found[0].metrics["n"] == n
    assert found[0].metrics["interval"][1] == pytest.approx(1 - 0.05 ** (1 / n))
    retried = planted.tables["retried_errors"]
    assert retried.filter(pl.col("error_class") == "Unavailable")["succeeded"].item() > 0


def test_the_outage_shows_as_fallbacks_and_a_breaker_that_helped(planted):
    fb = planted.by_kind("fallback_rate_increase")
    assert [(f.subject, f.scope.get("segment")) for f in fb] == [("feature-store", None)]
    assert fb[0].scope["window"] == [_at(2), _at(2 + 40 / 60)]
    assert 0.25 < fb[0].metrics["value"] < 0.45  # 40% of the ok requests, diluted by the failed ones
    breaker = planted.by_kind("circuit_breaker_open")
    assert [f.subject for f in breaker] == ["feature-store"]
    assert breaker[0].metrics["helped"] == "yes"
    period = planted.tables["circuit_breaker"].row(0, named=True)
    assert period["start"] >= START + dt.timedelta(hours=2 + 20 / 60)
    assert period["end"] < START + dt.timedelta(hours=2 + 40 / 60)
    assert period["before_failed"] > 0.2 > period["during_failed"]


def test_timeouts_rise_in_their_half_hour(planted):
    found = planted.by_kind("timeout_rate_increase")
    assert len(found) == 1
    assert found[0].scope["window"] == [_at(4), _at(4.5)]
    assert found[0].metrics["value"] == pytest.approx(0.10, abs=0.03)


def _brute_idempotency(log: pl.DataFrame) -> dict[str, set]:
    outputs, effects, rows = defaultdict(set), defaultdict(set), defaultdict(int)
    for r in log.iter_rows(named=True):
        if r["status"] != "ok" or r["idempotency_key"] is None:
            continue
        rows[r["idempotency_key"]] += 1
        if r["output_hash"] is not None:
            outputs[r["idempotency_key"]].add(r["output_hash"])
        if r["side_effect_id"] is not None:
            effects[r["idempotency_key"]].add(r["side_effect_id"])
    return {"different_output": {k for k, v in outputs.items() if len(v) > 1 and rows[k] > 1},
            "duplicate_side_effect": {k for k, v in effects.items() if len(v) > 1 and rows[k] > 1}}


def test_idempotency_violations_are_counted_exactly(planted_log, planted):
    truth = _brute_idempotency(planted_log)
    assert len(truth["different_output"]) == 10 and len(truth["duplicate_side_effect"]) == 5
    for f in planted.by_kind("idempotency_violation"):
        keys = truth[f.metrics["rule"]]
        assert f.metrics["violating_keys"] == len(keys)
        assert {e["idempotency_key"] for e in f.evidence} <= keys
    assert planted.by_kind("idempotency_violation")[0].severity == "critical"  # side effects sort first


@pytest.mark.parametrize("seed", range(5))
def test_idempotency_matches_a_brute_force_count_on_random_logs(seed):
    rng = np.random.default_rng(seed)
    n = 400
    keys = rng.choice([f"k{i}" for i in range(120)] + [None], n)
    log = pl.DataFrame({
        "request_id": [f"r{i}" for i in range(n)],
        "timestamp": [START + dt.timedelta(seconds=int(s)) for s in rng.integers(0, 7200, n)],
        "status": rng.choice(["ok", "ok", "ok", "error"], n), "idempotency_key": keys,
        "output_hash": [None if rng.random() < 0.1 else f"h{int(x)}" for x in rng.integers(0, 3, n)],
        "side_effect_id": [None if rng.random() < 0.3 else f"s{int(x)}" for x in rng.integers(0, 4, n)]})
    result = check_service(log, by=[])
    truth = _brute_idempotency(log)
    counted = {f.metrics["rule"]: f.metrics["violating_keys"] for f in result.by_kind("idempotency_violation")}
    assert counted == {rule: len(keys) for rule, keys in truth.items() if keys}
    table = result.tables["idempotency"].filter(pl.col("scope") == "all")
    assert dict(zip(table["rule"], table["violating_keys"], strict=True)) == {r: len(k) for r, k in truth.items()}


def test_the_rate_test_agrees_with_scipy():
    for k, n, bk, bn in [(30, 200, 100, 4000), (5, 50, 20, 1000), (0, 100, 10, 1000), (80, 100, 400, 1000)]:
        r = compare(k, n, bk, bn, 0.95)
        expected = sst.binomtest(k, k + bk, n / (n + bn), alternative="greater").pvalue
        assert r["p_value"] == pytest.approx(expected, rel=1e-6, abs=1e-12)
        ci = sst.binomtest(k, k + bk).proportion_ci(0.95, method="wilson")
        scale = bn / n
        assert r["ratio_low"] == pytest.approx(ci.low / (1 - ci.low) * scale, rel=1e-6)
        assert r["ratio_high"] == pytest.approx(ci.high / (1 - ci.high) * scale, rel=1e-6)
        assert r["difference"] == pytest.approx(k / n - bk / bn)


def test_the_exceedance_test_matches_brute_force_and_simulation():
    from math import comb

    for k, m, n, j in [(3, 20, 100, 5), (10, 50, 400, 20), (1, 1, 10, 1), (30, 60, 1000, 50)]:
        brute = sum(comb(i + j - 1, i) * comb(m - i + n - j, m - i) for i in range(k, m + 1)) / comb(n + m, m)
        assert exceedance_pvalue(k, m, n, j) == pytest.approx(brute, rel=1e-9)
    # scipy: K is negative hypergeometric, the window's values (red) drawn before the j-th baseline value (blue)
    for k, m, n, j in [(3, 20, 100, 5), (10, 50, 400, 20), (2, 300, 2000, 100), (40, 300, 2000, 100)]:
        assert exceedance_pvalue(k, m, n, j) == pytest.approx(sst.nhypergeom(n + m, m, j).sf(k - 1), rel=1e-7)
    # simulation: exchangeable values, window of 40 against a baseline of 300, its 15th largest (the p95)
    rng = np.random.default_rng(0)
    m, n, j = 40, 300, 15
    draws = rng.lognormal(size=(20_000, m + n))
    thresholds = -np.sort(-draws[:, m:], axis=1)[:, j - 1]
    counts = (draws[:, :m] > thresholds[:, None]).sum(axis=1)
    for k in (3, 5, 8):
        assert (counts >= k).mean() == pytest.approx(exceedance_pvalue(k, m, n, j), abs=0.01)


def test_the_baseline_order_statistic_leaves_the_window_out():
    rng = np.random.default_rng(3)
    values = np.round(rng.gamma(2, 10, 500), 1)  # with ties
    for r in (1, 200, 450, 463):
        window = rng.choice(values, 37, replace=False)
        rest = list(np.sort(values))
        for v in window:
            rest.remove(v)
        assert baseline_order_statistic(np.sort(values), np.sort(window), r) == rest[r - 1]


def test_the_quantile_interval_covers_the_true_p95():
    rng = np.random.default_rng(4)
    true = sst.expon.ppf(0.95)
    covered = [lo <= true <= hi for lo, hi in (quantile_interval(np.sort(rng.exponential(size=400)), 0.95, 0.95)
                                               for _ in range(2000))]
    assert 0.93 <= np.mean(covered) <= 0.98


@pytest.fixture(scope="module")
def slow_stage():
    rng = np.random.default_rng(2)
    plan = Plan(slow_stage=True)
    log = make_log(rng, 12_000, plan)
    spans = make_spans(rng, log, plan)
    log = log.with_columns(pl.col("request_id").map_elements(trace_id, return_dtype=pl.String))
    return log, spans, check_service(log, spans=spans, by=["region", "endpoint"])


@pytest.mark.slow
def test_one_slow_stage_in_one_region_is_not_drowned_by_the_overall_p50(slow_stage):
    _, spans, result = slow_stage
    # the overall request latency barely moves: p50 in the slow hour within 5% of the rest
    requests = requests_from_spans(read_spans(spans)).with_columns(
        slow=pl.col("start_time").is_between(START + dt.timedelta(hours=5), START + dt.timedelta(hours=6),
                                             closed="left"))
    p50 = dict(requests.group_by("slow").agg(pl.col("latency_ms").median()).iter_rows())
    assert abs(p50[True] / p50[False] - 1) < 0.05
    found = result.by_kind("stage_latency_regression")
    assert [(f.subject, f.scope.get("segment")) for f in found] == [("retrieve", {"region": "ap"})]
    f = found[0]
    assert f.scope["window"] == [_at(5), _at(6)]
    assert f.metrics["ratio"] == pytest.approx(3, rel=0.25)
    assert f.metrics["interval"][0] <= f.metrics["value"] <= f.metrics["interval"][1]
    assert "all" in f.metrics["explains"]


@pytest.mark.slow
def test_the_stage_breakdown_table(slow_stage):
    _, spans, result = slow_stage
    table = result.tables["stages"]
    assert set(table["stage"]) == {"fetch_features", "embed", "retrieve", "generate"}
    row = table.filter((pl.col("stage") == "generate") & (pl.col("scope") == "all")).row(0, named=True)
    generate = spans.filter(pl.col("name") == "generate").with_columns(
        ((pl.col("end_time") - pl.col("start_time")).dt.total_microseconds() / 1000).alias("ms"))
    assert row["n"] == generate.height
    assert row["p95_ms"] == pytest.approx(generate["ms"].quantile(0.95, "higher"))
    shares = table.filter(pl.col("scope") == "all")["share_of_request"].sum()
    assert shares == pytest.approx(1.0, abs=1e-6)  # the stages tile the request


def _alerts_and_cells(result) -> tuple[int, int]:
    kinds = ("retry_storm", "fallback_rate_increase", "timeout_rate_increase", "stage_latency_regression")
    alerts = sum(f.kind in kinds for f in result.at_least("warning"))
    cells = sum(int(result.tables[t]["tested"].sum()) for t in ("retries", "fallbacks", "timeouts",
                                                               "stage_windows", "backoff") if t in result.tables)
    return alerts, cells


@pytest.mark.slow
def test_null_logs_raise_at_most_one_false_alert_per_thousand_cells():
    alerts = cells = 0
    for seed in range(3):
        rng = np.random.default_rng(100 + seed)
        log = make_log(rng, 10_000)
        spans = make_spans(rng, log)
        log = log.with_columns(pl.col("request_id").map_elements(trace_id, return_dtype=pl.String))
        a, c = _alerts_and_cells(check_service(log, spans=spans))
        alerts, cells = alerts + a, cells + c
    assert cells > 10_000
    assert alerts / cells <= 1 / 1000, (alerts, cells)


def test_bad_input_is_reported_not_fatal():
    rng = np.random.default_rng(7)
    log = make_log(rng, 3_000)
    orphan = log.filter(pl.col("attempt") == 1).head(3).with_columns(
        attempt=pl.lit(2, pl.Int64), idempotency_key=pl.format("orphan-{}", pl.col("idempotency_key")),
        request_id=pl.format("o-{}", pl.col("request_id")))
    dup_id = log.head(2).with_columns(pl.col("latency_ms") + 1)
    retried = log.filter(pl.col("attempt") == 2).get_column("idempotency_key").head(2).to_list()
    skew = (pl.col("idempotency_key").is_in(retried) & (pl.col("attempt") == 2))
    log = log.with_columns(pl.when(skew).then(pl.col("timestamp") - pl.duration(minutes=1))
                           .otherwise(pl.col("timestamp")).alias("timestamp"))  # a host 1 minute behind
    copies = log.slice(10, 4)
    bad = pl.concat([log, orphan, dup_id, copies]).with_columns(pl.col("timestamp").dt.replace_time_zone(None))
    spans = make_spans(rng, log.head(300))
    broken = pl.concat([
        spans,
        spans.head(1).with_columns(span_id=pl.lit("ffffffffffffff01"), parent_span_id=pl.lit("eeeeeeeeeeeeee01")),
        spans.head(1).with_columns(span_id=pl.lit("ffffffffffffff02"),
                                   end_time=pl.col("start_time") - pl.duration(milliseconds=5)),
        spans.head(1).with_columns(span_id=pl.lit("ffffffffffffff03"),  # a host whose clock runs 2 s behind
                                   start_time=pl.col("start_time") - pl.duration(seconds=2),
                                   end_time=pl.col("end_time") - pl.duration(seconds=2))])
    result = check_service(bad, spans=broken)
    kinds = {f.kind: f for f in result.findings}
    assert kinds["orphan_retries"].metrics["affected_rows"] == 3
    assert kinds["duplicate_request_ids"].metrics["affected_rows"] == 2
    assert kinds["duplicate_rows"].metrics["affected_rows"] == 4
    assert "naive_timestamps" in kinds
    assert kinds["clock_skew"].metrics["affected_rows"] == 2
    assert kinds["span_problems"].metrics["parent_missing"] == 1
    assert kinds["span_problems"].metrics["negative_duration"] == 1
    assert kinds["span_problems"].metrics["clock_skew"] == 1
    traces = spans["trace_id"].n_unique()
    assert kinds["unmatched_spans"].metrics["affected_rows"] == traces  # the log's ids are not trace ids


def test_empty_and_wrong_inputs_raise_naming_the_fix():
    log = make_log(np.random.default_rng(8), 200)
    with pytest.raises(InputError, match="the log is empty"):
        check_service(log.head(0))
    with pytest.raises(ConfigError, match="at least one input"):
        check_service()
    with pytest.raises(InputError, match=r"attempt='atempt' is not a column of requests\. Did you mean 'attempt'"):
        check_service(log, attempt="atempt")
    with pytest.raises(InputError, match=r"'fallback'.*must be boolean"):
        check_service(log.with_columns(pl.col("fallback").cast(pl.String)))
    with pytest.raises(ConfigError, match="'window' parameter of check_service"):
        check_service(log, window="0s")
    with pytest.raises(ConfigError, match="'min_ratio' parameter of check_service must be at least 1"):
        check_service(log, min_ratio=0.5)
    with pytest.raises(InputError, match="timestamp column 'timestamp' must be a datetime"):
        check_service(log.with_columns(pl.col("timestamp").cast(pl.String)))


def test_the_users_column_names_give_the_same_findings(planted_log, planted):
    names = {c: f"my_{c}" for c in planted_log.columns}
    renamed = planted_log.rename(names)
    result = check_service(renamed, by=["my_client_id", "my_region", "my_endpoint"],
                           **{c: f"my_{c}" for c in ("request_id", "timestamp", "idempotency_key", "attempt",
                                                     "status", "error_class", "latency_ms", "output_hash",
                                                     "side_effect_id", "fallback", "dependency", "circuit_open")})
    strip = [(f.kind, f.severity, f.message.replace("my_", "")) for f in result.findings]
    assert strip == [(f.kind, f.severity, f.message) for f in planted.findings]


def test_parts_without_their_columns_are_skipped_and_named():
    log = make_log(np.random.default_rng(9), 2_000).select("request_id", "timestamp", "status", "region")
    result = check_service(log)
    assert set(result.tables) == {"timeouts", "incidents"}  # the timeline is there, empty
    assert len(result.parameters["skipped"]) == 4
    assert math.isfinite(result.tables["timeouts"]["n"].sum())


def _vector_log(rng: np.random.Generator, n: int, effect: float) -> pl.DataFrame:
    """A request log without retries, fast to draw: fallbacks of 'cache' at 2%, ``effect`` times that in
    region=ap from hour 3 to hour 4 (of 6)."""
    seconds = np.sort(rng.uniform(0, 6 * 3600, n))
    region = rng.choice(["eu", "us", "ap"], n, p=[0.45, 0.45, 0.10])
    hot = (region == "ap") & (seconds >= 3 * 3600) & (seconds < 4 * 3600)
    fallback = rng.random(n) < np.where(hot, 0.02 * effect, 0.02)
    return pl.DataFrame({"request_id": np.arange(n).astype(str),
                         "timestamp": [START + dt.timedelta(seconds=float(s)) for s in seconds], "region": region,
                         "status": "ok", "fallback": fallback,
                         "dependency": pl.Series([("cache" if f else None) for f in fallback], dtype=pl.String)})


@pytest.mark.slow
def test_power_a_tripled_fallback_share_in_one_region_for_an_hour():
    """About 650 requests of region=ap in the hour, 2% -> 6% fallbacks: found at least 4 times in 5 (measured:
    4 of 5, the fifth at p = 0.003, not significant among ~300 cells); never anywhere else."""
    found = 0
    for seed in range(5):
        result = check_service(_vector_log(np.random.default_rng(200 + seed), 40_000, 3.0), by="region")
        hits = [f for f in result.by_kind("fallback_rate_increase") if f.scope.get("segment") == {"region": "ap"}]
        found += bool(hits) and hits[0].scope["window"][0] >= _at(2.5) and hits[0].scope["window"][1] <= _at(4.5)
        assert all(f.scope.get("segment") in (None, {"region": "ap"}) for f in result.at_least("warning"))
    assert found >= 4


def test_retries_without_backoff_everywhere_are_one_finding_on_all_traffic():
    rng = np.random.default_rng(11)
    n = 4_000
    originals = pl.DataFrame({
        "request_id": [f"r{i}" for i in range(n)], "idempotency_key": [f"k{i}" for i in range(n)],
        "timestamp": [START + dt.timedelta(seconds=float(s)) for s in np.sort(rng.uniform(0, 7200, n))],
        "client_id": rng.choice(["a", "b", "c", "d"], n), "attempt": np.ones(n, dtype=np.int64),
        "status": np.where(rng.random(n) < 0.2, "error", "ok")})
    retries = originals.filter(pl.col("status") == "error").with_columns(
        pl.col("request_id") + "-2", attempt=pl.lit(2, pl.Int64), status=pl.lit("ok"),
        timestamp=pl.col("timestamp") + pl.duration(milliseconds=20))
    result = check_service(pl.concat([originals, retries]))
    found = _rule(result, "retry_storm", "no_backoff")
    assert [f.scope.get("segment") for f in found] == [None]
    assert sorted(found[0].metrics["also_in"]) == ["client_id=a", "client_id=b", "client_id=c", "client_id=d"]
    assert found[0].metrics["value"] == 1.0
