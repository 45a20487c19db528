"""Wrong answers of check_service found on the serving sample, each pinned on a small generated log: whether a
circuit breaker helped (judged on the requests it protects), stage latency against each endpoint's own baseline
(an endpoint-mix change is not a regression), and retries without backoff placed where they happened."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from tests.service_data import Plan, make_log
from workbench.errors import InputError
from workbench.service import check_service, rates
from workbench.service.quantiles import exceedance_pmf, exceedance_pvalue
from workbench.service.stratified import stratified_cell

START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def _at(minutes: float) -> dt.datetime:
    return START + dt.timedelta(minutes=minutes)


def _breaker_log(seed: int, *, fallback_works: bool = True) -> pl.DataFrame:
    """Three hours; the dependency is down from minute 100 to 140, its breaker open from 108 to 130. Before the
    breaker opens, requests of /predict wait 2 s and time out 40% of the time; while it is open they are served
    fast with a fallback (``fallback_works``) or fail fast. /batch needs the dependency and fails either way; its
    client retries those failures at once, four more times. /notify does not use the dependency."""
    rng = np.random.default_rng(seed)
    rows = []
    n = 6_000
    seconds = np.sort(rng.uniform(0, 180 * 60, n))
    endpoint = rng.choice(["/predict", "/batch", "/notify"], n, p=[0.55, 0.15, 0.3])
    for i in range(n):
        t, ep = START + dt.timedelta(seconds=float(seconds[i])), str(endpoint[i])
        minute = seconds[i] / 60
        down, breaker = 100 <= minute < 140, 108 <= minute < 130
        client = "batch" if ep == "/batch" else "app"
        status, latency, fallback, is_open = "ok", float(rng.gamma(4, 10)), False, False
        if ep != "/notify" and breaker:
            is_open, latency = True, float(rng.gamma(2, 2))
            if ep == "/predict" and fallback_works:
                fallback = True
            else:
                status = "error"
        elif ep != "/notify" and down:
            latency = 2000.0 + float(rng.gamma(2, 5))
            status = "timeout" if ep == "/batch" or rng.random() < 0.4 else "ok"
            fallback = status == "ok"
        elif rng.random() < 0.01:
            status = "error"
        attempts = 5 if client == "batch" and status != "ok" else 1
        for a in range(1, attempts + 1):
            rows.append({"request_id": f"r{i}-{a}", "idempotency_key": f"k{i}", "attempt": a,
                         "timestamp": t + dt.timedelta(milliseconds=a * 50), "client_id": client, "endpoint": ep,
                         "status": status, "latency_ms": latency, "fallback": fallback,
                         "dependency": "store" if fallback or is_open else None, "circuit_open": is_open})
    return pl.DataFrame(rows, infer_schema_length=None)


def test_a_breaker_helps_when_the_requests_it_protects_stop_timing_out():
    log = _breaker_log(1)
    # what fooled the old rule: counted per attempt over all traffic, the failure share rose while it was open
    # (the batch client's five attempts per always-failing request)
    during = log.filter(pl.col("timestamp").is_between(_at(108), _at(130)))
    before = log.filter(pl.col("timestamp").is_between(_at(86), _at(108), closed="left"))
    failed = pl.col("status").is_in(["error", "timeout"]).mean()
    assert during.select(failed).item() > before.select(failed).item() + 0.05
    (finding,) = check_service(log, window="5m").by_kind("circuit_breaker_open")
    m = finding.metrics
    assert m["helped"] == "yes" and m["measures"]["timeouts"] == "fell" and m["measures"]["latency"] == "fell"
    assert m["baseline_timeout_share"] > 0.2 and m["timeout_share"] == 0
    assert m["protected_cells"] == 2  # (client app, /predict) and (client batch, /batch); /notify is not protected
    assert m["p95_ms"] < 100 < 2000 < m["baseline_p95_ms"]
    # the originals of the protected cells, counted by hand
    protected = during.filter((pl.col("attempt") == 1) & (pl.col("endpoint") != "/notify"))
    assert m["n"] == protected.height and m["value"] == protected.select(failed).item()
    assert "it helped (timeouts" in finding.message


def test_a_breaker_whose_requests_still_fail_did_not_help():
    (finding,) = check_service(_breaker_log(2, fallback_works=False), window="5m").by_kind("circuit_breaker_open")
    m = finding.metrics
    # timeouts became fast errors: failures rose, so the verdict is not 'yes'
    assert m["measures"]["failed"] == "rose" and m["measures"]["timeouts"] == "fell"
    assert m["helped"] == "unclear"


def _mix_spans(seed: int, *, slow_share_eu: float = 0.07, slower_fast_eu: float = 1.0) -> pl.DataFrame:
    """Six hours of requests in three regions with one stage, ``model``: /fast (median 40 ms) and /slow (2.5 s,
    7% of requests). From hour 5 to 6 in region eu, /slow makes ``slow_share_eu`` of the requests and /fast's
    stage is ``slower_fast_eu`` times slower."""
    rng = np.random.default_rng(seed)
    n = 9_000
    seconds = np.sort(rng.uniform(0, 6 * 3600, n))
    region = rng.choice(["eu", "us", "ap"], n)
    late_eu = (region == "eu") & (seconds >= 5 * 3600)
    slow = rng.random(n) < np.where(late_eu, slow_share_eu, 0.07)
    ms = np.where(slow, 2500.0, 40.0) * rng.lognormal(0, 0.3, n) * np.where(late_eu & ~slow, slower_fast_eu, 1.0)
    rows = []
    for i in range(n):
        start = START + dt.timedelta(seconds=float(seconds[i]))
        end = start + dt.timedelta(milliseconds=float(ms[i]))
        common = {"trace_id": f"{i + 1:032x}", "start_time": start, "end_time": end, "region": str(region[i]),
                  "endpoint": "/slow" if slow[i] else "/fast"}
        rows.append({**common, "span_id": f"{i + 1:016x}", "parent_span_id": None, "name": "POST"})
        rows.append({**common, "span_id": f"{i + 1:08x}{1:08x}", "parent_span_id": f"{i + 1:016x}",
                     "name": "model"})
    return pl.DataFrame(rows)


def test_an_endpoint_mix_change_is_not_a_stage_regression():
    spans = _mix_spans(3, slow_share_eu=0.2)
    late_eu = spans.filter((pl.col("name") == "model") & (pl.col("region") == "eu")
                           & (pl.col("start_time") >= START + dt.timedelta(hours=5)))
    assert late_eu["endpoint"].eq("/slow").mean() > 0.15  # the mix moved, no endpoint got slower
    # without strata the mix change reads as a regression of the stage in region=eu
    plain = check_service(spans=spans, by="region", window="15m", stratify=None)
    assert [f.scope.get("segment") for f in plain.by_kind("stage_latency_regression")] == [{"region": "eu"}]
    result = check_service(spans=spans, by="region", window="15m")
    assert result.by_kind("stage_latency_regression") == ()
    assert result.parameters["stratify"] == "endpoint"


def test_a_slower_stage_is_found_against_each_endpoints_baseline():
    result = check_service(spans=_mix_spans(4, slower_fast_eu=1.6), by="region", window="15m")
    (finding,) = result.by_kind("stage_latency_regression")
    assert finding.scope["segment"] == {"region": "eu"} and finding.scope["window"][0] >= (
        START + dt.timedelta(hours=5)).isoformat()
    assert finding.metrics["strata"] == 2 and "its own endpoint's baseline" in finding.message
    assert finding.metrics["ratio"] > 1.2


def test_a_stratum_column_that_does_not_exist_is_named():
    with pytest.raises(InputError, match="stratify='route' is neither a column"):
        check_service(spans=_mix_spans(5), by="region", stratify="route")


def test_the_exceedance_pmf_sums_to_one_and_to_the_p_values():
    pmf = exceedance_pmf(40, 300, 15)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    for k in (1, 5, 12):
        assert pmf[k:].sum() == pytest.approx(exceedance_pvalue(k, 40, 300, 15), rel=1e-9)


def test_the_stratified_p_value_and_mix_adjusted_baseline_against_brute_force():
    rng = np.random.default_rng(12)
    sizes = [(12, 60), (20, 40)]  # (window, baseline) per stratum
    values = [rng.lognormal(mu, 0.4, m + n) for mu, (m, n) in zip((3.0, 7.0), sizes, strict=True)]

    def statistic(draw: list[np.ndarray]) -> tuple[int, list[tuple[np.ndarray, np.ndarray]]]:
        parts = [(np.sort(v), np.sort(v[:m])) for v, (m, _) in zip(draw, sizes, strict=True)]
        return stratified_cell(parts, 0.9, 0.95, np.sort(np.concatenate(draw)))["above"], parts

    k, parts = statistic(values)
    cell = stratified_cell(parts, 0.9, 0.95, np.sort(np.concatenate(values)))
    # the null: within each stratum the window is a random subset of its values
    null = np.array([statistic([rng.permutation(v) for v in values])[0] for _ in range(4000)])
    for threshold in (2, 4, 6):
        pmf = np.convolve(*(exceedance_pmf(m, n, n - math.ceil(0.9 * n) + 1) for m, n in sizes))
        assert pmf[threshold:].sum() == pytest.approx((null >= threshold).mean(), abs=0.015)
    assert cell["p_value"] == pytest.approx(np.convolve(*(exceedance_pmf(m, n, n - math.ceil(0.9 * n) + 1)
                                                          for m, n in sizes))[k:].sum() if k else 1.0)
    # the baseline quantile for the window's mix: the smallest baseline value x with sum_s m_s/m * F_s(x) >= 0.9
    baselines = [np.sort(v[m:]) for v, (m, _) in zip(values, sizes, strict=True)]
    weights = [m / sum(m for m, _ in sizes) for m, _ in sizes]
    candidates = np.sort(np.concatenate(baselines))
    mix = [sum(w * np.mean(b <= x) for w, b in zip(weights, baselines, strict=True)) for x in candidates]
    assert cell["baseline"] == candidates[int(np.argmax(np.array(mix) >= 0.9 - 1e-9))]


def test_retries_without_backoff_sit_where_most_of_them_happened():
    """Client 'batch' retries at once all day, but fails (and so retries) mostly from 10:00 to 10:30: the
    finding's window is that half hour (90% of its immediate retries), not the whole day its rare ones cover."""
    rng = np.random.default_rng(6)
    n = 20_000
    seconds = np.sort(rng.uniform(0, 24 * 3600, n))
    client = rng.choice(["batch", "app"], n, p=[0.2, 0.8])
    storm = (seconds >= 10 * 3600) & (seconds < 10.5 * 3600)
    failed = rng.random(n) < np.where(storm & (client == "batch"), 0.9, 0.001)
    stamps = [START + dt.timedelta(seconds=float(s)) for s in seconds]
    originals = pl.DataFrame({"request_id": [f"r{i}" for i in range(n)], "idempotency_key": [f"k{i}" for i in range(n)],
                              "timestamp": stamps, "client_id": client, "attempt": 1,
                              "status": np.where(failed, "error", "ok"), "latency_ms": 20.0})
    gap = pl.when(pl.col("client_id") == "batch").then(pl.lit(30)).otherwise(pl.lit(2_000))
    retries = originals.filter(pl.col("status") == "error").with_columns(
        pl.col("request_id") + "-2", attempt=pl.lit(2, pl.Int32), status=pl.lit("ok"),
        timestamp=pl.col("timestamp") + pl.duration(milliseconds=gap + 20))
    log = pl.concat([originals.with_columns(pl.col("attempt").cast(pl.Int32)), retries])
    found = [f for f in check_service(log).by_kind("retry_storm") if f.metrics.get("rule") == "no_backoff"]
    assert [f.scope["segment"] for f in found] == [{"client_id": "batch"}]
    start, end = found[0].scope["window"]
    assert (START + dt.timedelta(hours=10)).isoformat() <= start < end < (START + dt.timedelta(hours=10.6)).isoformat()
    first, last = found[0].metrics["first_retry"], found[0].metrics["last_retry"]
    assert last - first > dt.timedelta(hours=12)  # its retries span the day; the message says both
    assert "90% of those without backoff between" in found[0].message


def test_an_untested_cell_still_counts_in_its_fdr_family():
    """One cell passes the support gate among 200 of its depth: its p-value of 1e-4 is within 0.01 alone, not
    once the other 200 count (q = 1e-4 × 201)."""
    rule = rates.Rule(min_support=50, margin=0.01, min_ratio=1.5, confidence=0.99, fdr=0.01)
    hot = {"depth": 1, "tested": True, "p_value": 1e-4, "ratio": 30.0, "difference": 0.07}
    rates.decide([hot], rule)
    assert hot["flagged"] and hot["q_value"] == pytest.approx(1e-4)
    quiet = [{"depth": 1, "tested": False, "p_value": math.nan, "ratio": math.nan, "difference": math.nan}
             for _ in range(200)]
    rates.decide([hot, *quiet], rule)
    assert not hot["flagged"] and hot["q_value"] == pytest.approx(201e-4)
    assert not any(r["flagged"] for r in quiet) and all(math.isnan(r["q_value"]) for r in quiet)


def test_timeouts_whose_retries_lift_their_window_over_the_gate_are_no_rise():
    """The storm log of test_cli_service: timeouts are 0.5% of original requests throughout (none planted). On
    /rank at 02:25, 4 of 44 original requests timed out; their retries lift the window to 53 rows, over
    ``min_support`` (50), where the other 5-minute windows of /rank mostly stay under it. Gated on rows, the
    family was the few windows the gate let in and the chance cluster alerted."""
    log = make_log(np.random.default_rng(3), n=6000, plan=Plan(storm=True))
    window = (pl.col("timestamp") >= _at(145)) & (pl.col("timestamp") < _at(150)) & (pl.col("endpoint") == "/rank")
    cell = log.filter(window)
    assert (cell.height, int((cell["attempt"] == 1).sum()), int((cell["status"] == "timeout").sum())) == (53, 44, 4)
    assert int((log.filter(pl.col("endpoint") == "/rank")["status"] == "timeout").sum()) == 12
    result = check_service(log)
    assert result.by_kind("timeout_rate_increase") == ()
    timeouts = result.tables["timeouts"].filter((pl.col("scope") == "endpoint=/rank") & (pl.col("scale") == 1))
    tested = timeouts.filter(pl.col("tested"))
    assert (tested.height, timeouts.height) == (19, 72)
    hot = tested.filter(pl.col("window") == int(_at(145).timestamp()) // 300).row(0, named=True)
    assert (hot["k"], hot["n"]) == (4, 53) and hot["p_value"] < 1e-4 and hot["q_value"] > 0.01
